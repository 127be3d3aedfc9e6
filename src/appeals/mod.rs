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
