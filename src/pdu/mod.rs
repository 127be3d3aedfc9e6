//! SMS PDU codec (3GPP TS 23.040, alphabets TS 23.038). Pure: bytes in, values out.
//!
//! STUB: the public API below is fixed (the simulator and the daemon are written against
//! it); the implementation is being written.

use chrono::{DateTime, FixedOffset};

/// TP-DCS alphabet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Gsm7,
    EightBit,
    Ucs2,
}

/// Concatenation information element (IEI 0x00: 8-bit reference, IEI 0x08: 16-bit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Concat {
    pub reference: u16,
    pub total: u8,
    pub seq: u8,
    pub ref_bits: u8,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Deliver {
    pub smsc: Option<String>,
    /// '+' prefix for international numbers, digits for other numeric TONs, text for alphanumeric.
    pub sender: String,
    pub timestamp: DateTime<FixedOffset>,
    pub encoding: Encoding,
    pub class: Option<u8>,
    /// Decoded text; for 8-bit data the bytes are in `data` and `text` is their hex.
    pub text: String,
    pub data: Vec<u8>,
    pub concat: Option<Concat>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Submit {
    pub smsc: Option<String>,
    pub recipient: String,
    pub message_ref: u8,
    pub encoding: Encoding,
    pub class: Option<u8>,
    pub text: String,
    pub data: Vec<u8>,
    pub concat: Option<Concat>,
    pub status_report_request: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StatusReport {
    pub smsc: Option<String>,
    pub message_ref: u8,
    pub recipient: String,
    pub timestamp: DateTime<FixedOffset>,
    pub discharge_time: DateTime<FixedOffset>,
    /// TP-ST: 0x00..0x1F delivered/completed, 0x20.. temporary, 0x40.. permanent, 0x60.. temporary-stopped.
    pub status: u8,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Pdu {
    Deliver(Deliver),
    Submit(Submit),
    StatusReport(StatusReport),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PduError {
    #[error("not a hex string")]
    BadHex,
    #[error("PDU ends early: {0}")]
    Truncated(&'static str),
    #[error("invalid PDU: {0}")]
    Invalid(&'static str),
}

/// One encoded part ready for AT+CMGS: `tpdu_len` is the number given to AT+CMGS (octets after
/// the SMSC field); `hex` is the whole PDU including the SMSC field ("00" when none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedPart {
    pub tpdu_len: usize,
    pub hex: String,
}

#[derive(Debug, Clone, Default)]
pub struct SubmitOptions {
    pub smsc: Option<String>,
    pub class: Option<u8>,
    pub status_report: bool,
    /// TP-MR to put in the PDU; modems overwrite it, so 0 is normal.
    pub message_ref: u8,
    /// Concatenation reference used when the text needs several parts.
    pub concat_ref: u8,
}

/// Decodes a PDU given as hex, as a modem prints it. `has_smsc` says whether the hex starts with
/// the SMSC address field (it always does on a modem).
pub fn decode_hex(_hex: &str, _has_smsc: bool) -> Result<Pdu, PduError> {
    todo!()
}

/// Decodes a PDU from raw bytes.
pub fn decode(_bytes: &[u8], _has_smsc: bool) -> Result<Pdu, PduError> {
    todo!()
}

/// Encodes an SMS-SUBMIT, split into concatenated parts when needed (GSM 7-bit when every
/// character is in the default alphabet or its extension, else UCS2).
pub fn encode_submit(
    _to: &str,
    _text: &str,
    _opts: &SubmitOptions,
) -> Result<Vec<EncodedPart>, PduError> {
    todo!()
}

/// Encodes an SMS-DELIVER as the network would hand it to a phone (used by the simulated modem
/// and by tests), split into parts like `encode_submit`. Each string is the full PDU hex
/// with an SMSC field of "00".
pub fn encode_deliver(
    _sender: &str,
    _text: &str,
    _scts: DateTime<FixedOffset>,
    _concat_ref: u8,
) -> Vec<String> {
    todo!()
}

/// Encodes an SMS-STATUS-REPORT (full PDU hex with SMSC field "00").
pub fn encode_status_report(
    _message_ref: u8,
    _recipient: &str,
    _scts: DateTime<FixedOffset>,
    _discharge: DateTime<FixedOffset>,
    _status: u8,
) -> String {
    todo!()
}
