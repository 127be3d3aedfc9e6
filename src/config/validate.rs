//! Pure checks of single values (and the few cross-field warnings). Each check returns
//! the parsed value or a [`Problem`] worded for a village admin; `load` attaches the key.
//! Secrets (PIN, tokens, password hashes) are never echoed back in a problem.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use chrono::NaiveTime;
use chrono_tz::Tz;

use super::{Config, ConfigError, Device, Role};
use crate::grade::Colour;

/// What is wrong with a value and what to write instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Problem {
    pub problem: String,
    pub fix: String,
}

fn problem(problem: impl Into<String>, fix: impl Into<String>) -> Problem {
    Problem {
        problem: problem.into(),
        fix: fix.into(),
    }
}

/// The candidate closest to `word`, if it is close enough to be a plausible typo.
pub(super) fn suggest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let word_l = word.to_lowercase();
    candidates
        .iter()
        .map(|c| (strsim::damerau_levenshtein(&word_l, &c.to_lowercase()), *c))
        .filter(|(d, c)| {
            // One edit per three letters, at least two: catches devcie/bauds/colors
            // without suggesting `pin` for `url`.
            let allowed = (word.chars().count().max(c.chars().count()) / 3).max(2);
            *d <= allowed
        })
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

pub(super) fn time_zone(s: &str) -> Result<Tz, Problem> {
    if let Ok(tz) = s.parse::<Tz>() {
        return Ok(tz);
    }
    let names: Vec<&str> = chrono_tz::TZ_VARIANTS.iter().map(|t| t.name()).collect();
    let fix = match suggest(s, &names) {
        Some(n) => format!("did you mean \"{n}\"?"),
        None => "use an IANA zone name; all of China uses \"Asia/Shanghai\"".into(),
    };
    Err(problem(format!("unknown time zone \"{s}\""), fix))
}

pub(super) fn listen(s: &str) -> Result<SocketAddr, Problem> {
    if let Ok(a) = s.parse::<SocketAddr>() {
        return Ok(a);
    }
    let fix = if let Ok(port) = s.trim_start_matches(':').parse::<u16>() {
        format!("give an address and a port, e.g. \"127.0.0.1:{port}\"")
    } else if let Some((host, port)) = s.rsplit_once(':') {
        if host.parse::<IpAddr>().is_err() && port.parse::<u16>().is_ok() {
            format!(
                "use an IP address, not a name: \"127.0.0.1:{port}\" for this machine only, \"0.0.0.0:{port}\" for the whole network"
            )
        } else {
            "write IP:PORT, e.g. \"127.0.0.1:8080\"".into()
        }
    } else {
        "write IP:PORT, e.g. \"127.0.0.1:8080\"".into()
    };
    Err(problem(format!("\"{s}\" is not an IP:PORT address"), fix))
}

pub(super) fn quiet_hours(s: &str) -> Result<(NaiveTime, NaiveTime), Problem> {
    let bad = || {
        problem(
            format!("\"{s}\" is not a time range"),
            "write START-END in 24-hour time, e.g. \"22:00-07:00\"; \"00:00-00:00\" turns quiet hours off",
        )
    };
    let (a, b) = s.split_once('-').ok_or_else(bad)?;
    let parse = |t: &str| NaiveTime::parse_from_str(t.trim(), "%H:%M").ok();
    match (parse(a), parse(b)) {
        (Some(start), Some(end)) => Ok((start, end)),
        _ => Err(bad()),
    }
}

/// A local wall-clock time "HH:MM".
pub(super) fn clock_time(s: &str) -> Result<NaiveTime, Problem> {
    NaiveTime::parse_from_str(s.trim(), "%H:%M").map_err(|_| {
        problem(
            format!("\"{s}\" is not a time of day"),
            "write HH:MM in 24-hour time, e.g. \"08:00\"",
        )
    })
}

