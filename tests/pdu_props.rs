//! Property tests for the PDU codec: encode-then-decode gives back any text, split into the
//! number of parts an independent count predicts, never cutting an escape pair or a
//! surrogate pair; and decoding arbitrary or mangled bytes never panics.

use appeal_gateway::pdu::{self, Encoding, Pdu, SubmitOptions};
use chrono::{DateTime, FixedOffset, TimeZone};
use proptest::prelude::*;

/// The GSM default alphabet and extension table written out independently of the codec.
const GSM_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?\
                         ¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
const GSM_EXT: &str = "\u{0C}^{}\\[~]|€";

/// Parts a text needs: GSM 160 / 153 septets or UCS2 70 / 67 units, greedy, with escape
/// pairs and surrogate pairs kept whole.
fn expected_parts(text: &str) -> usize {
    let gsm = text
        .chars()
        .all(|c| GSM_BASIC.contains(c) || GSM_EXT.contains(c));
    let cost = |c: char| -> usize {
        if gsm {
            if GSM_EXT.contains(c) {
                2
            } else {
                1
            }
        } else {
            c.len_utf16()
        }
    };
    let (single, per_part) = if gsm { (160, 153) } else { (70, 67) };
    let total: usize = text.chars().map(cost).sum();
    if total <= single {
        return 1;
    }
    let mut parts = 1;
    let mut room = per_part;
    for c in text.chars() {
        let k = cost(c);
        if k > room {
            parts += 1;
            room = per_part;
        }
        room -= k;
    }
    parts
}

fn text_strategy() -> impl Strategy<Value = String> {
    let gsm: Vec<char> = GSM_BASIC.chars().chain(GSM_EXT.chars()).collect();
    let cjk: Vec<char> = "诉求路灯坏了村委会中文😀👍🏻🇨🇳a€ ".chars().collect();
    prop_oneof![
        proptest::collection::vec(any::<char>(), 0..2000).prop_map(|v| v.into_iter().collect()),
        proptest::collection::vec(proptest::sample::select(gsm), 0..2000)
            .prop_map(|v| v.into_iter().collect()),
        proptest::collection::vec(proptest::sample::select(cjk), 0..800)
            .prop_map(|v| v.into_iter().collect()),
        "[ -~]{0,500}",
    ]
}

fn offset_strategy() -> impl Strategy<Value = FixedOffset> {
    // Whole quarter hours, as TP-SCTS carries them.
    (-48i32..=56).prop_map(|q| FixedOffset::east_opt(q * 900).expect("offset in range"))
}

fn check_parts(
    text: &str,
    decoded: &[(String, Encoding, Option<pdu::Concat>, Vec<u8>)],
    concat_ref: u8,
) -> Result<(), TestCaseError> {
    let n = decoded.len();
    prop_assert_eq!(n, expected_parts(text));
    let mut joined = String::new();
    for (i, (t, enc, concat, data)) in decoded.iter().enumerate() {
        if n == 1 {
            prop_assert_eq!(*concat, None);
        } else {
            let c = concat.expect("concat header on every part");
            prop_assert_eq!(
                (c.reference, c.total as usize, c.seq as usize, c.ref_bits),
                (u16::from(concat_ref), n, i + 1, 8)
            );
        }
        // A surrogate pair cut in two would leave raw octets in `data`; an escape pair cut
        // in two would change the characters and break the join below.
        if *enc == Encoding::Ucs2 {
            prop_assert!(data.is_empty(), "part {} has an unpaired surrogate", i + 1);
        }
        joined.push_str(t);
    }
    prop_assert_eq!(joined, text);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(192))]

    #[test]
    fn submit_round_trips_any_text(text in text_strategy(), concat_ref: u8, class in proptest::option::of(0u8..4)) {
        let opts = SubmitOptions { class, concat_ref, ..Default::default() };
        let parts = pdu::encode_submit("+8613800138000", &text, &opts).expect("encode");
        let mut decoded = Vec::new();
        for p in &parts {
            prop_assert_eq!(pdu::cmgs_length(&p.hex), Ok(p.tpdu_len));
            // TPDU = FO MR DA(2+7) PID DCS UDL + UD; UD is at most 140 octets.
            prop_assert!(p.tpdu_len <= 14 + 140, "part too long: {}", p.tpdu_len);
            match pdu::decode_hex(&p.hex, true).expect("decode") {
                Pdu::Submit(s) => {
                    prop_assert_eq!(&s.recipient, "+8613800138000");
                    prop_assert_eq!(s.class, class);
                    decoded.push((s.text, s.encoding, s.concat, s.data));
                }
                other => prop_assert!(false, "not a submit: {:?}", other),
            }
        }
        check_parts(&text, &decoded, concat_ref)?;
    }

    #[test]
    fn deliver_round_trips_any_text(
        text in text_strategy(),
        concat_ref: u8,
        offset in offset_strategy(),
        secs in 946_684_800i64..4_102_444_799,
        international: bool,
    ) {
        let sender = if international { "+8613912345678" } else { "10086" };
        let scts: DateTime<FixedOffset> = offset.timestamp_opt(secs, 0).single().expect("time");
        let parts = pdu::encode_deliver(sender, &text, scts, concat_ref);
        let mut decoded = Vec::new();
        for hex in &parts {
            match pdu::decode_hex(hex, true).expect("decode") {
                Pdu::Deliver(d) => {
                    prop_assert_eq!(&d.sender, sender);
                    prop_assert_eq!(d.timestamp, scts);
                    prop_assert_eq!(d.timestamp.offset(), scts.offset());
                    decoded.push((d.text, d.encoding, d.concat, d.data));
                }
                other => prop_assert!(false, "not a deliver: {:?}", other),
            }
        }
        check_parts(&text, &decoded, concat_ref)?;
    }

    #[test]
    fn status_report_round_trips(mr: u8, status: u8, offset in offset_strategy(), secs in 946_684_800i64..4_102_444_799, gap in 0i64..100_000) {
        let scts = offset.timestamp_opt(secs, 0).single().expect("time");
        let dt = offset.timestamp_opt(secs + gap, 0).single().expect("time");
        let hex = pdu::encode_status_report(mr, "+8613800138000", scts, dt, status);
        match pdu::decode_hex(&hex, true).expect("decode") {
            Pdu::StatusReport(r) => {
                prop_assert_eq!((r.message_ref, r.status), (mr, status));
                prop_assert_eq!(r.recipient, "+8613800138000");
                prop_assert_eq!((r.timestamp, r.discharge_time), (scts, dt));
            }
            other => prop_assert!(false, "not a status report: {:?}", other),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    #[test]
    fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = pdu::decode(&bytes, true);
        let _ = pdu::decode(&bytes, false);
        let _ = pdu::decode_view(&bytes, true).map(|v| v.to_pdu());
        let _ = pdu::decode_hex(&hex::encode(&bytes), false);
    }

    #[test]
    fn decoding_mangled_valid_pdus_never_panics(
        which in 0usize..4,
        edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6),
        cut in any::<usize>(),
    ) {
        // Start from real PDUs so the mangling reaches the deep parts of the parser.
        let seeds = [
            "07919730071111F1400B919746121611F10000811170021222230E06080412340201C8329BFD6601",
            "0791447758100650040DD0F334FC1CA6970100008080312170224008D4F29CDE0EA7D9",
            "0791947122725014440185F039F501801140311480720605040B8423F00106246170706C69636174696F6E",
            "07914356060013F1065A098136397339F7219011700463802190117004638030",
        ];
        let mut bytes = hex::decode(seeds[which]).expect("seed hex");
        for (at, v) in edits {
            let i = at % bytes.len();
            bytes[i] = v;
        }
        bytes.truncate(cut % (bytes.len() + 1));
        for has_smsc in [true, false] {
            if let Ok(p) = pdu::decode(&bytes, has_smsc) {
                let _ = pdu::to_json(&p);
            }
        }
    }
}

