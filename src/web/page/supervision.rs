//! The supervision page (纪委监督) for the discipline commission: the rates table of a period,
//! sortable by any column, each count a link to the appeals behind it; the charts (weekly
//! volume by colour, weekly response time, monthly satisfaction) as server-rendered SVG; the
//! open warnings with a "mark handled" form; the report downloads. Works without JavaScript
//! (sorting and the period are links and GET forms) so it reads on a phone.

use std::collections::HashMap;
use std::fmt::Write;

use warp::http::StatusCode;

use super::names::{colour_name, status_name};
use super::{esc, html, layout, urlencode, Lang};
use crate::supervision::drill::Figure;
use crate::supervision::period::Period;
use crate::supervision::rates::{By, Rates, Row};
use crate::supervision::svg::{self, Point, Series, Stack};
use crate::supervision::trend;
use crate::web::auth::Principal;
use crate::web::dashboard::local_short;
use crate::web::supervision::{
    self as sup, by_str, parse_by, parse_figure, period_or_now, Trend, TREND_WEEKS,
};
use crate::web::{internal, Web};

/// The most appeals a drill-down page lists (the API pages further).
const DRILL_ROWS: usize = 500;

type Query = HashMap<String, String>;

/// A request error as a page (see [`super::or_error_page`]).
fn or_error(
    lang: Lang,
    p: &Principal,
    r: Result<warp::reply::Response, warp::Rejection>,
) -> Result<warp::reply::Response, warp::Rejection> {
    super::or_error_page(
        lang,
        p,
        lang.t("纪委监督", "Supervision"),
        "/supervision",
        r,
    )
}

fn pct(v: Option<f64>) -> String {
    crate::supervision::report::pct(v)
}

fn mins(v: Option<f64>, lang: Lang) -> String {
    v.map(|m| format!("{m:.0}{}", lang.t("分", "m")))
        .unwrap_or_else(|| "—".into())
}

/// A column of the rates table: its sort key, heading and the value it sorts by.
struct Col {
    key: &'static str,
    zh: &'static str,
    en: &'static str,
    value: fn(&Rates) -> Option<f64>,
}

const COLS: &[Col] = &[
    Col {
        key: "appeals",
        zh: "诉求",
        en: "Appeals",
        value: |r| Some(r.appeals as f64),
    },
    Col {
        key: "response_rate",
        zh: "按时响应率",
        en: "Answered on time",
        value: |r| r.response_rate,
    },
    Col {
        key: "resolution_rate",
        zh: "按时办结率",
        en: "Resolved on time",
        value: |r| r.resolution_rate,
    },
    Col {
        key: "overdue",
        zh: "超时",
        en: "Overdue",
        value: |r| Some(r.overdue as f64),
    },
    Col {
        key: "satisfaction_rate",
        zh: "满意率",
        en: "Satisfied",
        value: |r| r.satisfaction_rate,
    },
    Col {
        key: "unsatisfied_rate",
        zh: "不满意",
        en: "Unsatisfied",
        value: |r| r.unsatisfied_rate,
    },
    Col {
        key: "rating_coverage",
        zh: "评价率",
        en: "Rated",
        value: |r| r.rating_coverage,
    },
    Col {
        key: "mean_response_mins",
        zh: "平均响应",
        en: "Mean answer",
        value: |r| r.mean_response_mins,
    },
    Col {
        key: "p90_response_mins",
        zh: "P90响应",
        en: "P90 answer",
        value: |r| r.p90_response_mins,
    },
    Col {
        key: "redo_rate",
        zh: "重办率",
        en: "Redone",
        value: |r| r.redo_rate,
    },
    Col {
        key: "transfer_rate",
        zh: "转办率",
        en: "Transferred",
        value: |r| r.transfer_rate,
    },
    Col {
        key: "repeat_rate",
        zh: "重复诉求率",
        en: "Repeats",
        value: |r| r.repeat_rate,
    },
    Col {
        key: "score",
        zh: "得分",
        en: "Score",
        value: |r| r.score,
    },
];

/// Sorts rows by `key` (a column, or "name"); rows without a value go last either way.
fn sort_rows(rows: &mut [Row], key: &str, desc: bool) {
    if key == "name" {
        rows.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.key.cmp(&b.key)));
        if desc {
            rows.reverse();
        }
        return;
    }
    let value = COLS
        .iter()
        .find(|c| c.key == key)
        .map_or(COLS[12].value, |c| c.value);
    rows.sort_by(|a, b| {
        let (x, y) = (value(&a.rates), value(&b.rates));
        match (x, y) {
            (Some(x), Some(y)) => {
                let o = x.total_cmp(&y);
                if desc {
                    o.reverse()
                } else {
                    o
                }
            }
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        }
        .then_with(|| a.key.cmp(&b.key))
    });
}

