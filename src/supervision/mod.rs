//! Supervision (纪委监督): turning the record into the discipline commission's view. Rates per
//! cadre, village and town ([`rates`]), the Monday digest and the monthly evaluation
//! ([`report`]), early warnings ([`warnings`]), the appeals behind a count ([`drill`]) and the
//! charts of the supervision page ([`trend`], [`svg`]). Everything is computed from the
//! appeals and their events ([`facts`]), so any figure can be recomputed and checked;
//! [`record`] writes what must be kept (snapshots, warnings) and the texts they cause.

pub mod drill;
pub mod facts;
pub mod period;
pub mod rates;
pub mod record;
pub mod report;
pub mod svg;
pub mod trend;
pub mod warnings;
