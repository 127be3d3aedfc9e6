//! Which lines are unsolicited, and their typed forms.
//!
//! A line whose prefix names the pending command (`+CLCC:` while `AT+CLCC` runs) is that
//! command's response, never a URC (at-modem.md section 6, rule 2). The exceptions are
//! the registration family, whose URC and response forms can both arrive while
//! `AT+CREG?` runs and are told apart by their fields, and `+CPIN:`, which answers only
//! the `AT+CPIN?` query. Everything else in the catalogue below is a URC whatever is
//! pending; lines outside it are the response's information lines.

use super::command::{split_outside_quotes, Pending};
use super::{RegKind, Urc};

/// The second line of a two-line URC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyKind {
    Cmt,
    Cds,
    Cbm,
}

impl BodyKind {
    pub(crate) fn urc(self, length: usize, pdu: String) -> Urc {
        match self {
            BodyKind::Cmt => Urc::Cmt { length, pdu },
            BodyKind::Cds => Urc::Cds { length, pdu },
            BodyKind::Cbm => Urc::Cbm { length, pdu },
        }
    }
}

/// How one line classifies, before the framer applies its pending-command state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Class {
    Urc(Urc),
    /// The header of a two-line URC: the next line is its body.
    Header(BodyKind, usize),
    /// Not a URC: a response line if a command is pending, else unknown.
    NotUrc,
}

/// Extended-syntax prefixes that are always unsolicited (unless they name the pending
/// command) and have no typed variant: passed on as `Urc::Vendor`.
const VENDOR_PREFIXES: &[&str] = &[
    "+QUSIM", "+QTTS", "+QWTTS", "+CTTS", "+WIND", "+ZDONR", "+ZPASR", "+ZEND", "+CLCC", "+CIEV",
    "+CNSMOD", "+CSQN", "*PSUTTZ", "+CTZV", "+CTZE", "+CFUN", "+CCWA", "+CSSI", "+CSSU", "+CMTE",
    "+CGEV", "+CSQ", "+QIND",
];

/// Vendor URCs in plain-word form.
const VENDOR_WORD_PREFIXES: &[&str] = &[
    "VOICE CALL:",
    "MISSED_CALL:",
    "HANGUP:",
    "DST:",
    "NORMAL POWER DOWN",
    "UNDER-VOLTAGE",
    "OVER-VOLTAGE",
];

const READY_WORDS: &[&str] = &["RDY", "SMS READY", "CALL READY", "PB DONE", "SMS DONE"];

/// Splits `+NAME: rest` / `^NAME:rest` into the upper-case name and the trimmed rest.
pub(crate) fn split_name(line: &str) -> Option<(String, &str)> {
    let first = line.chars().next()?;
    if !matches!(first, '+' | '^' | '*' | '$' | '%') {
        return None;
    }
    let colon = line.find(':')?;
    let name = &line[..colon];
    let valid = name.len() > 1
        && name[1..]
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    valid.then(|| (name.to_ascii_uppercase(), line[colon + 1..].trim()))
}

/// Comma-separated fields with the surrounding spaces removed (quotes kept).
pub(crate) fn fields(rest: &str) -> Vec<&str> {
    split_outside_quotes(rest, ',')
        .into_iter()
        .map(str::trim)
        .collect()
}

pub(crate) fn unquote(field: &str) -> &str {
    let field = field.trim();
    field
        .strip_prefix('"')
        .and_then(|f| f.strip_suffix('"'))
        .unwrap_or(field)
}

