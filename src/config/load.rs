//! TOML text -> [`Config`]. The text is parsed into a plain `toml::Table` first and then
//! walked by hand against the schema below, rather than deserialised with serde, so that
//! one pass can report every unknown key (with a "did you mean"), every wrong type and
//! every bad value, each under its full key path such as `modem[1].baud`.

use chrono::NaiveTime;
use std::path::{Path, PathBuf};
use std::time::Duration;

use toml::{Table, Value};

use super::audit_key::MIN_KEY_BYTES;
use super::defaults::{default_rules, DEFAULT_ACK, DEFAULT_SIGNATURE, DEFAULT_TIME_ZONE};
use super::validate::{self, Problem};
use super::{
    Account, ApiConfig, AuditConfig, AuditKeySource, Config, ConfigError, ConfigErrors,
    DatabaseConfig, IntakeConfig, ModemConfig, ModemTimings, OutboxConfig, SchedulerSettings,
    SupervisionConfig, Templates, VoiceConfig, WarningThresholds, WebConfig, Webhook, WebhookEvent,
    Weights, DATABASE_URL_ENV,
};
use crate::grade::{ColourLimits, Colours, Rule};

const TOP: &[&str] = &[
    "time_zone",
    "signature",
    "quiet_hours",
    "directory",
    "database",
    "modem",
    "web",
    "intake",
    "outbox",
    "templates",
    "colours",
    "rule",
    "api",
    "webhook",
    "scheduler",
    "audit",
    "voice",
    "supervision",
];
/// Top-level keys that hold plain values: written after a [section] header they land
/// inside that section, the most common TOML slip.
const TOP_SCALARS: &[&str] = &["time_zone", "signature", "quiet_hours", "directory"];
const DATABASE: &[&str] = &["url", "max_connections"];
const MODEM: &[&str] = &[
    "name",
    "device",
    "baud",
    "pin",
    "smsc",
    "village",
    "command_timeout_secs",
    "sweep_interval_secs",
    "health_interval_secs",
    "send_per_minute",
    "init_timeout_secs",
    "voice",
];
const WEB: &[&str] = &["listen", "account"];
const ACCOUNT: &[&str] = &["name", "role", "password_hash"];
const INTAKE: &[&str] = &[
    "concat_timeout_secs",
    "append_window_secs",
    "flood_per_hour",
];
const OUTBOX: &[&str] = &[
    "per_recipient_per_hour",
    "max_attempts",
    "retry_base_secs",
    "retry_max_secs",
    "status_reports",
    "pool_sending",
];
const TEMPLATES: &[&str] = &["ack"];
const COLOURS: &[&str] = &["red", "yellow", "green"];
const COLOUR_LIMITS: &[&str] = &["respond_mins", "resolve_hours"];
const RULE: &[&str] = &["pattern", "category", "colour"];
const API: &[&str] = &["tokens"];
const WEBHOOK: &[&str] = &["url", "secret", "events"];
const SCHEDULER: &[&str] = &[
    "interval_secs",
    "remind_before_mins",
    "survey_reminder_hours",
];
const AUDIT: &[&str] = &["key", "key_file", "head_file"];
const VOICE: &[&str] = &[
    "clip_wait_ms",
    "hangup_confirm_secs",
    "repeat_window_mins",
    "callback_colour",
    "rating_call_after_hours",
    "rating_call_attempts",
    "rating_call_retry_mins",
    "rating_calls_per_hour",
];

const SUPERVISION: &[&str] = &[
    "digest_day",
    "digest_time",
    "evaluation_time",
    "weight_response",
    "weight_resolution",
    "weight_satisfaction",
    "board_size",
    "min_appeals",
    "quick_resolve_mins",
    "overdue_rate_percent",
    "bare_resolution_chars",
    "repeat_days",
    "volume_drop_percent",
    "volume_drop_min",
    "night_hours",
    "night_closures",
    "warning_scan_mins",
];

/// Every section and its keys; the example-file test checks each appears there.
#[cfg(test)]
pub(super) const SCHEMA: &[(&str, &[&str])] = &[
    ("", TOP),
    ("database", DATABASE),
    ("modem", MODEM),
    ("web", WEB),
    ("web.account", ACCOUNT),
    ("intake", INTAKE),
    ("outbox", OUTBOX),
    ("templates", TEMPLATES),
    ("colours", COLOURS),
    ("colours.red", COLOUR_LIMITS),
    ("colours.yellow", COLOUR_LIMITS),
    ("colours.green", COLOUR_LIMITS),
    ("rule", RULE),
    ("api", API),
    ("webhook", WEBHOOK),
    ("scheduler", SCHEDULER),
    ("audit", AUDIT),
    ("voice", VOICE),
    ("supervision", SUPERVISION),
];

const ACK_PLACEHOLDERS: &[&str] = &["signature", "number"];

