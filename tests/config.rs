//! The configuration as an admin meets it: the shipped files load, defaults apply, and
//! every kind of mistake is reported under the right key with a fix, all in one pass.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use appeal_gateway::config::{
    default_rules, Config, ConfigErrors, Device, Role, WebhookEvent, DATABASE_URL_ENV,
};
use appeal_gateway::grade::Colour;
use chrono::NaiveTime;

/// `Config::load` reads the process environment; tests that call it hold this lock so the
/// env-override test cannot leak its value into them.
static ENV_LOCK: Mutex<()> = Mutex::new(());

const MINIMAL: &str = "[database]\nurl = \"sqlite:///tmp/gw.db\"\n";
const HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA";
const TOKEN: &str = "0123456789abcdef0123456789abcdef";

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn parse(text: &str) -> Result<Config, ConfigErrors> {
    Config::parse(text, Path::new("/etc/appeal-gateway/gateway.toml"))
}

fn ok(text: &str) -> Config {
    parse(text).unwrap_or_else(|e| panic!("expected to load, got:\n{e}"))
}

fn errs(text: &str) -> ConfigErrors {
    match parse(text) {
        Ok(c) => panic!("expected errors, loaded {c:?}"),
        Err(e) => e,
    }
}

/// The error for `key`, checking its problem and fix mention the given words.
fn assert_error(e: &ConfigErrors, key: &str, problem_has: &str, fix_has: &str) {
    let found = e
        .find(key)
        .unwrap_or_else(|| panic!("no error for `{key}` in:\n{e}"));
    assert!(
        found.problem.contains(problem_has),
        "problem for {key}: {:?} lacks {problem_has:?}",
        found.problem
    );
    assert!(
        found.fix.contains(fix_has),
        "fix for {key}: {:?} lacks {fix_has:?}",
        found.fix
    );
}

fn with_modem(modem_lines: &str) -> String {
    format!("{MINIMAL}\n[[modem]]\nname = \"m0\"\n{modem_lines}\n")
}

#[test]
fn example_file_loads_with_its_documented_values() {
    let _g = ENV_LOCK.lock().unwrap_or_else(|p| p.into_inner());
    std::env::remove_var(DATABASE_URL_ENV);
    let c = Config::load(&repo("gateway-config/example.toml")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.time_zone, chrono_tz::Asia::Shanghai);
    assert_eq!(c.signature, "【村委会】");
    assert_eq!(
        c.database.url,
        "sqlite:///var/lib/appeal-gateway/gateway.db"
    );
    assert_eq!(c.modems.len(), 1);
    assert_eq!(
        c.modems[0].device,
        Device::Serial("/dev/modem-village1".into())
    );
    // The rules are shown commented out, so the built-ins apply.
    assert_eq!(c.rules.len(), default_rules().len());
    assert!(c.api.tokens.is_empty());
    assert!(c.warnings().is_empty(), "{:?}", c.warnings());
}

#[test]
fn demo_file_loads() {
    let _g = ENV_LOCK.lock().unwrap_or_else(|p| p.into_inner());
    std::env::remove_var(DATABASE_URL_ENV);
    let c = Config::load(&repo("gateway-config/demo.toml")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.signature, "【双红村】");
    assert_eq!(c.modems.len(), 1);
    assert_eq!(c.modems[0].name, "sim0");
    assert_eq!(c.web.listen.to_string(), "127.0.0.1:8080");
    assert!(c.database.url.starts_with("sqlite:"));
    assert!(c.outbox.pool_sending);
}

