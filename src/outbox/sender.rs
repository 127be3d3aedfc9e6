pub async fn run_sender() {}
pub struct SenderSettings;
