//! The status page: modems, queues, today's appeals by colour and step, the overdue list, the
//! latest appeals and the live event feed.

use std::fmt::Write;
use std::sync::Arc;

pub use super::names::{colour_name, step_name, STEPS};
use super::names::{kind_name, live_names_json, modem_state_name};
use super::{esc, html, layout, Lang};
use crate::appeals::{list_appeals, AppealFilter};
use crate::grade::Colour;
use crate::web::auth::Principal;
use crate::web::dashboard::{self, duration_text, local_short};
use crate::web::Web;

/// Five bars, `n` of them lit.
pub fn bars(n: u8) -> String {
    let mut s = String::from(r#"<span class="bars">"#);
    for i in 1..=5u8 {
        let _ = write!(
            s,
            r#"<i class="{}" style="height:{}%"></i>"#,
            if i <= n { "on" } else { "" },
            i * 20
        );
    }
    s.push_str("</span>");
    s
}

/// What the status page shows from the database, shared by every viewer for up to a second:
/// the page costs a dozen index walks, and under 50 concurrent clients recomputing it per
/// request would be most of the work.
#[derive(Default)]
pub struct Snapshot {
    pub per_modem: std::collections::BTreeMap<String, (i64, i64)>,
    pub calls_today: std::collections::BTreeMap<String, crate::calls::query::CallCounts>,
    pub queues: dashboard::Queues,
    pub today: std::collections::BTreeMap<String, std::collections::BTreeMap<String, i64>>,
    pub overdue_total: i64,
    pub overdue: Vec<dashboard::Overdue>,
    pub events: Vec<dashboard::EventRow>,
    pub latest: Vec<crate::appeals::Appeal>,
}

async fn snapshot(w: &Web, now: chrono::DateTime<chrono::Utc>) -> crate::store::Result<Snapshot> {
    let s = &w.shared;
    let now_ms = now.timestamp_millis();
    let midnight = dashboard::local_midnight_ms(now, s.config.time_zone);
    let store = &s.store;
    let (overdue_total, overdue) = dashboard::overdue(store, now_ms, 20).await?;
    Ok(Snapshot {
        per_modem: dashboard::per_modem_since(store, midnight).await?,
        calls_today: crate::calls::query::counts_since(store, midnight).await?,
        queues: dashboard::queues(store, now_ms).await?,
        today: dashboard::today_by_colour_step(store, midnight).await?,
        overdue_total,
        overdue,
        events: dashboard::latest_events(store, None, 20).await?,
        latest: list_appeals(
            store,
            &AppealFilter {
                limit: 20,
                ..Default::default()
            },
        )
        .await?,
    })
}

/// The snapshot, recomputed when it is older than a second of real time or was taken at
/// another logical second (a test's manual clock moved). One request recomputes; the others
/// wait for it rather than all querying at once.
async fn cached_snapshot(
    w: &Web,
    now: chrono::DateTime<chrono::Utc>,
) -> crate::store::Result<Arc<Snapshot>> {
    let mut slot = w.page_cache.lock().await;
    if let Some((taken, logical, snap)) = slot.as_ref() {
        if taken.elapsed() < std::time::Duration::from_secs(1) && *logical == now.timestamp() {
            return Ok(snap.clone());
        }
    }
    let snap = Arc::new(snapshot(w, now).await?);
    *slot = Some((std::time::Instant::now(), now.timestamp(), snap.clone()));
    Ok(snap)
}

pub async fn page(
    p: Principal,
    lang: Lang,
    w: Web,
) -> Result<warp::reply::Response, warp::Rejection> {
    let s = &w.shared;
    let now = s.clock.now();
    // With the database away the page still shows the modems and says what is wrong.
    let snap = match cached_snapshot(&w, now).await {
        Ok(snap) => snap,
        Err(e) => {
            tracing::warn!(error = %e, "status page without database figures");
            Arc::new(Snapshot::default())
        }
    };
    let v = View {
        p: &p,
        lang,
        tz: s.config.time_zone,
        now_ms: now.timestamp_millis(),
    };
    let mut b = String::new();
    database(&v, &w, &mut b);
    modems(&v, &w, &snap, &mut b);
    queues(&v, &snap.queues, &mut b);
    today(&v, &snap.today, &mut b);
    overdue(&v, snap.overdue_total, &snap.overdue, &mut b);
    latest(&v, &snap.latest, &mut b);
    events(&v, &snap.events, &mut b);
    Ok(html(
        warp::http::StatusCode::OK,
        layout(
            lang,
            lang.t("码上办短信网关", "Appeal SMS gateway"),
            Some(&p),
            "/",
            &b,
        ),
    ))
}

/// What every section needs to render for this request.
struct View<'a> {
    p: &'a Principal,
    lang: Lang,
    tz: chrono_tz::Tz,
    now_ms: i64,
}