/// A weekday by English name or abbreviation ("monday", "mon") or Chinese (周一, 星期一).
pub(super) fn weekday(s: &str) -> Result<chrono::Weekday, Problem> {
    use chrono::Weekday::*;
    let t = s.trim().to_lowercase();
    let chinese = ["一", "二", "三", "四", "五", "六", "日"];
    let days = [Mon, Tue, Wed, Thu, Fri, Sat, Sun];
    for (i, c) in chinese.iter().enumerate() {
        if t == format!("周{c}") || t == format!("星期{c}") {
            return Ok(days[i]);
        }
    }
    if t == "周天" || t == "星期天" {
        return Ok(Sun);
    }
    t.parse::<chrono::Weekday>().map_err(|_| {
        problem(
            format!("\"{s}\" is not a day of the week"),
            "write the day's English name, e.g. \"monday\" (or 周一)",
        )
    })
}

const STANDARD_BAUDS: &[u32] = &[
    1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600,
];

pub(super) fn baud(n: i64) -> Result<u32, Problem> {
    if let Some(b) = STANDARD_BAUDS.iter().find(|&&b| i64::from(b) == n) {
        return Ok(*b);
    }
    // A dropped or doubled digit (11520, 1152000) is the usual slip, so look for a
    // one-edit typo before falling back to the numerically nearest rate.
    let written = n.to_string();
    let names: Vec<String> = STANDARD_BAUDS.iter().map(u32::to_string).collect();
    let typo = names
        .iter()
        .find(|b| strsim::damerau_levenshtein(&written, b) == 1)
        .cloned();
    let nearest = typo.unwrap_or_else(|| {
        STANDARD_BAUDS
            .iter()
            .min_by_key(|&&b| (i64::from(b) - n).unsigned_abs())
            .map_or_else(|| "115200".to_string(), u32::to_string)
    });
    Err(problem(
        format!("{n} is not a standard baud rate"),
        format!(
            "did you mean {nearest}? Standard rates: 9600, 19200, 38400, 57600, 115200; USB modems usually run at 115200"
        ),
    ))
}

pub(super) fn device(s: &str) -> Result<Device, Problem> {
    if let Some(rest) = s.strip_prefix("tcp://") {
        let rest = rest.trim_end_matches('/');
        let ok = rest.rsplit_once(':').and_then(|(host, port)| {
            let port: u16 = port.parse().ok().filter(|p| *p != 0)?;
            let host = host.trim_start_matches('[').trim_end_matches(']');
            let host_ok = !host.is_empty()
                && (host.parse::<IpAddr>().is_ok()
                    || host
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.'));
            host_ok.then_some(port)
        });
        return match ok {
            Some(_) => Ok(Device::Tcp(rest.to_string())),
            None => Err(problem(
                format!("\"{s}\" is not tcp://HOST:PORT"),
                "write the ser2net address as \"tcp://192.168.1.20:3001\"",
            )),
        };
    }
    if s.starts_with('/') && s.len() > 1 {
        return Ok(Device::Serial(PathBuf::from(s)));
    }
    let fix = if s.starts_with("tty") || s.starts_with("modem") {
        format!("give the full path: \"/dev/{s}\"")
    } else if s.contains("://") {
        "only tcp://HOST:PORT is supported for network modems".into()
    } else {
        "write a serial device path such as \"/dev/ttyUSB2\" (better: a udev symlink such as \"/dev/modem-village1\") or \"tcp://HOST:PORT\" for ser2net".into()
    };
    Err(problem(
        format!("\"{s}\" is neither a device path nor tcp://HOST:PORT"),
        fix,
    ))
}

/// Names end up in log lines, metrics and udev symlinks, so keep them plain.
pub(super) fn modem_name(s: &str) -> Result<(), Problem> {
    let ok = !s.is_empty()
        && s.len() <= 32
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(problem(
            format!("\"{s}\" is not a usable modem name"),
            "use 1-32 letters, digits, - or _, e.g. \"village1\"",
        ))
    }
}

