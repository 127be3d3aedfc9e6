//! The lines `appeal-gateway simulate` reads on stdin, parsed purely: `PHONE TEXT` delivers
//! an SMS, `CALL PHONE` rings (`CALL -` for a withheld number), `DTMF DIGITS` presses keys in
//! the answered call, `HANGUP` ends it from the caller's side.

/// One stdin line's meaning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScriptLine {
    Sms {
        phone: String,
        text: String,
    },
    /// `phone` is "" when withheld.
    Call {
        phone: String,
    },
    Dtmf(String),
    HangUp,
    Empty,
}

fn phone_like(s: &str) -> bool {
    let digits = s.strip_prefix('+').unwrap_or(s);
    !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit())
}

/// Parses one line; the error says what was expected.
pub fn parse(line: &str) -> Result<ScriptLine, String> {
    let line = line.trim();
    if line.is_empty() {
        return Ok(ScriptLine::Empty);
    }
    let (head, rest) = line
        .split_once(char::is_whitespace)
        .map_or((line, ""), |(h, r)| (h, r.trim()));
    match head.to_ascii_uppercase().as_str() {
        "CALL" => match rest {
            "-" => Ok(ScriptLine::Call {
                phone: String::new(),
            }),
            p if phone_like(p) => Ok(ScriptLine::Call {
                phone: p.to_string(),
            }),
            _ => Err("expected: CALL PHONE (or CALL - for a withheld number)".into()),
        },
        "DTMF" => {
            let keys: String = rest.chars().filter(|c| !c.is_whitespace()).collect();
            if !keys.is_empty()
                && keys
                    .chars()
                    .all(|c| c.is_ascii_digit() || matches!(c, '*' | '#' | 'A'..='D'))
            {
                Ok(ScriptLine::Dtmf(keys))
            } else {
                Err("expected: DTMF DIGITS (0-9, *, #, A-D)".into())
            }
        }
        "HANGUP" if rest.is_empty() => Ok(ScriptLine::HangUp),
        _ if phone_like(head) && !rest.is_empty() => Ok(ScriptLine::Sms {
            phone: head.to_string(),
            text: rest.to_string(),
        }),
        _ => Err("expected: PHONE TEXT, CALL PHONE, DTMF DIGITS or HANGUP".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_table() {
        let sms = |p: &str, t: &str| {
            Ok(ScriptLine::Sms {
                phone: p.into(),
                text: t.into(),
            })
        };
        let call = |p: &str| Ok(ScriptLine::Call { phone: p.into() });
        let cases: Vec<(&str, Result<ScriptLine, String>)> = vec![
            ("13800000001 路灯坏了", sms("13800000001", "路灯坏了")),
            (
                "+8613800000001   水渠 堵了 ",
                sms("+8613800000001", "水渠 堵了"),
            ),
            ("CALL 13800000001", call("13800000001")),
            ("call +8613800000001", call("+8613800000001")),
            ("CALL -", call("")),
            ("DTMF 2#", Ok(ScriptLine::Dtmf("2#".into()))),
            ("dtmf 3 5", Ok(ScriptLine::Dtmf("35".into()))),
            ("HANGUP", Ok(ScriptLine::HangUp)),
            ("   ", Ok(ScriptLine::Empty)),
        ];
        for (line, want) in cases {
            assert_eq!(parse(line), want, "{line:?}");
        }
        for bad in [
            "CALL",
            "CALL abc",
            "DTMF",
            "DTMF 12x",
            "13800000001",
            "hello there",
            "HANGUP now",
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }
}