pub(super) fn load_file(path: &Path, env_url: Option<&str>) -> Result<Config, ConfigErrors> {
    let wrap = |errors| ConfigErrors {
        file: path.to_path_buf(),
        errors,
    };
    let text = std::fs::read_to_string(path).map_err(|e| {
        let fix = if e.kind() == std::io::ErrorKind::InvalidData {
            "save the file as UTF-8 (not GBK): in an editor choose Save As, encoding UTF-8"
        } else {
            "check the path given to --config (packaged default: /etc/appeal-gateway/gateway.toml) and that the appeal-gateway user may read it"
        };
        wrap(vec![ConfigError::new(
            "",
            format!("cannot read the file: {e}"),
            fix,
        )])
    })?;
    let config = parse_text(&text, path, env_url).map_err(wrap)?;
    if let Some(dir) = &config.directory {
        if !dir.is_file() {
            return Err(wrap(vec![ConfigError::new(
                "directory",
                format!("the directory file {} does not exist", dir.display()),
                "fix the path (relative paths start from the config file's folder) or remove the line",
            )]));
        }
    }
    if let AuditKeySource::File(path) = &config.audit.key {
        if let Err(e) = super::audit_key::load_key_file(path, false) {
            let (problem, fix) = match e {
                super::audit_key::KeyError::File { problem, fix, .. } => (problem, fix),
                other => (other.to_string(), "see [audit] in example.toml".to_string()),
            };
            return Err(wrap(vec![ConfigError::new(
                "audit.key_file",
                format!("{}: {problem}", path.display()),
                fix,
            )]));
        }
    }
    Ok(config)
}

/// Parses and validates; `env_url` replaces `[database] url` when given.
pub(super) fn parse_text(
    text: &str,
    source: &Path,
    env_url: Option<&str>,
) -> Result<Config, Vec<ConfigError>> {
    // Windows editors put a byte-order mark in front of UTF-8 files.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let root: Table = text.parse().map_err(|e| vec![syntax_error(text, &e)])?;
    let mut cx = Cx::default();
    let config = walk(&mut cx, &root, source, env_url);
    if cx.errors.is_empty() {
        config.ok_or_else(|| {
            // `walk` only returns None after recording an error; kept as a guard.
            vec![ConfigError::new(
                "",
                "the configuration is incomplete",
                "see gateway-config/example.toml",
            )]
        })
    } else {
        Err(cx.errors)
    }
}

fn syntax_error(text: &str, e: &toml::de::Error) -> ConfigError {
    let key = match e.span() {
        Some(span) => {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            format!("line {line}, column {column}")
        }
        None => String::new(),
    };
    ConfigError::new(
        key,
        format!("TOML syntax error: {}", e.message()),
        "text values need double quotes, each key = value on its own line, [section] headers in square brackets",
    )
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::String(_) => "text",
        Value::Integer(_) => "a whole number",
        Value::Float(_) => "a decimal number",
        Value::Boolean(_) => "true/false",
        Value::Datetime(_) => "a date/time",
        Value::Array(_) => "a list",
        Value::Table(_) => "a table",
    }
}

/// Collects errors while the walk goes on; getters fall back to the default after
/// recording an error so the walk can find the next one.
#[derive(Default)]
struct Cx {
    errors: Vec<ConfigError>,
}

impl Cx {
    fn err(&mut self, key: impl Into<String>, problem: impl Into<String>, fix: impl Into<String>) {
        self.errors.push(ConfigError::new(key, problem, fix));
    }

    fn check<T>(&mut self, key: &str, r: Result<T, Problem>) -> Option<T> {
        r.map_err(|p| self.err(key, p.problem, p.fix)).ok()
    }

    fn unknown_keys(&mut self, t: &Table, prefix: &str, known: &[&str]) {
        for k in t.keys() {
            if known.contains(&k.as_str()) {
                continue;
            }
            let fix = if let Some(s) = validate::suggest(k, known) {
                format!("did you mean `{s}`?")
            } else if !prefix.is_empty() && TOP_SCALARS.contains(&k.as_str()) {
                format!(
                    "move `{k}` above the first [section] header: in TOML every key written after a header belongs to that section"
                )
            } else {
                format!("remove it; keys allowed here: {}", known.join(", "))
            };
            self.err(
                join(prefix, k),
                format!("unknown key `{}`", join(prefix, k)),
                fix,
            );
        }
    }

    fn wrong_type(&mut self, key: &str, expected: &str, found: &Value, fix: String) {
        self.err(
            key,
            format!("expected {expected}, found {}", type_name(found)),
            fix,
        );
    }

    fn string(&mut self, t: &Table, prefix: &str, k: &str) -> Option<String> {
        let key = join(prefix, k);
        match t.get(k)? {
            Value::String(s) => Some(s.clone()),
            // The value is not echoed: it may be a PIN.
            other => {
                self.wrong_type(
                    &key,
                    "text",
                    other,
                    format!("put the value in double quotes: {k} = \"...\""),
                );
                None
            }
        }
    }

    /// A required string that must also pass `valid` (which returns no value of its own).
    fn required_checked(
        &mut self,
        t: &Table,
        prefix: &str,
        k: &str,
        example: &str,
        valid: fn(&str) -> Result<(), Problem>,
    ) -> Option<String> {
        let v = self.required_string(t, prefix, k, example)?;
        self.check(&join(prefix, k), valid(&v)).map(|()| v)
    }

    fn required_string(
        &mut self,
        t: &Table,
        prefix: &str,
        k: &str,
        example: &str,
    ) -> Option<String> {
        if !t.contains_key(k) {
            self.err(
                join(prefix, k),
                format!("missing `{k}`"),
                format!("add {k} = {example}"),
            );
            return None;
        }
        self.string(t, prefix, k)
    }

