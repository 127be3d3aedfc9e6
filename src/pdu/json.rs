//! The CLI's JSON contract for a decoded PDU: one object per PDU with `type`, `smsc`,
//! `sender`/`recipient`, `timestamp`, `encoding`, `class`, `text`, `concat`, `message_ref`,
//! `status`, plus extra keys (dcs, pid, ports, validity, discharge_time).

use super::{Concat, Pdu, Ports, Validity};
use serde_json::{json, Value};

fn concat_json(c: Option<Concat>) -> Value {
    c.map_or(
        Value::Null,
        |c| json!({"ref": c.reference, "total": c.total, "seq": c.seq, "ref_bits": c.ref_bits}),
    )
}

fn ports_json(p: Option<Ports>) -> Value {
    p.map_or(
        Value::Null,
        |p| json!({"dst": p.dst, "src": p.src, "bits": p.bits}),
    )
}

fn validity_json(v: &Validity) -> Value {
    match v {
        Validity::None => Value::Null,
        Validity::Relative(vp) => json!({
            "relative": Validity::describe_relative(*vp),
            "minutes": Validity::relative_minutes(*vp),
            "raw": vp,
        }),
        Validity::Absolute(t) => json!({"absolute": t.to_rfc3339()}),
        Validity::Enhanced(o) => json!({"enhanced": hex::encode_upper(o)}),
    }
}

/// The JSON object the CLI prints for one PDU.
pub fn to_json(pdu: &Pdu) -> Value {
    match pdu {
        Pdu::Deliver(d) => json!({
            "type": "deliver",
            "smsc": d.smsc,
            "sender": d.sender,
            "timestamp": d.timestamp.to_rfc3339(),
            "encoding": d.encoding.as_str(),
            "class": d.class,
            "text": d.text,
            "concat": concat_json(d.concat),
            "ports": ports_json(d.ports),
            "dcs": d.dcs,
            "pid": d.pid,
        }),
        Pdu::Submit(s) => json!({
            "type": "submit",
            "smsc": s.smsc,
            "recipient": s.recipient,
            "encoding": s.encoding.as_str(),
            "class": s.class,
            "text": s.text,
            "concat": concat_json(s.concat),
            "message_ref": s.message_ref,
            "status_report_request": s.status_report_request,
            "reject_duplicates": s.reject_duplicates,
            "validity": validity_json(&s.validity),
            "ports": ports_json(s.ports),
            "dcs": s.dcs,
            "pid": s.pid,
        }),
        Pdu::StatusReport(r) => json!({
            "type": "status-report",
            "smsc": r.smsc,
            // A report carries no user text; the common keys are present but empty.
            "encoding": Value::Null,
            "class": Value::Null,
            "text": "",
            "concat": Value::Null,
            "recipient": r.recipient,
            "timestamp": r.timestamp.to_rfc3339(),
            "discharge_time": r.discharge_time.to_rfc3339(),
            "message_ref": r.message_ref,
            "status": r.status,
        }),
    }
}
