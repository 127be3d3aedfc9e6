//! The daemon's configuration: typed settings with documented defaults, loaded from one
//! TOML file (plus the `APPEAL_GATEWAY_DATABASE_URL` override) and validated as a whole.
//!
//! Loading never stops at the first mistake: every problem is collected into
//! [`ConfigErrors`] so a village admin fixes the file in one go. Each error names the key
//! (`modem[1].baud`), what is wrong and how to fix it. `gateway-config/example.toml`
//! shows every key with its default.

pub mod audit_key;
mod defaults;
mod error;
mod load;
mod validate;

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::NaiveTime;

pub use defaults::{default_rules, DEFAULT_ACK, DEFAULT_SIGNATURE, DEFAULT_TIME_ZONE};
pub use error::{ConfigError, ConfigErrors};

use crate::grade::{Colour, ColourLimits, Colours, Rule};

/// Environment variable that replaces `[database] url` (for tests and containers).
/// An empty value counts as unset.
pub const DATABASE_URL_ENV: &str = "APPEAL_GATEWAY_DATABASE_URL";

/// The whole validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file this came from (relative paths inside it are resolved against its folder).
    pub source: PathBuf,
    pub time_zone: chrono_tz::Tz,
    /// Put in front of every reply, e.g. "【村委会】".
    pub signature: String,
    pub database: DatabaseConfig,
    /// Zero modems is allowed: the gateway then only takes appeals through the API.
    pub modems: Vec<ModemConfig>,
    pub web: WebConfig,
    pub intake: IntakeConfig,
    pub outbox: OutboxConfig,
    pub templates: Templates,
    /// (start, end) in local time. When start > end the window wraps midnight
    /// ("22:00-07:00"); when start == end there are no quiet hours. See [`Config::is_quiet`].
    pub quiet_hours: (NaiveTime, NaiveTime),
    pub colours: Colours,
    /// Tried in order; the first match wins. See [`Config::classify`].
    pub rules: Vec<Rule>,
    /// Village/cadre directory file, already resolved against the config file's folder.
    pub directory: Option<PathBuf>,
    pub api: ApiConfig,
    /// Where appeal changes are POSTed (signed); empty = no webhooks.
    pub webhooks: Vec<Webhook>,
    /// Reminders, escalations and the survey reminder (`[scheduler]`).
    pub scheduler: SchedulerSettings,
    /// The audit chain's key and head file (`[audit]`).
    pub audit: AuditConfig,
    /// `[voice]`: how calls are taken.
    pub voice: VoiceConfig,
    /// `[supervision]`: the Monday digest, the monthly evaluation and the early warnings.
    pub supervision: SupervisionConfig,
}

/// Where the audit chain's key and head live: outside the database, so write access to the
/// database alone can neither forge events nor cut off the newest (see `appeals::events`).
#[derive(Debug, Clone)]
pub struct AuditConfig {
    pub key: AuditKeySource,
    /// The newest event this daemon has checked (id and hash), rewritten as the chain grows;
    /// None: the default of [`Config::audit_files`].
    pub head_file: Option<PathBuf>,
}

#[derive(Clone)]
pub enum AuditKeySource {
    /// `[audit] key`: the key itself, at least 32 characters. Redacted in Debug output.
    Inline(String),
    /// `[audit] key_file`: a file that must exist (checked at load).
    File(PathBuf),
    /// Nothing configured: the default file of [`Config::audit_files`], made with a random
    /// key on the daemon's first start.
    Default,
}

impl fmt::Debug for AuditKeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuditKeySource::Inline(_) => write!(f, "Inline(<redacted>)"),
            AuditKeySource::File(p) => write!(f, "File({})", p.display()),
            AuditKeySource::Default => write!(f, "Default"),
        }
    }
}

/// Which appeal changes a webhook hears about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WebhookEvent {
    Created,
    Changed,
    Rated,
}

impl WebhookEvent {
    pub const ALL: [WebhookEvent; 3] = [
        WebhookEvent::Created,
        WebhookEvent::Changed,
        WebhookEvent::Rated,
    ];

    /// The name in the config and in the JSON body (`appeal.<name>`).
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookEvent::Created => "created",
            WebhookEvent::Changed => "changed",
            WebhookEvent::Rated => "rated",
        }
    }
}