    fn int(&mut self, t: &Table, prefix: &str, k: &str, example: u64) -> Option<i64> {
        let key = join(prefix, k);
        match t.get(k)? {
            Value::Integer(n) => Some(*n),
            Value::String(s) if s.trim().parse::<i64>().is_ok() => {
                self.wrong_type(
                    &key,
                    "a whole number",
                    &Value::String(String::new()),
                    format!("remove the quotes: {k} = {}", s.trim()),
                );
                None
            }
            other => {
                self.wrong_type(
                    &key,
                    "a whole number",
                    other,
                    format!("write a whole number without quotes, e.g. {k} = {example}"),
                );
                None
            }
        }
    }

    /// A positive count; zero would stall the thing it limits.
    fn count(&mut self, t: &Table, prefix: &str, k: &str, default: u32) -> u32 {
        let Some(n) = self.int(t, prefix, k, u64::from(default)) else {
            return default;
        };
        match u32::try_from(n) {
            Ok(v) if v >= 1 => v,
            _ => {
                self.err(
                    join(prefix, k),
                    format!("{n} is out of range (1 to {})", u32::MAX),
                    format!("use a positive whole number; the default is {default}"),
                );
                default
            }
        }
    }

    fn secs(&mut self, t: &Table, prefix: &str, k: &str, default: u64) -> Duration {
        let n = self.count(t, prefix, k, u32::try_from(default).unwrap_or(u32::MAX));
        Duration::from_secs(u64::from(n))
    }

    fn boolean(&mut self, t: &Table, prefix: &str, k: &str, default: bool) -> bool {
        match t.get(k) {
            None => default,
            Some(Value::Boolean(b)) => *b,
            Some(other) => {
                self.wrong_type(
                    &join(prefix, k),
                    "true or false",
                    other,
                    format!("write {k} = true or {k} = false, without quotes"),
                );
                default
            }
        }
    }

    /// A sub-table; absent means "all defaults".
    fn table<'a>(&mut self, t: &'a Table, prefix: &str, k: &str) -> Option<&'a Table> {
        match t.get(k)? {
            Value::Table(sub) => Some(sub),
            other => {
                let header = join(prefix, k);
                self.wrong_type(
                    &header,
                    "a section",
                    other,
                    format!("write a [{header}] header and put its keys on the lines below it"),
                );
                None
            }
        }
    }

    /// An array of tables (`[[modem]]`), each with its key path `modem[i]`.
    fn tables<'a>(&mut self, t: &'a Table, prefix: &str, k: &str) -> Vec<(String, &'a Table)> {
        let key = join(prefix, k);
        let whole = List {
            what: format!("a list of [[{key}]] sections"),
            fix: format!("write [[{key}]] with two brackets, once per entry"),
            item: "a table",
            item_fix: format!("write each entry as a [[{key}]] section"),
        };
        self.list(t, prefix, k, whole, |v| match v {
            Value::Table(sub) => Some(sub),
            _ => None,
        })
    }

    fn strings(&mut self, t: &Table, prefix: &str, k: &str) -> Vec<(String, String)> {
        let whole = List {
            what: "a list".into(),
            fix: format!("write {k} = [\"...\", \"...\"]"),
            item: "text",
            item_fix: "put each entry in double quotes".into(),
        };
        self.list(t, prefix, k, whole, |v| match v {
            Value::String(s) => Some(s.clone()),
            _ => None,
        })
    }

    /// The entries of the array at `k` that `pick` accepts, each with its key path `k[i]`; the
    /// others, and a value that is no array at all, are reported with the fixes in `whole`.
    fn list<'a, T>(
        &mut self,
        t: &'a Table,
        prefix: &str,
        k: &str,
        whole: List,
        pick: impl Fn(&'a Value) -> Option<T>,
    ) -> Vec<(String, T)> {
        let key = join(prefix, k);
        match t.get(k) {
            None => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .filter_map(|(i, v)| {
                    let item_key = format!("{key}[{i}]");
                    let picked = pick(v);
                    if picked.is_none() {
                        self.wrong_type(&item_key, whole.item, v, whole.item_fix.clone());
                    }
                    picked.map(|p| (item_key, p))
                })
                .collect(),
            Some(other) => {
                self.wrong_type(&key, &whole.what, other, whole.fix);
                Vec::new()
            }
        }
    }
}

/// How [`Cx::list`] words its complaints: about the value as a whole, and about one entry.
struct List {
    what: String,
    fix: String,
    item: &'static str,
    item_fix: String,
}

