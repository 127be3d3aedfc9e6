//! Guards against what must never become an appeal or get a reply: service numbers and
//! alphanumeric senders (an operator's or a shop's automatic text, where a reply could start a
//! loop), automatic replies from phones, and floods from one phone. Pure: the caller counts
//! recent messages and decides what to record.

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

pub fn sender_kind(sender: &str) -> SenderKind {
    let s = sender.trim();
    if s.is_empty() || s.chars().any(|c| !(c.is_ascii_digit() || c == '+')) {
        return SenderKind::Alphanumeric;
    }
    let digits = s.trim_start_matches('+');
    let national = digits
        .strip_prefix("86")
        .filter(|_| s.starts_with('+'))
        .unwrap_or(digits);
    let is_cn_mobile = national.len() == 11
        && national.starts_with('1')
        && matches!(national.as_bytes()[1], b'3'..=b'9');
    if is_cn_mobile {
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

/// Phrases that mark an automatic answer (an "auto-reply" setting, a voicemail notice), so the
/// gateway does not answer an answering machine and loop with it.
const AUTO_REPLY: &[&str] = &[
    "自动回复",
    "auto-reply",
    "autoreply",
    "auto reply",
    "out of office",
    "此消息为系统自动",
    "本短信由系统自动",
    "请勿回复",
    "无需回复",
    "您拨打的用户",
    "已开通来电提醒",
];

pub fn looks_automatic(text: &str) -> bool {
    let lower = text.to_lowercase();
    AUTO_REPLY.iter().any(|p| lower.contains(p))
}

/// What to do with a text before it can become an appeal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    /// Carry on: file, answer, parse commands.
    Pass,
    /// Record it for the admins, file nothing, answer nothing.
    Record(Reason),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    ServiceSender,
    AutomaticReply,
    Flood,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::ServiceSender => "service-sender",
            Reason::AutomaticReply => "auto-reply",
            Reason::Flood => "flood",
        }
    }
}

/// `recent` = texts already taken from this phone within the flood window.
pub fn screen(sender: &str, text: &str, recent: u32, flood_limit: u32) -> Screen {
    match sender_kind(sender) {
        SenderKind::Service | SenderKind::Alphanumeric => Screen::Record(Reason::ServiceSender),
        SenderKind::Mobile if looks_automatic(text) => Screen::Record(Reason::AutomaticReply),
        SenderKind::Mobile if recent >= flood_limit => Screen::Record(Reason::Flood),
        SenderKind::Mobile => Screen::Pass,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn senders() {
        for m in [
            "13812345678",
            "+8613812345678",
            "19912345678",
            "+447700900123",
        ] {
            assert_eq!(sender_kind(m), SenderKind::Mobile, "{m}");
        }
        for s in ["10086", "95588", "1065502012345", "12306", "+86", "123"] {
            assert_eq!(sender_kind(s), SenderKind::Service, "{s}");
        }
        for a in ["CMCC", "Bank", ""] {
            assert_eq!(sender_kind(a), SenderKind::Alphanumeric, "{a}");
        }
    }

    #[test]
    fn screening() {
        assert_eq!(screen("13812345678", "路灯坏了", 0, 10), Screen::Pass);
        assert_eq!(
            screen("10086", "您的话费余额", 0, 10),
            Screen::Record(Reason::ServiceSender)
        );
        assert_eq!(
            screen("13812345678", "【自动回复】我在开会", 0, 10),
            Screen::Record(Reason::AutomaticReply)
        );
        assert_eq!(
            screen("13812345678", "Out of office until Monday", 0, 10),
            Screen::Record(Reason::AutomaticReply)
        );
        assert_eq!(
            screen("13812345678", "路灯坏了", 10, 10),
            Screen::Record(Reason::Flood)
        );
        assert_eq!(screen("13812345678", "路灯坏了", 9, 10), Screen::Pass);
    }

    proptest! {
        #[test]
        fn never_panics(sender in "\\PC{0,30}", text in "\\PC{0,100}", n in 0u32..100) {
            let _ = screen(&sender, &text, n, 10);
        }
    }
}
