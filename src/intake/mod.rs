//! Intake: what an inbound text means. Pure functions over strings: normalisation of what
//! feature phones send (full-width digits and letters, stray spaces) and intent parsing
//! (cadre commands, villagers' queries and survey answers, or an appeal).

pub mod intent;
mod normalize;

pub use intent::{parse as parse_intent, CadreCommand, CadreVerb, Intent, SenderRole, Target};
pub use normalize::normalize;
