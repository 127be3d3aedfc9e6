//! Retry policy, pure: capped exponential backoff.

use std::time::Duration;

/// Delay before attempt `attempt + 1` after `attempt` failures (1-based): base, 2 base, 4 base ...
/// capped at `max`.
pub fn backoff(attempt: u32, base: Duration, max: Duration) -> Duration {
    let shift = attempt.saturating_sub(1).min(20);
    base.saturating_mul(1u32 << shift).min(max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_then_caps() {
        let b = Duration::from_secs(30);
        let m = Duration::from_secs(1800);
        assert_eq!(backoff(1, b, m), Duration::from_secs(30));
        assert_eq!(backoff(2, b, m), Duration::from_secs(60));
        assert_eq!(backoff(3, b, m), Duration::from_secs(120));
        assert_eq!(backoff(10, b, m), m);
        assert_eq!(backoff(u32::MAX, b, m), m);
    }
}