/// One `[[webhook]]`: appeal changes are POSTed as JSON to `url`, signed with `secret`.
#[derive(Clone)]
pub struct Webhook {
    /// `http://host[:port]/path`.
    pub url: String,
    /// HMAC-SHA256 key for the `X-Signature` header. Redacted in Debug output.
    pub secret: String,
    pub events: Vec<WebhookEvent>,
}

#[derive(Clone)]
pub struct DatabaseConfig {
    /// `sqlite:...` or `postgres://...` / `postgresql://...`.
    pub url: String,
    pub max_connections: u32,
}

/// Where a modem is attached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Device {
    /// A serial device such as `/dev/ttyUSB2` or a udev symlink `/dev/modem-village1`.
    Serial(PathBuf),
    /// `host:port` of a modem exported over TCP (ser2net), from `tcp://host:port`.
    Tcp(String),
}

#[derive(Clone)]
pub struct ModemConfig {
    pub name: String,
    pub device: Device,
    pub baud: u32,
    /// SIM PIN, 4-8 digits. Redacted in Debug output.
    pub pin: Option<String>,
    /// SMS centre in international form (`+86...`); None keeps the SIM's own.
    pub smsc: Option<String>,
    /// Village code this modem serves (see `outbox.pool_sending`).
    pub village: Option<String>,
    pub timings: ModemTimings,
    /// Governor rate for sending on this modem.
    pub send_per_minute: u32,
    /// What the modem does with a voice call (`voice`, default "callback").
    pub voice: VoiceMode,
}

/// What a modem does with an incoming voice call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum VoiceMode {
    /// Reject it (never answer: the villager pays nothing), file a callback appeal
    /// (来电登记) and text the caller its number.
    #[default]
    Callback,
    /// Answer with a keypad menu where the modem has TTS and DTMF (found by `=?` probes at
    /// init; without them calls are taken as `Callback`, logged once), and place rating
    /// calls; see README "Voice".
    Ivr,
    /// Leave calls alone: counted and logged, never rejected or filed.
    Off,
}

impl VoiceMode {
    pub fn as_str(self) -> &'static str {
        match self {
            VoiceMode::Callback => "callback",
            VoiceMode::Ivr => "ivr",
            VoiceMode::Off => "off",
        }
    }
}

/// `[voice]`: the timings of call handling and how a callback appeal is graded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VoiceConfig {
    /// After RING, how long to wait for `+CLIP` before asking `AT+CLCC` (`clip_wait_ms`,
    /// default 2000: ofono waits 200 ms, a withheld caller sends none at all).
    pub clip_wait: Duration,
    /// How long a rejected call may take to be gone from `AT+CLCC` before the next hang-up
    /// command is tried (`hangup_confirm_secs`, default 3).
    pub hangup_confirm: Duration,
    /// Calls from one number within this window make one appeal (`repeat_window_mins`,
    /// default 10): a rejected caller hears busy and redials.
    pub repeat_window: Duration,
    /// The colour of a callback appeal (`callback_colour`, default "yellow": someone should
    /// call back within the yellow response limit).
    pub callback_colour: Colour,
    /// A survey unanswered this long gets a rating call from an "ivr" modem
    /// (`rating_call_after_hours`, default 48; 0: no rating calls).
    pub rating_call_after: Option<Duration>,
    /// Calls per appeal at most, the first and its retries (`rating_call_attempts`, default 3).
    pub rating_call_attempts: u32,
    /// A busy or unanswered rating call is tried again no sooner than this
    /// (`rating_call_retry_mins`, default 120).
    pub rating_call_retry: Duration,
    /// Rating calls per modem (SIM) in any hour at most (`rating_calls_per_hour`, default 15).
    pub rating_calls_per_hour: u32,
}

impl Default for VoiceConfig {
    fn default() -> Self {
        VoiceConfig {
            clip_wait: Duration::from_millis(2000),
            hangup_confirm: Duration::from_secs(3),
            repeat_window: Duration::from_secs(10 * 60),
            callback_colour: Colour::Yellow,
            rating_call_after: Some(Duration::from_secs(48 * 3600)),
            rating_call_attempts: 3,
            rating_call_retry: Duration::from_secs(120 * 60),
            rating_calls_per_hour: 15,
        }
    }
}

