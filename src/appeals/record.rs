//! The appeal row: one type for the workflow (which locks and changes it) and the read side
//! (the CLI, the status page and the API, which show it). Serialises as the API's appeal
//! object: colour, status and step by name, times as RFC 3339 in UTC.

use serde::{Serialize, Serializer};

use super::machine::{Status, Step};
use crate::grade::Colour;
use crate::store::{from_millis, Result};

/// One row of `appeals`, with the columns every reader needs.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Appeal {
    pub id: i64,
    pub number: String,
    pub phone: String,
    pub village: Option<String>,
    pub modem: Option<String>,
    pub text: String,
    pub category: String,
    #[sqlx(try_from = "String")]
    pub colour: Colour,
    #[sqlx(try_from = "String")]
    pub status: Status,
    #[sqlx(try_from = "String")]
    pub step: Step,
    /// The responsible cadre's phone (masked for viewers) and name.
    pub cadre: Option<String>,
    pub cadre_name: Option<String>,
    /// Milliseconds since the epoch; shown as RFC 3339.
    #[serde(serialize_with = "rfc3339")]
    pub received_at: i64,
    #[serde(serialize_with = "rfc3339")]
    pub filed_at: i64,
    #[serde(serialize_with = "rfc3339")]
    pub updated_at: i64,
    /// Deadlines (ms), for the workflow and the scheduler; the API shows overdue instead.
    #[serde(skip)]
    pub respond_by: Option<i64>,
    #[serde(skip)]
    pub resolve_by: Option<i64>,
    pub rating: Option<i64>,
}

fn rfc3339<S: Serializer>(ms: &i64, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&from_millis(*ms).to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
}

/// The columns [`row_to_appeal`] reads, for `SELECT {APPEAL_COLUMNS} FROM appeals ...`.
pub(crate) const APPEAL_COLUMNS: &str =
    "id, number, phone, village, modem, text, category, colour, status, step, cadre, \
     cadre_name, received_at, filed_at, updated_at, respond_by, resolve_by, rating";

pub(crate) fn row_to_appeal(r: &sqlx::any::AnyRow) -> Result<Appeal> {
    Ok(<Appeal as sqlx::FromRow<_>>::from_row(r)?)
}

// The typed columns read leniently, so one row edited by hand into nonsense cannot stop the
// workflow, the page or the scheduler from reading every other row.
impl From<String> for Colour {
    /// An unknown colour is treated as the most careful one.
    fn from(s: String) -> Colour {
        s.parse().unwrap_or(Colour::Red)
    }
}

impl From<String> for Status {
    fn from(s: String) -> Status {
        Status::parse(&s)
    }
}

impl From<String> for Step {
    fn from(s: String) -> Step {
        Step::parse(&s)
    }
}