#[test]
fn defaults_apply_to_a_minimal_file() {
    let c = ok(&with_modem("device = \"/dev/ttyUSB2\""));
    assert_eq!(c.time_zone.name(), "Asia/Shanghai");
    assert_eq!(c.signature, "【村委会】");
    assert_eq!(c.database.max_connections, 8);
    let m = &c.modems[0];
    assert_eq!(m.baud, 115200);
    assert_eq!(m.pin, None);
    assert_eq!(m.smsc, None);
    assert_eq!(m.village, None);
    assert_eq!(m.timings.command, Duration::from_secs(10));
    assert_eq!(m.timings.sweep, Duration::from_secs(300));
    assert_eq!(m.timings.health, Duration::from_secs(60));
    assert_eq!(m.send_per_minute, 10);
    assert_eq!(m.timings.init, Duration::from_secs(30));
    assert_eq!(c.web.listen.to_string(), "127.0.0.1:8080");
    assert!(c.web.accounts.is_empty());
    assert_eq!(c.intake.concat_timeout, Duration::from_secs(600));
    assert_eq!(c.intake.append_window, Duration::from_secs(300));
    assert_eq!(c.intake.flood_per_hour, 20);
    assert_eq!(c.outbox.per_recipient_per_hour, 20);
    assert_eq!(c.outbox.max_attempts, 5);
    assert_eq!(c.outbox.retry_base, Duration::from_secs(30));
    assert_eq!(c.outbox.retry_max, Duration::from_secs(1800));
    assert!(c.outbox.status_reports);
    assert!(!c.outbox.pool_sending);
    assert_eq!(
        c.templates.ack,
        "{signature}您的诉求已收到，编号{number}，回复CX{number}查询进度。"
    );
    let t = |h, m| NaiveTime::from_hms_opt(h, m, 0).unwrap();
    assert_eq!(c.quiet_hours, (t(22, 0), t(7, 0)));
    let (red, yellow, green) = (
        c.colours.get(Colour::Red),
        c.colours.get(Colour::Yellow),
        c.colours.get(Colour::Green),
    );
    assert_eq!(red.respond, Duration::from_secs(30 * 60));
    assert_eq!(red.resolve, Duration::from_secs(24 * 3600));
    assert_eq!(yellow.respond, Duration::from_secs(240 * 60));
    assert_eq!(yellow.resolve, Duration::from_secs(72 * 3600));
    assert_eq!(green.respond, Duration::from_secs(120 * 60));
    assert_eq!(green.resolve, Duration::from_secs(24 * 3600));
    assert_eq!(c.rules.len(), default_rules().len());
    assert_eq!(c.directory, None);
    assert!(c.api.tokens.is_empty());
}

#[test]
fn every_key_can_be_set() {
    let c = ok(&format!(
        r#"
time_zone = "Asia/Urumqi"
signature = "【双红村】"
quiet_hours = "21:30-06:30"
directory = "villages.toml"

[database]
url = "postgres://gw:pw@db.local/appeals"
max_connections = 3

[[modem]]
name = "village1"
device = "tcp://192.168.1.20:3001"
baud = 9600
pin = "0123"
smsc = "+8613800280500"
village = "510121001001"
command_timeout_secs = 5
sweep_interval_secs = 120
health_interval_secs = 30
send_per_minute = 6
init_timeout_secs = 45

[web]
listen = "0.0.0.0:9000"

[[web.account]]
name = "zhang"
role = "viewer"
password_hash = "{HASH}"

[intake]
concat_timeout_secs = 900
append_window_secs = 60
flood_per_hour = 5

[outbox]
per_recipient_per_hour = 4
max_attempts = 3
retry_base_secs = 10
retry_max_secs = 600
status_reports = false
pool_sending = true

[templates]
ack = "{{signature}}收到，编号{{number}}"

[colours.red]
respond_mins = 15
resolve_hours = 12

[[rule]]
pattern = "狗"
category = "环境卫生"
colour = "yellow"

[api]
tokens = ["{TOKEN}"]
"#
    ));
    assert_eq!(c.time_zone, chrono_tz::Asia::Urumqi);
    assert_eq!(
        c.directory,
        Some(PathBuf::from("/etc/appeal-gateway/villages.toml"))
    );
    assert_eq!(c.database.max_connections, 3);
    let m = &c.modems[0];
    assert_eq!(m.device, Device::Tcp("192.168.1.20:3001".into()));
    assert_eq!(m.pin.as_deref(), Some("0123"));
    assert_eq!(m.village.as_deref(), Some("510121001001"));
    assert_eq!(m.timings.init, Duration::from_secs(45));
    assert_eq!(c.web.accounts[0].role, Role::Viewer);
    assert_eq!(c.outbox.retry_max, Duration::from_secs(600));
    assert!(!c.outbox.status_reports);
    assert_eq!(
        c.templates.render_ack(&c.signature, "7"),
        "【双红村】收到，编号7"
    );
    assert_eq!(c.colours.red.respond, Duration::from_secs(15 * 60));
    // Sections left out keep their defaults even when a sibling is set.
    assert_eq!(c.colours.yellow.resolve, Duration::from_secs(72 * 3600));
    // A file with [[rule]] replaces the built-in list entirely.
    assert_eq!(c.rules.len(), 1);
    assert_eq!(
        c.classify("狗天天叫"),
        ("环境卫生".to_string(), Colour::Yellow)
    );
    assert_eq!(
        c.classify("家里着火了"),
        ("其他".to_string(), Colour::Green)
    );
    assert_eq!(c.api.tokens, vec![TOKEN.to_string()]);
}