/// `[supervision]`: when the digest and the evaluation go out, how the composite score weighs
/// the rates, and the thresholds of the early-warning rules (see `supervision::warnings`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SupervisionConfig {
    /// The Monday digest's weekday and local time (`digest_day`, `digest_time`).
    pub digest_day: chrono::Weekday,
    pub digest_time: NaiveTime,
    /// The monthly evaluation goes on the 1st at this local time (`evaluation_time`).
    pub evaluation_time: NaiveTime,
    /// Composite score weights (`weight_response` 30, `weight_resolution` 35,
    /// `weight_satisfaction` 35, as county 12345 hotline evaluations use).
    pub weights: Weights,
    /// How many cadres the 红榜 and the 黑榜 each name (`board_size`, default 3).
    pub board_size: u32,
    /// A cadre with fewer appeals in the period is shown but not ranked, and the overdue-rate
    /// warning ignores them (`min_appeals`, default 3): one late appeal is not a pattern.
    pub min_appeals: u32,
    pub thresholds: WarningThresholds,
    /// How often the leader looks for new warnings (`warning_scan_mins`, default 10).
    pub warning_scan: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Weights {
    pub response: u32,
    pub resolution: u32,
    pub satisfaction: u32,
}

/// The early-warning rules' thresholds (one key each in `[supervision]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WarningThresholds {
    /// Resolved within this many minutes of filing and then rated 1-2 (`quick_resolve_mins`, 60).
    pub quick_resolve_mins: u32,
    /// A cadre whose overdue share of the last 7 days' due appeals is above this
    /// (`overdue_rate_percent`, 30).
    pub overdue_rate_percent: u32,
    /// A resolution with no reply or note before it and a text shorter than this many
    /// characters (`bare_resolution_chars`, 3: "已办" says nothing).
    pub bare_resolution_chars: u32,
    /// The same villager, village and category again within this many days of a resolution
    /// (`repeat_days`, 30).
    pub repeat_days: u32,
    /// A village whose week is this many percent below the week before (`volume_drop_percent`,
    /// 50) ...
    pub volume_drop_percent: u32,
    /// ... when the week before had at least this many appeals (`volume_drop_min`, 10).
    pub volume_drop_min: u32,
    /// The local night (`night_hours`, "23:00-05:00") ...
    pub night_hours: (NaiveTime, NaiveTime),
    /// ... in which one cadre resolving this many appeals is a mass closure (`night_closures`, 5).
    pub night_closures: u32,
}

fn hm(h: u32, m: u32) -> NaiveTime {
    // Constant arguments inside 0..24 and 0..60: from_hms_opt cannot fail for them.
    NaiveTime::from_hms_opt(h, m, 0).unwrap_or_default()
}

impl Default for SupervisionConfig {
    fn default() -> Self {
        SupervisionConfig {
            digest_day: chrono::Weekday::Mon,
            digest_time: hm(8, 0),
            evaluation_time: hm(8, 0),
            weights: Weights {
                response: 30,
                resolution: 35,
                satisfaction: 35,
            },
            board_size: 3,
            min_appeals: 3,
            thresholds: WarningThresholds {
                quick_resolve_mins: 60,
                overdue_rate_percent: 30,
                bare_resolution_chars: 3,
                repeat_days: 30,
                volume_drop_percent: 50,
                volume_drop_min: 10,
                night_hours: (hm(23, 0), hm(5, 0)),
                night_closures: 5,
            },
            warning_scan: Duration::from_secs(600),
        }
    }
}

/// How long a modem task waits and how often it looks; the one home of these defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModemTimings {
    /// A local AT command (`command_timeout_secs`, default 10).
    pub command: Duration,
    /// AT+CMGS waits on the network, far longer than a local command (fixed at 60 s).
    pub send: Duration,
    /// How often to sweep the SIM with AT+CMGL in case a +CMTI was lost
    /// (`sweep_interval_secs`, default 300).
    pub sweep: Duration,
    /// How often to ask for signal and registration (`health_interval_secs`, default 60).
    pub health: Duration,
    /// How long the init sequence may take, PIN included (`init_timeout_secs`, default 30).
    pub init: Duration,
}

impl Default for ModemTimings {
    fn default() -> Self {
        ModemTimings {
            command: Duration::from_secs(10),
            send: Duration::from_secs(60),
            sweep: Duration::from_secs(300),
            health: Duration::from_secs(60),
            init: Duration::from_secs(30),
        }
    }
}

