//! Intake: what an inbound text means. Pure functions over strings: normalisation of what
//! feature phones send (full-width digits and letters, stray spaces) and intent parsing
//! (cadre commands, villagers' queries and survey answers, or an appeal), and the guard against
//! service senders, automatic replies and floods; the redaction of a command's PIN from what is
//! stored and logged; the keywords of the platform's other sections ([`affairs`]).

pub mod affairs;
pub mod guard;
pub mod intent;
mod normalize;
mod redact;

pub use intent::{parse as parse_intent, CadreCommand, CadreVerb, Intent, SenderRole, Target};
pub use normalize::normalize;
pub use redact::redact_pin;