/// Where a figure's link goes.
fn drill_href(period: &str, by: By, key: Option<&str>, figure: Figure) -> String {
    let mut h = format!(
        "/supervision/drill?period={}&by={}&figure={}",
        urlencode(period),
        by_str(by),
        figure.as_str()
    );
    if let Some(k) = key {
        let _ = write!(h, "&key={}", urlencode(k));
    }
    h
}

/// A count as a link to the appeals behind it (plain text when there are none).
fn count_link(n: u64, period: &str, by: By, key: Option<&str>, figure: Figure) -> String {
    if n == 0 {
        return "0".into();
    }
    format!(
        r#"<a class="drill" data-figure="{}" href="{}">{n}</a>"#,
        figure.as_str(),
        esc(&drill_href(period, by, key, figure))
    )
}

/// The cells of one row (or the total, with `key` None).
fn cells(r: &Rates, period: &str, by: By, key: Option<&str>, lang: Lang) -> String {
    let link = |n, f| count_link(n, period, by, key, f);
    let of = |rate: Option<f64>, n, nf, d, df| {
        format!(
            r#"<td class="num">{} <small>{}/{}</small></td>"#,
            pct(rate),
            link(n, nf),
            link(d, df)
        )
    };
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<td class="num">{}</td>"#,
        link(r.appeals, Figure::Appeals)
    );
    s.push_str(&of(
        r.response_rate,
        r.responded_on_time,
        Figure::RespondedOnTime,
        r.respond_due,
        Figure::RespondDue,
    ));
    s.push_str(&of(
        r.resolution_rate,
        r.resolved_on_time,
        Figure::ResolvedOnTime,
        r.resolve_due,
        Figure::ResolveDue,
    ));
    let _ = write!(
        s,
        r#"<td class="num">{}</td>"#,
        link(r.overdue, Figure::Overdue)
    );
    s.push_str(&of(
        r.satisfaction_rate,
        r.satisfied,
        Figure::Satisfied,
        r.rated,
        Figure::Rated,
    ));
    let _ = write!(
        s,
        r#"<td class="num">{} <small>{}</small></td>"#,
        pct(r.unsatisfied_rate),
        link(r.unsatisfied, Figure::Unsatisfied)
    );
    s.push_str(&of(
        r.rating_coverage,
        r.rated,
        Figure::Rated,
        r.resolved,
        Figure::Resolved,
    ));
    let _ = write!(
        s,
        r#"<td class="num">{}</td><td class="num">{}</td>"#,
        mins(r.mean_response_mins, lang),
        mins(r.p90_response_mins, lang)
    );
    for (rate, n, f) in [
        (r.redo_rate, r.redone, Figure::Redone),
        (r.transfer_rate, r.transferred, Figure::Transferred),
        (r.repeat_rate, r.repeats, Figure::Repeats),
    ] {
        let _ = write!(
            s,
            r#"<td class="num">{} <small>{}</small></td>"#,
            pct(rate),
            link(n, f)
        );
    }
    let _ = write!(
        s,
        r#"<td class="num score">{}</td>"#,
        r.score
            .map(|v| format!("{v:.1}"))
            .unwrap_or_else(|| "—".into())
    );
    s
}

fn period_choices(w: &Web, chosen: Period) -> String {
    let (week, month) = trend::containing(w.shared.clock.now(), w.shared.config.time_zone);
    let mut list = trend::ending(month, 6);
    list.reverse();
    let mut weeks = trend::ending(week, TREND_WEEKS);
    weeks.reverse();
    list.extend(weeks);
    if !list.contains(&chosen) {
        list.insert(0, chosen);
    }
    list.iter()
        .map(|p| {
            format!(
                r#"<option value="{k}"{sel}>{k} ({label})</option>"#,
                k = p.key(),
                label = esc(&p.label()),
                sel = if *p == chosen { " selected" } else { "" }
            )
        })
        .collect()
}

