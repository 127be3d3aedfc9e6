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
    let tz = s.config.time_zone;
    let now = s.clock.now();
    let now_ms = now.timestamp_millis();
    // With the database away the page still shows the modems and says what is wrong.
    let snap = match cached_snapshot(&w, now).await {
        Ok(snap) => snap,
        Err(e) => {
            tracing::warn!(error = %e, "status page without database figures");
            Arc::new(Snapshot::default())
        }
    };
    let Snapshot {
        per_modem,
        queues,
        today,
        overdue_total,
        overdue,
        events,
        latest,
    } = &*snap;
    let overdue_total = *overdue_total;
    let t = |zh, en| lang.t(zh, en);
    let en = lang == Lang::En;

    let mut b = String::new();
    // Database and scheduler: a county's daemons share one database and one scheduler leader.
    let db = s.db_health();
    let database = if db.up {
        t("正常", "up").to_string()
    } else {
        format!(
            "{}{}{}：{}",
            t("不可用（自 ", "unavailable (since "),
            db.since
                .map(|t| local_short(t.timestamp_millis(), tz))
                .unwrap_or_default(),
            t(
                " 起，重试中；短信留在SIM卡上）",
                "; retrying; messages wait on the SIM)"
            ),
            esc(db.last_error.as_deref().unwrap_or(""))
        )
    };
    let leads = if s.leader.is_leader() {
        t("本网关负责", "this gateway")
    } else {
        t("由其他网关负责", "another gateway")
    };
    let _ = write!(
        b,
        r#"<section><p id="database" class="{}">{}{database}</p><p id="leader">{}{leads}</p></section>"#,
        if db.up { "up" } else { "down" },
        t("数据库：", "Database: "),
        t("定时任务：", "Scheduled work: "),
    );
    // Modems.
    let _ = write!(
        b,
        r#"<section><h2>{}</h2><table id="modems"><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th class="num">{}</th></tr></thead><tbody>"#,
        t("调制解调器", "Modems"),
        t("名称", "Name"),
        t("状态", "State"),
        t("信号", "Signal"),
        t("运营商", "Operator"),
        t("注册", "Registration"),
        t("SIM存储", "SIM storage"),
        t("最后联系", "Last contact"),
        t("当前错误", "Current error"),
        t("今日收/发", "Today in/out"),
    );
    if s.modems.is_empty() {
        let _ = write!(
            b,
            r#"<tr><td colspan="9" class="muted">{}</td></tr>"#,
            t("未配置调制解调器", "No modems configured")
        );
    }
    for m in &s.modems {
        let st = m.status();
        let (tin, tout) = per_modem.get(&st.name).copied().unwrap_or((0, 0));
        let last = st
            .last_contact
            .map(|t| {
                let ago = duration_text(now_ms - t.timestamp_millis(), en);
                format!(
                    "{} ({}{})",
                    local_short(t.timestamp_millis(), tz),
                    ago,
                    lang.t("前", " ago")
                )
            })
            .unwrap_or_else(|| "-".into());
        let _ = write!(
            b,
            r#"<tr><td>{}</td><td>{}</td><td>{} <span class="muted">{}</span></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class="err">{}</td><td class="num">{tin} / {tout}</td></tr>"#,
            esc(&st.name),
            esc(&modem_state_name(lang, &st.state)),
            bars(st.bars),
            st.rssi.map(|r| r.to_string()).unwrap_or_default(),
            esc(st.operator.as_deref().unwrap_or("-")),
            esc(st.registration.as_deref().unwrap_or("-")),
            st.sim_used
                .map(|u| format!(
                    "{u}/{}",
                    st.sim_total
                        .map(|t| t.to_string())
                        .unwrap_or_else(|| "?".into())
                ))
                .unwrap_or_else(|| "-".into()),
            esc(&last),
            esc(st.error.as_deref().unwrap_or("")),
        );
    }
    b.push_str("</tbody></table></section>");

    // Queues.
    let rate = queues
        .delivery_rate()
        .map(|r| format!("{:.0}%", r * 100.0))
        .unwrap_or_else(|| "-".into());
    let _ = write!(
        b,
        r#"<section><h2>{}</h2><div class="cards" id="queues"><div class="card">{}<b>{}</b></div><div class="card">{}<b>{}</b></div><div class="card">{}<b>{}</b></div><div class="card">{}<b>{}</b></div><div class="card">{}<b>{}</b></div></div></section>"#,
        t("队列", "Queues"),
        t("待处理收件", "Inbox waiting"),
        queues.inbox_waiting,
        t("待发送", "Outbox queued"),
        queues.outbox_queued + queues.outbox_sending,
        t("发送失败", "Outbox failed"),
        queues.outbox_failed,
        t("送达率(24小时)", "Delivered (24 h)"),
        rate,
        t("待推送", "Webhooks waiting"),
        queues.webhooks_queued,
    );

    // Today by colour and step.
    let _ = write!(
        b,
        r#"<section><h2>{}</h2><table id="today"><thead><tr><th></th>"#,
        t("今日诉求", "Today's appeals")
    );
    for st in STEPS {
        let _ = write!(
            b,
            "<th class=\"num\">{}</th>",
            esc(&step_name(lang, st.as_str()))
        );
    }
    let _ = write!(
        b,
        r#"<th class="num">{}</th></tr></thead><tbody>"#,
        t("合计", "Total")
    );
    for c in [Colour::Red, Colour::Yellow, Colour::Green] {
        let row = today.get(c.as_str());
        let _ = write!(
            b,
            r#"<tr class="{0}"><td><span class="dot"></span>{1}</td>"#,
            c.as_str(),
            esc(&colour_name(lang, c.as_str()))
        );
        let mut total = 0;
        for st in STEPS {
            let n = row.and_then(|r| r.get(st.as_str())).copied().unwrap_or(0);
            total += n;
            let _ = write!(b, "<td class=\"num\">{n}</td>");
        }
        let _ = write!(b, "<td class=\"num\"><b>{total}</b></td></tr>");
    }
    b.push_str("</tbody></table></section>");

    // Overdue.
    let _ = write!(
        b,
        r#"<section><h2>{} <span class="late">{overdue_total}</span></h2><table id="overdue"><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>"#,
        t("超时", "Overdue"),
        t("编号", "Number"),
        t("类别", "Category"),
        t("环节", "Step"),
        t("超过", "Missed"),
        t("期限", "Deadline"),
        t("超时", "Late by"),
    );
    if overdue.is_empty() {
        let _ = write!(
            b,
            r#"<tr><td colspan="6" class="muted">{}</td></tr>"#,
            t("没有超时的诉求", "Nothing overdue")
        );
    }
    for o in overdue {
        let _ = write!(
            b,
            r#"<tr class="{}"><td><span class="dot"></span><a href="/appeals/{num}">{num}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class="late">{}</td></tr>"#,
            esc(&o.colour),
            esc(&o.category),
            esc(&step_name(lang, &o.step)),
            if o.missed == "respond" {
                t("响应期限", "response")
            } else {
                t("办结期限", "resolution")
            },
            local_short(o.deadline_ms, tz),
            duration_text(o.late_ms, en),
            num = esc(&o.number),
        );
    }
    b.push_str("</tbody></table></section>");

    // Latest appeals.
    let _ = write!(
        b,
        r#"<section><h2>{}</h2><table id="appeals"><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>"#,
        t("最新诉求", "Latest appeals"),
        t("编号", "Number"),
        t("电话", "Phone"),
        t("类别", "Category"),
        t("环节", "Step"),
        t("受理时间", "Filed"),
        t("内容", "Text"),
    );
    for a in latest {
        let filed = local_short(a.filed_at, tz);
        let _ = write!(
            b,
            r#"<tr class="{}"><td><span class="dot"></span><a href="/appeals/{num}">{num}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class="text">{}</td></tr>"#,
            a.colour.as_str(),
            esc(&p.phone(&a.phone)),
            esc(&a.category),
            esc(&step_name(lang, a.step.as_str())),
            filed,
            esc(&p.text(&a.text.chars().take(60).collect::<String>())),
            num = esc(&a.number),
        );
    }
    b.push_str("</tbody></table></section>");

    // Live events.
    let _ = write!(
        b,
        r#"<section><h2>{} <span id="live" class="muted"></span></h2><table id="events" data-names="{names}"><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>"#,
        t("最新动态", "Latest events"),
        t("时间", "Time"),
        t("编号", "Number"),
        t("事件", "Event"),
        t("环节", "Step"),
        t("操作人", "Actor"),
        t("内容", "Text"),
        names = esc(&live_names_json(lang)),
    );
    for e in events {
        let num = e.number.as_deref().unwrap_or("");
        let _ = write!(
            b,
            r#"<tr data-id="{}"><td>{}</td><td><a href="/appeals/{num}">{num}</a></td><td>{}</td><td>{}</td><td>{}</td><td class="text">{}</td></tr>"#,
            e.id,
            local_short(e.at_ms, tz),
            esc(&kind_name(lang, &e.kind)),
            esc(&step_name(lang, &e.step)),
            esc(&p.actor(&e.actor)),
            esc(&p.text(&e.text)),
            num = esc(num),
        );
    }
    b.push_str("</tbody></table></section>");
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
