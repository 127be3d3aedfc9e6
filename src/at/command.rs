//! What a command line tells the framer about its response: the command names it
//! contains (a `+CREG:` line answers `AT+CREG?`, not `AT+CSQ`), whether it is a query,
//! whether call-outcome codes can end it (ATD/ATA/ATO) and whether it opens a `>` prompt.

/// The pending command, as far as framing cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pending {
    /// Extended command names, upper case with their prefix (`+CMGR`, `^DTMF`), and basic
    /// command letters (`D`, `A`, `E`), one per `;`-separated part.
    names: Vec<String>,
    /// Names used as read commands (`AT+CREG?`).
    queries: Vec<String>,
    /// Names used only as set commands (`AT+CLIP=1`), which answer with OK alone.
    sets: Vec<String>,
    /// ATD/ATA/ATO: NO CARRIER, BUSY, NO ANSWER, NO DIALTONE and CONNECT end it.
    pub(crate) dial: bool,
    /// AT+CMGS=/AT+CMGW=: the modem answers with the `>` prompt first.
    pub(crate) sms_write: bool,
    /// The prompt has been seen, so a hex line is the modem echoing our PDU.
    pub(crate) prompted: bool,
}

impl Pending {
    pub(crate) fn parse(command: &str) -> Self {
        let mut pending = Pending {
            names: Vec::new(),
            queries: Vec::new(),
            sets: Vec::new(),
            dial: false,
            sms_write: false,
            prompted: false,
        };
        let trimmed = command.trim();
        let body = match trimmed.get(..2) {
            Some(at) if at.eq_ignore_ascii_case("AT") => &trimmed[2..],
            _ => trimmed,
        };
        for part in split_outside_quotes(body, ';') {
            let part = part.trim();
            let Some(first) = part.chars().next() else {
                continue;
            };
            if first.is_ascii_alphabetic() {
                // A basic command. ATD takes the rest of the line as its dial string,
                // including the `;` that makes it a voice call, so stop here.
                let letter = first.to_ascii_uppercase();
                pending.names.push(letter.to_string());
                if matches!(letter, 'D' | 'A' | 'O') {
                    pending.dial = true;
                }
                if letter == 'D' {
                    break;
                }
                continue;
            }
            let end = part.find(['=', '?']).unwrap_or(part.len());
            let name = part[..end].trim().to_ascii_uppercase();
            if name.is_empty() {
                continue;
            }
            let rest = &part[end..];
            if rest == "?" {
                pending.queries.push(name.clone());
            }
            if rest.starts_with('=') && rest != "=?" {
                pending.sets.push(name.clone());
            }
            if (name == "+CMGS" || name == "+CMGW") && rest.starts_with('=') && rest != "=?" {
                pending.sms_write = true;
            }
            pending.names.push(name);
        }
        pending
    }

    /// Whether `name` (e.g. `+CREG`, any case) is one of the pending command's names.
    pub(crate) fn has(&self, name: &str) -> bool {
        self.names.iter().any(|n| n.eq_ignore_ascii_case(name))
    }

    /// Whether `name` is pending in a form that answers with `name:` lines: read, test or
    /// execute (`AT+CLIP?`, `AT+CLIP=?`, `AT+CLCC`), not set (`AT+CLIP=1` says only OK, so
    /// a `+CLIP:` arriving meanwhile is a caller ID).
    pub(crate) fn claims(&self, name: &str) -> bool {
        self.names
            .iter()
            .filter(|n| n.eq_ignore_ascii_case(name))
            .count()
            > self
                .sets
                .iter()
                .filter(|n| n.eq_ignore_ascii_case(name))
                .count()
    }

    /// Whether `name` is pending as a read command (`AT+CPIN?`).
    pub(crate) fn queries(&self, name: &str) -> bool {
        self.queries.iter().any(|n| n.eq_ignore_ascii_case(name))
    }
}

/// Splits on `sep` where it is not inside double quotes (`AT+CUSD=1,"*100#;"` stays whole).
pub(crate) fn split_outside_quotes(s: &str, sep: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut in_quotes = false;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        if c == '"' {
            in_quotes = !in_quotes;
        } else if c == sep && !in_quotes {
            parts.push(&s[start..i]);
            start = i + c.len_utf8();
        }
    }
    parts.push(&s[start..]);
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extended_names_and_queries() {
        let p = Pending::parse("AT+CREG?");
        assert!(p.has("+CREG") && p.queries("+CREG"));
        assert!(!p.has("+CGREG") && !p.dial && !p.sms_write);

        let p = Pending::parse("at+cpms?;+cnmi?");
        assert!(p.has("+CPMS") && p.has("+CNMI") && p.queries("+CNMI"));

        let p = Pending::parse("AT^DTMF=1,1;^DTMF=1,2");
        assert!(p.has("^DTMF") && !p.queries("^DTMF"));

        let p = Pending::parse("AT+CREG=2");
        assert!(p.has("+CREG") && !p.queries("+CREG") && !p.claims("+CREG"));

        assert!(Pending::parse("AT+CLCC").claims("+CLCC"));
        assert!(Pending::parse("AT+CLIP=?").claims("+CLIP"));
        assert!(Pending::parse("AT+CLIP?").claims("+CLIP"));
        assert!(!Pending::parse("AT+CLIP=1").claims("+CLIP"));
        assert!(Pending::parse("AT+CLIP=1;+CLIP?").claims("+CLIP"));
    }

    #[test]
    fn sms_write_only_for_set_form() {
        assert!(Pending::parse("AT+CMGS=61").sms_write);
        assert!(Pending::parse("AT+CMGW=18").sms_write);
        assert!(!Pending::parse("AT+CMGS=?").sms_write);
        assert!(!Pending::parse("AT+CMGR=3").sms_write);
    }

    #[test]
    fn dial_commands() {
        let p = Pending::parse("ATD0123456789;");
        assert!(p.dial && p.has("D"));
        assert!(Pending::parse("ATA").dial);
        assert!(Pending::parse("ATD*99#").dial);
        assert!(!Pending::parse("ATH").dial);
        assert!(!Pending::parse("AT+CHUP").dial);
        assert!(!Pending::parse("ATE0").dial);
    }

    #[test]
    fn quotes_protect_separators() {
        let p = Pending::parse(r#"AT+CUSD=1,"*100#;+CREG?",15"#);
        assert!(p.has("+CUSD") && !p.has("+CREG"));
        assert_eq!(
            split_outside_quotes(r#"a,"b,c",d"#, ','),
            ["a", "\"b,c\"", "d"]
        );
    }
}
