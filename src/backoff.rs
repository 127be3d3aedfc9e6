//! Capped exponential backoff, pure: the one rule for every retry in the gateway (outbox
//! sends, webhook deliveries, a modem's reconnects, a database that went away).

use std::time::Duration;

/// Delay before attempt `attempt + 1` after `attempt` failures (1-based): base, 2 base, 4 base ...
/// capped at `max`.
pub fn backoff(attempt: u32, base: Duration, max: Duration) -> Duration {
    let shift = attempt.saturating_sub(1).min(20);
    base.saturating_mul(1u32 << shift).min(max)
}

/// [`backoff`] for a loop that retries in place: each failure waits twice the last, a success
/// starts again from `base`.
#[derive(Debug, Clone)]
pub struct Backoff {
    base: Duration,
    max: Duration,
    failures: u32,
}

impl Backoff {
    pub const fn new(base: Duration, max: Duration) -> Backoff {
        Backoff {
            base,
            max,
            failures: 0,
        }
    }

    /// Counts a failure and returns how long to wait before the next try.
    pub fn fail(&mut self) -> Duration {
        self.failures = self.failures.saturating_add(1);
        backoff(self.failures, self.base, self.max)
    }

    pub fn reset(&mut self) {
        self.failures = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_then_caps() {
        let b = Duration::from_secs(30);
        let m = Duration::from_secs(1800);
        assert_eq!(backoff(1, b, m), Duration::from_secs(30));
        assert_eq!(backoff(2, b, m), Duration::from_secs(60));
        assert_eq!(backoff(3, b, m), Duration::from_secs(120));
        assert_eq!(backoff(10, b, m), m);
        assert_eq!(backoff(u32::MAX, b, m), m);
    }

    #[test]
    fn a_loop_doubles_and_a_success_starts_over() {
        let mut b = Backoff::new(Duration::from_secs(1), Duration::from_secs(60));
        let waits: Vec<u64> = (0..8).map(|_| b.fail().as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 60, 60]);
        b.reset();
        assert_eq!(b.fail(), Duration::from_secs(1));
    }
}
