//! Redaction of a cadre command's PIN (`JS002#1234` -> `JS002#****`) in what is stored and
//! logged. Pure. The command parser still gets the text as sent: only copies kept for people
//! (the `messages` table, log lines, events) are redacted.

use std::borrow::Cow;

/// Replaces the digits after every `#` (ASCII or full-width, as phones send them) with `****`.
/// The mask has a fixed length so it does not tell the PIN's length, and a short wrong guess
/// (`#12`) is hidden as well. Text without a `#` followed by a digit is borrowed unchanged.
pub fn redact_pin(text: &str) -> Cow<'_, str> {
    let is_hash = |c: char| c == '#' || c == '＃';
    let is_digit = |c: char| c.is_ascii_digit() || ('０'..='９').contains(&c);
    let mut chars = text.chars().peekable();
    let mut needs = false;
    while let Some(c) = chars.next() {
        if is_hash(c) && chars.peek().is_some_and(|&d| is_digit(d)) {
            needs = true;
            break;
        }
    }
    if !needs {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(c);
        if is_hash(c) && chars.peek().is_some_and(|&d| is_digit(d)) {
            while chars.peek().is_some_and(|&d| is_digit(d)) {
                chars.next();
            }
            out.push_str("****");
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn pins_are_masked() {
        assert_eq!(redact_pin("JS002#1234"), "JS002#****");
        assert_eq!(redact_pin("HF 002 #12345678 已派人"), "HF 002 #**** 已派人");
        assert_eq!(redact_pin("LB#1234"), "LB#****");
        assert_eq!(redact_pin("JS002＃１２３４"), "JS002＃****");
        assert_eq!(redact_pin("JS002#12"), "JS002#****");
    }

    #[test]
    fn other_text_is_borrowed() {
        for t in ["路灯坏了", "JS002", "#话题#", "井号#在最后#", ""] {
            assert!(matches!(redact_pin(t), Cow::Borrowed(_)), "{t}");
            assert_eq!(redact_pin(t), t);
        }
    }

    proptest! {
        #[test]
        fn no_digit_follows_a_hash(s in "[#0-9a-z＃１ ]{0,40}") {
            let r = redact_pin(&s);
            let v: Vec<char> = r.chars().collect();
            for w in v.windows(2) {
                prop_assert!(!((w[0] == '#' || w[0] == '＃') && (w[1].is_ascii_digit() || w[1] == '１')), "{}", r);
            }
            prop_assert_eq!(redact_pin(&r), r.clone());
        }
    }
}
