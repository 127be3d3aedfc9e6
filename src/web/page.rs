//! The status page: modems, queues, today's appeals. Server-rendered HTML that refreshes itself,
//! readable on a phone; no assets outside the binary.

use warp::Filter;

use crate::appeals::{list_appeals, mask_phone, AppealFilter};
use crate::daemon::Shared;

pub fn routes(
    shared: Shared,
) -> impl Filter<Extract = (impl warp::Reply,), Error = warp::Rejection> + Clone {
    warp::path::end()
        .and(warp::get())
        .and(warp::any().map(move || shared.clone()))
        .and_then(|s: Shared| async move {
            let html = render(&s).await;
            Ok::<_, warp::Rejection>(warp::reply::html(html))
        })
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

async fn render(s: &Shared) -> String {
    let mut modems = String::new();
    for m in &s.modems {
        let st = m.status();
        modems.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}/{}</td><td>{}</td></tr>",
            esc(&st.name),
            esc(&st.state),
            "▮".repeat(st.bars as usize),
            esc(st.operator.as_deref().unwrap_or("-")),
            esc(st.registration.as_deref().unwrap_or("-")),
            st.sim_used.map(|u| format!("{u}/{}", st.sim_total.unwrap_or(0))).unwrap_or_else(|| "-".into()),
            st.received,
            st.sent,
            esc(st.error.as_deref().unwrap_or("")),
        ));
    }
    let appeals = list_appeals(
        &s.store,
        &AppealFilter {
            limit: 20,
            ..Default::default()
        },
    )
    .await;
    let mut rows = String::new();
    match appeals {
        Ok(list) => {
            for a in list {
                rows.push_str(&format!(
                    "<tr class=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    esc(&a.colour),
                    esc(&a.number),
                    esc(&mask_phone(&a.phone)),
                    esc(&a.category),
                    esc(&a.status),
                    esc(&a.text.chars().take(40).collect::<String>()),
                ));
            }
        }
        Err(e) => rows.push_str(&format!(
            "<tr><td colspan=5>数据库不可用: {}</td></tr>",
            esc(&e.to_string())
        )),
    }
    let db = s.db_health();
    let database = if db.up {
        "正常".to_string()
    } else {
        format!(
            "不可用（自 {} 起，重试中；短信留在SIM卡上）：{}",
            db.since
                .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
                .unwrap_or_default(),
            esc(db.last_error.as_deref().unwrap_or(""))
        )
    };
    let db_class = if db.up { "up" } else { "down" };
    let leads = if s.leader.is_leader() {
        "本网关负责"
    } else {
        "由其他网关负责"
    };
    format!(
        r#"<!doctype html><html lang="zh"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta http-equiv="refresh" content="10"><title>码上办短信网关</title>
<style>body{{font-family:sans-serif;margin:1em}}table{{border-collapse:collapse;width:100%}}td,th{{border:1px solid #ccc;padding:4px}}
tr.red td:first-child{{border-left:6px solid #d33}}tr.yellow td:first-child{{border-left:6px solid #db3}}tr.green td:first-child{{border-left:6px solid #3a3}}</style></head>
<body><h1>码上办短信网关</h1>
<p id="database" class="{db_class}">数据库：{database}</p><p id="leader">定时任务：{leads}</p>
<h2>调制解调器</h2><table id="modems"><tr><th>名称</th><th>状态</th><th>信号</th><th>运营商</th><th>注册</th><th>SIM存储</th><th>收/发</th><th>错误</th></tr>{modems}</table>
<h2>最新诉求</h2><table id="appeals"><tr><th>编号</th><th>电话</th><th>类别</th><th>状态</th><th>内容</th></tr>{rows}</table>
</body></html>"#
    )
}