#[test]
fn part_count_oracle_agrees_with_known_boundaries() {
    // Guard the oracle itself against the hand-checked boundaries.
    assert_eq!(expected_parts(&"a".repeat(160)), 1);
    assert_eq!(expected_parts(&"a".repeat(161)), 2);
    assert_eq!(expected_parts(&"中".repeat(70)), 1);
    assert_eq!(expected_parts(&"中".repeat(71)), 2);
    assert_eq!(expected_parts(&format!("{}€", "a".repeat(158))), 1);
    assert_eq!(expected_parts(&format!("{}€", "a".repeat(159))), 2);
    assert_eq!(
        expected_parts(&format!("{}€{}", "a".repeat(152), "a".repeat(10))),
        2
    );
    assert_eq!(expected_parts(&format!("{}😀", "中".repeat(69))), 2);
}

/// Counts heap allocations made by the current thread, to pin down what decoding allocates.
mod counting {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::cell::Cell;

    thread_local! {
        static COUNT: Cell<usize> = const { Cell::new(0) };
    }

    pub struct Counting;

    // SAFETY: defers every call to the system allocator unchanged; only counts.
    #[allow(unsafe_code)]
    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            let _ = COUNT.try_with(|c| c.set(c.get() + 1));
            // SAFETY: same contract as our caller's.
            unsafe { System.alloc(layout) }
        }
        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            // SAFETY: same contract as our caller's.
            unsafe { System.dealloc(ptr, layout) }
        }
    }

    pub fn allocations_in(f: impl FnOnce()) -> usize {
        let before = COUNT.with(Cell::get);
        f();
        COUNT.with(Cell::get) - before
    }
}

#[global_allocator]
static ALLOCATOR: counting::Counting = counting::Counting;

#[test]
fn decoding_allocates_only_the_text_and_address_strings() {
    let scts = DateTime::parse_from_rfc3339("2026-03-05T09:30:00+08:00").expect("time");
    let text: String = "村里路灯坏了请尽快维修".chars().cycle().take(70).collect();
    let tpdu = pdu::encode_deliver("+8613912345678", &text, scts, 0).remove(0);
    let hex = format!("0891683108200105F0{}", &tpdu[2..]);
    let bytes = hex::decode(&hex).expect("hex");
    let mut out = String::with_capacity(256);

    // The borrowed layer: nothing at all, the text goes into a reused String.
    let n = counting::allocations_in(|| {
        if let Ok(pdu::PduView::Deliver(d)) = pdu::decode_view(&bytes, true) {
            d.user_data.write_text(&mut out);
        }
    });
    assert_eq!(n, 0);
    assert_eq!(out, text);

    // The owned layer: the text, the SMSC and the sender (the public struct's Strings).
    let n = counting::allocations_in(|| {
        let p = pdu::decode(&bytes, true);
        assert!(matches!(p, Ok(Pdu::Deliver(_))));
    });
    assert_eq!(n, 3);
    // decode_hex adds nothing: the hex goes into a stack buffer.
    let n = counting::allocations_in(|| {
        let p = pdu::decode_hex(&hex, true);
        assert!(matches!(p, Ok(Pdu::Deliver(_))));
    });
    assert_eq!(n, 3);
}