#[test]
fn zero_modems_is_allowed_with_a_warning() {
    let c = ok(MINIMAL);
    assert!(c.modems.is_empty());
    let w = c.warnings();
    assert_eq!(w.len(), 1, "{w:?}");
    assert_eq!(w[0].key, "modem");
}

#[test]
fn missing_database_url_is_reported() {
    let e = errs("signature = \"x\"\n");
    assert_error(&e, "database.url", "missing", "sqlite://");
    assert_eq!(e.errors.len(), 1, "{e}");
}

#[test]
fn toml_syntax_error_reports_line_and_column() {
    let e = errs("[database]\nurl = \"sqlite:///a.db\"\n\n[[modem]]\nname = village1\n");
    assert_eq!(e.errors.len(), 1);
    assert_eq!(e.errors[0].key, "line 5, column 8", "{e}");
    assert!(e.errors[0].problem.contains("syntax"));
    assert!(e.errors[0].fix.contains("double quotes"));
}

#[test]
fn unknown_keys_at_every_level_get_suggestions() {
    let e = errs(&format!(
        r#"
tiem_zone = "Asia/Shanghai"
[database]
ulr = "sqlite:///a.db"
url = "sqlite:///a.db"
[[modem]]
name = "m0"
devcie = "/dev/ttyUSB0"
device = "/dev/ttyUSB0"
[web]
listne = "127.0.0.1:8080"
[[web.account]]
name = "a"
role = "admin"
password_hash = "{HASH}"
passwd_hash = "x"
[intake]
concat_timout_secs = 5
[outbox]
max_attempt = 3
[templates]
akc = "{{number}}"
[colors.red]
respond_mins = 5
[colours.red]
respond_min = 5
[[rule]]
pattern = "x"
category = "y"
color = "red"
colour = "red"
[api]
token = []
"#
    ));
    assert_error(&e, "tiem_zone", "unknown key `tiem_zone`", "`time_zone`");
    assert_error(&e, "database.ulr", "unknown key", "`url`");
    assert_error(
        &e,
        "modem[0].devcie",
        "unknown key `modem[0].devcie`",
        "did you mean `device`?",
    );
    assert_error(&e, "web.listne", "unknown key", "`listen`");
    assert_error(
        &e,
        "web.account[0].passwd_hash",
        "unknown key",
        "`password_hash`",
    );
    assert_error(
        &e,
        "intake.concat_timout_secs",
        "unknown key",
        "`concat_timeout_secs`",
    );
    assert_error(&e, "outbox.max_attempt", "unknown key", "`max_attempts`");
    assert_error(&e, "templates.akc", "unknown key", "`ack`");
    assert_error(&e, "colors", "unknown key", "`colours`");
    assert_error(
        &e,
        "colours.red.respond_min",
        "unknown key",
        "`respond_mins`",
    );
    assert_error(&e, "rule[0].color", "unknown key", "`colour`");
    assert_error(&e, "api.token", "unknown key", "`tokens`");
    assert_eq!(e.errors.len(), 12, "{e}");
}

#[test]
fn unknown_key_without_a_near_match_lists_the_allowed_keys() {
    let e = errs(&format!("{MINIMAL}password = \"x\"\n"));
    assert_error(
        &e,
        "database.password",
        "unknown key",
        "url, max_connections",
    );
}

#[test]
fn top_level_key_written_under_a_section_is_explained() {
    let e = errs(&format!("{MINIMAL}signature = \"【村】\"\n"));
    assert_error(
        &e,
        "database.signature",
        "unknown key",
        "above the first [section] header",
    );
}