#[derive(Debug, Clone)]
pub struct WebConfig {
    pub listen: SocketAddr,
    pub accounts: Vec<Account>,
}

#[derive(Clone)]
pub struct Account {
    pub name: String,
    pub role: Role,
    /// Argon2 PHC string (`$argon2id$...`). Redacted in Debug output.
    pub password_hash: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    Admin,
    Viewer,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Viewer => "viewer",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntakeConfig {
    /// A multi-part SMS still missing parts after this is filed with what arrived.
    pub concat_timeout: Duration,
    /// A second SMS from the same sender within this window is appended to the first.
    pub append_window: Duration,
    /// Texts one phone may have taken in an hour; more are recorded, never filed or answered.
    pub flood_per_hour: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxConfig {
    pub per_recipient_per_hour: u32,
    pub max_attempts: u32,
    pub retry_base: Duration,
    pub retry_max: Duration,
    /// Ask the network for delivery reports.
    pub status_reports: bool,
    /// false: a reply only goes out through its village's modem; true: through any modem.
    pub pool_sending: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Templates {
    /// Acknowledgement; placeholders `{signature}` and `{number}` (validated at load).
    pub ack: String,
}

impl Templates {
    /// Fills `{signature}` and `{number}` in one pass, so a signature that happens to
    /// contain "{number}" is not expanded a second time.
    pub fn render_ack(&self, signature: &str, number: &str) -> String {
        render(&self.ack, &[("signature", signature), ("number", number)])
    }
}

/// Single-pass `{name}` substitution; unknown or unclosed placeholders are kept verbatim
/// (validation rejects them at load, so this is only a no-panic fallback).
pub(crate) fn render(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) => {
                let name = &after[..close];
                match values.iter().find(|(k, _)| *k == name) {
                    Some((_, v)) => out.push_str(v),
                    None => {
                        out.push('{');
                        out.push_str(name);
                        out.push('}');
                    }
                }
                rest = &after[close + 1..];
            }
            None => {
                out.push_str(&rest[open..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// How the scheduler paces the time-driven work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SchedulerSettings {
    /// How often the daemon ticks.
    pub interval: Duration,
    /// A reminder goes this long before a deadline (at most half the colour's time limit).
    pub remind_before: Duration,
    /// The survey reminder goes this long after the prompt.
    pub survey_reminder_after: Duration,
}

impl Default for SchedulerSettings {
    fn default() -> Self {
        SchedulerSettings {
            interval: Duration::from_secs(15),
            remind_before: Duration::from_secs(30 * 60),
            survey_reminder_after: Duration::from_secs(24 * 3600),
        }
    }
}

#[derive(Clone, Default)]
pub struct ApiConfig {
    /// Bearer tokens accepted by the API. Redacted in Debug output.
    pub tokens: Vec<String>,
}

impl Config {
    /// Reads and validates the file at `path`, then applies `APPEAL_GATEWAY_DATABASE_URL`.
    /// Also checks that a configured `directory` file exists.
    pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
        let env_url = std::env::var(DATABASE_URL_ENV)
            .ok()
            .filter(|v| !v.trim().is_empty());
        load::load_file(path, env_url.as_deref())
    }

    /// Validates `text` as if read from `source` (used for messages and to resolve
    /// relative paths). No environment override, no file-system access.
    pub fn parse(text: &str, source: &Path) -> Result<Config, ConfigErrors> {
        load::parse_text(text, source, None).map_err(|errors| ConfigErrors {
            file: source.to_path_buf(),
            errors,
        })
    }

    /// Category and colour of an appeal: the first rule whose pattern matches, else
    /// ("其他", Green).
    pub fn classify(&self, text: &str) -> (String, Colour) {
        crate::grade::classify(&self.rules, text)
    }

    /// Whether `local` (a wall-clock time in `time_zone`) falls in the quiet hours.
    /// The window includes its start and excludes its end.
    pub fn is_quiet(&self, local: NaiveTime) -> bool {
        crate::quiet::contains(self.quiet_hours, local)
    }

    /// Things that are allowed but probably not meant (no modems, an ack too long for
    /// one SMS). The daemon logs these at start; same shape as errors.
    /// The default audit key file and the head file in use: beside an SQLite database file
    /// (`gateway.db.audit-key`, `gateway.db.audit-head`), else beside this config file
    /// (`audit.key`, `audit.head`); `[audit] head_file` replaces the second. Worked out from
    /// the final database URL, so the environment override and the demo's moves count.
    pub fn audit_files(&self) -> (PathBuf, PathBuf) {
        let (key, head) = load::audit_defaults(&self.source, &self.database.url);
        (key, self.audit.head_file.clone().unwrap_or(head))
    }

    pub fn warnings(&self) -> Vec<ConfigError> {
        validate::warnings(self)
    }
}

/// Stands in for a secret in Debug output; says whether one is set without showing it.
fn redacted<T>(v: &Option<T>) -> &'static str {
    if v.is_some() {
        "Some(<redacted>)"
    } else {
        "None"
    }
}

/// `postgres://user:secret@host/db` -> `postgres://user:<redacted>@host/db`.
fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_string();
    };
    let rest = &url[scheme_end + 3..];
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    match (authority.rfind('@'), authority.find(':')) {
        (Some(at), Some(colon)) if colon < at => format!(
            "{}{}:<redacted>{}",
            &url[..scheme_end + 3],
            &authority[..colon],
            &rest[at..]
        ),
        _ => url.to_string(),
    }
}

impl fmt::Debug for DatabaseConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatabaseConfig")
            .field("url", &redact_url(&self.url))
            .field("max_connections", &self.max_connections)
            .finish()
    }
}