/// Classifies a cleaned, non-empty line that is neither an echo nor a final result code.
pub(crate) fn classify(line: &str, pending: Option<&Pending>) -> Class {
    let has = |name: &str| pending.is_some_and(|p| p.has(name));
    let upper = line.to_ascii_uppercase();

    if upper == "RING" {
        return Class::Urc(Urc::Ring);
    }
    if READY_WORDS.contains(&upper.as_str()) {
        return Class::Urc(Urc::Ready(line.to_string()));
    }
    if VENDOR_WORD_PREFIXES.iter().any(|p| upper.starts_with(p)) {
        return Class::Urc(Urc::Vendor(line.to_string()));
    }
    let Some((name, rest)) = split_name(line) else {
        return Class::NotUrc;
    };
    let unknown = || Class::Urc(Urc::Unknown(line.to_string()));
    let vendor = || Class::Urc(Urc::Vendor(line.to_string()));

    match name.as_str() {
        "+CREG" | "+CGREG" | "+CEREG" => {
            let kind = match name.as_str() {
                "+CREG" => RegKind::Creg,
                "+CGREG" => RegKind::Cgreg,
                _ => RegKind::Cereg,
            };
            let f = fields(rest);
            let response_form = is_registration_response(&f);
            if response_form && has(&name) {
                return Class::NotUrc;
            }
            let urc_fields = if response_form { &f[1..] } else { &f[..] };
            registration(kind, urc_fields).map_or_else(unknown, Class::Urc)
        }
        "+CPIN" => {
            if pending.is_some_and(|p| p.queries("+CPIN")) {
                return Class::NotUrc;
            }
            if rest.eq_ignore_ascii_case("READY") {
                Class::Urc(Urc::Ready(line.to_string()))
            } else {
                Class::Urc(Urc::SimStatus(rest.to_string()))
            }
        }
        // +CUSD answers its own set command (AT+CUSD=1,"*100#"); other catalogued
        // names are claimed only by forms that answer with information lines.
        "+CUSD" if has(&name) => Class::NotUrc,
        _ if pending.is_some_and(|p| p.claims(&name)) => Class::NotUrc,
        "+CMTI" | "+CDSI" => {
            let f = fields(rest);
            let parsed = match f.as_slice() {
                [mem, index, ..] => index.parse::<i32>().ok().map(|index| (unquote(mem), index)),
                _ => None,
            };
            match parsed {
                Some((mem, index)) if name == "+CMTI" => Class::Urc(Urc::Cmti {
                    mem: mem.to_string(),
                    index,
                }),
                Some((mem, index)) => Class::Urc(Urc::Cdsi {
                    mem: mem.to_string(),
                    index,
                }),
                None => unknown(),
            }
        }
        "+CMT" => {
            // PDU mode `[<alpha>],<length>`; text mode ends with <length> as well.
            match fields(rest).last().and_then(|l| l.parse::<usize>().ok()) {
                Some(length) => Class::Header(BodyKind::Cmt, length),
                None => unknown(),
            }
        }
        "+CDS" => {
            // Only the PDU-mode header (one length field) has a second line; the text-mode
            // report is a single line of many fields.
            let f = fields(rest);
            match f.as_slice() {
                [length] => match length.parse::<usize>() {
                    Ok(length) => Class::Header(BodyKind::Cds, length),
                    Err(_) => unknown(),
                },
                _ => unknown(),
            }
        }
        "+CBM" => {
            // Text mode also sends a data line, so the header always takes the next line.
            let f = fields(rest);
            let length = match f.as_slice() {
                [length] => length.parse::<usize>().unwrap_or(0),
                _ => 0,
            };
            Class::Header(BodyKind::Cbm, length)
        }
        "+CRING" => Class::Urc(Urc::Cring(rest.to_string())),
        "+CLIP" => match fields(rest).first() {
            Some(number) if !rest.is_empty() => Class::Urc(Urc::Clip {
                number: unquote(number).to_string(),
            }),
            _ => unknown(),
        },
        "+CUSD" => {
            let f = fields(rest);
            let mode = f.first().and_then(|m| m.parse::<u8>().ok());
            match mode {
                Some(mode) => Class::Urc(Urc::Cusd {
                    mode,
                    text: f.get(1).map(|t| unquote(t).to_string()),
                }),
                None => unknown(),
            }
        }
        "+DTMF" | "+RXDTMF" | "^DDTMF" => {
            // `+DTMF:1400` / `+DTMF:2300` are single-tone reports, not keys.
            let key = fields(rest).first().and_then(|k| dtmf_key(k));
            key.map_or_else(vendor, |k| Class::Urc(Urc::Dtmf(k)))
        }
        "+QTONEDET" => {
            // Quectel reports the key's ASCII code; spurious codes (57/70 while audio
            // plays on M66) outside the key set stay raw.
            let key = rest
                .parse::<u8>()
                .ok()
                .and_then(|code| dtmf_key(&char::from(code).to_string()));
            key.map_or_else(vendor, |k| Class::Urc(Urc::Dtmf(k)))
        }
        "^RSSI" => rest
            .parse::<u8>()
            .map_or_else(|_| vendor(), |n| Class::Urc(Urc::Rssi(n))),
        "+QIND" if matches!(rest.to_ascii_uppercase().as_str(), "SMS DONE" | "PB DONE") => {
            Class::Urc(Urc::Ready(line.to_string()))
        }
        _ if name.starts_with('^') => vendor(),
        _ if VENDOR_PREFIXES.contains(&name.as_str()) => vendor(),
        _ => Class::NotUrc,
    }
}