/// The whole schema in reading order. Returns None only when an error was recorded.
fn walk(cx: &mut Cx, root: &Table, source: &Path, env_url: Option<&str>) -> Option<Config> {
    let empty = Table::new();
    cx.unknown_keys(root, "", TOP);

    let time_zone = match cx.string(root, "", "time_zone") {
        Some(s) => cx.check("time_zone", validate::time_zone(&s)),
        None => validate::time_zone(DEFAULT_TIME_ZONE).ok(),
    };
    let signature = cx
        .string(root, "", "signature")
        .unwrap_or_else(|| DEFAULT_SIGNATURE.to_string());
    let quiet_hours = match cx.string(root, "", "quiet_hours") {
        Some(s) => cx.check("quiet_hours", validate::quiet_hours(&s)),
        None => validate::quiet_hours("22:00-07:00").ok(),
    };
    let directory = cx.string(root, "", "directory").and_then(|d| {
        if d.trim().is_empty() {
            cx.err(
                "directory",
                "empty path",
                "give the directory file's path or remove the line",
            );
            return None;
        }
        let p = PathBuf::from(d);
        Some(if p.is_absolute() {
            p
        } else {
            source.parent().unwrap_or(Path::new("")).join(p)
        })
    });

    let t = cx_table(cx, root, "database", &empty);
    let database = database(cx, t, env_url);
    let modems = modems(cx, root);
    let t = cx_table(cx, root, "web", &empty);
    let web = web(cx, t);
    let t = cx_table(cx, root, "intake", &empty);
    let intake = intake(cx, t);
    let t = cx_table(cx, root, "outbox", &empty);
    let outbox = outbox(cx, t);
    let t = cx_table(cx, root, "templates", &empty);
    let templates = templates(cx, t);
    let t = cx_table(cx, root, "colours", &empty);
    let colours = colours(cx, t);
    let rules = if root.contains_key("rule") {
        rules(cx, root)
    } else {
        default_rules()
    };
    let t = cx_table(cx, root, "api", &empty);
    let api = api(cx, t);
    let webhooks = webhooks(cx, root);
    let t = cx_table(cx, root, "scheduler", &empty);
    let scheduler = scheduler(cx, t);
    let t = cx_table(cx, root, "audit", &empty);
    let audit = audit(cx, t, source);
    let t = cx_table(cx, root, "voice", &empty);
    let voice = voice(cx, t);
    let t = cx_table(cx, root, "supervision", &empty);
    let supervision = supervision(cx, t);

    Some(Config {
        source: source.to_path_buf(),
        time_zone: time_zone?,
        signature,
        database: database?,
        modems,
        web,
        intake,
        outbox,
        templates,
        quiet_hours: quiet_hours?,
        colours,
        rules,
        directory,
        api,
        webhooks,
        scheduler,
        audit,
        voice,
        supervision,
    })
}

/// A top-level section, checked for unknown keys; `empty` when absent.
fn cx_table<'a>(cx: &mut Cx, root: &'a Table, k: &str, empty: &'a Table) -> &'a Table {
    let t = cx.table(root, "", k).unwrap_or(empty);
    let known = match k {
        "database" => DATABASE,
        "web" => WEB,
        "intake" => INTAKE,
        "outbox" => OUTBOX,
        "templates" => TEMPLATES,
        "colours" => COLOURS,
        "scheduler" => SCHEDULER,
        "audit" => AUDIT,
        "voice" => VOICE,
        "supervision" => SUPERVISION,
        _ => API,
    };
    cx.unknown_keys(t, k, known);
    t
}

/// `[audit]`: the chain's key (inline or a file; by default a file made on first start) and
/// the head file. The defaults follow the final database URL: see [`Config::audit_files`].
fn audit(cx: &mut Cx, t: &Table, source: &Path) -> AuditConfig {
    let folder = source.parent().unwrap_or(Path::new(""));
    let resolve = |p: &str| {
        let p = PathBuf::from(p);
        if p.is_absolute() {
            p
        } else {
            folder.join(p)
        }
    };
    let key = cx.string(t, "audit", "key");
    let key_file = cx.string(t, "audit", "key_file");
    let key = match (key, key_file) {
        (Some(_), Some(_)) => {
            cx.err(
                "audit.key",
                "both `key` and `key_file` are set",
                "keep one; key_file (a file only the daemon may read) keeps the key out of this file",
            );
            AuditKeySource::Default
        }
        (Some(k), None) => {
            let n = k.trim().len();
            if n < MIN_KEY_BYTES {
                cx.err(
                    "audit.key",
                    format!("the key is {n} characters long; at least {MIN_KEY_BYTES} are needed"),
                    "use 64 hex digits, e.g. the output of `openssl rand -hex 32`",
                );
            }
            AuditKeySource::Inline(k)
        }
        (None, Some(f)) if f.trim().is_empty() => {
            cx.err(
                "audit.key_file",
                "empty path",
                "give the key file's path or remove the line (the default is a key file made on first start)",
            );
            AuditKeySource::Default
        }
        (None, Some(f)) => AuditKeySource::File(resolve(&f)),
        (None, None) => AuditKeySource::Default,
    };
    let head_file = match cx.string(t, "audit", "head_file") {
        Some(h) if h.trim().is_empty() => {
            cx.err(
                "audit.head_file",
                "empty path",
                "give a path the daemon may write, or remove the line for the default",
            );
            None
        }
        Some(h) => Some(resolve(&h)),
        None => None,
    };
    AuditConfig { key, head_file }
}

/// The default key file and head file: beside an SQLite database file, else (PostgreSQL, an
/// in-memory SQLite) beside the config file.
pub(super) fn audit_defaults(source: &Path, url: &str) -> (PathBuf, PathBuf) {
    match sqlite_file(url) {
        Some(f) => (suffixed(&f, ".audit-key"), suffixed(&f, ".audit-head")),
        None => {
            let folder = source.parent().unwrap_or(Path::new(""));
            (folder.join("audit.key"), folder.join("audit.head"))
        }
    }
}

/// The file of an `sqlite:` URL; None for memory databases and other backends.
fn sqlite_file(url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    (!path.is_empty() && !path.contains(":memory:")).then(|| PathBuf::from(path))
}

