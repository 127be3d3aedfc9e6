//! AT line framer: splits the modem's byte stream into responses and URCs. Pure.
//!
//! STUB: the public API below is fixed (the modem driver is written against it); the
//! implementation is being written.

/// What the framer yields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// The modem echoed the command we sent (echo on, or the one `ATE0` echo).
    Echo(String),
    /// An information line of the pending command's response. For `+CMGR:`/`+CMGL:` the
    /// header and its PDU line come as two `Line`s, in order.
    Line(String),
    /// The final result code that ends the pending command.
    Final(FinalResult),
    /// The "> " prompt after AT+CMGS=<n> (also `>` on a line of its own).
    Prompt,
    /// An unsolicited result code.
    Urc(Urc),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FinalResult {
    Ok,
    Error,
    CmeError(u16),
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
    /// +CMT: [<alpha>],<length> followed by the PDU line (direct delivery; needs +CNMA).
    Cmt {
        length: usize,
        pdu: String,
    },
    /// +CDS: <length> followed by the PDU line (direct status report).
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
    /// Huawei ^BOOT, ^MODE and other periodic noise (the raw line).
    Vendor(String),
    /// A DTMF digit reported by +DTMF (SIMCom), +QTONEDET (Quectel), ^DDTMF (Huawei), +RXDTMF.
    Dtmf(char),
    /// A line we do not know, passed through unchanged.
    Unknown(String),
}

/// Incremental framer. Feed it bytes with `push`, take frames with `next_frame`.
#[derive(Debug, Default)]
pub struct Framer {}

impl Framer {
    pub fn new() -> Self {
        Self::default()
    }

    /// Tells the framer a command line was written (without the trailing \r), so it can
    /// recognise its echo and know which information lines belong to the response.
    pub fn command_sent(&mut self, _command: &str) {
        todo!()
    }

    /// Tells the framer the pending command ended without a final code (timeout), so later
    /// lines are not taken for its response.
    pub fn command_abandoned(&mut self) {
        todo!()
    }

    /// Appends bytes read from the port (any chunking).
    pub fn push(&mut self, _bytes: &[u8]) {
        todo!()
    }

    /// The next complete frame, if any.
    pub fn next_frame(&mut self) -> Option<Frame> {
        todo!()
    }
}

/// Whether an error code is worth retrying: SIM busy, network timeout, "init in progress".
pub fn cms_is_transient(_code: u16) -> bool {
    todo!()
}

pub fn cme_is_transient(_code: u16) -> bool {
    todo!()
}

/// A short English description of a +CMS ERROR code (27.005 3.2.5), for logs and the outbox.
pub fn cms_description(_code: u16) -> &'static str {
    todo!()
}

pub fn cme_description(_code: u16) -> &'static str {
    todo!()
}