/// The response to `AT+CREG?` is `<n>,<stat>[,<lac>,<ci>[,<AcT>]]`; the URC omits `<n>`:
/// `<stat>[,<lac>,<ci>[,<AcT>]]`. Counting fields alone is ambiguous at four (n,stat,lac,ci
/// vs stat,lac,ci,AcT), so look at the second field: a small unquoted number is `<stat>`
/// (response form), while a URC has a location there (quoted or bare hex, or empty) or
/// has only one field.
fn is_registration_response(f: &[&str]) -> bool {
    match f.get(1) {
        Some(second) => {
            !second.is_empty() && second.len() <= 2 && second.chars().all(|c| c.is_ascii_digit())
        }
        None => false,
    }
}

fn registration(kind: RegKind, f: &[&str]) -> Option<Urc> {
    let stat = f.first()?.parse::<u8>().ok()?;
    let location = |i: usize| {
        f.get(i)
            .map(|v| unquote(v).trim())
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    Some(Urc::Registration {
        kind,
        stat,
        lac: location(1),
        ci: location(2),
    })
}

fn dtmf_key(text: &str) -> Option<char> {
    let mut chars = text.trim().chars();
    let key = chars.next()?.to_ascii_uppercase();
    (chars.next().is_none() && matches!(key, '0'..='9' | 'A'..='D' | '*' | '#')).then_some(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn urc(line: &str) -> Urc {
        match classify(line, None) {
            Class::Urc(u) => u,
            other => panic!("{line}: {other:?}"),
        }
    }

    fn while_pending(command: &str, line: &str) -> Class {
        classify(line, Some(&Pending::parse(command)))
    }

    #[test]
    fn sms_indications() {
        assert_eq!(
            urc("+CMTI: \"SM\",3"),
            Urc::Cmti {
                mem: "SM".into(),
                index: 3
            }
        );
        assert_eq!(
            urc("+CMTI: ,-1"),
            Urc::Cmti {
                mem: String::new(),
                index: -1
            }
        );
        assert_eq!(
            urc("+CDSI: \"SR\",8"),
            Urc::Cdsi {
                mem: "SR".into(),
                index: 8
            }
        );
        assert_eq!(urc("+CMTI: garbage"), Urc::Unknown("+CMTI: garbage".into()));
    }

    #[test]
    fn two_line_headers() {
        assert_eq!(
            classify("+CMT: ,23", None),
            Class::Header(BodyKind::Cmt, 23)
        );
        assert_eq!(
            classify("+CMT: \"alpha, with comma\",23", None),
            Class::Header(BodyKind::Cmt, 23)
        );
        assert_eq!(classify("+CDS: 25", None), Class::Header(BodyKind::Cds, 25));
        assert_eq!(classify("+CDS:25", None), Class::Header(BodyKind::Cds, 25));
        assert_eq!(classify("+CBM: 88", None), Class::Header(BodyKind::Cbm, 88));
        // Mid-response too: they are never the pending command's lines.
        assert_eq!(
            while_pending("AT+CMGL=4", "+CMT: ,23"),
            Class::Header(BodyKind::Cmt, 23)
        );
        // Text-mode status report: one line.
        assert_eq!(
            urc("+CDS: 6,64,\"+919790\",145,\"15/01/09\",\"15/01/09\",0"),
            Urc::Unknown("+CDS: 6,64,\"+919790\",145,\"15/01/09\",\"15/01/09\",0".into())
        );
    }

    #[test]
    fn calls() {
        assert_eq!(urc("RING"), Urc::Ring);
        assert_eq!(urc("+CRING: VOICE"), Urc::Cring("VOICE".into()));
        assert_eq!(
            urc("+CLIP: \"+27821231234\",145,,,,0"),
            Urc::Clip {
                number: "+27821231234".into()
            }
        );
        assert_eq!(
            urc("+CLIP: \"\",128,,,,1"),
            Urc::Clip {
                number: String::new()
            }
        );
        assert_eq!(while_pending("AT+CLIP?", "+CLIP: 1,1"), Class::NotUrc);
        assert_eq!(
            while_pending("AT+CLIP=1", "+CLIP: \"10086\",129"),
            Class::Urc(Urc::Clip {
                number: "10086".into()
            })
        );
        assert_eq!(
            while_pending("AT+CLCC=1", "+CLCC: 1,1,4,0,0,\"1\",129"),
            Class::Urc(Urc::Vendor("+CLCC: 1,1,4,0,0,\"1\",129".into()))
        );
        assert_eq!(
            while_pending("AT+CFUN=1", "+CFUN: 1"),
            Class::Urc(Urc::Vendor("+CFUN: 1".into()))
        );
        assert_eq!(
            urc("VOICE CALL: END: 000041"),
            Urc::Vendor("VOICE CALL: END: 000041".into())
        );
        assert_eq!(urc("HANGUP: 1"), Urc::Vendor("HANGUP: 1".into()));
    }

    #[test]
    fn registration_forms() {
        let reg = |stat, lac: Option<&str>, ci: Option<&str>| Urc::Registration {
            kind: RegKind::Creg,
            stat,
            lac: lac.map(Into::into),
            ci: ci.map(Into::into),
        };
        assert_eq!(urc("+CREG: 1"), reg(1, None, None));
        assert_eq!(
            urc("+CREG: 1, 5C9, 39E5"),
            reg(1, Some("5C9"), Some("39E5"))
        );
        assert_eq!(
            urc("+CREG: 5,\"5C9\",\"39E5\",7"),
            reg(5, Some("5C9"), Some("39E5"))
        );
        // While AT+CREG? runs: the response form is the response...
        assert_eq!(
            while_pending("AT+CREG?", "+CREG: 2,1,4CA,81DE445"),
            Class::NotUrc
        );
        assert_eq!(while_pending("AT+CREG?", "+CREG: 0,1"), Class::NotUrc);
        assert_eq!(
            while_pending("AT+CREG?", "+CREG: 2,1,\"4CA\",\"81DE445\",7"),
            Class::NotUrc
        );
        // ...and the URC form still a URC.
        assert_eq!(
            while_pending("AT+CREG?", "+CREG: 1,\"4CA\",\"81DE445\",7"),
            Class::Urc(reg(1, Some("4CA"), Some("81DE445")))
        );
        assert_eq!(
            while_pending("AT+CREG?", "+CREG: 2"),
            Class::Urc(reg(2, None, None))
        );
        // Another command pending: even the response form is unsolicited.
        assert_eq!(
            while_pending("AT+CSQ", "+CGREG: 2,1,\"4CA\",\"81DE445\""),
            Class::Urc(Urc::Registration {
                kind: RegKind::Cgreg,
                stat: 1,
                lac: Some("4CA".into()),
                ci: Some("81DE445".into())
            })
        );
        assert_eq!(
            urc("+CEREG: 1,\"1A2B\",\"0C0FFEE\",7"),
            Urc::Registration {
                kind: RegKind::Cereg,
                stat: 1,
                lac: Some("1A2B".into()),
                ci: Some("0C0FFEE".into())
            }
        );
        assert_eq!(urc("+CREG: x"), Urc::Unknown("+CREG: x".into()));
    }

    #[test]
    fn ussd_and_sim() {
        assert_eq!(
            urc("+CUSD: 5"),
            Urc::Cusd {
                mode: 5,
                text: None
            }
        );
        assert_eq!(
            urc("+CUSD: 0,\"Balance: 5,00\",15"),
            Urc::Cusd {
                mode: 0,
                text: Some("Balance: 5,00".into())
            }
        );
        assert_eq!(
            while_pending("AT+CUSD=1,\"*100#\",15", "+CUSD: 0,\"x\",15"),
            Class::NotUrc
        );
        assert_eq!(urc("+CPIN: READY"), Urc::Ready("+CPIN: READY".into()));
        assert_eq!(
            urc("+CPIN: NOT INSERTED"),
            Urc::SimStatus("NOT INSERTED".into())
        );
        assert_eq!(while_pending("AT+CPIN?", "+CPIN: SIM PIN"), Class::NotUrc);
        // Setting the PIN has no information line: a +CPIN: then is the state change.
        assert_eq!(
            while_pending("AT+CPIN=1234", "+CPIN: READY"),
            Class::Urc(Urc::Ready("+CPIN: READY".into()))
        );
    }

    #[test]
    fn ready_lines() {
        for line in [
            "RDY",
            "SMS Ready",
            "Call Ready",
            "PB DONE",
            "SMS DONE",
            "+QIND: SMS DONE",
            "+QIND: PB DONE",
        ] {
            assert_eq!(urc(line), Urc::Ready(line.into()), "{line}");
        }
        assert_eq!(
            urc("+QIND: \"csq\",20,99"),
            Urc::Vendor("+QIND: \"csq\",20,99".into())
        );
    }

    #[test]
    fn huawei_lines() {
        assert_eq!(urc("^RSSI:13"), Urc::Rssi(13));
        assert_eq!(urc("^RSSI: 99"), Urc::Rssi(99));
        assert_eq!(
            urc("^BOOT:48175390,0,0,0,89"),
            Urc::Vendor("^BOOT:48175390,0,0,0,89".into())
        );
        assert_eq!(urc("^MODE:5,4"), Urc::Vendor("^MODE:5,4".into()));
        assert_eq!(
            urc("^SMMEMFULL: \"SM\""),
            Urc::Vendor("^SMMEMFULL: \"SM\"".into())
        );
        assert_eq!(
            while_pending("AT^SYSINFO", "^SYSINFO:2,3,0,5,1"),
            Class::NotUrc
        );
    }

    #[test]
    fn dtmf_reports() {
        assert_eq!(urc("+DTMF:1"), Urc::Dtmf('1'));
        assert_eq!(urc("+DTMF: #,300"), Urc::Dtmf('#'));
        assert_eq!(urc("+DTMF:1400"), Urc::Vendor("+DTMF:1400".into()));
        assert_eq!(urc("+RXDTMF: *"), Urc::Dtmf('*'));
        assert_eq!(urc("+RXDTMF: a"), Urc::Dtmf('A'));
        assert_eq!(urc("+QTONEDET: 56"), Urc::Dtmf('8'));
        assert_eq!(urc("+QTONEDET: 35"), Urc::Dtmf('#'));
        assert_eq!(urc("+QTONEDET: 68"), Urc::Dtmf('D'));
        assert_eq!(urc("+QTONEDET: 70"), Urc::Vendor("+QTONEDET: 70".into()));
        assert_eq!(urc("^DDTMF: 5"), Urc::Dtmf('5'));
    }

    #[test]
    fn responses_are_not_urcs() {
        assert_eq!(classify("+CMGS: 64", None), Class::NotUrc);
        assert_eq!(
            classify("+CSCA: \"+8613800210500\",145", None),
            Class::NotUrc
        );
        assert_eq!(
            while_pending("AT+CLCC", "+CLCC: 1,1,0,0,0,\"1\",161"),
            Class::NotUrc
        );
        assert_eq!(while_pending("AT+CSQ", "+CSQ: 20,99"), Class::NotUrc);
        assert_eq!(
            while_pending("AT+CMGS=20", "+CSQ: 20,99"),
            Class::Urc(Urc::Vendor("+CSQ: 20,99".into()))
        );
        assert_eq!(classify("0791198904100161240C", None), Class::NotUrc);
        assert_eq!(classify("QUALCOMM INCORPORATED", None), Class::NotUrc);
    }

    #[test]
    fn name_splitting() {
        assert_eq!(split_name("+CDS:25"), Some(("+CDS".into(), "25")));
        assert_eq!(split_name("^rssi: 3"), Some(("^RSSI".into(), "3")));
        assert_eq!(split_name("+CME ERROR: 3"), None);
        assert_eq!(split_name("RING"), None);
        assert_eq!(split_name("+:x"), None);
    }
}
