//! The two reports, pure over facts: the monthly evaluation (rates per cadre, village and
//! town, the ranking and its 红黑榜, the inputs' hash) and the Monday digest (the week's counts,
//! the overdue backlog, low ratings, the worst three cadres). Each renders as JSON (serde), CSV
//! and the SMS texts it causes.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use super::facts::Fact;
use super::rates::{by_group, compute, By, Rates, Row};
use crate::config::{SupervisionConfig, Weights};
use crate::directory::Directory;

/// A cadre's row with their place in the ranking (None: too few appeals to rank).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ranked {
    #[serde(flatten)]
    pub row: Row,
    pub rank: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// "2026-11".
    pub period: String,
    pub label: String,
    /// The period's bounds and the instant deadlines are judged at (ms).
    pub from: i64,
    pub to: i64,
    pub as_of: i64,
    pub weights: WeightsOut,
    pub total: Rates,
    /// Ranked ones first, by rank; then the unranked by key.
    pub cadres: Vec<Ranked>,
    pub villages: Vec<Row>,
    pub towns: Vec<Row>,
    /// 红榜: the best, best first; 黑榜: the worst, worst first (cadre phones).
    pub red_board: Vec<String>,
    pub black_board: Vec<String>,
    /// How many cadres were ranked.
    pub ranked: u32,
    /// sha256 of the facts, in id order (see [`inputs_hash`]).
    pub inputs_hash: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeightsOut {
    pub response: u32,
    pub resolution: u32,
    pub satisfaction: u32,
}

impl From<Weights> for WeightsOut {
    fn from(w: Weights) -> Self {
        WeightsOut {
            response: w.response,
            resolution: w.resolution,
            satisfaction: w.satisfaction,
        }
    }
}

/// The hash of the facts a report was computed from: one canonical line per fact, in id order.
/// Two computations with the same hash had the same inputs.
pub fn inputs_hash(facts: &[Fact]) -> String {
    let mut h = Sha256::new();
    let o = |v: Option<i64>| v.map(|n| n.to_string()).unwrap_or_default();
    let mut line = String::new();
    for f in facts {
        line.clear();
        let _ = writeln!(
            line,
            "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
            f.id,
            f.number,
            f.phone,
            f.village.as_deref().unwrap_or(""),
            f.category,
            f.colour.as_str(),
            f.status,
            f.cadre.as_deref().unwrap_or(""),
            f.filed_at,
            o(f.respond_by),
            o(f.resolve_by),
            o(f.accepted_at),
            o(f.resolved_at),
            o(f.rating.map(i64::from)),
            f.transfers,
            f.reopens,
            u8::from(f.repeat),
        );
        h.update(line.as_bytes());
    }
    hex::encode(h.finalize())
}

/// Best first: score, then on-time resolution, then response, then the key (stable).
fn rank_order(a: &Row, b: &Row) -> std::cmp::Ordering {
    let f = |v: Option<f64>| v.unwrap_or(-1.0);
    f(b.rates.score)
        .total_cmp(&f(a.rates.score))
        .then(f(b.rates.resolution_rate).total_cmp(&f(a.rates.resolution_rate)))
        .then(f(b.rates.response_rate).total_cmp(&f(a.rates.response_rate)))
        .then(a.key.cmp(&b.key))
}

/// The evaluation of `facts` (the appeals filed in the period, repeats marked).
#[allow(clippy::too_many_arguments)]
pub fn evaluate(
    period: super::period::Period,
    from: i64,
    to: i64,
    as_of: i64,
    facts: &[Fact],
    dir: &Directory,
    cfg: &SupervisionConfig,
) -> Evaluation {
    let w = cfg.weights;
    let all: Vec<&Fact> = facts.iter().collect();
    let rows = by_group(facts, By::Cadre, dir, as_of, w);
    let (mut rankable, rest): (Vec<Row>, Vec<Row>) = rows.into_iter().partition(|r| {
        !r.key.is_empty()
            && r.rates.appeals >= u64::from(cfg.min_appeals)
            && r.rates.score.is_some()
    });
    rankable.sort_by(rank_order);
    let ranked = rankable.len() as u32;
    let board = cfg.board_size as usize;
    let red_board: Vec<String> = rankable.iter().take(board).map(|r| r.key.clone()).collect();
    let black_board: Vec<String> = rankable
        .iter()
        .skip(red_board.len())
        .rev()
        .take(board)
        .map(|r| r.key.clone())
        .collect();
    let mut cadres: Vec<Ranked> = rankable
        .into_iter()
        .enumerate()
        .map(|(i, row)| Ranked {
            row,
            rank: Some(i as u32 + 1),
        })
        .collect();
    cadres.extend(rest.into_iter().map(|row| Ranked { row, rank: None }));
    Evaluation {
        period: period.key(),
        label: period.label(),
        from,
        to,
        as_of,
        weights: w.into(),
        total: compute(&all, as_of, w),
        cadres,
        villages: by_group(facts, By::Village, dir, as_of, w),
        towns: by_group(facts, By::Town, dir, as_of, w),
        red_board,
        black_board,
        ranked,
        inputs_hash: inputs_hash(facts),
    }
}