pub(super) fn pin(s: &str) -> Result<(), Problem> {
    if (4..=8).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(problem(
            "the SIM PIN must be 4 to 8 digits",
            "write the PIN in quotes, e.g. pin = \"1234\", or remove the line if the SIM has no PIN",
        ))
    }
}

/// International number: `+` then 5-15 digits ([`crate::phone::is_international`]).
pub(super) fn phone(s: &str) -> Result<(), Problem> {
    if crate::phone::is_international(s) {
        return Ok(());
    }
    let fix = if !s.starts_with('+') && s.bytes().all(|b| b.is_ascii_digit()) && !s.is_empty() {
        format!(
            "add the country code with a +, e.g. \"+86{}\"",
            s.trim_start_matches("86")
        )
    } else {
        "write + then country code and number, digits only, e.g. \"+8613800280500\"; or remove the line to use the SIM's own".into()
    };
    Err(problem(
        format!("\"{s}\" is not an international phone number"),
        fix,
    ))
}

pub(super) fn database_url(s: &str) -> Result<(), Problem> {
    let fix = "use \"sqlite:///var/lib/appeal-gateway/gateway.db\" or \"postgres://USER:PASSWORD@HOST/DB\"";
    if let Some(rest) = s.strip_prefix("sqlite:") {
        let path = rest.trim_start_matches("//");
        let path = path.split('?').next().unwrap_or("");
        if path.is_empty() {
            return Err(problem("the sqlite URL names no file", fix));
        }
        return Ok(());
    }
    for scheme in ["postgres://", "postgresql://"] {
        if let Some(rest) = s.strip_prefix(scheme) {
            if rest.is_empty() {
                return Err(problem("the postgres URL names no server", fix));
            }
            return Ok(());
        }
    }
    // The URL may hold a password, so only its scheme is shown.
    let scheme = s.split_once(':').map(|(a, _)| a).unwrap_or(s);
    Err(problem(
        format!("unsupported database URL scheme \"{scheme}\" (expected sqlite or postgres)"),
        fix,
    ))
}

pub(super) fn colour(s: &str) -> Result<Colour, Problem> {
    s.parse::<Colour>().map_err(|_| {
        let fix = match suggest(s, &["red", "yellow", "green"]) {
            Some(c) => format!("did you mean \"{c}\"?"),
            None => "use \"red\", \"yellow\" or \"green\"".into(),
        };
        problem(format!("unknown colour \"{s}\""), fix)
    })
}

pub(super) fn voice_mode(s: &str) -> Result<super::VoiceMode, Problem> {
    use super::VoiceMode;
    [VoiceMode::Callback, VoiceMode::Ivr, VoiceMode::Off]
        .into_iter()
        .find(|m| m.as_str() == s)
        .ok_or_else(|| {
            problem(
                format!("unknown voice mode \"{s}\""),
                "use \"callback\" (reject the call, file a callback appeal), \"ivr\" (a keypad menu where the modem can) or \"off\" (leave calls alone)",
            )
        })
}

pub(super) fn role(s: &str) -> Result<Role, Problem> {
    match s {
        "admin" => Ok(Role::Admin),
        "viewer" => Ok(Role::Viewer),
        _ => Err(problem(
            format!("unknown role \"{s}\""),
            "use \"admin\" (may change settings) or \"viewer\" (read only)",
        )),
    }
}

pub(super) fn password_hash(s: &str) -> Result<(), Problem> {
    if s.starts_with("$argon2") {
        Ok(())
    } else {
        Err(problem(
            "password_hash is not an argon2 hash (it must start with $argon2); plain passwords are not accepted",
            "make one with `appeal-gateway hash-password` (type the password, press Enter; it prints an argon2id hash)",
        ))
    }
}

pub(super) fn api_token(s: &str) -> Result<(), Problem> {
    if s.chars().count() >= 16 && !s.chars().any(char::is_whitespace) {
        Ok(())
    } else {
        Err(problem(
            "API token is shorter than 16 characters or contains spaces",
            "use a long random token: openssl rand -hex 32",
        ))
    }
}

