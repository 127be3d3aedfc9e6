//! Phone numbers: the one home of what a number is, how it is compared and how it is shown.
//! Pure. Before this module the same rules were written in five places with different digit
//! limits (config 3-15, API 5-15, directory 5+, viewer 7+); now every caller asks here.

/// E.164 allows at most 15 digits after the country code's `+`.
pub const MAX_DIGITS: usize = 15;
/// The shortest number the gateway treats as a phone: five-digit service numbers (10086) are
/// real senders and real recipients; anything shorter is a typo or a name.
pub const MIN_DIGITS: usize = 5;

/// "+8613812345678", "008613812345678", "8613812345678" and "13812345678" are one phone: the
/// number without China's country code. Other countries' numbers come back as given.
pub fn national(phone: &str) -> &str {
    let p = phone.trim();
    p.strip_prefix("+86")
        .or_else(|| p.strip_prefix("0086"))
        .or_else(|| p.strip_prefix("86").filter(|r| r.len() == 11))
        .unwrap_or(p)
}

/// Whether two spellings name the same phone.
pub fn same(a: &str, b: &str) -> bool {
    national(a) == national(b)
}

fn digit_run_ok(d: &str) -> bool {
    (MIN_DIGITS..=MAX_DIGITS).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit())
}

/// A number the gateway can text or list: an optional `+`, then 5 to 15 digits.
pub fn is_valid(s: &str) -> bool {
    digit_run_ok(s.strip_prefix('+').unwrap_or(s))
}

/// An international number as the modem settings want it: `+`, then 5 to 15 digits.
pub fn is_international(s: &str) -> bool {
    s.strip_prefix('+').is_some_and(digit_run_ok)
}

/// A Chinese mobile number (11 digits from 13x to 19x) once the country code is taken off.
pub fn is_cn_mobile(phone: &str) -> bool {
    let n = national(phone).as_bytes();
    n.len() == 11
        && n[0] == b'1'
        && (b'3'..=b'9').contains(&n[1])
        && n.iter().all(u8::is_ascii_digit)
}

/// Masks a phone number for logs and viewers: 13812345678 -> 138****5678. Numbers too short
/// to keep a head and a tail are starred whole.
pub fn mask(phone: &str) -> String {
    let digits: Vec<char> = phone.chars().collect();
    let rest = if phone.starts_with("+86") && digits.len() > 3 {
        &digits[3..]
    } else {
        &digits[..]
    };
    if rest.len() < 7 {
        return "*".repeat(rest.len());
    }
    let head: String = rest[..3].iter().collect();
    let tail: String = rest[rest.len() - 4..].iter().collect();
    format!("{head}****{tail}")
}

/// Masks every Chinese mobile number (with or without +86/86/0086) standing alone in `text`.
/// Appeal numbers (20220713002: 11 digits, but starting with 2) and the day's sequence are
/// left alone, so a masked timeline still names its appeals.
pub fn mask_in_text(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < b.len() {
        let plus = b[i] == b'+' && b.get(i + 1).is_some_and(u8::is_ascii_digit);
        if !(b[i].is_ascii_digit() || plus) {
            // Copy one whole character (the text is mostly Chinese).
            let ch = text[i..].chars().next().map_or(1, char::len_utf8);
            out.push_str(&text[i..i + ch]);
            i += ch;
            continue;
        }
        let start = i;
        i += usize::from(plus);
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        let run = &text[start..i];
        if is_cn_mobile(run) {
            out.push_str(&mask(national(run)));
        } else {
            out.push_str(run);
        }
    }
    out
}

/// Who sent a text, judged from the address alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SenderKind {
    /// A Chinese mobile number (11 digits from 13x-19x, with or without +86) or a foreign one.
    Mobile,
    /// Short codes and service numbers (10086, 95588, 106...): machines, never villagers.
    Service,
    /// A name instead of a number ("CMCC"): always a machine.
    Alphanumeric,
}

/// Judges a sender address: a machine must never get a reply that could start a loop.
pub fn sender_kind(sender: &str) -> SenderKind {
    let s = sender.trim();
    if s.is_empty() || s.chars().any(|c| !(c.is_ascii_digit() || c == '+')) {
        return SenderKind::Alphanumeric;
    }
    let digits = s.trim_start_matches('+');
    // Only a `+86` is a country code here: a bare 86... of any length may be a service number.
    let national = digits
        .strip_prefix("86")
        .filter(|_| s.starts_with('+'))
        .unwrap_or(digits);
    if is_cn_mobile(national) && national.len() == 11 {
        return SenderKind::Mobile;
    }
    // 106xx bulk-SMS gateways, 95xxx/96xxx/100xx/12xxx service numbers and anything too short
    // to be a phone.
    let service_prefix = ["106", "95", "96", "100", "12"]
        .iter()
        .any(|p| national.starts_with(p));
    if (service_prefix && !s.starts_with('+')) || digits.len() < 7 {
        return SenderKind::Service;
    }
    SenderKind::Mobile
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn masks() {
        assert_eq!(mask("13812345678"), "138****5678");
        assert_eq!(mask("+8613812345678"), "138****5678");
        assert_eq!(mask("10086"), "*****");
    }

    #[test]
    fn one_phone_many_spellings() {
        for s in [
            "+8613812345678",
            "008613812345678",
            "8613812345678",
            " 13812345678 ",
        ] {
            assert_eq!(national(s), "13812345678", "{s}");
            assert!(same(s, "13812345678"));
        }
        // A bare 86 is a country code only before an 11-digit mobile.
        assert_eq!(national("8610086"), "8610086");
    }

    #[test]
    fn validity_is_one_rule() {
        assert!(is_valid("10086"));
        assert!(is_valid("+8613812345678"));
        assert!(!is_valid("1008"));
        assert!(!is_valid("+1234567890123456"));
        assert!(!is_valid("138-1234-5678"));
        assert!(is_international("+8613800280500"));
        assert!(!is_international("13800280500"));
    }

    #[test]
    fn mobiles_in_text_are_masked_appeal_numbers_kept() {
        assert_eq!(
            mask_in_text("转给+8613812345678处理 20220713002"),
            "转给138****5678处理 20220713002"
        );
        assert_eq!(mask_in_text("电话8613812345678"), "电话138****5678");
    }

    #[test]
    fn sender_kinds() {
        assert_eq!(sender_kind("13812345678"), SenderKind::Mobile);
        assert_eq!(sender_kind("+8613812345678"), SenderKind::Mobile);
        assert_eq!(sender_kind("+4915112345678"), SenderKind::Mobile);
        assert_eq!(sender_kind("10086"), SenderKind::Service);
        assert_eq!(sender_kind("1065502112345"), SenderKind::Service);
        assert_eq!(sender_kind("CMCC"), SenderKind::Alphanumeric);
        assert_eq!(sender_kind(""), SenderKind::Alphanumeric);
    }

    proptest! {
        #[test]
        fn mask_never_shows_the_middle(n in "1[3-9][0-9]{9}") {
            let m = mask(&n);
            prop_assert_eq!(m.len(), 11);
            prop_assert_eq!(&m[3..7], "****");
            prop_assert_eq!(mask(&format!("+86{n}")), m);
        }

        #[test]
        fn masking_text_is_idempotent(s in "[0-9+ 转给a-z]{0,40}") {
            let once = mask_in_text(&s);
            prop_assert_eq!(mask_in_text(&once), once.clone());
        }
    }
}