/// "92%" or "—" when there was nothing to count.
pub fn pct(v: Option<f64>) -> String {
    v.map(|x| format!("{:.0}%", x * 100.0))
        .unwrap_or_else(|| "—".into())
}

fn num(v: Option<f64>) -> String {
    v.map(|x| format!("{x:.1}")).unwrap_or_default()
}

/// The CSV columns of a rates row, the same in every table.
pub const CSV_HEAD: &str = "group,key,name,rank,appeals,red,yellow,green,respond_due,responded_on_time,response_rate,resolve_due,resolved_on_time,resolution_rate,overdue,resolved,rated,satisfied,basic,unsatisfied,satisfaction_rate,basic_rate,unsatisfied_rate,rating_coverage,mean_response_mins,p90_response_mins,redone,redo_rate,transferred,transfer_rate,repeats,repeat_rate,score";

fn csv_field(s: &str) -> String {
    // A leading = + - @ is a formula to a spreadsheet: quote it with a ' so a cadre's name
    // cannot run code in the commission's Excel.
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// The header and the total row every CSV starts with.
fn csv_start(total: &Rates) -> String {
    let mut out = format!("{CSV_HEAD}\n");
    let row = Row {
        key: String::new(),
        name: "合计".into(),
        rates: total.clone(),
    };
    csv_row(&mut out, "total", &row, None);
    out
}

pub fn csv_row(out: &mut String, group: &str, row: &Row, rank: Option<u32>) {
    let r = &row.rates;
    let rate = |v: Option<f64>| v.map(|x| format!("{x:.4}")).unwrap_or_default();
    let _ = writeln!(
        out,
        "{group},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
        csv_field(&row.key),
        csv_field(&row.name),
        rank.map(|n| n.to_string()).unwrap_or_default(),
        r.appeals,
        r.red,
        r.yellow,
        r.green,
        r.respond_due,
        r.responded_on_time,
        rate(r.response_rate),
        r.resolve_due,
        r.resolved_on_time,
        rate(r.resolution_rate),
        r.overdue,
        r.resolved,
        r.rated,
        r.satisfied,
        r.basic,
        r.unsatisfied,
        rate(r.satisfaction_rate),
        rate(r.basic_rate),
        rate(r.unsatisfied_rate),
        rate(r.rating_coverage),
        num(r.mean_response_mins),
        num(r.p90_response_mins),
        r.redone,
        rate(r.redo_rate),
        r.transferred,
        rate(r.transfer_rate),
        r.repeats,
        rate(r.repeat_rate),
        num(r.score),
    );
}

impl Evaluation {
    pub fn csv(&self) -> String {
        let mut out = csv_start(&self.total);
        for c in &self.cadres {
            csv_row(&mut out, "cadre", &c.row, c.rank);
        }
        for v in &self.villages {
            csv_row(&mut out, "village", v, None);
        }
        for t in &self.towns {
            csv_row(&mut out, "town", t, None);
        }
        out
    }

    pub fn cadre(&self, key: &str) -> Option<&Ranked> {
        self.cadres.iter().find(|c| c.row.key == key)
    }

    /// The text each cadre gets: their own figures and rank.
    pub fn cadre_text(&self, c: &Ranked, min_appeals: u32) -> String {
        let r = &c.row.rates;
        let place = match c.rank {
            Some(n) => format!("排名{n}/{}", self.ranked),
            None => format!("不足{min_appeals}件不排名"),
        };
        format!(
            "【月度评价】{}{}：经办诉求{}件，响应率{}，按时办结率{}，满意率{}，综合{}分，{}。",
            self.label,
            c.row.name,
            r.appeals,
            pct(r.response_rate),
            pct(r.resolution_rate),
            pct(r.satisfaction_rate),
            r.score
                .map(|s| format!("{s:.1}"))
                .unwrap_or_else(|| "—".into()),
            place
        )
    }

    /// A human summary for the CLI.
    pub fn text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{} 月度评价 ({} appeals, inputs {})",
            self.label,
            self.total.appeals,
            &self.inputs_hash[..12.min(self.inputs_hash.len())]
        );
        let t = &self.total;
        let _ = writeln!(
            out,
            "合计: 响应率 {} 按时办结率 {} 满意率 {} (基本满意 {} 不满意 {}) 评价覆盖 {} 综合 {}",
            pct(t.response_rate),
            pct(t.resolution_rate),
            pct(t.satisfaction_rate),
            pct(t.basic_rate),
            pct(t.unsatisfied_rate),
            pct(t.rating_coverage),
            num(t.score)
        );
        let _ = writeln!(
            out,
            "rank  name        appeals  response  on-time  satisfied  score"
        );
        for c in &self.cadres {
            let r = &c.row.rates;
            let _ = writeln!(
                out,
                "{:>4}  {:<10}  {:>7}  {:>8}  {:>7}  {:>9}  {:>5}",
                c.rank.map(|n| n.to_string()).unwrap_or_else(|| "-".into()),
                c.row.name,
                r.appeals,
                pct(r.response_rate),
                pct(r.resolution_rate),
                pct(r.satisfaction_rate),
                num(r.score)
            );
        }
        let names = |keys: &[String]| {
            keys.iter()
                .filter_map(|k| self.cadre(k))
                .map(|c| c.row.name.clone())
                .collect::<Vec<_>>()
                .join("、")
        };
        let _ = writeln!(out, "红榜: {}", names(&self.red_board));
        let _ = writeln!(out, "黑榜: {}", names(&self.black_board));
        out
    }
}

