//! Intake: what an inbound text means. Pure functions over strings: normalisation of what
//! feature phones send (full-width digits and letters, stray spaces) and, later, intent parsing.

pub mod guard;
mod normalize;

pub use normalize::normalize;
