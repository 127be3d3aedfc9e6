//! `bench-supervision`: the monthly evaluation over a month of many appeals (issue 11's target:
//! one million on SQLite in under 5 s). Seeds a SQLite file once (the web load test's seeder,
//! spread over November 2026, 200 cadres, 1 % transferred and 1 % reopened), then times
//! `supervision::record::evaluation` end to end: the facts query, the event counts, the
//! repeat history and the pure computation.

use std::path::Path;
use std::time::Instant;

use super::load::{seed_over, LoadError};
use crate::config::Config;
use crate::directory::Directory;
use crate::store::Store;
use crate::supervision::{period::Period, record};

pub struct Report {
    pub appeals: u64,
    pub seconds: Vec<f64>,
    pub peak_rss_mib: f64,
    pub cadres: usize,
    pub score: Option<f64>,
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut s = self.seconds.clone();
        s.sort_by(f64::total_cmp);
        writeln!(
            f,
            "monthly evaluation of {} appeals (SQLite):",
            self.appeals
        )?;
        writeln!(
            f,
            "  runs: {}",
            self.seconds
                .iter()
                .map(|x| format!("{x:.2} s"))
                .collect::<Vec<_>>()
                .join(", ")
        )?;
        writeln!(f, "  median: {:.2} s", s[s.len() / 2])?;
        writeln!(f, "  peak RSS: {:.1} MiB (VmHWM)", self.peak_rss_mib)?;
        write!(
            f,
            "  groups: {} cadre rows; total score {:.1}",
            self.cadres,
            self.score.unwrap_or(0.0)
        )
    }
}

pub async fn run(db: &Path, appeals: usize, runs: usize) -> Result<Report, LoadError> {
    let url = format!("sqlite://{}?mode=rwc", db.display());
    let config = Config::parse(
        &format!("[database]\nurl = \"{url}\"\n"),
        Path::new("bench-supervision.toml"),
    )
    .map_err(|e| LoadError::Other(e.to_string()))?;
    let store = Store::connect(&url, 4).await?;
    let month = Period::Month {
        year: 2026,
        month: 11,
    };
    let (from, to) = month.bounds(config.time_zone);
    let have: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM appeals")
        .fetch_one(store.pool())
        .await?;
    if have == 0 {
        let t = Instant::now();
        // Every appeal inside the month: the seeder ends at `to - 1`.
        seed_over(&store, appeals, to - 1, to - from - 1).await?;
        for kind in ["transferred", "reopened"] {
            sqlx::query(&format!(
                "INSERT INTO events (appeal_id, at, actor, channel, step, kind, text, prev_hash, hash) \
                 SELECT id, filed_at + 60000, 'bench', 'sms', 'negotiation', '{kind}', '', '', '' \
                 FROM appeals WHERE id % 100 = {}",
                if kind == "transferred" { 1 } else { 2 }
            ))
            .execute(store.pool())
            .await?;
        }
        // 200 cadres across 10 villages, so the grouping and the ranking have real work.
        sqlx::query("UPDATE appeals SET cadre = '1390000' || (1000 + id % 200), cadre_name = 'c' || (id % 200)")
            .execute(store.pool())
            .await?;
        sqlx::query("ANALYZE").execute(store.pool()).await?;
        println!(
            "seeded {appeals} appeals in {:.1} s",
            t.elapsed().as_secs_f64()
        );
    } else {
        println!("using the {have} appeals already in {}", db.display());
    }
    let dir = Directory::default();
    let mut seconds = Vec::new();
    let mut last = None;
    for _ in 0..runs.max(1) {
        let t = Instant::now();
        let ev = record::evaluation(&store, &config, &dir, month, to).await?;
        seconds.push(t.elapsed().as_secs_f64());
        last = Some(ev);
    }
    let ev = last.ok_or_else(|| LoadError::Other("no run".into()))?;
    let peak = super::bench::peak_rss_kib(std::process::id()).unwrap_or(0) as f64 / 1024.0;
    Ok(Report {
        appeals: ev.total.appeals,
        seconds,
        peak_rss_mib: peak,
        cadres: ev.cadres.len(),
        score: ev.total.score,
    })
}
