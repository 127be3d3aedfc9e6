//! /metrics in the Prometheus text format (version 0.0.4): messages in and out, queue depths,
//! per-modem signal and errors, appeals by state. Needs a bearer token like the API (Prometheus:
//! `authorization: { credentials: ... }`).

use std::fmt::Write;

use warp::Filter;

use super::auth::Principal;
use super::{api_principal, dashboard, internal, with_web, Web};
use crate::modem::ModemStatus;

pub fn routes(
    w: Web,
) -> impl Filter<Extract = (impl warp::Reply,), Error = warp::Rejection> + Clone {
    warp::path!("metrics")
        .and(warp::get())
        .and(api_principal(w.clone()))
        .and(with_web(w))
        .and_then(|_p: Principal, w: Web| async move {
            let store = &w.shared.store;
            let now_ms = w.now_ms();
            let queues = dashboard::queues(store, now_ms).await.map_err(internal)?;
            let appeals = dashboard::by_status_colour(store).await.map_err(internal)?;
            let (overdue, _) = dashboard::overdue(store, now_ms, 1)
                .await
                .map_err(internal)?;
            let modems: Vec<ModemStatus> = w.shared.modems.iter().map(|m| m.status()).collect();
            let body = render(&modems, &queues, &appeals, overdue);
            Ok::<_, warp::Rejection>(warp::reply::with_header(
                body,
                "content-type",
                "text/plain; version=0.0.4; charset=utf-8",
            ))
        })
}

/// A label value with `\`, `"` and newlines escaped as the format requires.
pub fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP appeal_gateway_{name} {help}");
    let _ = writeln!(out, "# TYPE appeal_gateway_{name} {kind}");
}

/// (name, type, help, value of one modem).
type PerModem = (
    &'static str,
    &'static str,
    &'static str,
    fn(&ModemStatus) -> Option<f64>,
);

/// The whole exposition; pure so it is tested without a server.
pub fn render(
    modems: &[ModemStatus],
    q: &dashboard::Queues,
    appeals: &[(String, String, i64)],
    overdue: i64,
) -> String {
    let mut out = String::new();
    let per_modem: [PerModem; 8] = [
        (
            "messages_received_total",
            "counter",
            "SMS received by the modem since the daemon started.",
            |m| Some(m.received as f64),
        ),
        (
            "messages_sent_total",
            "counter",
            "SMS sent by the modem since the daemon started.",
            |m| Some(m.sent as f64),
        ),
        (
            "send_errors_total",
            "counter",
            "Failed send attempts on the modem since the daemon started.",
            |m| Some(m.send_errors as f64),
        ),
        (
            "modem_reconnects_total",
            "counter",
            "Times the modem's port was reopened.",
            |m| Some(m.reconnects as f64),
        ),
        (
            "modem_up",
            "gauge",
            "1 when the modem is initialised and answering.",
            |m| Some(if m.is_ready() { 1.0 } else { 0.0 }),
        ),
        (
            "modem_error",
            "gauge",
            "1 when the modem reports a current error.",
            |m| Some(if m.error.is_some() { 1.0 } else { 0.0 }),
        ),
        (
            "modem_signal_bars",
            "gauge",
            "Signal strength in bars (0-5).",
            |m| Some(f64::from(m.bars)),
        ),
        (
            "modem_rssi",
            "gauge",
            "AT+CSQ RSSI (0-31; absent when unknown).",
            |m| m.rssi.map(f64::from),
        ),
    ];
    for (name, kind, help, get) in per_modem {
        family(&mut out, name, kind, help);
        for m in modems {
            if let Some(v) = get(m) {
                let _ = writeln!(
                    out,
                    "appeal_gateway_{name}{{modem=\"{}\"}} {v}",
                    label(&m.name)
                );
            }
        }
    }
    family(
        &mut out,
        "modem_sim_used",
        "gauge",
        "SMS slots in use on the SIM.",
    );
    for m in modems {
        if let Some(u) = m.sim_used {
            let _ = writeln!(
                out,
                "appeal_gateway_modem_sim_used{{modem=\"{}\"}} {u}",
                label(&m.name)
            );
        }
    }
    for (name, help, v) in [
        (
            "inbox_waiting",
            "Received SMS not yet filed (waiting for parts or the intake).",
            q.inbox_waiting,
        ),
        ("outbox_queued", "SMS queued to send.", q.outbox_queued),
        ("outbox_sending", "SMS being sent now.", q.outbox_sending),
        (
            "outbox_failed",
            "SMS given up after every retry.",
            q.outbox_failed,
        ),
        (
            "outbox_sent_24h",
            "SMS sent in the last 24 hours.",
            q.sent_24h,
        ),
        (
            "outbox_delivered_24h",
            "SMS sent in the last 24 hours with a delivery report.",
            q.delivered_24h,
        ),
        (
            "webhooks_queued",
            "Webhook deliveries waiting (receiver down or slow).",
            q.webhooks_queued,
        ),
        (
            "appeals_overdue",
            "Appeals past their response or resolution deadline.",
            overdue,
        ),
    ] {
        family(&mut out, name, "gauge", help);
        let _ = writeln!(out, "appeal_gateway_{name} {v}");
    }
    family(
        &mut out,
        "appeals",
        "gauge",
        "Appeals by status and colour.",
    );
    for (status, colour, n) in appeals {
        let _ = writeln!(
            out,
            "appeal_gateway_appeals{{status=\"{}\",colour=\"{}\"}} {n}",
            label(status),
            label(colour)
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_escaped() {
        assert_eq!(label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }

    #[test]
    fn exposition_has_every_family_once_and_well_formed_samples() {
        let m = ModemStatus {
            name: "村1".into(),
            state: "ready".into(),
            bars: 4,
            rssi: Some(20),
            received: 7,
            sim_used: Some(3),
            ..Default::default()
        };
        let q = dashboard::Queues {
            outbox_queued: 2,
            ..Default::default()
        };
        let text = render(&[m], &q, &[("open".into(), "red".into(), 5)], 1);
        assert!(text.contains("appeal_gateway_messages_received_total{modem=\"村1\"} 7\n"));
        assert!(text.contains("appeal_gateway_modem_up{modem=\"村1\"} 1\n"));
        assert!(text.contains("appeal_gateway_outbox_queued 2\n"));
        assert!(text.contains("appeal_gateway_appeals{status=\"open\",colour=\"red\"} 5\n"));
        assert!(text.contains("appeal_gateway_appeals_overdue 1\n"));
        let mut types = std::collections::HashSet::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                assert!(
                    types.insert(rest.split(' ').next().unwrap().to_string()),
                    "{line}"
                );
            } else if !line.starts_with('#') {
                let value = line.rsplit(' ').next().unwrap();
                assert!(value.parse::<f64>().is_ok(), "{line}");
            }
        }
    }
}
