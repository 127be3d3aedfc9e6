//! Criterion benches for the PDU codec: decoding a single-part UCS2 SMS-DELIVER with 140
//! octets of user data (the target is >= 2 million PDUs/s on one core), and encoding a
//! 70-character Chinese SMS-SUBMIT and 300-character multipart ones.

use appeal_gateway::pdu::{self, PduView, SubmitOptions};
use chrono::DateTime;
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};

/// 70 Chinese characters: exactly 140 octets of UCS2, one part.
fn chinese_70() -> String {
    "村里路灯坏了三个月晚上老人出门很不方便请尽快安排维修谢谢".repeat(3)[..]
        .chars()
        .take(70)
        .collect()
}

fn ucs2_deliver_hex() -> String {
    let scts = DateTime::parse_from_rfc3339("2026-03-05T09:30:00+08:00").expect("time");
    let mut parts = pdu::encode_deliver("+8613912345678", &chinese_70(), scts, 0);
    // A real modem reports a network SMSC; include one so the SMSC path is measured too.
    let tpdu = parts.remove(0).split_off(2);
    format!("0891683108200105F0{tpdu}")
}

fn decode_benches(c: &mut Criterion) {
    let hex = ucs2_deliver_hex();
    let bytes = hex::decode(&hex).expect("hex");
    let mut g = c.benchmark_group("decode_ucs2_deliver_140");
    g.throughput(Throughput::Elements(1));
    g.bench_function("decode_hex (owned Pdu)", |b| {
        b.iter(|| pdu::decode_hex(black_box(&hex), true))
    });
    g.bench_function("decode bytes (owned Pdu)", |b| {
        b.iter(|| pdu::decode(black_box(&bytes), true))
    });
    let mut text = String::with_capacity(256);
    g.bench_function("decode_view + write_text (no allocation)", |b| {
        b.iter(|| {
            text.clear();
            if let Ok(PduView::Deliver(d)) = pdu::decode_view(black_box(&bytes), true) {
                d.user_data.write_text(&mut text);
            }
            text.len()
        })
    });
    g.finish();
}

fn encode_benches(c: &mut Criterion) {
    let opts = SubmitOptions::default();
    let zh70 = chinese_70();
    let zh300: String = zh70.chars().cycle().take(300).collect();
    let ascii300: String = "Your appeal 2026-0042 has been filed. "
        .chars()
        .cycle()
        .take(300)
        .collect();
    let mut g = c.benchmark_group("encode_submit");
    g.throughput(Throughput::Elements(1));
    g.bench_function("70 Chinese chars, 1 part", |b| {
        b.iter(|| pdu::encode_submit(black_box("+8613912345678"), black_box(&zh70), &opts))
    });
    g.bench_function("300 Chinese chars, 5 parts", |b| {
        b.iter(|| pdu::encode_submit(black_box("+8613912345678"), black_box(&zh300), &opts))
    });
    g.bench_function("300 GSM chars, 2 parts", |b| {
        b.iter(|| pdu::encode_submit(black_box("+8613912345678"), black_box(&ascii300), &opts))
    });
    g.finish();
}

criterion_group!(benches, decode_benches, encode_benches);
criterion_main!(benches);