/// The three charts, titled in `lang`.
pub fn charts(lang: Lang, t: &Trend) -> [(&'static str, String); 3] {
    let week_label = |p: &Period| p.first_day().format("%m/%d").to_string();
    let series = [
        ("红", "red", "#d33"),
        ("黄", "yellow", "#e6b422"),
        ("绿", "green", "#3a3"),
    ]
    .map(|(zh, en, colour)| Series {
        name: lang.t(zh, en).to_string(),
        colour: colour.to_string(),
    });
    let bars: Vec<Stack> = t
        .weeks
        .iter()
        .map(|(p, r)| Stack {
            label: week_label(p),
            segments: vec![r.red, r.yellow, r.green],
        })
        .collect();
    let response: Vec<Point> = t
        .weeks
        .iter()
        .map(|(p, r)| Point {
            label: week_label(p),
            value: r.mean_response_mins,
        })
        .collect();
    let satisfaction: Vec<Point> = t
        .months
        .iter()
        .map(|(p, r)| Point {
            label: p.key(),
            value: r.satisfaction_rate.map(|v| v * 100.0),
        })
        .collect();
    [
        (
            "volume",
            svg::stacked_bars(
                lang.t("每周诉求量（按颜色）", "Appeals per week by colour"),
                &series,
                &bars,
            ),
        ),
        (
            "response",
            svg::line(
                lang.t("每周平均响应时间", "Mean time to answer per week"),
                lang.t("分钟", "min"),
                &response,
                None,
            ),
        ),
        (
            "satisfaction",
            svg::line(
                lang.t("每月满意率", "Satisfaction per month"),
                "%",
                &satisfaction,
                Some(100.0),
            ),
        ),
    ]
}

pub async fn page(
    p: Principal,
    lang: Lang,
    q: Query,
    w: Web,
) -> Result<warp::reply::Response, warp::Rejection> {
    or_error(lang, &p, page_body(&p, lang, &q, &w).await)
}

async fn page_body(
    p: &Principal,
    lang: Lang,
    q: &Query,
    w: &Web,
) -> Result<warp::reply::Response, warp::Rejection> {
    let t = |zh, en| lang.t(zh, en);
    let get = |k: &str| q.get(k).map(String::as_str);
    let period = period_or_now(w, get("period"))?;
    let by = parse_by(get("by"))?;
    let sort = get("sort")
        .filter(|s| *s == "name" || COLS.iter().any(|c| c.key == *s))
        .unwrap_or("score");
    // Worst first by default: the commission looks for who is slack.
    let desc = get("dir") == Some("desc");
    let tz = w.shared.config.time_zone;
    let d = sup::period_data(w, period).await.map_err(internal)?;
    let total = sup::total(w, &d);
    let mut rows = sup::rows(w, p, &d, by);
    sort_rows(&mut rows, sort, desc);
    let pk = period.key();

    let mut b = String::new();
    let _ = write!(
        b,
        r#"<section id="period"><h2>{title} · {label}</h2>
<form method="get" action="/supervision" class="inline"><input type="hidden" name="by" value="{by}"><select name="period" id="period-select">{opts}</select> <button type="submit">{show}</button></form>
<p class="muted">{asof} {at}</p></section>"#,
        title = t("纪委监督", "Supervision"),
        label = esc(&period.label()),
        by = by_str(by),
        opts = period_choices(w, period),
        show = t("查看", "Show"),
        asof = t("数据截至", "Figures as of"),
        at = local_short(d.as_of, tz),
    );

    // The rates table.
    let tab = |b2: By, zh, en| {
        let here = if b2 == by { r#" class="here""# } else { "" };
        format!(
            r#"<a{here} href="/supervision?period={pk}&by={}">{}</a>"#,
            by_str(b2),
            lang.t(zh, en)
        )
    };
    let _ = write!(
        b,
        r#"<section><h2>{}</h2><p class="tabs">{} {} {}</p><table id="rates"><thead><tr>"#,
        t("考核指标", "Rates"),
        tab(By::Cadre, "按干部", "By cadre"),
        tab(By::Village, "按村", "By village"),
        tab(By::Town, "按镇", "By town"),
    );
    let head = |key: &str, label: &str| {
        let next_desc = !(key == sort && desc);
        let arrow = if key == sort {
            if desc {
                " ▼"
            } else {
                " ▲"
            }
        } else {
            ""
        };
        format!(
            r#"<th><a class="sort" data-sort="{key}" href="/supervision?period={pk}&by={}&sort={key}&dir={}">{}{arrow}</a></th>"#,
            by_str(by),
            if next_desc { "desc" } else { "asc" },
            esc(label)
        )
    };
    b.push_str(&head(
        "name",
        match by {
            By::Cadre => t("干部", "Cadre"),
            By::Village => t("村", "Village"),
            By::Town => t("镇", "Town"),
        },
    ));
    for c in COLS {
        b.push_str(&head(c.key, lang.t(c.zh, c.en)));
    }
    b.push_str("</tr></thead><tbody>");
    for r in &rows {
        let _ = write!(
            b,
            r#"<tr data-key="{}"><td>{}</td>{}</tr>"#,
            esc(&r.key),
            esc(&r.name),
            cells(&r.rates, &pk, by, Some(&r.key), lang)
        );
    }
    let _ = write!(
        b,
        r#"</tbody><tfoot><tr class="total"><th>{}</th>{}</tr></tfoot></table>"#,
        t("合计", "Total"),
        cells(&total, &pk, by, None, lang)
    );
    if rows.is_empty() {
        let _ = write!(
            b,
            r#"<p class="muted">{}</p>"#,
            t("本期没有诉求。", "No appeals in this period.")
        );
    }
    b.push_str("</section>");

    // Charts.
    match sup::trend_data(w).await {
        Ok(trend) => {
            b.push_str(&format!(
                r#"<section id="charts"><h2>{}</h2><div class="charts">"#,
                t("趋势", "Trends")
            ));
            for (name, chart) in charts(lang, &trend) {
                let _ = write!(
                    b,
                    r#"<figure class="chart" id="chart-{name}">{chart}<figcaption><a href="/supervision/charts/{name}.svg">{}</a></figcaption></figure>"#,
                    t("单独打开", "Open the chart")
                );
            }
            b.push_str("</div></section>");
        }
        Err(e) => tracing::warn!(error = %e, "supervision charts unavailable"),
    }

    warnings_section(p, lang, w, &mut b).await?;

    // Reports.
    // The latest whole week: the one the Monday digest covers.
    let week = trend::containing(w.shared.clock.now(), tz).0.prev();
    let dl = |p: Period, fmt: &str| {
        format!(
            "/api/v1/supervision/reports?period={}&format={fmt}",
            p.key()
        )
    };
    let month = match period {
        Period::Month { .. } => period,
        Period::Week { .. } => trend::containing(w.shared.clock.now(), tz).1,
    };
    let _ = write!(
        b,
        r#"<section id="reports"><h2>{}</h2><ul><li>{} {}: <a id="report-csv" href="{}">CSV</a> · <a href="{}">JSON</a></li><li>{} {}: <a href="{}">CSV</a> · <a href="{}">JSON</a></li></ul></section>"#,
        t("报表下载", "Reports"),
        t("月度考核", "Monthly evaluation"),
        month.key(),
        dl(month, "csv"),
        dl(month, "json"),
        t("周报", "Weekly digest"),
        week.key(),
        dl(week, "csv"),
        dl(week, "json"),
    );
    let here = format!("/supervision?period={pk}&by={}", by_str(by));
    Ok(html(
        StatusCode::OK,
        layout(lang, t("纪委监督", "Supervision"), Some(p), &here, &b),
    ))
}

async fn warnings_section(
    p: &Principal,
    lang: Lang,
    w: &Web,
    b: &mut String,
) -> Result<(), warp::Rejection> {
    let t = |zh, en| lang.t(zh, en);
    let store = &w.shared.store;
    let open = crate::supervision::record::warnings(store, true, 200)
        .await
        .map_err(internal)?;
    let tz = w.shared.config.time_zone;
    let _ = write!(
        b,
        r#"<section id="warnings"><h2>{} ({})</h2><table><thead><tr><th>#</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>"#,
        t("预警", "Warnings"),
        open.len(),
        t("规则", "Rule"),
        t("干部 / 村", "Cadre / village"),
        t("涉及诉求", "Appeals"),
        t("说明", "Detail"),
        t("发现时间", "Detected"),
        t("处理", "Handle"),
    );
    for row in open {
        let o = sup::warning_out(w, p, row);
        let appeals: String = o
            .row
            .appeals
            .iter()
            .map(|n| format!(r#"<a href="/appeals/{0}">{0}</a>"#, esc(n)))
            .collect::<Vec<_>>()
            .join(" ");
        let _ = write!(
            b,
            r#"<tr data-id="{id}"><td>{id}</td><td>{rule}</td><td>{cadre} {village}</td><td class="text">{appeals}</td><td class="text">{detail}</td><td>{at}</td><td><form method="post" action="/supervision/warnings/{id}/handle" class="handle"><input type="hidden" name="csrf" value="{csrf}"><input name="note" required maxlength="500" placeholder="{ph}"> <button type="submit">{mark}</button></form></td></tr>"#,
            id = o.row.id,
            rule = esc(lang.t(o.rule_zh, o.rule_en)),
            cadre = esc(o.row.cadre.as_deref().unwrap_or("")),
            village = esc(o.row.village.as_deref().unwrap_or("")),
            detail = esc(&o.row.detail),
            at = local_short(o.row.detected_at, tz),
            csrf = esc(p.csrf()),
            ph = t("处理说明", "What was done"),
            mark = t("标记已处理", "Mark handled"),
        );
    }
    b.push_str("</tbody></table>");
    let handled: Vec<_> = crate::supervision::record::warnings(store, false, 50)
        .await
        .map_err(internal)?
        .into_iter()
        .filter(|r| r.handled_at.is_some())
        .take(10)
        .collect();
    if !handled.is_empty() {
        let _ = write!(
            b,
            r#"<h3>{}</h3><ul id="handled">"#,
            t("最近已处理", "Recently handled")
        );
        for row in handled {
            let o = sup::warning_out(w, p, row);
            let _ = write!(
                b,
                "<li>#{} {} — {} ({}, {})</li>",
                o.row.id,
                esc(lang.t(o.rule_zh, o.rule_en)),
                esc(o.row.note.as_deref().unwrap_or("")),
                esc(o.row.handled_by.as_deref().unwrap_or("")),
                o.row
                    .handled_at
                    .map(|t| local_short(t, tz))
                    .unwrap_or_default()
            );
        }
        b.push_str("</ul>");
    }
    b.push_str("</section>");
    Ok(())
}

pub async fn drill(
    p: Principal,
    lang: Lang,
    q: Query,
    w: Web,
) -> Result<warp::reply::Response, warp::Rejection> {
    or_error(lang, &p, drill_body(&p, lang, &q, &w).await)
}

async fn drill_body(
    p: &Principal,
    lang: Lang,
    q: &Query,
    w: &Web,
) -> Result<warp::reply::Response, warp::Rejection> {
    let t = |zh, en| lang.t(zh, en);
    let get = |k: &str| q.get(k).map(String::as_str);
    let period = period_or_now(w, get("period"))?;
    let by = parse_by(get("by"))?;
    let figure = parse_figure(get("figure"))?;
    let key = get("key");
    let d = sup::period_data(w, period).await.map_err(internal)?;
    let drilled = sup::drill(w, p, &d, by, key, figure);
    let list = drilled.facts;
    let group = match (key, drilled.name) {
        (None, _) => t("全部", "All").to_string(),
        (Some(_), Some(name)) => name,
        (Some(k), None) => k.to_string(),
    };
    let tz = w.shared.config.time_zone;
    let when = |ms: Option<i64>| ms.map(|m| local_short(m, tz)).unwrap_or_else(|| "—".into());
    let mut b = format!(
        r#"<section><h2 id="drill-title">{} · {} · {}: {}</h2><p><a href="/supervision?period={}&by={}">{}</a></p><table id="drill"><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>"#,
        esc(&period.label()),
        esc(&group),
        lang.t(figure.chinese(), figure.english()),
        list.len(),
        period.key(),
        by_str(by),
        t("返回考核表", "Back to the rates"),
        t("编号", "Number"),
        t("颜色", "Colour"),
        t("状态", "Status"),
        t("村", "Village"),
        t("干部", "Cadre"),
        t("登记", "Filed"),
        t("响应时限 / 响应", "Answer by / answered"),
        t("办结时限 / 办结", "Resolve by / resolved"),
        t("评价", "Rating"),
    );
    for f in list.iter().take(DRILL_ROWS) {
        let _ = write!(
            b,
            r#"<tr><td><a href="/appeals/{n}">{n}</a></td><td class="{c}"><span class="dot"></span>{cn}</td><td>{st}</td><td>{v}</td><td>{cadre}</td><td>{filed}</td><td>{rb} / {acc}</td><td>{sb} / {res}</td><td>{rating}</td></tr>"#,
            n = esc(&f.number),
            c = f.colour.as_str(),
            cn = esc(&colour_name(lang, f.colour.as_str())),
            st = esc(&status_name(lang, &f.status)),
            v = esc(f.village.as_deref().unwrap_or("")),
            cadre = esc(f.cadre_name.as_deref().unwrap_or("")),
            filed = local_short(f.filed_at, tz),
            rb = when(f.respond_by),
            acc = when(f.accepted_at),
            sb = when(f.resolve_by),
            res = when(f.resolved_at),
            rating = f.rating.map(|r| r.to_string()).unwrap_or_default(),
        );
    }
    b.push_str("</tbody></table>");
    if list.len() > DRILL_ROWS {
        let _ = write!(
            b,
            r#"<p class="muted">{} {DRILL_ROWS}; {} <a href="/api/v1/supervision/appeals?period={}&by={}&figure={}&limit=1000">API</a></p>"#,
            t("只列出前", "Showing the first"),
            t("全部见", "all through the"),
            period.key(),
            by_str(by),
            figure.as_str()
        );
    }
    b.push_str("</section>");
    let here = format!(
        "/supervision/drill?period={}&by={}",
        period.key(),
        by_str(by)
    );
    Ok(html(
        StatusCode::OK,
        layout(lang, t("纪委监督", "Supervision"), Some(p), &here, &b),
    ))
}

/// POST /supervision/warnings/{id}/handle from the page's form.
pub async fn handle(
    id: i64,
    p: Principal,
    lang: Lang,
    form: HashMap<String, String>,
    w: Web,
) -> Result<warp::reply::Response, warp::Rejection> {
    let r = async {
        if !p.csrf_ok(form.get("csrf").map(String::as_str)) {
            return Err(crate::web::reject(
                StatusCode::FORBIDDEN,
                lang.t(
                    "表单已过期，请刷新页面后重试",
                    "The form expired; reload the page and try again",
                ),
            ));
        }
        sup::handle(&w, &p, id, form.get("note").map_or("", String::as_str)).await?;
        Ok(warp::http::Response::builder()
            .status(StatusCode::SEE_OTHER)
            .header("location", "/supervision#warnings")
            .body(warp::hyper::Body::empty())
            .unwrap_or_default())
    }
    .await;
    or_error(lang, &p, r)
}

/// GET /supervision/charts/{name}.svg: one chart as its own document.
pub async fn chart(
    name: String,
    _p: Principal,
    lang: Lang,
    w: Web,
) -> Result<warp::reply::Response, warp::Rejection> {
    let want = name
        .strip_suffix(".svg")
        .ok_or_else(warp::reject::not_found)?;
    let trend = sup::trend_data(&w).await.map_err(internal)?;
    let (_, svg) = charts(lang, &trend)
        .into_iter()
        .find(|(n, _)| *n == want)
        .ok_or_else(warp::reject::not_found)?;
    Ok(warp::http::Response::builder()
        .header("content-type", "image/svg+xml; charset=utf-8")
        .header("cache-control", "no-store")
        .header(
            "content-security-policy",
            "default-src 'none'; style-src 'unsafe-inline'",
        )
        .body(warp::hyper::Body::from(svg))
        .unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(key: &str, score: Option<f64>) -> Row {
        Row {
            key: key.into(),
            name: key.into(),
            rates: Rates {
                score,
                ..Default::default()
            },
        }
    }

    #[test]
    fn rows_sort_either_way_with_blanks_last() {
        let mut rows = vec![row("a", Some(50.0)), row("b", None), row("c", Some(90.0))];
        sort_rows(&mut rows, "score", false);
        let keys = |r: &[Row]| r.iter().map(|r| r.key.clone()).collect::<Vec<_>>();
        assert_eq!(keys(&rows), ["a", "c", "b"]);
        sort_rows(&mut rows, "score", true);
        assert_eq!(keys(&rows), ["c", "a", "b"]);
        sort_rows(&mut rows, "name", true);
        assert_eq!(keys(&rows), ["c", "b", "a"]);
    }

    #[test]
    fn drill_links_carry_the_group_and_figure() {
        assert_eq!(
            count_link(0, "2026-11", By::Cadre, Some("c1"), Figure::Overdue),
            "0"
        );
        let l = count_link(3, "2026-11", By::Village, Some("SH 01"), Figure::Overdue);
        assert!(
            l.contains("period=2026-11&amp;by=village&amp;figure=overdue&amp;key=SH%2001"),
            "{l}"
        );
        assert!(l.contains(">3</a>"));
    }
}
