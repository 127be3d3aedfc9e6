//! AT line framer: splits the modem's byte stream into responses and URCs. Pure.
//!
//! The modem driver tells the [`Framer`] which command it wrote (`command_sent`), feeds it
//! whatever bytes the port delivers (`push`, any chunking) and drains [`Frame`]s until the
//! [`Frame::Final`] of that command. The framer knows nothing about time: the driver owns
//! timeouts and calls `command_abandoned` when one fires.
//!
//! Layout: `framer` (bytes -> lines -> frames, the per-command state), `result` (final
//! result codes, verbose error texts), `urc` (which lines are unsolicited and their typed
//! forms), `call` (what the call lines of each vendor say), `command` (what a command line tells us about its response), `errors`
//! (+CMS/+CME codes, their meaning and retry class). The decisions are explained where
//! they are made; at-modem.md sections 1, 6 and 7 are the background.

pub mod call;
mod command;
mod errors;
mod framer;
mod result;
mod urc;

pub use errors::{
    cme_description, cme_is_transient, cms_description, cms_is_transient, CmeError, CmsError,
    ErrorClass,
};
pub use framer::{Framer, MAX_LINE};
pub use result::parse_final;

/// What the framer yields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// The modem echoed the command we sent (echo on, or the one `ATE0` echo), or the PDU
    /// hex written after the `>` prompt of AT+CMGS/AT+CMGW.
    Echo(String),
    /// An information line of the pending command's response. For `+CMGR:`/`+CMGL:` the
    /// header and its PDU line come as two `Line`s, in order.
    Line(String),
    /// The final result code that ends the pending command.
    Final(FinalResult),
    /// The "> " prompt after `AT+CMGS=<n>` (also `>` on a line of its own).
    Prompt,
    /// An unsolicited result code.
    Urc(Urc),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FinalResult {
    Ok,
    Error,
    /// `+CME ERROR: <n>`. A verbose text (`AT+CMEE=2`) is mapped to its 27.007 number;
    /// a text we do not know becomes 100 ("unknown"); `Framer::last_raw` keeps the text.
    CmeError(u16),
    /// `+CMS ERROR: <n>`. A verbose text is mapped like `CmeError`; unknown texts become
    /// 500 ("unknown error").
    CmsError(u16),
    NoCarrier,
    Busy,
    NoAnswer,
    NoDialtone,
    Connect(String),
    /// Huawei's answer to a command it does not know.
    CommandNotSupport,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegKind {
    Creg,
    Cgreg,
    Cereg,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Urc {
    /// +CMTI: "SM",3 - a new message stored at `index` in `mem`.
    Cmti {
        mem: String,
        index: i32,
    },
    /// `+CMT: [<alpha>],<length>` followed by the PDU line (direct delivery; needs +CNMA).
    /// In text mode `length` is the last header field and `pdu` is the text line.
    Cmt {
        length: usize,
        pdu: String,
    },
    /// `+CDS: <length>` followed by the PDU line (direct status report).
    Cds {
        length: usize,
        pdu: String,
    },
    /// +CDSI: "SR",5 - a status report stored.
    Cdsi {
        mem: String,
        index: i32,
    },
    Ring,
    /// +CRING: VOICE
    Cring(String),
    /// +CLIP: "number",type,...
    Clip {
        number: String,
    },
    /// +CREG/+CGREG/+CEREG URC form: stat and optional location.
    Registration {
        kind: RegKind,
        stat: u8,
        lac: Option<String>,
        ci: Option<String>,
    },
    /// +CUSD: m,"text",dcs
    Cusd {
        mode: u8,
        text: Option<String>,
    },
    /// RDY, SMS Ready, Call Ready, +CPIN: READY at boot, PB DONE, SMS DONE ... (the raw line).
    Ready(String),
    /// Huawei ^RSSI:n
    Rssi(u8),
    /// A known vendor URC without a typed variant, as the raw line: Huawei ^BOOT, ^MODE,
    /// ^CEND and every other `^` line; Quectel +QIND/+QUSIM/+QTTS; SIMCom VOICE CALL:,
    /// MISSED_CALL:, +CLCC; Wavecom +WIND; ZTE +ZDONR/+ZPASR/HANGUP:; single-tone
    /// +DTMF:1400 reports and out-of-range +QTONEDET codes.
    Vendor(String),
    /// A DTMF digit reported by +DTMF (SIMCom), +QTONEDET (Quectel), ^DDTMF (Huawei), +RXDTMF.
    Dtmf(char),
    /// A line we do not know, passed through unchanged. Also: a final result code that
    /// arrives with no command pending, a two-line URC header whose body never came, and
    /// lines made only of undecodable bytes.
    Unknown(String),
    /// `+CBM: <length>` followed by the PDU line (cell broadcast).
    Cbm {
        length: usize,
        pdu: String,
    },
    /// `+CPIN: <state>` outside an `AT+CPIN?` query, other than READY (which is `Ready`):
    /// e.g. "SIM PIN", "NOT READY", "NOT INSERTED" (SIM removed or locked).
    SimStatus(String),
    /// NO CARRIER while no ATD/ATA is pending: the call ended.
    NoCarrier,
    /// BUSY while no ATD/ATA is pending (outcome of an `ATD...;` that already got its OK).
    Busy,
    /// NO ANSWER while no ATD/ATA is pending.
    NoAnswer,
    /// NO DIALTONE while no ATD/ATA is pending.
    NoDialtone,
    /// `CONNECT[ <text>]` while no ATD/ATA is pending (ZTE reports the remote answering so).
    Connect(String),
    /// A line longer than [`MAX_LINE`] bytes was dropped; `bytes` is its length.
    Overlong {
        bytes: usize,
    },
}