impl fmt::Debug for ModemConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ModemConfig")
            .field("name", &self.name)
            .field("device", &self.device)
            .field("baud", &self.baud)
            .field("pin", &format_args!("{}", redacted(&self.pin)))
            .field("smsc", &self.smsc)
            .field("village", &self.village)
            .field("timings", &self.timings)
            .field("send_per_minute", &self.send_per_minute)
            .field("voice", &self.voice)
            .finish()
    }
}

impl fmt::Debug for Account {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Account")
            .field("name", &self.name)
            .field("role", &self.role)
            .field("password_hash", &format_args!("<redacted>"))
            .finish()
    }
}

impl fmt::Debug for Webhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Webhook")
            .field("url", &self.url)
            .field("secret", &format_args!("<redacted>"))
            .field("events", &self.events)
            .finish()
    }
}

impl fmt::Debug for ApiConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiConfig")
            .field(
                "tokens",
                &format_args!("[{} token(s) <redacted>]", self.tokens.len()),
            )
            .finish()
    }
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            accounts: Vec::new(),
        }
    }
}

impl Default for IntakeConfig {
    fn default() -> Self {
        IntakeConfig {
            concat_timeout: Duration::from_secs(600),
            append_window: Duration::from_secs(300),
            flood_per_hour: 20,
        }
    }
}

impl Default for OutboxConfig {
    fn default() -> Self {
        OutboxConfig {
            per_recipient_per_hour: 20,
            max_attempts: 5,
            retry_base: Duration::from_secs(30),
            retry_max: Duration::from_secs(1800),
            status_reports: true,
            pool_sending: false,
        }
    }
}

impl Default for Templates {
    fn default() -> Self {
        Templates {
            ack: DEFAULT_ACK.to_string(),
        }
    }
}

impl Default for Colours {
    fn default() -> Self {
        let limits = |mins: u64, hours: u64| ColourLimits {
            respond: Duration::from_secs(mins * 60),
            resolve: Duration::from_secs(hours * 3600),
        };
        Colours {
            red: limits(30, 24),
            yellow: limits(240, 72),
            green: limits(120, 24),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_is_single_pass_and_keeps_unknown_placeholders() {
        let t = Templates {
            ack: "{signature}编号{number}{other}{unclosed".into(),
        };
        assert_eq!(
            t.render_ack("【{number}】", "A1"),
            "【{number}】编号A1{other}{unclosed"
        );
    }

    #[test]
    fn redact_url_hides_only_the_password() {
        assert_eq!(
            redact_url("postgres://gw:s3cret@db.local:5432/appeals"),
            "postgres://gw:<redacted>@db.local:5432/appeals"
        );
        assert_eq!(
            redact_url("postgres://gw@db/appeals"),
            "postgres://gw@db/appeals"
        );
        assert_eq!(
            redact_url("sqlite:///var/lib/a.db"),
            "sqlite:///var/lib/a.db"
        );
    }
}
