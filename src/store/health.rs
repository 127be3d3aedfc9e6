//! Database health as the daemon sees it: up, or lost since when and why. A monitor task probes
//! the database (fast while it is down, slowly while it is up), workers that hit a database
//! error may report it too, and the web layer and the log read the result. Losing the database
//! stops nothing: modems keep messages on the SIM and workers retry with backoff; this only
//! makes the fault visible and says when it ended.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::Store;
use crate::clock::Clock;

/// What the status page and `/healthz` show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbHealth {
    /// False from the first failed probe or report until the next success.
    pub up: bool,
    /// When the current state began (None before the first observation).
    pub since: Option<DateTime<Utc>>,
    /// The newest error while down; kept after recovery for the page's "last fault".
    pub last_error: Option<String>,
    /// Failures in a row while down.
    pub failures: u32,
}

impl Default for DbHealth {
    fn default() -> Self {
        // The daemon only starts its tasks after connecting, so it begins up.
        DbHealth {
            up: true,
            since: None,
            last_error: None,
            failures: 0,
        }
    }
}

/// A change worth a log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transition {
    Lost,
    /// Back after being down for this long.
    Restored(chrono::Duration),
}

/// The next health after an observation at `now` (Ok or the error's text), and the transition
/// if the state flipped.
pub fn observe(
    prev: &DbHealth,
    outcome: Result<(), &str>,
    now: DateTime<Utc>,
) -> (DbHealth, Option<Transition>) {
    match outcome {
        Ok(()) if prev.up => (prev.clone(), None),
        Ok(()) => {
            let down_for = prev.since.map(|s| now - s).unwrap_or_default();
            (
                DbHealth {
                    up: true,
                    since: Some(now),
                    last_error: prev.last_error.clone(),
                    failures: 0,
                },
                Some(Transition::Restored(down_for)),
            )
        }
        Err(e) => {
            let lost = prev.up;
            (
                DbHealth {
                    up: false,
                    since: if lost { Some(now) } else { prev.since },
                    last_error: Some(e.to_string()),
                    failures: prev.failures.saturating_add(1),
                },
                lost.then_some(Transition::Lost),
            )
        }
    }
}

/// The wait before the next probe: every few seconds while up; while down 1 s, doubling to
/// 10 s, so a returning database is noticed soon without hammering one that is away.
pub fn probe_interval(h: &DbHealth) -> Duration {
    if h.up {
        Duration::from_secs(5)
    } else {
        let exp = h.failures.saturating_sub(1).min(4);
        Duration::from_secs(1 << exp).min(Duration::from_secs(10))
    }
}

/// Shared handle: reporters write, readers `watch`.
#[derive(Clone, Debug)]
pub struct Health {
    tx: Arc<watch::Sender<DbHealth>>,
    clock: Clock,
}

impl Health {
    pub fn new(clock: Clock) -> Health {
        let (tx, _rx) = watch::channel(DbHealth::default());
        Health {
            tx: Arc::new(tx),
            clock,
        }
    }

    pub fn get(&self) -> DbHealth {
        self.tx.borrow().clone()
    }

    pub fn watch(&self) -> watch::Receiver<DbHealth> {
        self.tx.subscribe()
    }

    pub fn report_ok(&self) {
        self.report(Ok(()));
    }

    pub fn report_error(&self, e: &dyn std::fmt::Display) {
        let text = e.to_string();
        self.report(Err(&text));
    }

    fn report(&self, outcome: Result<(), &str>) {
        let now = self.clock.now();
        let mut transition = None;
        self.tx.send_if_modified(|h| {
            let (next, t) = observe(h, outcome, now);
            transition = t;
            let changed = next != *h;
            *h = next;
            changed
        });
        match transition {
            Some(Transition::Lost) => tracing::error!(
                error = outcome.err().unwrap_or(""),
                "database lost: modems keep messages on the SIM, work resumes when it returns"
            ),
            Some(Transition::Restored(d)) => {
                tracing::warn!(down_secs = d.num_seconds(), "database back: resuming")
            }
            None => {}
        }
    }
}

/// Probes the database until shutdown.
pub async fn monitor(store: Store, health: Health, shutdown: CancellationToken) {
    loop {
        let wait = probe_interval(&health.get());
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(wait) => {}
        }
        let probe = tokio::time::timeout(
            Duration::from_secs(5),
            sqlx::query("SELECT 1").execute(store.pool()),
        )
        .await;
        match probe {
            Ok(Ok(_)) => health.report_ok(),
            Ok(Err(e)) => health.report_error(&e),
            Err(_) => health.report_error(&"no answer within 5 s"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + s, 0).unwrap()
    }

    #[test]
    fn transitions() {
        let up = DbHealth::default();
        // (previous, outcome, expected up, expected failures, transition)
        let (down1, t) = observe(&up, Err("refused"), at(0));
        assert_eq!(t, Some(Transition::Lost));
        assert!(!down1.up);
        assert_eq!(down1.since, Some(at(0)));
        assert_eq!(down1.failures, 1);

        let (down2, t) = observe(&down1, Err("timeout"), at(3));
        assert_eq!(t, None, "still down: no second log line");
        assert_eq!(down2.since, Some(at(0)), "down since the first failure");
        assert_eq!(down2.last_error.as_deref(), Some("timeout"));
        assert_eq!(down2.failures, 2);

        let (back, t) = observe(&down2, Ok(()), at(30));
        assert_eq!(t, Some(Transition::Restored(chrono::Duration::seconds(30))));
        assert!(back.up);
        assert_eq!(back.failures, 0);
        assert_eq!(back.since, Some(at(30)));
        assert_eq!(
            back.last_error.as_deref(),
            Some("timeout"),
            "last fault kept"
        );

        let (same, t) = observe(&back, Ok(()), at(40));
        assert_eq!(t, None);
        assert_eq!(
            same, back,
            "an Ok while up changes nothing (no watch churn)"
        );
    }

    #[test]
    fn probe_backs_off_while_down_and_caps() {
        let mut h = DbHealth::default();
        assert_eq!(probe_interval(&h), Duration::from_secs(5));
        let mut waits = Vec::new();
        for i in 0..7 {
            h = observe(&h, Err("x"), at(i)).0;
            waits.push(probe_interval(&h).as_secs());
        }
        assert_eq!(waits, vec![1, 2, 4, 8, 10, 10, 10]);
    }

    proptest::proptest! {
        #[test]
        fn failures_count_the_run_of_errors(outcomes in proptest::collection::vec(proptest::bool::ANY, 0..40)) {
            let mut h = DbHealth::default();
            let mut run = 0u32;
            for (i, ok) in outcomes.iter().enumerate() {
                h = observe(&h, if *ok { Ok(()) } else { Err("e") }, at(i as i64)).0;
                run = if *ok { 0 } else { run + 1 };
                proptest::prop_assert_eq!(h.failures, run);
                proptest::prop_assert_eq!(h.up, run == 0);
            }
        }
    }
}