#[test]
fn wrong_types_are_reported_with_the_right_fix() {
    let e = errs(
        r#"
signature = 5
[database]
url = "sqlite:///a.db"
max_connections = "4"
[[modem]]
name = "m0"
device = "/dev/ttyUSB0"
baud = 115200.0
pin = 1234
[outbox]
status_reports = "yes"
[api]
tokens = "abc"
"#,
    );
    assert_error(
        &e,
        "signature",
        "expected text, found a whole number",
        "double quotes",
    );
    assert_error(
        &e,
        "database.max_connections",
        "expected a whole number",
        "remove the quotes: max_connections = 4",
    );
    assert_error(
        &e,
        "modem[0].baud",
        "found a decimal number",
        "e.g. baud = 115200",
    );
    assert_error(&e, "modem[0].pin", "expected text", "double quotes");
    assert_error(
        &e,
        "outbox.status_reports",
        "expected true or false",
        "without quotes",
    );
    assert_error(&e, "api.tokens", "expected a list", "tokens = [");
    assert_eq!(e.errors.len(), 6, "{e}");
    // The PIN's value must not leak into the message.
    assert!(!e.to_string().contains("1234"), "{e}");
}

#[test]
fn single_bracket_modem_section_is_explained() {
    let e = errs(&format!(
        "{MINIMAL}[modem]\nname = \"m0\"\ndevice = \"/dev/ttyUSB0\"\n"
    ));
    assert_error(
        &e,
        "modem",
        "expected a list of [[modem]] sections",
        "two brackets",
    );
}

#[test]
fn modem_value_errors() {
    let e = errs(&format!(
        r#"{MINIMAL}
[[modem]]
name = "village 1"
device = "ttyUSB0"
baud = 100000
pin = "12"
smsc = "13800280500"
send_per_minute = 0
[[modem]]
device = "tcp://modem-box"
village = ""
"#
    ));
    assert_error(
        &e,
        "modem[0].name",
        "not a usable modem name",
        "letters, digits",
    );
    assert_error(
        &e,
        "modem[0].device",
        "neither a device path",
        "\"/dev/ttyUSB0\"",
    );
    assert_error(
        &e,
        "modem[0].baud",
        "not a standard baud rate",
        "did you mean 115200?",
    );
    assert_error(&e, "modem[0].pin", "4 to 8 digits", "pin = \"1234\"");
    assert_error(
        &e,
        "modem[0].smsc",
        "not an international phone number",
        "+8613800280500",
    );
    assert_error(
        &e,
        "modem[0].send_per_minute",
        "out of range",
        "default is 10",
    );
    assert_error(&e, "modem[1].name", "missing `name`", "name = ");
    assert_error(&e, "modem[1].device", "not tcp://HOST:PORT", "tcp://");
    assert_error(
        &e,
        "modem[1].village",
        "empty village code",
        "remove the line",
    );
    assert_eq!(e.errors.len(), 9, "{e}");
}

#[test]
fn duplicate_modem_names_and_devices() {
    let e = errs(&format!(
        r#"{MINIMAL}
[[modem]]
name = "a"
device = "/dev/modem-a"
[[modem]]
name = "a"
device = "/dev/modem-b"
[[modem]]
name = "c"
device = "/dev/modem-a"
"#
    ));
    assert_error(&e, "modem[1].name", "already used by modem[0]", "own name");
    assert_error(
        &e,
        "modem[2].device",
        "already used by modem[0]",
        "own device",
    );
    assert_eq!(e.errors.len(), 2, "{e}");
}

#[test]
fn top_level_value_errors() {
    let e = errs(
        r#"
time_zone = "Asia/Shangai"
quiet_hours = "10pm-7am"
[database]
url = "mysql://root:hunter2@db/appeals"
[web]
listen = "localhost:8080"
"#,
    );
    assert_error(&e, "time_zone", "unknown time zone", "\"Asia/Shanghai\"");
    assert_error(&e, "quiet_hours", "not a time range", "22:00-07:00");
    assert_error(
        &e,
        "database.url",
        "unsupported database URL scheme \"mysql\"",
        "postgres://",
    );
    assert_error(&e, "web.listen", "not an IP:PORT", "\"127.0.0.1:8080\"");
    assert_eq!(e.errors.len(), 4, "{e}");
    assert!(!e.to_string().contains("hunter2"), "{e}");
}

#[test]
fn listen_given_only_a_port() {
    let e = errs(&format!("{MINIMAL}[web]\nlisten = \"8080\"\n"));
    assert_error(&e, "web.listen", "not an IP:PORT", "\"127.0.0.1:8080\"");
}