/// Webhooks go out over plain HTTP (hyper without TLS): an https:// URL needs a local
/// TLS-terminating proxy, and the error says so rather than failing at the first delivery.
pub(super) fn webhook_url(s: &str) -> Result<(), Problem> {
    match s.parse::<hyper::Uri>() {
        Ok(u) if u.scheme_str() == Some("http") && u.host().is_some() => Ok(()),
        Ok(u) if u.scheme_str() == Some("https") => Err(problem(
            "https webhook URLs are not supported by the built-in client",
            "point the webhook at a local TLS proxy (stunnel, nginx) with an http:// URL",
        )),
        _ => Err(problem(
            format!("\"{s}\" is not an http:// URL"),
            "write the full address, e.g. \"http://10.0.0.5:9000/appeals\"",
        )),
    }
}

pub(super) fn regex(s: &str) -> Result<regex::Regex, Problem> {
    if s.is_empty() {
        return Err(problem(
            "empty pattern (it would match every appeal)",
            "write the words to match separated by |, e.g. \"漏电|触电\"",
        ));
    }
    regex::Regex::new(s).map_err(|e| {
        // regex errors draw a caret diagram over several lines; the last `error:` line
        // is the part that reads as a sentence.
        let text = e.to_string();
        let reason = text
            .lines()
            .rev()
            .find_map(|l| l.trim().strip_prefix("error: "))
            .map(str::to_string)
            .unwrap_or(text);
        problem(
            format!("not a valid regular expression: {reason}"),
            "separate words with |, and put \\ before any of . ( ) [ ] { } * + ? | ^ $ meant literally",
        )
    })
}

