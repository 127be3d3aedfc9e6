//! Appeals: numbering, filing, the pure state machine through the five steps (`machine`), the
//! operations that load, decide and write (`actions`), and the hash-chained event log. Every
//! change goes through a transaction that also writes its event.

pub mod actions;
pub mod commands;
pub mod events;
mod filing;
pub mod machine;
pub mod messages;
mod number;
mod query;
mod record;
pub mod routing;
pub mod survey;

pub use events::{append_event, verify_chain, ChainBreak, NewEvent};
pub use filing::{
    file_appeal, Filed, FilingPolicy, NewAppeal, TextIn, CALLBACK_CATEGORY, CALLBACK_TEXT,
};
pub use machine::{Status, Step};
pub use number::{format_number, local_day};
pub use query::{get_appeal, list_appeals, AppealFilter};
pub use record::Appeal;