#[test]
fn rule_errors_name_the_rule_index() {
    let e = errs(&format!(
        r#"{MINIMAL}
[[rule]]
pattern = "火|水"
category = "安全隐患"
colour = "red"
[[rule]]
pattern = "(漏电"
category = "用水用电"
colour = "red"
[[rule]]
pattern = "狗"
category = "邻里纠纷"
colour = "blue"
[[rule]]
pattern = "猫"
colour = "gren"
"#
    ));
    assert_error(&e, "rule[1].pattern", "not a valid regular expression", "|");
    assert_error(
        &e,
        "rule[2].colour",
        "unknown colour \"blue\"",
        "\"red\", \"yellow\" or \"green\"",
    );
    assert_error(&e, "rule[3].category", "missing `category`", "category = ");
    assert_error(
        &e,
        "rule[3].colour",
        "unknown colour",
        "did you mean \"green\"?",
    );
    assert_eq!(e.errors.len(), 4, "{e}");
}

#[test]
fn template_placeholders_are_checked() {
    let e = errs(&format!(
        "{MINIMAL}[templates]\nack = \"{{signature}}编号{{nubmer}}，{{name}}\"\n"
    ));
    let acks: Vec<_> = e
        .errors
        .iter()
        .filter(|x| x.key == "templates.ack")
        .collect();
    assert_eq!(acks.len(), 3, "{e}");
    assert!(acks[0].problem.contains("{nubmer}") && acks[0].fix.contains("did you mean {number}"));
    assert!(acks[1].problem.contains("{name}") && acks[1].fix.contains("{signature}, {number}"));
    assert!(acks[2].problem.contains("never uses {number}"));
}

#[test]
fn account_and_api_errors() {
    let e = errs(&format!(
        r#"{MINIMAL}
[[web.account]]
name = "a"
role = "root"
password_hash = "plaintext-password"
[[web.account]]
name = "b"
role = "admin"
password_hash = "{HASH}"
[[web.account]]
name = "b"
role = "viewer"
password_hash = "{HASH}"
[api]
tokens = ["short", "{TOKEN}", "{TOKEN}", 7]
"#
    ));
    assert_error(
        &e,
        "web.account[0].role",
        "unknown role \"root\"",
        "\"viewer\"",
    );
    assert_error(
        &e,
        "web.account[0].password_hash",
        "must start with $argon2",
        "argon2",
    );
    assert_error(&e, "web.account[2].name", "defined twice", "own name");
    assert_error(&e, "api.tokens[0]", "shorter than 16", "openssl rand");
    assert_error(&e, "api.tokens[2]", "listed twice", "own token");
    assert_error(&e, "api.tokens[3]", "expected text", "double quotes");
    assert_eq!(e.errors.len(), 6, "{e}");
    let shown = e.to_string();
    assert!(
        !shown.contains("plaintext-password") && !shown.contains("short\""),
        "{shown}"
    );
}

#[test]
fn numeric_range_and_consistency_errors() {
    let e = errs(&format!(
        r#"{MINIMAL}
[intake]
concat_timeout_secs = -5
[outbox]
retry_base_secs = 600
retry_max_secs = 60
[colours.green]
respond_mins = 3000
resolve_hours = 24
"#
    ));
    assert_error(&e, "intake.concat_timeout_secs", "out of range", "positive");
    assert_error(
        &e,
        "outbox.retry_max_secs",
        "smaller than retry_base_secs",
        "at least retry_base_secs",
    );
    assert_error(
        &e,
        "colours.green.respond_mins",
        "longer than resolve_hours",
        "before the resolution deadline",
    );
    assert_eq!(e.errors.len(), 3, "{e}");
}

#[test]
fn many_errors_are_all_listed_one_per_line() {
    let e = errs(
        r#"
time_zone = "Mars/Olympus"
[database]
url = "gateway.db"
[[modem]]
name = "m0"
device = "/dev/ttyUSB0"
baud = 11520
bogus = 1
"#,
    );
    assert_eq!(e.errors.len(), 4, "{e}");
    let text = e.to_string();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    for line in &lines {
        assert!(
            line.starts_with("/etc/appeal-gateway/gateway.toml: "),
            "{line}"
        );
        assert!(line.contains(" (fix: ") && line.ends_with(')'), "{line}");
    }
    assert!(text.contains(
        "gateway.toml: modem[0].baud: 11520 is not a standard baud rate (fix: did you mean 115200?"
    ));
}

