//! The rating-call loop: while this daemon leads, every scheduler interval, the villagers due
//! a rating call (`calls::rating::candidates`) are called one after another from the "ivr"
//! modems that are ready and within their hourly budget. Each attempt is written before the
//! modem dials and finished with what it reports; the rating itself is recorded by the modem
//! task's menu through the survey function, inside the call.

use std::collections::HashSet;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::calls::rating::{self, RatingRules};
use crate::clock::Clock;
use crate::config::{Config, VoiceMode};
use crate::modem::ivr::RatingOutcome;
use crate::modem::{ModemHandle, PlacedCall};
use crate::store::leader::Leader;
use crate::store::Store;

pub struct RatingCaller {
    pub store: Store,
    pub config: Arc<Config>,
    pub clock: Clock,
    /// The modems with voice = "ivr".
    pub modems: Vec<ModemHandle>,
    pub leader: Leader,
    pub shutdown: CancellationToken,
}

impl RatingCaller {
    pub async fn run(self) {
        let Some(after) = self.config.voice.rating_call_after else {
            return;
        };
        if self.modems.is_empty() {
            return;
        }
        let v = self.config.voice;
        let rules = RatingRules {
            after,
            attempts: v.rating_call_attempts,
            retry: v.rating_call_retry,
            tz: self.config.time_zone,
            quiet: self.config.quiet_hours,
        };
        match rating::close_interrupted(&self.store, self.clock.now()).await {
            Ok(n) if n > 0 => tracing::warn!(
                calls = n,
                "rating calls interrupted by a restart are closed (each counts as an attempt)"
            ),
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "cannot close interrupted rating calls"),
        }
        // Modems whose probe found no TTS or DTMF: asked once, then left out until restart.
        let mut incapable: HashSet<String> = HashSet::new();
        loop {
            if self.leader.is_leader() {
                if let Err(e) = self.pass(&rules, &mut incapable).await {
                    tracing::error!(error = %e, "rating calls: pass failed; retried next interval");
                }
            }
            tokio::select! {
                _ = self.shutdown.cancelled() => return,
                _ = tokio::time::sleep(self.config.scheduler.interval) => {}
            }
        }
    }

    async fn pass(
        &self,
        rules: &RatingRules,
        incapable: &mut HashSet<String>,
    ) -> crate::store::Result<()> {
        let due = rating::candidates(&self.store, self.clock.now(), rules, 20).await?;
        for d in due {
            if self.shutdown.is_cancelled() || !self.leader.is_leader() {
                return Ok(());
            }
            let Some(modem) = self.free_modem(incapable).await? else {
                return Ok(());
            };
            let id = rating::start(&self.store, &d, &modem.name, self.clock.now()).await?;
            let placed = match modem.rating_call(&d.phone, &d.number).await {
                Ok(p) => p,
                Err(e) => PlacedCall::Failed(e.to_string()),
            };
            if placed == PlacedCall::NotCapable {
                tracing::warn!(modem = %modem.name, "rating calls: this modem has no TTS or DTMF; it places none");
                incapable.insert(modem.name.clone());
            }
            let score = match &placed {
                PlacedCall::Answered(RatingOutcome::Rated(s)) => Some(*s),
                _ => None,
            };
            rating::finish(&self.store, id, placed.as_str(), score, self.clock.now()).await?;
            match &placed {
                PlacedCall::Failed(why) => {
                    tracing::warn!(appeal = %d.number, modem = %modem.name, %why, "rating call failed")
                }
                p => {
                    tracing::info!(appeal = %d.number, modem = %modem.name, outcome = p.as_str(), "rating call")
                }
            }
        }
        Ok(())
    }

    /// A ready "ivr" modem with calls left this hour.
    async fn free_modem(
        &self,
        incapable: &HashSet<String>,
    ) -> crate::store::Result<Option<&ModemHandle>> {
        for m in &self.modems {
            if incapable.contains(&m.name) || !m.status().is_ready_to_send() {
                continue;
            }
            let used = rating::calls_last_hour(&self.store, &m.name, self.clock.now()).await?;
            if used < self.config.voice.rating_calls_per_hour {
                return Ok(Some(m));
            }
        }
        Ok(None)
    }
}

/// The modems that may place rating calls.
pub fn ivr_modems(config: &Config, handles: &[ModemHandle]) -> Vec<ModemHandle> {
    handles
        .iter()
        .filter(|h| {
            config
                .modems
                .iter()
                .any(|m| m.name == h.name && m.voice == VoiceMode::Ivr)
        })
        .cloned()
        .collect()
}