/// The Monday digest of one week, for one town (None: every town).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Digest {
    pub period: String,
    pub label: String,
    pub town: Option<String>,
    pub from: i64,
    pub to: i64,
    /// The week's appeals and their rates at the digest's instant.
    pub total: Rates,
    /// Open appeals past their resolution limit at the digest's instant (any week).
    pub overdue_open: Vec<String>,
    /// Appeals rated 1-2 during the week.
    pub low_ratings: Vec<String>,
    /// The three lowest scores among the week's cadres, worst first.
    pub worst: Vec<Row>,
}

/// What the digest is computed from besides the week's facts.
pub struct Backlog<'a> {
    /// (number, village) of open appeals past resolve_by.
    pub overdue_open: &'a [(String, Option<String>)],
    /// (number, village) of appeals rated 1-2 in the week.
    pub low_ratings: &'a [(String, Option<String>)],
}

fn town_of<'a>(dir: &'a Directory, village: Option<&str>) -> Option<&'a str> {
    village
        .and_then(|v| dir.village(v))
        .map(|v| v.town.as_str())
}

#[allow(clippy::too_many_arguments)]
pub fn digest(
    period: super::period::Period,
    from: i64,
    to: i64,
    as_of: i64,
    town: Option<&str>,
    facts: &[Fact],
    backlog: &Backlog<'_>,
    dir: &Directory,
    w: Weights,
) -> Digest {
    let here = |v: Option<&str>| town.is_none() || town_of(dir, v) == town;
    let mine: Vec<Fact> = facts
        .iter()
        .filter(|f| here(f.village.as_deref()))
        .cloned()
        .collect();
    let refs: Vec<&Fact> = mine.iter().collect();
    let pick = |list: &[(String, Option<String>)]| {
        list.iter()
            .filter(|(_, v)| here(v.as_deref()))
            .map(|(n, _)| n.clone())
            .collect::<Vec<_>>()
    };
    let mut worst: Vec<Row> = by_group(&mine, By::Cadre, dir, as_of, w)
        .into_iter()
        .filter(|r| !r.key.is_empty() && r.rates.score.is_some())
        .collect();
    worst.sort_by(|a, b| rank_order(b, a));
    worst.truncate(3);
    Digest {
        period: period.key(),
        label: period.label(),
        town: town.map(str::to_string),
        from,
        to,
        total: compute(&refs, as_of, w),
        overdue_open: pick(backlog.overdue_open),
        low_ratings: pick(backlog.low_ratings),
        worst,
    }
}

impl Digest {
    /// The SMS: counts first (they must survive a cut), names last.
    pub fn sms(&self) -> String {
        let t = &self.total;
        let worst = if self.worst.is_empty() {
            "无".to_string()
        } else {
            self.worst
                .iter()
                .map(|r| format!("{}{}分", r.name, num(r.rates.score)))
                .collect::<Vec<_>>()
                .join("、")
        };
        format!(
            "【纪委周报】{}{}：新诉求{}件(红{}黄{}绿{})，按时响应率{}，超时未办结{}件，差评{}件。得分最低：{}。详见监督页。",
            self.town.as_deref().unwrap_or(""),
            self.label,
            t.appeals,
            t.red,
            t.yellow,
            t.green,
            pct(t.response_rate),
            self.overdue_open.len(),
            self.low_ratings.len(),
            worst
        )
    }

    pub fn csv(&self) -> String {
        let mut out = csv_start(&self.total);
        for r in &self.worst {
            csv_row(&mut out, "worst", r, None);
        }
        let _ = writeln!(out, "\noverdue_open,{}", self.overdue_open.join(" "));
        let _ = writeln!(out, "low_ratings,{}", self.low_ratings.join(" "));
        out
    }
}