#[test]
fn env_override_replaces_the_database_url() {
    let _g = ENV_LOCK.lock().unwrap_or_else(|p| p.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gateway.toml");
    // The file may even lack a url when the environment supplies one.
    std::fs::write(&path, "signature = \"【测试】\"\n").unwrap();

    std::env::set_var(DATABASE_URL_ENV, "postgres://ci@localhost/test");
    let loaded = Config::load(&path);
    std::env::set_var(DATABASE_URL_ENV, "mysql://nope");
    let bad = Config::load(&path);
    std::env::set_var(DATABASE_URL_ENV, "");
    let empty = Config::load(&path);
    std::env::remove_var(DATABASE_URL_ENV);

    assert_eq!(loaded.unwrap().database.url, "postgres://ci@localhost/test");
    let bad = bad.unwrap_err();
    assert_error(&bad, "database.url", DATABASE_URL_ENV, "postgres://");
    // An empty variable counts as unset, so the missing url is reported.
    assert_error(&empty.unwrap_err(), "database.url", "missing", "sqlite://");
    // parse() never reads the environment.
    assert!(Config::parse("", &path).is_err());
}

#[test]
fn load_reports_unreadable_files_and_missing_directory() {
    let _g = ENV_LOCK.lock().unwrap_or_else(|p| p.into_inner());
    std::env::remove_var(DATABASE_URL_ENV);
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.toml");
    let e = Config::load(&missing).unwrap_err();
    assert_eq!(e.file, missing);
    assert!(e.errors[0].problem.contains("cannot read"), "{e}");
    assert!(e.errors[0].fix.contains("--config"), "{e}");

    let gbk = dir.path().join("gbk.toml");
    std::fs::write(&gbk, b"signature = \"\xb4\xe5\"\n").unwrap();
    let e = Config::load(&gbk).unwrap_err();
    assert!(e.errors[0].fix.contains("UTF-8"), "{e}");

    let path = dir.path().join("gateway.toml");
    std::fs::write(&path, format!("directory = \"villages.toml\"\n{MINIMAL}")).unwrap();
    assert_error(
        &Config::load(&path).unwrap_err(),
        "directory",
        "does not exist",
        "relative paths",
    );
    std::fs::write(dir.path().join("villages.toml"), "").unwrap();
    let c = Config::load(&path).unwrap();
    assert_eq!(c.directory, Some(dir.path().join("villages.toml")));
}

#[test]
fn byte_order_mark_is_accepted() {
    ok(&format!("\u{feff}{MINIMAL}"));
}

#[test]
fn debug_output_redacts_secrets() {
    let c = ok(&format!(
        r#"
[database]
url = "postgres://gw:dbsecret@db/appeals"
[[modem]]
name = "m0"
device = "/dev/ttyUSB0"
pin = "7391"
[[web.account]]
name = "admin"
role = "admin"
password_hash = "{HASH}"
[api]
tokens = ["{TOKEN}"]
"#
    ));
    let dbg = format!("{c:?}");
    for secret in ["dbsecret", "7391", HASH, "c2FsdHNhbHQ", TOKEN] {
        assert!(!dbg.contains(secret), "Debug shows {secret}: {dbg}");
    }
    assert!(dbg.contains("redacted"));
    // Non-secrets stay visible for troubleshooting.
    assert!(
        dbg.contains("/dev/ttyUSB0") && dbg.contains("admin") && dbg.contains("gw:<redacted>@db")
    );
}

#[test]
fn classify_sample_appeals() {
    let c = ok(MINIMAL);
    let cases: &[(&str, &str, Colour)] = &[
        ("村口那户人家着火了，快来人", "安全隐患", Colour::Red),
        ("后山的土坡塌了，压到房子", "安全隐患", Colour::Red),
        ("有个娃娃在堰塘溺水了", "安全隐患", Colour::Red),
        ("我爸摔了一跤受伤了，走不动", "安全隐患", Colour::Red),
        ("厨房煤气味道好大", "用水用电", Colour::Red),
        ("电线杆上的电线掉下来了，怕漏电", "用水用电", Colour::Red),
        ("隔壁两家人在打架", "邻里纠纷", Colour::Red),
        ("村道塌了一半，车过不去", "道路交通", Colour::Red),
        (
            "今年玉米遭冰雹打了，保险怎么理赔",
            "农业保险",
            Colour::Yellow,
        ),
        ("进村的公路坑坑洼洼好多年了", "道路交通", Colour::Yellow),
        ("我们组停水三天了", "用水用电", Colour::Green),
        ("河边垃圾堆起好臭", "环境卫生", Colour::Green),
        ("邻居占了我家宅基地", "邻里纠纷", Colour::Yellow),
        ("我想问一下低保怎么申请", "政务服务", Colour::Green),
        ("养老保险今年交多少", "政务服务", Colour::Green),
        ("请问村支书电话多少", "其他", Colour::Green),
    ];
    for (text, category, colour) in cases {
        assert_eq!(
            c.classify(text),
            (category.to_string(), *colour),
            "classify({text:?})"
        );
    }
}

#[test]
fn quiet_hours_wrap_midnight_and_can_be_turned_off() {
    let t = |h, m| NaiveTime::from_hms_opt(h, m, 0).unwrap();
    let c = ok(MINIMAL);
    assert!(c.is_quiet(t(22, 0)));
    assert!(c.is_quiet(t(3, 0)));
    assert!(!c.is_quiet(t(7, 0)));
    assert!(!c.is_quiet(t(12, 0)));
    let day = ok(&format!("quiet_hours = \"12:00-14:00\"\n{MINIMAL}"));
    assert!(day.is_quiet(t(13, 0)) && !day.is_quiet(t(15, 0)));
    let off = ok(&format!("quiet_hours = \"00:00-00:00\"\n{MINIMAL}"));
    assert!(!off.is_quiet(t(0, 0)) && !off.is_quiet(t(23, 59)));
}

#[test]
fn long_ack_and_open_listen_give_warnings() {
    let long = "很".repeat(60);
    let c = ok(&format!(
        "{MINIMAL}[[modem]]\nname = \"m\"\ndevice = \"/dev/ttyUSB0\"\n[web]\nlisten = \"0.0.0.0:8080\"\n[templates]\nack = \"{{signature}}{long}{{number}}\"\n"
    ));
    let keys: Vec<_> = c.warnings().into_iter().map(|w| w.key).collect();
    assert_eq!(keys, vec!["templates.ack", "web.listen"]);
}

#[test]
fn webhooks_parse_with_all_events_by_default() {
    let c = ok(&format!(
        r#"{MINIMAL}
[[webhook]]
url = "http://127.0.0.1:9000/appeals"
secret = "{TOKEN}"
[[webhook]]
url = "http://10.0.0.5/hook"
secret = "{TOKEN}"
events = ["rated", "created"]
"#
    ));
    assert_eq!(c.webhooks.len(), 2);
    assert_eq!(c.webhooks[0].url, "http://127.0.0.1:9000/appeals");
    assert_eq!(c.webhooks[0].events, WebhookEvent::ALL.to_vec());
    assert_eq!(
        c.webhooks[1].events,
        vec![WebhookEvent::Rated, WebhookEvent::Created]
    );
    assert!(!format!("{:?}", c.webhooks).contains(TOKEN));
}

#[test]
fn webhook_errors() {
    let e = errs(&format!(
        r#"{MINIMAL}
[[webhook]]
url = "https://platform.example/hook"
secret = "short"
events = ["filed", "rated", "rated"]
[[webhook]]
secret = "{TOKEN}"
events = []
colour = "red"
"#
    ));
    assert_error(&e, "webhook[0].url", "https", "TLS proxy");
    assert_error(&e, "webhook[0].secret", "shorter than 16", "openssl rand");
    assert_error(
        &e,
        "webhook[0].events[0]",
        "unknown webhook event",
        "\"changed\"",
    );
    assert_error(&e, "webhook[0].events[2]", "listed twice", "remove");
    assert_error(&e, "webhook[1].url", "missing `url`", "http://");
    assert_error(&e, "webhook[1].events", "no events", "remove the line");
    assert_error(
        &e,
        "webhook[1].colour",
        "unknown key",
        "url, secret, events",
    );
    assert_eq!(e.errors.len(), 7, "{e}");
}
