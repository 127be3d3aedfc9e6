//! Final result codes (TS 27.007 5.7, 27.005 3.2.5, V.250): recognising the line that ends
//! a command, including verbose `+CME ERROR: SIM busy` texts.

use super::errors::{CmeError, CmsError};
use super::FinalResult;

/// Parses a (trimmed) line as a final result code. Pure; `None` for any other line.
///
/// Verbose error texts map to their numbers; an unknown text gives the "unknown" code of
/// its family (CME 100, CMS 500) rather than 0, which would claim a phone failure.
pub fn parse_final(line: &str) -> Option<FinalResult> {
    let line = line.trim();
    match line {
        "OK" => return Some(FinalResult::Ok),
        "ERROR" => return Some(FinalResult::Error),
        "NO CARRIER" => return Some(FinalResult::NoCarrier),
        "BUSY" => return Some(FinalResult::Busy),
        "NO ANSWER" => return Some(FinalResult::NoAnswer),
        "NO DIALTONE" | "NO DIAL TONE" => return Some(FinalResult::NoDialtone),
        "COMMAND NOT SUPPORT" => return Some(FinalResult::CommandNotSupport),
        _ => {}
    }
    if let Some(rest) = line.strip_prefix("+CME ERROR:") {
        let code = numeric_or(rest, |t| CmeError::from_text(t).map(CmeError::code), 100);
        return Some(FinalResult::CmeError(code));
    }
    if let Some(rest) = line.strip_prefix("+CMS ERROR:") {
        let code = numeric_or(rest, |t| CmsError::from_text(t).map(CmsError::code), 500);
        return Some(FinalResult::CmsError(code));
    }
    if line == "CONNECT" {
        return Some(FinalResult::Connect(String::new()));
    }
    if let Some(rest) = line.strip_prefix("CONNECT ") {
        return Some(FinalResult::Connect(rest.trim().to_string()));
    }
    None
}

fn numeric_or(rest: &str, from_text: impl Fn(&str) -> Option<u16>, unknown: u16) -> u16 {
    let rest = rest.trim();
    rest.parse::<u16>()
        .ok()
        .or_else(|| from_text(rest))
        .unwrap_or(unknown)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_final_code() {
        let cases = [
            ("OK", FinalResult::Ok),
            ("ERROR", FinalResult::Error),
            ("+CME ERROR: 14", FinalResult::CmeError(14)),
            ("+CME ERROR:10", FinalResult::CmeError(10)),
            ("+CMS ERROR: 321", FinalResult::CmsError(321)),
            ("+CMS ERROR:  500 ", FinalResult::CmsError(500)),
            ("NO CARRIER", FinalResult::NoCarrier),
            ("BUSY", FinalResult::Busy),
            ("NO ANSWER", FinalResult::NoAnswer),
            ("NO DIALTONE", FinalResult::NoDialtone),
            ("CONNECT", FinalResult::Connect(String::new())),
            ("CONNECT 9600", FinalResult::Connect("9600".into())),
            ("COMMAND NOT SUPPORT", FinalResult::CommandNotSupport),
        ];
        for (line, want) in cases {
            assert_eq!(parse_final(line), Some(want), "{line}");
        }
    }

    #[test]
    fn verbose_errors_map_to_numbers() {
        assert_eq!(
            parse_final("+CME ERROR: SIM busy"),
            Some(FinalResult::CmeError(14))
        );
        assert_eq!(
            parse_final("+CME ERROR: SIM not inserted"),
            Some(FinalResult::CmeError(10))
        );
        assert_eq!(
            parse_final("+CMS ERROR: invalid memory index"),
            Some(FinalResult::CmsError(321))
        );
        assert_eq!(
            parse_final("+CME ERROR: frobnicated"),
            Some(FinalResult::CmeError(100))
        );
        assert_eq!(
            parse_final("+CMS ERROR: frobnicated"),
            Some(FinalResult::CmsError(500))
        );
        // A code too large for u16 is not a number we can keep: treat it as unknown.
        assert_eq!(
            parse_final("+CME ERROR: 99999"),
            Some(FinalResult::CmeError(100))
        );
    }

    #[test]
    fn near_misses_are_not_final() {
        for line in [
            "OKAY",
            "ok",
            "ERRORS",
            "+CMGS: 3",
            "CONNECTED",
            "+CME: 3",
            "",
        ] {
            assert_eq!(parse_final(line), None, "{line}");
        }
    }
}
