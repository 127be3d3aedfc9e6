//! Guards against what must never become an appeal or get a reply: service numbers and
//! alphanumeric senders (an operator's or a shop's automatic text, where a reply could start a
//! loop), automatic replies from phones, and floods from one phone. Pure: the caller counts
//! recent messages and decides what to record.

pub use crate::phone::{sender_kind, SenderKind};

/// Who sent a text, judged from the address and its type of number (TON, from the PDU). An
/// alphanumeric address is a name, whatever it spells: "13900000001" sent as text is a
/// machine (or a spoofer), not the phone with that number.
pub fn sender_kind_typed(sender: &str, ton: u8) -> SenderKind {
    if ton == crate::pdu::TON_ALPHANUMERIC {
        SenderKind::Alphanumeric
    } else {
        sender_kind(sender)
    }
}

/// Whether a sender with this TON can be a person whose number is in the directory: only
/// numbers of type unknown (0, what most Chinese networks send), international (1) or
/// national (2). Names, abbreviated and network-specific numbers are set by whoever runs
/// the sending gateway.
pub fn may_be_cadre(ton: u8) -> bool {
    matches!(ton, 0..=2)
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
    screen_kind(sender_kind(sender), text, recent, flood_limit)
}

/// [`screen`] for a sender already judged (see [`sender_kind_typed`]).
pub fn screen_kind(kind: SenderKind, text: &str, recent: u32, flood_limit: u32) -> Screen {
    match kind {
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
        let cases = [
            ("13812345678", "路灯坏了", 0, Screen::Pass),
            (
                "10086",
                "您的话费余额",
                0,
                Screen::Record(Reason::ServiceSender),
            ),
            (
                "13812345678",
                "【自动回复】我在开会",
                0,
                Screen::Record(Reason::AutomaticReply),
            ),
            (
                "13812345678",
                "Out of office until Monday",
                0,
                Screen::Record(Reason::AutomaticReply),
            ),
            ("13812345678", "路灯坏了", 10, Screen::Record(Reason::Flood)),
            ("13812345678", "路灯坏了", 9, Screen::Pass),
        ];
        for (phone, text, last_hour, want) in cases {
            assert_eq!(
                screen(phone, text, last_hour, 10),
                want,
                "{phone} {text} {last_hour}"
            );
        }
    }

    #[test]
    fn alphanumeric_type_wins_over_digits() {
        assert_eq!(
            sender_kind_typed("13900000001", 5),
            SenderKind::Alphanumeric
        );
        assert_eq!(sender_kind_typed("13900000001", 0), SenderKind::Mobile);
        assert_eq!(sender_kind_typed("+8613900000001", 1), SenderKind::Mobile);
        assert_eq!(
            screen_kind(sender_kind_typed("13900000001", 5), "JS002", 0, 10),
            Screen::Record(Reason::ServiceSender)
        );
        assert!(may_be_cadre(0) && may_be_cadre(1) && may_be_cadre(2));
        for ton in 3..=7 {
            assert!(!may_be_cadre(ton), "{ton}");
        }
    }

    proptest! {
        #[test]
        fn never_panics(sender in "\\PC{0,30}", text in "\\PC{0,100}", n in 0u32..100) {
            let _ = screen(&sender, &text, n, 10);
        }
    }
}
