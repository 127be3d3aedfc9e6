//! Appeals: numbering, filing, and the hash-chained event log. The state machine through the five
//! steps grows here; every change goes through a transaction that also writes its event.

pub mod actions;
pub mod commands;
pub mod events;
mod filing;
pub mod messages;
mod number;
mod query;
pub mod routing;
pub mod survey;

pub use events::{append_event, verify_chain, ChainBreak, NewEvent};
pub use filing::{file_appeal, Filed, FilingPolicy, NewAppeal};
pub use number::{format_number, local_day};
pub use query::{get_appeal, list_appeals, AppealFilter, AppealRow};

/// The five steps of the 码上办 process, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Collection,
    Negotiation,
    Decision,
    Supervision,
    Evaluation,
}

impl Step {
    pub fn as_str(self) -> &'static str {
        match self {
            Step::Collection => "collection",
            Step::Negotiation => "negotiation",
            Step::Decision => "decision",
            Step::Supervision => "supervision",
            Step::Evaluation => "evaluation",
        }
    }

    pub fn chinese(self) -> &'static str {
        match self {
            Step::Collection => "诉求收集",
            Step::Negotiation => "协商",
            Step::Decision => "决策",
            Step::Supervision => "纪委监督",
            Step::Evaluation => "群众评价",
        }
    }
}

/// Masks a phone number for logs and viewers: 13812345678 -> 138****5678.
pub fn mask_phone(phone: &str) -> String {
    let digits: Vec<char> = phone.chars().collect();
    let (prefix, rest) = if phone.starts_with("+86") && digits.len() > 3 {
        ("", &digits[3..])
    } else {
        ("", &digits[..])
    };
    if rest.len() < 7 {
        return format!("{prefix}{}", "*".repeat(rest.len()));
    }
    let head: String = rest[..3].iter().collect();
    let tail: String = rest[rest.len() - 4..].iter().collect();
    format!("{prefix}{head}****{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks() {
        assert_eq!(mask_phone("13812345678"), "138****5678");
        assert_eq!(mask_phone("+8613812345678"), "138****5678");
        assert_eq!(mask_phone("10086"), "*****");
    }
}