impl View<'_> {
    fn t(&self, zh: &'static str, en: &'static str) -> &'static str {
        self.lang.t(zh, en)
    }

    fn en(&self) -> bool {
        self.lang == Lang::En
    }
}

/// Opens a section with its heading (HTML, already escaped) and a table; `attrs` are the
/// table's attributes (its id first) and `heads` its column headings separated by `|`, a
/// leading `#` marking a right-aligned figure column. The caller writes the rows and
/// [`CLOSE_TABLE`].
fn open_table(b: &mut String, heading: &str, attrs: &str, heads: &str) {
    let _ = write!(b, "<section><h2>{heading}</h2><table {attrs}><thead><tr>");
    for h in heads.split('|') {
        let _ = match h.strip_prefix('#') {
            Some(num) => write!(b, r#"<th class="num">{num}</th>"#),
            None => write!(b, "<th>{h}</th>"),
        };
    }
    b.push_str("</tr></thead><tbody>");
}

const CLOSE_TABLE: &str = "</tbody></table></section>";

/// A table's one row when it has nothing to show.
fn empty_row(b: &mut String, columns: usize, text: &str) {
    let _ = write!(
        b,
        r#"<tr><td colspan="{columns}" class="muted">{text}</td></tr>"#
    );
}

/// Database and scheduler: a county's daemons share one database and one scheduler leader.
fn database(v: &View, w: &Web, b: &mut String) {
    let s = &w.shared;
    let db = s.db_health();
    let database = if db.up {
        v.t("正常", "up").to_string()
    } else {
        format!(
            "{}{}{}：{}",
            v.t("不可用（自 ", "unavailable (since "),
            db.since
                .map(|t| local_short(t.timestamp_millis(), v.tz))
                .unwrap_or_default(),
            v.t(
                " 起，重试中；短信留在SIM卡上）",
                "; retrying; messages wait on the SIM)"
            ),
            esc(db.last_error.as_deref().unwrap_or(""))
        )
    };
    let leads = if s.leader.is_leader() {
        v.t("本网关负责", "this gateway")
    } else {
        v.t("由其他网关负责", "another gateway")
    };
    let _ = write!(
        b,
        r#"<section><p id="database" class="{}">{}{database}</p><p id="leader">{}{leads}</p></section>"#,
        if db.up { "up" } else { "down" },
        v.t("数据库：", "Database: "),
        v.t("定时任务：", "Scheduled work: "),
    );
}

fn modems(v: &View, w: &Web, snap: &Snapshot, b: &mut String) {
    let t = |zh, en| v.t(zh, en);
    open_table(
        b,
        t("调制解调器", "Modems"),
        r#"id="modems""#,
        t("名称|状态|信号|运营商|注册|SIM存储|最后联系|当前错误|#今日收/发|#今日来电", "Name|State|Signal|Operator|Registration|SIM storage|Last contact|Current error|#Today in/out|#Calls today"),
    );
    if w.shared.modems.is_empty() {
        empty_row(b, 10, t("未配置调制解调器", "No modems configured"));
    }
    for m in &w.shared.modems {
        let st = m.status();
        let (tin, tout) = snap.per_modem.get(&st.name).copied().unwrap_or((0, 0));
        let calls = snap
            .calls_today
            .get(&st.name)
            .map(|c| {
                format!(
                    "{} <span class=\"muted\">({}{} {}{} {}{})</span>",
                    c.total,
                    t("回电登记", "callback "),
                    c.callback,
                    t("重复", "repeat "),
                    c.repeat,
                    t("未显示号码", "withheld "),
                    c.withheld
                )
            })
            .unwrap_or_else(|| "0".into());
        let last = st
            .last_contact
            .map(|at| {
                let ago = duration_text(v.now_ms - at.timestamp_millis(), v.en());
                format!(
                    "{} ({}{})",
                    local_short(at.timestamp_millis(), v.tz),
                    ago,
                    t("前", " ago")
                )
            })
            .unwrap_or_else(|| "-".into());
        let sim = st
            .sim_used
            .map(|u| {
                let total = st.sim_total.map(|t| t.to_string());
                format!("{u}/{}", total.as_deref().unwrap_or("?"))
            })
            .unwrap_or_else(|| "-".into());
        let _ = write!(
            b,
            r#"<tr><td>{}</td><td>{}</td><td>{} <span class="muted">{}</span></td><td>{}</td><td>{}</td><td>{sim}</td><td>{}</td><td class="err">{}</td><td class="num">{tin} / {tout}</td><td class="num calls">{calls}</td></tr>"#,
            esc(&st.name),
            esc(&modem_state_name(v.lang, &st.state)),
            bars(st.bars),
            st.rssi.map(|r| r.to_string()).unwrap_or_default(),
            esc(st.operator.as_deref().unwrap_or("-")),
            esc(st.registration.as_deref().unwrap_or("-")),
            esc(&last),
            esc(st.error.as_deref().unwrap_or("")),
        );
    }
    b.push_str(CLOSE_TABLE);
}

fn queues(v: &View, q: &dashboard::Queues, b: &mut String) {
    let rate = q
        .delivery_rate()
        .map(|r| format!("{:.0}%", r * 100.0))
        .unwrap_or_else(|| "-".into());
    let cards = [
        (
            v.t("待处理收件", "Inbox waiting"),
            q.inbox_waiting.to_string(),
        ),
        (
            v.t("待发送", "Outbox queued"),
            (q.outbox_queued + q.outbox_sending).to_string(),
        ),
        (
            v.t("发送失败", "Outbox failed"),
            q.outbox_failed.to_string(),
        ),
        (v.t("送达率(24小时)", "Delivered (24 h)"), rate),
        (
            v.t("待推送", "Webhooks waiting"),
            q.webhooks_queued.to_string(),
        ),
    ];
    let _ = write!(
        b,
        r#"<section><h2>{}</h2><div class="cards" id="queues">"#,
        v.t("队列", "Queues")
    );
    for (label, figure) in cards {
        let _ = write!(b, r#"<div class="card">{label}<b>{figure}</b></div>"#);
    }
    b.push_str("</div></section>");
}

/// Today's appeals by colour (rows) and step (columns).
fn today(
    v: &View,
    today: &std::collections::BTreeMap<String, std::collections::BTreeMap<String, i64>>,
    b: &mut String,
) {
    // The steps' own names: fixed text that needs no escaping.
    let mut heads = String::new();
    for st in STEPS {
        heads.push_str("|#");
        heads.push_str(match v.lang {
            Lang::Zh => st.chinese(),
            Lang::En => st.as_str(),
        });
    }
    heads.push_str("|#");
    heads.push_str(v.t("合计", "Total"));
    open_table(
        b,
        v.t("今日诉求", "Today's appeals"),
        r#"id="today""#,
        &heads,
    );
    for c in [Colour::Red, Colour::Yellow, Colour::Green] {
        let row = today.get(c.as_str());
        let _ = write!(
            b,
            r#"<tr class="{0}"><td><span class="dot"></span>{1}</td>"#,
            c.as_str(),
            esc(&colour_name(v.lang, c.as_str()))
        );
        let mut total = 0;
        for st in STEPS {
            let n = row.and_then(|r| r.get(st.as_str())).copied().unwrap_or(0);
            total += n;
            let _ = write!(b, "<td class=\"num\">{n}</td>");
        }
        let _ = write!(b, "<td class=\"num\"><b>{total}</b></td></tr>");
    }
    b.push_str(CLOSE_TABLE);
}

fn overdue(v: &View, total: i64, overdue: &[dashboard::Overdue], b: &mut String) {
    let t = |zh, en| v.t(zh, en);
    open_table(
        b,
        &format!(
            r#"{} <span class="late">{total}</span>"#,
            t("超时", "Overdue")
        ),
        r#"id="overdue""#,
        t(
            "编号|类别|环节|超过|期限|超时",
            "Number|Category|Step|Missed|Deadline|Late by",
        ),
    );
    if overdue.is_empty() {
        empty_row(b, 6, t("没有超时的诉求", "Nothing overdue"));
    }
    for o in overdue {
        let _ = write!(
            b,
            r#"<tr class="{}"><td><span class="dot"></span><a href="/appeals/{num}">{num}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class="late">{}</td></tr>"#,
            esc(&o.colour),
            esc(&o.category),
            esc(&step_name(v.lang, &o.step)),
            if o.missed == "respond" {
                t("响应期限", "response")
            } else {
                t("办结期限", "resolution")
            },
            local_short(o.deadline_ms, v.tz),
            duration_text(o.late_ms, v.en()),
            num = esc(&o.number),
        );
    }
    b.push_str(CLOSE_TABLE);
}

fn latest(v: &View, latest: &[crate::appeals::Appeal], b: &mut String) {
    let t = |zh, en| v.t(zh, en);
    open_table(
        b,
        t("最新诉求", "Latest appeals"),
        r#"id="appeals""#,
        t(
            "编号|电话|类别|环节|受理时间|内容",
            "Number|Phone|Category|Step|Filed|Text",
        ),
    );
    for a in latest {
        let _ = write!(
            b,
            r#"<tr class="{}"><td><span class="dot"></span><a href="/appeals/{num}">{num}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class="text">{}</td></tr>"#,
            a.colour.as_str(),
            esc(&v.p.phone(&a.phone)),
            esc(&a.category),
            esc(&step_name(v.lang, a.step.as_str())),
            local_short(a.filed_at, v.tz),
            esc(&v.p.text(&a.text.chars().take(60).collect::<String>())),
            num = esc(&a.number),
        );
    }
    b.push_str(CLOSE_TABLE);
}

/// The live feed: the page's script polls /api/v1/events after the newest row's id.
fn events(v: &View, events: &[dashboard::EventRow], b: &mut String) {
    let t = |zh, en| v.t(zh, en);
    open_table(
        b,
        &format!(
            r#"{} <span id="live" class="muted"></span>"#,
            t("最新动态", "Latest events")
        ),
        &format!(
            r#"id="events" data-names="{}""#,
            esc(&live_names_json(v.lang))
        ),
        t(
            "时间|编号|事件|环节|操作人|内容",
            "Time|Number|Event|Step|Actor|Text",
        ),
    );
    for e in events {
        let num = e.number.as_deref().unwrap_or("");
        let _ = write!(
            b,
            r#"<tr data-id="{}"><td>{}</td><td><a href="/appeals/{num}">{num}</a></td><td>{}</td><td>{}</td><td>{}</td><td class="text">{}</td></tr>"#,
            e.id,
            local_short(e.at_ms, v.tz),
            esc(&kind_name(v.lang, &e.kind)),
            esc(&step_name(v.lang, &e.step)),
            esc(&v.p.actor(&e.actor)),
            esc(&v.p.text(&e.text)),
            num = esc(num),
        );
    }
    b.push_str(CLOSE_TABLE);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_light_up_to_n() {
        let b = bars(3);
        assert_eq!(b.matches(r#"class="on""#).count(), 3);
        assert_eq!(b.matches("<i ").count(), 5);
        assert_eq!(bars(9).matches(r#"class="on""#).count(), 5);
    }
}