fn suffixed(p: &Path, suffix: &str) -> PathBuf {
    let mut s = p.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

fn database(cx: &mut Cx, t: &Table, env_url: Option<&str>) -> Option<DatabaseConfig> {
    let max_connections = cx.count(t, "database", "max_connections", 8);
    let url = match env_url {
        Some(url) => {
            // The file's own url is still type-checked, though it is not used.
            let _ = cx.string(t, "database", "url");
            if let Err(p) = validate::database_url(url) {
                cx.err(
                    "database.url",
                    format!("{} (value from {DATABASE_URL_ENV})", p.problem),
                    p.fix,
                );
                return None;
            }
            url.to_string()
        }
        None => {
            if !t.contains_key("url") {
                cx.err(
                    "database.url",
                    "missing: the gateway needs a database",
                    format!(
                        "add a [database] section with url = \"sqlite:///var/lib/appeal-gateway/gateway.db\" (or set {DATABASE_URL_ENV})"
                    ),
                );
                return None;
            }
            let url = cx.string(t, "database", "url")?;
            cx.check("database.url", validate::database_url(&url))?;
            url
        }
    };
    Some(DatabaseConfig {
        url,
        max_connections,
    })
}

fn modems(cx: &mut Cx, root: &Table) -> Vec<ModemConfig> {
    let mut out: Vec<(String, ModemConfig)> = Vec::new();
    for (p, t) in cx.tables(root, "", "modem") {
        cx.unknown_keys(t, &p, MODEM);
        let name = cx.required_checked(t, &p, "name", "\"village1\"", validate::modem_name);
        let device = cx
            .required_string(t, &p, "device", "\"/dev/ttyUSB2\"")
            .and_then(|d| cx.check(&join(&p, "device"), validate::device(&d)));
        let baud = match cx.int(t, &p, "baud", 115200) {
            Some(n) => cx
                .check(&join(&p, "baud"), validate::baud(n))
                .unwrap_or(115200),
            None => 115200,
        };
        let pin = cx.string(t, &p, "pin");
        if let Some(pin) = &pin {
            cx.check(&join(&p, "pin"), validate::pin(pin));
        }
        let smsc = cx.string(t, &p, "smsc");
        if let Some(smsc) = &smsc {
            cx.check(&join(&p, "smsc"), validate::phone(smsc));
        }
        let village = cx.string(t, &p, "village");
        if village.as_deref().is_some_and(|v| v.trim().is_empty()) {
            cx.err(
                join(&p, "village"),
                "empty village code",
                "give the code of the village this modem serves, or remove the line",
            );
        }
        let d = ModemTimings::default();
        let timings = ModemTimings {
            command: cx.secs(t, &p, "command_timeout_secs", d.command.as_secs()),
            send: d.send,
            sweep: cx.secs(t, &p, "sweep_interval_secs", d.sweep.as_secs()),
            health: cx.secs(t, &p, "health_interval_secs", d.health.as_secs()),
            init: cx.secs(t, &p, "init_timeout_secs", d.init.as_secs()),
        };
        let send_per_minute = cx.count(t, &p, "send_per_minute", 10);
        let voice = cx
            .string(t, &p, "voice")
            .and_then(|v| cx.check(&join(&p, "voice"), validate::voice_mode(&v)))
            .unwrap_or_default();
        let (Some(name), Some(device)) = (name, device) else {
            continue;
        };
        if let Some((first, _)) = out.iter().find(|(_, m)| m.name == name) {
            cx.err(
                join(&p, "name"),
                format!("modem name \"{name}\" is already used by {first}"),
                "give every modem its own name",
            );
        }
        if let Some((first, _)) = out.iter().find(|(_, m)| m.device == device) {
            cx.err(
                join(&p, "device"),
                format!("this device is already used by {first}"),
                "each modem needs its own device; two readers on one port garble both",
            );
        }
        out.push((
            p,
            ModemConfig {
                name,
                device,
                baud,
                pin,
                smsc,
                village,
                timings,
                send_per_minute,
                voice,
            },
        ));
    }
    out.into_iter().map(|(_, m)| m).collect()
}

fn web(cx: &mut Cx, t: &Table) -> WebConfig {
    let defaults = WebConfig::default();
    let listen = cx
        .string(t, "web", "listen")
        .and_then(|s| cx.check("web.listen", validate::listen(&s)))
        .unwrap_or(defaults.listen);
    let mut accounts: Vec<Account> = Vec::new();
    for (p, a) in cx.tables(t, "web", "account") {
        cx.unknown_keys(a, &p, ACCOUNT);
        let name = cx.required_string(a, &p, "name", "\"admin\"");
        if name.as_deref().is_some_and(|n| n.trim().is_empty()) {
            cx.err(join(&p, "name"), "empty account name", "give a login name");
        }
        let role = cx
            .required_string(a, &p, "role", "\"admin\"")
            .and_then(|r| cx.check(&join(&p, "role"), validate::role(&r)));
        let hash = cx.required_checked(
            a,
            &p,
            "password_hash",
            "\"$argon2id$...\"",
            validate::password_hash,
        );
        let (Some(name), Some(role), Some(password_hash)) = (name, role, hash) else {
            continue;
        };
        if accounts.iter().any(|x| x.name == name) {
            cx.err(
                join(&p, "name"),
                format!("account \"{name}\" is defined twice"),
                "give every account its own name",
            );
            continue;
        }
        accounts.push(Account {
            name,
            role,
            password_hash,
        });
    }
    WebConfig { listen, accounts }
}

fn intake(cx: &mut Cx, t: &Table) -> IntakeConfig {
    let d = IntakeConfig::default();
    IntakeConfig {
        concat_timeout: cx.secs(
            t,
            "intake",
            "concat_timeout_secs",
            d.concat_timeout.as_secs(),
        ),
        append_window: cx.secs(t, "intake", "append_window_secs", d.append_window.as_secs()),
        flood_per_hour: cx.count(t, "intake", "flood_per_hour", d.flood_per_hour),
    }
}

fn voice(cx: &mut Cx, t: &Table) -> VoiceConfig {
    let d = VoiceConfig::default();
    let ms = u32::try_from(d.clip_wait.as_millis()).unwrap_or(u32::MAX);
    VoiceConfig {
        clip_wait: Duration::from_millis(u64::from(cx.count(t, "voice", "clip_wait_ms", ms))),
        hangup_confirm: cx.secs(
            t,
            "voice",
            "hangup_confirm_secs",
            d.hangup_confirm.as_secs(),
        ),
        repeat_window: Duration::from_secs(
            60 * u64::from(cx.count(
                t,
                "voice",
                "repeat_window_mins",
                (d.repeat_window.as_secs() / 60) as u32,
            )),
        ),
        callback_colour: cx
            .string(t, "voice", "callback_colour")
            .and_then(|c| cx.check("voice.callback_colour", validate::colour(&c)))
            .unwrap_or(d.callback_colour),
        rating_call_after: match cx.count(t, "voice", "rating_call_after_hours", 48) {
            0 => None,
            h => Some(Duration::from_secs(3600 * u64::from(h))),
        },
        rating_call_attempts: cx.count(t, "voice", "rating_call_attempts", d.rating_call_attempts),
        rating_call_retry: Duration::from_secs(
            60 * u64::from(cx.count(t, "voice", "rating_call_retry_mins", 120)),
        ),
        rating_calls_per_hour: cx.count(
            t,
            "voice",
            "rating_calls_per_hour",
            d.rating_calls_per_hour,
        ),
    }
}

/// `[supervision]`. Weights may be 0 (a rate left out of the score) but not all three.
fn supervision(cx: &mut Cx, t: &Table) -> SupervisionConfig {
    let d = SupervisionConfig::default();
    let p = "supervision";
    let time = |cx: &mut Cx, k: &str, default: NaiveTime| match cx.string(t, p, k) {
        None => default,
        Some(s) => cx
            .check(&join(p, k), validate::clock_time(&s))
            .unwrap_or(default),
    };
    let digest_day = match cx.string(t, p, "digest_day") {
        None => d.digest_day,
        Some(s) => cx
            .check("supervision.digest_day", validate::weekday(&s))
            .unwrap_or(d.digest_day),
    };
    let digest_time = time(cx, "digest_time", d.digest_time);
    let evaluation_time = time(cx, "evaluation_time", d.evaluation_time);
    let weight = |cx: &mut Cx, k: &str, default: u32| match cx.int(t, p, k, u64::from(default)) {
        None => default,
        Some(n) if (0..=100).contains(&n) => n as u32,
        Some(n) => {
            cx.err(
                join(p, k),
                format!("{n} is out of range (0 to 100)"),
                format!("use a whole number from 0 to 100; the default is {default}"),
            );
            default
        }
    };
    let mut weights = Weights {
        response: weight(cx, "weight_response", d.weights.response),
        resolution: weight(cx, "weight_resolution", d.weights.resolution),
        satisfaction: weight(cx, "weight_satisfaction", d.weights.satisfaction),
    };
    if weights.response + weights.resolution + weights.satisfaction == 0 {
        cx.err(
            "supervision.weight_response",
            "all three weights are 0, so no score can be computed",
            "give at least one weight a positive value; the defaults are 30, 35 and 35",
        );
        weights = d.weights;
    }
    let th = d.thresholds;
    let percent = |cx: &mut Cx, k: &str, default: u32| {
        let n = cx.count(t, p, k, default);
        if n > 100 {
            cx.err(
                join(p, k),
                format!("{n} is not a percentage"),
                format!("use a whole number from 1 to 100; the default is {default}"),
            );
            default
        } else {
            n
        }
    };
    let thresholds = WarningThresholds {
        quick_resolve_mins: cx.count(t, p, "quick_resolve_mins", th.quick_resolve_mins),
        overdue_rate_percent: percent(cx, "overdue_rate_percent", th.overdue_rate_percent),
        bare_resolution_chars: cx.count(t, p, "bare_resolution_chars", th.bare_resolution_chars),
        repeat_days: cx.count(t, p, "repeat_days", th.repeat_days),
        volume_drop_percent: percent(cx, "volume_drop_percent", th.volume_drop_percent),
        volume_drop_min: cx.count(t, p, "volume_drop_min", th.volume_drop_min),
        night_hours: match cx.string(t, p, "night_hours") {
            None => th.night_hours,
            Some(s) => cx
                .check("supervision.night_hours", validate::quiet_hours(&s))
                .unwrap_or(th.night_hours),
        },
        night_closures: cx.count(t, p, "night_closures", th.night_closures),
    };
    SupervisionConfig {
        digest_day,
        digest_time,
        evaluation_time,
        weights,
        board_size: cx.count(t, p, "board_size", d.board_size),
        min_appeals: cx.count(t, p, "min_appeals", d.min_appeals),
        thresholds,
        warning_scan: Duration::from_secs(60 * u64::from(cx.count(t, p, "warning_scan_mins", 10))),
    }
}

fn outbox(cx: &mut Cx, t: &Table) -> OutboxConfig {
    let d = OutboxConfig::default();
    let o = OutboxConfig {
        per_recipient_per_hour: cx.count(
            t,
            "outbox",
            "per_recipient_per_hour",
            d.per_recipient_per_hour,
        ),
        max_attempts: cx.count(t, "outbox", "max_attempts", d.max_attempts),
        retry_base: cx.secs(t, "outbox", "retry_base_secs", d.retry_base.as_secs()),
        retry_max: cx.secs(t, "outbox", "retry_max_secs", d.retry_max.as_secs()),
        status_reports: cx.boolean(t, "outbox", "status_reports", d.status_reports),
        pool_sending: cx.boolean(t, "outbox", "pool_sending", d.pool_sending),
    };
    if o.retry_base > o.retry_max {
        cx.err(
            "outbox.retry_max_secs",
            format!(
                "retry_max_secs ({}) is smaller than retry_base_secs ({})",
                o.retry_max.as_secs(),
                o.retry_base.as_secs()
            ),
            "make retry_max_secs at least retry_base_secs: the wait doubles from base up to max",
        );
    }
    o
}

fn templates(cx: &mut Cx, t: &Table) -> Templates {
    let ack = cx
        .string(t, "templates", "ack")
        .unwrap_or_else(|| DEFAULT_ACK.to_string());
    for p in validate::template(&ack, ACK_PLACEHOLDERS, &["number"]) {
        cx.err("templates.ack", p.problem, p.fix);
    }
    Templates { ack }
}

fn colours(cx: &mut Cx, t: &Table) -> Colours {
    let d = Colours::default();
    let mut one = |name: &str, default: &ColourLimits| -> ColourLimits {
        let prefix = format!("colours.{name}");
        let Some(sub) = cx.table(t, "colours", name) else {
            return *default;
        };
        cx.unknown_keys(sub, &prefix, COLOUR_LIMITS);
        let mins = cx.count(sub, &prefix, "respond_mins", minutes(default.respond));
        let hours = cx.count(sub, &prefix, "resolve_hours", minutes(default.resolve) / 60);
        let limits = ColourLimits {
            respond: Duration::from_secs(u64::from(mins) * 60),
            resolve: Duration::from_secs(u64::from(hours) * 3600),
        };
        if limits.respond > limits.resolve {
            cx.err(
                format!("{prefix}.respond_mins"),
                format!("respond_mins ({mins} min) is longer than resolve_hours ({hours} h)"),
                "the first response must come before the resolution deadline",
            );
        }
        limits
    };
    Colours {
        red: one("red", &d.red),
        yellow: one("yellow", &d.yellow),
        green: one("green", &d.green),
    }
}

fn minutes(d: Duration) -> u32 {
    u32::try_from(d.as_secs() / 60).unwrap_or(u32::MAX)
}

fn rules(cx: &mut Cx, root: &Table) -> Vec<Rule> {
    let mut out = Vec::new();
    for (p, t) in cx.tables(root, "", "rule") {
        cx.unknown_keys(t, &p, RULE);
        let pattern = cx
            .required_string(t, &p, "pattern", "\"漏电|触电\"")
            .and_then(|s| cx.check(&join(&p, "pattern"), validate::regex(&s)));
        let category = cx.required_string(t, &p, "category", "\"用水用电\"");
        if category.as_deref().is_some_and(|c| c.trim().is_empty()) {
            cx.err(
                join(&p, "category"),
                "empty category",
                "name the category, e.g. \"用水用电\"",
            );
        }
        let colour = cx
            .required_string(t, &p, "colour", "\"red\"")
            .and_then(|c| cx.check(&join(&p, "colour"), validate::colour(&c)));
        if let (Some(pattern), Some(category), Some(colour)) = (pattern, category, colour) {
            out.push(Rule {
                pattern,
                category,
                colour,
            });
        }
    }
    out
}

fn scheduler(cx: &mut Cx, t: &Table) -> SchedulerSettings {
    let d = SchedulerSettings::default();
    let interval = cx.secs(t, "scheduler", "interval_secs", d.interval.as_secs());
    let remind = cx.count(t, "scheduler", "remind_before_mins", 30);
    let survey = cx.count(t, "scheduler", "survey_reminder_hours", 24);
    SchedulerSettings {
        interval,
        remind_before: Duration::from_secs(u64::from(remind) * 60),
        survey_reminder_after: Duration::from_secs(u64::from(survey) * 3600),
    }
}

fn api(cx: &mut Cx, t: &Table) -> ApiConfig {
    let mut tokens: Vec<String> = Vec::new();
    for (key, token) in cx.strings(t, "api", "tokens") {
        if cx.check(&key, validate::api_token(&token)).is_none() {
            continue;
        }
        if tokens.contains(&token) {
            cx.err(
                key,
                "this token is listed twice",
                "remove the repeat; give each API client its own token",
            );
            continue;
        }
        tokens.push(token);
    }
    ApiConfig { tokens }
}

fn webhooks(cx: &mut Cx, root: &Table) -> Vec<Webhook> {
    let mut out: Vec<Webhook> = Vec::new();
    for (p, t) in cx.tables(root, "", "webhook") {
        cx.unknown_keys(t, &p, WEBHOOK);
        let url = cx.required_checked(
            t,
            &p,
            "url",
            "\"http://127.0.0.1:9000/appeals\"",
            validate::webhook_url,
        );
        let secret = cx.required_checked(
            t,
            &p,
            "secret",
            "\"$(openssl rand -hex 32)\"",
            validate::api_token,
        );
        let events = if t.contains_key("events") {
            let mut events = Vec::new();
            for (key, name) in cx.strings(t, &p, "events") {
                match WebhookEvent::ALL.iter().find(|e| e.as_str() == name) {
                    Some(e) if !events.contains(e) => events.push(*e),
                    Some(_) => cx.err(
                        key,
                        format!("event \"{name}\" is listed twice"),
                        "remove the repeat",
                    ),
                    None => cx.err(
                        key,
                        format!("unknown webhook event \"{name}\""),
                        "use \"created\", \"changed\" or \"rated\"",
                    ),
                }
            }
            if events.is_empty() {
                cx.err(
                    join(&p, "events"),
                    "no events: this webhook would never be called",
                    "list some of \"created\", \"changed\", \"rated\", or remove the line for all three",
                );
            }
            events
        } else {
            WebhookEvent::ALL.to_vec()
        };
        if let (Some(url), Some(secret)) = (url, secret) {
            out.push(Webhook {
                url,
                secret,
                events,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example() -> &'static str {
        include_str!("../../gateway-config/example.toml")
    }

    /// Keeps example.toml in step with the schema: every key is shown, either set or
    /// as a commented-out line.
    #[test]
    fn example_shows_every_key() {
        let text = example();
        for (section, keys) in SCHEMA {
            if !section.is_empty() {
                let header_ok = [
                    format!("[{section}]"),
                    format!("[[{section}]]"),
                    format!("[{section}."),
                ]
                .iter()
                .any(|h| text.contains(h.as_str()));
                assert!(header_ok, "example.toml lacks a [{section}] header");
            }
            for key in *keys {
                let shown = text.lines().any(|l| {
                    let l = l.trim_start_matches('#').trim_start();
                    l.starts_with(&format!("{key} ="))
                        || l.starts_with(&format!("[{key}]"))
                        || l.starts_with(&format!("[{key}."))
                        || l.starts_with(&format!("[[{key}]]"))
                        || l.starts_with(&format!("[{section}.{key}]"))
                        || l.starts_with(&format!("[[{section}.{key}]]"))
                });
                assert!(shown, "example.toml does not show `{key}` of [{section}]");
            }
        }
    }

    /// The built-in rules are printed (commented out) in example.toml between two marker
    /// lines; this keeps that copy identical to the real list.
    #[test]
    fn example_lists_the_built_in_rules() {
        let text = example();
        let start = text.find("# BEGIN BUILT-IN RULES").expect("begin marker");
        let end = text.find("# END BUILT-IN RULES").expect("end marker");
        let block: String = text[start..end]
            .lines()
            .skip(1)
            .map(|l| {
                l.strip_prefix("# ")
                    .or_else(|| l.strip_prefix('#'))
                    .unwrap_or(l)
            })
            .collect::<Vec<_>>()
            .join("\n");
        let parsed = parse_text(
            &format!("[database]\nurl = \"sqlite::memory:\"\n{block}"),
            Path::new("x.toml"),
            None,
        )
        .expect("the commented rules parse");
        let built_in = default_rules();
        assert_eq!(parsed.rules.len(), built_in.len());
        for (a, b) in parsed.rules.iter().zip(&built_in) {
            assert_eq!(a.pattern.as_str(), b.pattern.as_str());
            assert_eq!(a.category, b.category);
            assert_eq!(a.colour, b.colour);
        }
    }

    #[test]
    fn scheduler_keys() {
        let base = "[database]\nurl = \"sqlite::memory:\"\n";
        let c = parse_text(base, Path::new("x.toml"), None).unwrap();
        assert_eq!(c.scheduler, SchedulerSettings::default());
        let c = parse_text(
            &format!("{base}[scheduler]\ninterval_secs = 5\nremind_before_mins = 10\nsurvey_reminder_hours = 48\n"),
            Path::new("x.toml"),
            None,
        )
        .unwrap();
        assert_eq!(c.scheduler.interval, Duration::from_secs(5));
        assert_eq!(c.scheduler.remind_before, Duration::from_secs(600));
        assert_eq!(
            c.scheduler.survey_reminder_after,
            Duration::from_secs(48 * 3600)
        );
        let e = parse_text(
            &format!("{base}[scheduler]\nremind_before = 3\n"),
            Path::new("x.toml"),
            None,
        )
        .unwrap_err();
        assert!(e[0].to_string().contains("remind_before_mins"), "{:?}", e);
    }

    #[test]
    fn syntax_error_column_counts_characters_not_bytes() {
        let e = parse_text("signature = \"【村】\" x\n", Path::new("g.toml"), None).unwrap_err();
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].key, "line 1, column 19", "{:?}", e[0]);
    }
}
