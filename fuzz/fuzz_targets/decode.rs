//! Fuzz target: the PDU decoder must return a value or an error for any input, never panic,
//! with and without the SMSC field, from raw bytes and from hex text.
#![no_main]

use appeal_gateway::pdu;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for has_smsc in [true, false] {
        if let Ok(p) = pdu::decode(data, has_smsc) {
            // What the CLI does next with a decoded PDU must not panic either.
            let _ = pdu::to_json(&p);
        }
        if let Ok(pdu::PduView::Deliver(d)) = pdu::decode_view(data, has_smsc) {
            let mut text = String::new();
            d.user_data.write_text(&mut text);
        }
    }
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = pdu::decode_hex(s, true);
        let _ = pdu::cmgs_length(s);
    }
});