/// Placeholders `{name}` in `template` must be in `allowed`, and each of `required`
/// must appear. Returns every problem found.
pub(super) fn template(template: &str, allowed: &[&str], required: &[&str]) -> Vec<Problem> {
    let mut out = Vec::new();
    let allowed_list = allowed
        .iter()
        .map(|a| format!("{{{a}}}"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut seen = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else {
            out.push(problem(
                "a { is never closed",
                format!("close the placeholder with }}; allowed: {allowed_list}"),
            ));
            break;
        };
        let name = &after[..close];
        if allowed.contains(&name) {
            seen.push(name);
        } else {
            let fix = match suggest(name, allowed) {
                Some(s) => format!("did you mean {{{s}}}? allowed: {allowed_list}"),
                None => format!("allowed placeholders: {allowed_list}"),
            };
            out.push(problem(format!("unknown placeholder {{{name}}}"), fix));
        }
        rest = &after[close + 1..];
    }
    for r in required {
        if !seen.contains(r) {
            out.push(problem(
                format!("the template never uses {{{r}}}"),
                format!("put {{{r}}} in the text: villagers need it to follow up"),
            ));
        }
    }
    out
}

/// One SMS holds 70 Chinese characters; longer replies go out in parts (costlier, and
/// old phones show them out of order).
const SMS_UCS2_CHARS: usize = 70;
/// Long enough for any appeal number the store hands out.
const SAMPLE_NUMBER: &str = "20240101-0001";

pub(super) fn warnings(c: &Config) -> Vec<ConfigError> {
    let mut w = Vec::new();
    if c.modems.is_empty() {
        w.push(ConfigError::new(
            "modem",
            "no [[modem]] is configured: appeals can arrive only through the API",
            "add a [[modem]] table with name and device to receive SMS",
        ));
    }
    let sample = c.templates.render_ack(&c.signature, SAMPLE_NUMBER);
    let len = sample.chars().count();
    if len > SMS_UCS2_CHARS {
        w.push(ConfigError::new(
            "templates.ack",
            format!(
                "with a 13-character number the reply is {len} characters, more than one SMS ({SMS_UCS2_CHARS})"
            ),
            "shorten the template or the signature",
        ));
    }
    if !c.web.listen.ip().is_loopback() && c.web.accounts.is_empty() {
        w.push(ConfigError::new(
            "web.listen",
            format!(
                "the web interface listens on {} but no [[web.account]] can log in",
                c.web.listen
            ),
            "add a [[web.account]], or listen on 127.0.0.1",
        ));
    }
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggest_catches_typos_but_not_strangers() {
        let keys = ["name", "device", "baud", "pin", "smsc"];
        assert_eq!(suggest("devcie", &keys), Some("device"));
        assert_eq!(suggest("Baud", &keys), Some("baud"));
        assert_eq!(suggest("bauds", &keys), Some("baud"));
        assert_eq!(suggest("village_code", &keys), None);
    }

    #[test]
    fn quiet_hours_accepts_spaces_and_single_digit_hours() {
        let t = |h, m| NaiveTime::from_hms_opt(h, m, 0).unwrap();
        assert_eq!(quiet_hours("22:00-07:00"), Ok((t(22, 0), t(7, 0))));
        assert_eq!(quiet_hours("21:30 - 6:45"), Ok((t(21, 30), t(6, 45))));
        assert!(quiet_hours("22-7").is_err());
        assert!(quiet_hours("25:00-07:00").is_err());
        assert!(quiet_hours("22:00").is_err());
    }

    #[test]
    fn device_forms() {
        assert_eq!(
            device("/dev/ttyUSB0"),
            Ok(Device::Serial("/dev/ttyUSB0".into()))
        );
        for addr in ["10.0.0.5:3001", "modem-box.lan:2000", "[::1]:2000"] {
            assert_eq!(
                device(&format!("tcp://{addr}")),
                Ok(Device::Tcp(addr.into()))
            );
        }
        assert!(device("tcp://host").is_err());
        assert!(device("tcp://:3001").is_err());
        assert!(device("tcp://host:0").is_err());
        assert!(device("tcp://host:99999").is_err());
        assert!(device("ttyUSB0").unwrap_err().fix.contains("/dev/ttyUSB0"));
        assert!(device("COM3").is_err());
    }

    #[test]
    fn secrets_are_not_echoed_in_problems() {
        let p = pin("12ab").unwrap_err();
        assert!(!p.problem.contains("12ab") && !p.fix.contains("12ab"));
        let p = api_token("tok3n").unwrap_err();
        assert!(!p.problem.contains("tok3n"));
        let p = password_hash("hunter2").unwrap_err();
        assert!(!p.problem.contains("hunter2"));
        let p = database_url("mysql://root:hunter2@db/x").unwrap_err();
        assert!(!p.problem.contains("hunter2"), "{}", p.problem);
    }

    #[test]
    fn database_urls() {
        for ok in [
            "sqlite:///var/lib/appeal-gateway/gateway.db",
            "sqlite://gateway.db?mode=rwc",
            "sqlite::memory:",
            "postgres://gw@localhost/appeals",
            "postgresql://gw:pw@db:5432/appeals",
        ] {
            assert_eq!(database_url(ok), Ok(()), "{ok}");
        }
        for bad in ["sqlite://", "postgres://", "mysql://x/y", "gateway.db"] {
            assert!(database_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn template_problems() {
        let a = ["signature", "number"];
        assert!(template(super::super::DEFAULT_ACK, &a, &["number"]).is_empty());
        let p = template("{signature}编号{numbr}", &a, &["number"]);
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(p[0].fix.contains("{number}"));
        assert!(template("{number} {oops", &a, &["number"])[0]
            .problem
            .contains("never closed"));
    }

    #[test]
    fn regex_problem_is_one_sentence() {
        let p = regex("(火|水").unwrap_err();
        assert!(p.problem.contains("unclosed group"), "{}", p.problem);
        assert!(!p.problem.contains('\n'));
    }

    #[test]
    fn phone_numbers() {
        assert_eq!(phone("+8613800280500"), Ok(()));
        assert!(phone("13800280500").unwrap_err().fix.contains("+86"));
        assert!(phone("+86 138").is_err());
        assert!(phone("+").is_err());
    }
}
