//! The incremental framer: bytes -> lines -> frames, with the pending-command state that
//! decides whether a line is a response, an echo or a URC.
//!
//! Bytes are consumed one at a time by a small state machine, and frames are produced as
//! soon as their last byte arrives (in `push`, not lazily in `next_frame`). Two properties
//! follow and the tests pin them: any chunking of the same bytes gives the same frames,
//! and a line is classified against the command that was pending when it arrived, even if
//! the driver sends the next command before draining the queue.

use std::collections::VecDeque;

use super::command::Pending;
use super::result::parse_final;
use super::urc::{self, BodyKind, Class};
use super::{FinalResult, Frame, Urc};

/// The longest line kept. PDU lines are at most ~360 hex characters and the longest
/// text-mode headers a few hundred; a port that babbles without a line end must not grow
/// the buffer without bound. A line with more bytes than this before its LF (CRs and NULs
/// inside it included) is dropped and reported as `Urc::Overlong`.
pub const MAX_LINE: usize = 4096;

/// What the next line means because of the line before it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Expect {
    /// The body of a two-line URC (`+CMT:`, `+CDS:`, `+CBM:` header seen).
    UrcBody {
        kind: BodyKind,
        length: usize,
        header: String,
    },
    /// The PDU (or text) line after a `+CMGR:`/`+CMGL:` header.
    ResponseBody,
}

/// Incremental framer. Feed it bytes with `push`, take frames with `next_frame`.
#[derive(Debug, Default)]
pub struct Framer {
    /// The current partial line (leading CR and NUL already skipped).
    line: Vec<u8>,
    /// Inside an over-long line: how many bytes were dropped so far.
    discarding: Option<usize>,
    /// Frames ready for the driver, each with the line it came from.
    frames: VecDeque<(Frame, String)>,
    /// The line behind the frame most recently returned by `next_frame`.
    last_raw: String,
    pending: Option<Pending>,
    /// Kept after the final result: a late or repeated echo is still an echo.
    last_command: Option<String>,
    expect: Option<Expect>,
}

impl Framer {
    pub fn new() -> Self {
        Self::default()
    }

    /// Tells the framer a command line was written (without the trailing \r), so it can
    /// recognise its echo and know which information lines belong to the response.
    pub fn command_sent(&mut self, command: &str) {
        let command = command.trim();
        self.pending = Some(Pending::parse(command));
        self.last_command = Some(command.to_string());
        if self.expect == Some(Expect::ResponseBody) {
            self.expect = None;
        }
    }

    /// Tells the framer the pending command ended without a final code (timeout), so later
    /// lines are not taken for its response.
    pub fn command_abandoned(&mut self) {
        self.pending = None;
        if self.expect == Some(Expect::ResponseBody) {
            self.expect = None;
        }
    }

    /// Appends bytes read from the port (any chunking).
    pub fn push(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.push_byte(byte);
        }
    }

    /// The next complete frame, if any.
    pub fn next_frame(&mut self) -> Option<Frame> {
        let (frame, raw) = self.frames.pop_front()?;
        self.last_raw = raw;
        Some(frame)
    }

    /// The text of the line behind the frame `next_frame` returned last (for a `Final`
    /// this keeps a verbose error text such as "+CME ERROR: SIM busy"; for a two-line URC
    /// it is the body line; empty for `Prompt`).
    pub fn last_raw(&self) -> &str {
        &self.last_raw
    }

    /// Bytes held for the current partial line; never more than [`MAX_LINE`].
    pub fn buffered_len(&self) -> usize {
        self.line.len()
    }

    /// Whether a command is pending (sent, no final result code or abandon yet).
    pub fn is_pending(&self) -> bool {
        self.pending.is_some()
    }

    fn push_byte(&mut self, byte: u8) {
        if let Some(dropped) = self.discarding {
            if byte == b'\n' {
                self.discarding = None;
                let note = format!("<{dropped} bytes dropped>");
                self.emit(Frame::Urc(Urc::Overlong { bytes: dropped }), note);
            } else {
                self.discarding = Some(dropped + 1);
            }
            return;
        }
        if byte == b'\n' {
            let line = std::mem::take(&mut self.line);
            self.handle_line(&line);
            return;
        }
        // CR runs (`\r\r\n`) and NUL padding before a line are noise; skipping them here
        // lets the prompt test below see `> ` at the true start of the line.
        if self.line.is_empty() && (byte == b'\r' || byte == 0) {
            return;
        }
        self.line.push(byte);
        if self.line == b"> " && self.awaiting_prompt() {
            self.line.clear();
            self.take_prompt();
            return;
        }
        if self.line.len() > MAX_LINE {
            self.discarding = Some(self.line.len());
            self.line = Vec::new();
        }
    }

    fn awaiting_prompt(&self) -> bool {
        self.pending
            .as_ref()
            .is_some_and(|p| p.sms_write && !p.prompted)
    }

    fn take_prompt(&mut self) {
        if let Some(p) = self.pending.as_mut() {
            p.prompted = true;
        }
        self.emit(Frame::Prompt, String::new());
    }

    fn emit(&mut self, frame: Frame, raw: String) {
        self.frames.push_back((frame, raw));
    }

    fn handle_line(&mut self, bytes: &[u8]) {
        let text = String::from_utf8_lossy(bytes);
        // Control bytes (CR, NUL, Ctrl-Z after an echoed PDU, ESC) carry nothing on a
        // line; undecodable bytes at either end are line noise (auto-baud garbage, a
        // glitch before "OK") and must not hide the code behind them.
        let cleaned: String = text
            .chars()
            .filter(|c| !c.is_control() || *c == '\t')
            .collect();
        let trimmed = cleaned.trim();
        if trimmed.is_empty() {
            return;
        }
        let core =
            trimmed.trim_matches(|c: char| c == char::REPLACEMENT_CHARACTER || c.is_whitespace());
        if core.is_empty() {
            // Only garbage: report it, but never as part of a response.
            self.emit(
                Frame::Urc(Urc::Unknown(trimmed.to_string())),
                trimmed.to_string(),
            );
            return;
        }
        self.classify(core);
    }

    fn classify(&mut self, line: &str) {
        let raw = line.to_string();
        let final_result = parse_final(line);
        let is_final = final_result.is_some();

        match self.expect.take() {
            Some(Expect::UrcBody {
                kind,
                length,
                header,
            }) => {
                if !(is_final && self.pending.is_some()) {
                    self.emit(Frame::Urc(kind.urc(length, raw.clone())), raw);
                    return;
                }
                // The body never came and the pending command is ending: keep the
                // header as an unknown URC and let the final code do its job.
                self.emit(Frame::Urc(Urc::Unknown(header.clone())), header);
            }
            Some(Expect::ResponseBody) if !is_final && self.pending.is_some() => {
                self.emit(Frame::Line(raw.clone()), raw);
                return;
            }
            Some(Expect::ResponseBody) | None => {}
        }

        if self.last_command.as_deref() == Some(line) {
            self.emit(Frame::Echo(raw.clone()), raw);
            return;
        }

        if let Some(p) = self.pending.as_ref() {
            if p.sms_write {
                if line == ">" {
                    self.take_prompt();
                    return;
                }
                if p.prompted && is_hex(line) {
                    self.emit(Frame::Echo(raw.clone()), raw);
                    return;
                }
            }
        }

        if let Some(result) = final_result {
            self.final_code(result, raw);
            return;
        }

        match urc::classify(line, self.pending.as_ref()) {
            Class::Urc(u) => self.emit(Frame::Urc(u), raw),
            Class::Header(kind, length) => {
                self.expect = Some(Expect::UrcBody {
                    kind,
                    length,
                    header: raw,
                })
            }
            Class::NotUrc => match self.pending.as_ref() {
                Some(p) => {
                    let header = urc::split_name(line).is_some_and(|(name, _)| {
                        (name == "+CMGR" || name == "+CMGL") && p.has(&name)
                    });
                    if header {
                        self.expect = Some(Expect::ResponseBody);
                    }
                    self.emit(Frame::Line(raw.clone()), raw);
                }
                None => self.emit(Frame::Urc(Urc::Unknown(raw.clone())), raw),
            },
        }
    }

    fn final_code(&mut self, result: FinalResult, raw: String) {
        let dialing = self.pending.as_ref().is_some_and(|p| p.dial);
        // Call outcomes end only ATD/ATA/ATO; otherwise they report a call event
        // (at-modem.md section 6: NO CARRIER with no ATD/ATA pending ends the call).
        let call_event = match &result {
            FinalResult::NoCarrier => Some(Urc::NoCarrier),
            FinalResult::Busy => Some(Urc::Busy),
            FinalResult::NoAnswer => Some(Urc::NoAnswer),
            FinalResult::NoDialtone => Some(Urc::NoDialtone),
            FinalResult::Connect(text) => Some(Urc::Connect(text.clone())),
            _ => None,
        };
        match call_event {
            Some(event) if !dialing => self.emit(Frame::Urc(event), raw),
            _ if self.pending.is_none() => {
                // A late OK or error after an abandoned command must not end the next one.
                self.emit(Frame::Urc(Urc::Unknown(raw.clone())), raw)
            }
            _ => {
                self.pending = None;
                self.expect = None;
                self.emit(Frame::Final(result), raw);
            }
        }
    }
}

fn is_hex(line: &str) -> bool {
    line.len() >= 2 && line.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::at::RegKind;

    fn drain(f: &mut Framer) -> Vec<Frame> {
        std::iter::from_fn(|| f.next_frame()).collect()
    }

    fn run(command: Option<&str>, bytes: &[u8]) -> Vec<Frame> {
        let mut f = Framer::new();
        if let Some(c) = command {
            f.command_sent(c);
        }
        f.push(bytes);
        drain(&mut f)
    }

    fn line(s: &str) -> Frame {
        Frame::Line(s.into())
    }

    fn urc(u: Urc) -> Frame {
        Frame::Urc(u)
    }

    const OK: Frame = Frame::Final(FinalResult::Ok);

    #[test]
    fn response_lines_then_final() {
        let frames = run(Some("AT+CSQ"), b"\r\n+CSQ: 20,99\r\n\r\nOK\r\n");
        assert_eq!(frames, [line("+CSQ: 20,99"), OK]);
    }

    #[test]
    fn each_final_code_ends_the_command() {
        let cases: [(&str, &[u8], FinalResult); 6] = [
            ("AT+CPIN?", b"\r\nERROR\r\n", FinalResult::Error),
            (
                "AT+CPIN?",
                b"\r\n+CME ERROR: 10\r\n",
                FinalResult::CmeError(10),
            ),
            (
                "AT+CMGR=9",
                b"\r\n+CMS ERROR: 321\r\n",
                FinalResult::CmsError(321),
            ),
            (
                "AT+CPIN?",
                b"\r\n+CME ERROR: SIM busy\r\n",
                FinalResult::CmeError(14),
            ),
            (
                "AT+FOO",
                b"\r\nCOMMAND NOT SUPPORT\r\n",
                FinalResult::CommandNotSupport,
            ),
            (
                "ATD*99#",
                b"\r\nCONNECT 150000000\r\n",
                FinalResult::Connect("150000000".into()),
            ),
        ];
        for (command, bytes, want) in cases {
            let mut f = Framer::new();
            f.command_sent(command);
            f.push(bytes);
            assert_eq!(drain(&mut f), [Frame::Final(want)], "{command}");
            assert!(!f.is_pending());
        }
        for (code, want) in [
            ("NO CARRIER", FinalResult::NoCarrier),
            ("BUSY", FinalResult::Busy),
            ("NO ANSWER", FinalResult::NoAnswer),
            ("NO DIALTONE", FinalResult::NoDialtone),
        ] {
            let bytes = format!("\r\n{code}\r\n");
            assert_eq!(
                run(Some("ATD10086;"), bytes.as_bytes()),
                [Frame::Final(want)]
            );
        }
    }

    #[test]
    fn verbose_error_text_is_kept_in_last_raw() {
        let mut f = Framer::new();
        f.command_sent("AT+CPIN?");
        f.push(b"\r\n+CME ERROR: SIM not inserted\r\n");
        assert_eq!(
            f.next_frame(),
            Some(Frame::Final(FinalResult::CmeError(10)))
        );
        assert_eq!(f.last_raw(), "+CME ERROR: SIM not inserted");
    }

    #[test]
    fn call_outcomes_without_dial_are_urcs() {
        assert_eq!(run(None, b"\r\nNO CARRIER\r\n"), [urc(Urc::NoCarrier)]);
        assert_eq!(run(None, b"\r\nBUSY\r\n"), [urc(Urc::Busy)]);
        assert_eq!(
            run(None, b"\r\nCONNECT\r\n"),
            [urc(Urc::Connect(String::new()))]
        );
        // A hang-up during an unrelated command does not end that command.
        let frames = run(Some("AT+CSQ"), b"\r\nNO CARRIER\r\n+CSQ: 9,99\r\nOK\r\n");
        assert_eq!(frames, [urc(Urc::NoCarrier), line("+CSQ: 9,99"), OK]);
    }

    #[test]
    fn finals_with_nothing_pending_are_unknown_urcs() {
        let frames = run(None, b"\r\nOK\r\n\r\n+CME ERROR: 258\r\n");
        assert_eq!(
            frames,
            [
                urc(Urc::Unknown("OK".into())),
                urc(Urc::Unknown("+CME ERROR: 258".into()))
            ]
        );
        let mut f = Framer::new();
        f.command_sent("AT+CSQ");
        f.command_abandoned();
        f.push(b"\r\n+CPMS: 1,1\r\nOK\r\n");
        assert_eq!(
            drain(&mut f),
            [
                urc(Urc::Unknown("+CPMS: 1,1".into())),
                urc(Urc::Unknown("OK".into()))
            ]
        );
    }

    #[test]
    fn echo_of_the_command() {
        let frames = run(Some("ATE0"), b"ATE0\r\r\nOK\r\n");
        assert_eq!(frames, [Frame::Echo("ATE0".into()), OK]);
        // Still an echo after the final result (a repeated echo).
        let mut f = Framer::new();
        f.command_sent("AT");
        f.push(b"AT\r\r\nOK\r\nAT\r\n");
        assert_eq!(
            drain(&mut f),
            [Frame::Echo("AT".into()), OK, Frame::Echo("AT".into())]
        );
    }

    #[test]
    fn prompt_forms() {
        // "> " with no line end, then the PDU echo and the response.
        let mut f = Framer::new();
        f.command_sent("AT+CMGS=61");
        f.push(b"AT+CMGS=61\r\r\n> ");
        assert_eq!(
            drain(&mut f),
            [Frame::Echo("AT+CMGS=61".into()), Frame::Prompt]
        );
        assert_eq!(f.buffered_len(), 0);
        f.push(b"0011000B916\x1a\r\n+CMGS: 64\r\n\r\nOK\r\n");
        assert_eq!(
            drain(&mut f),
            [Frame::Echo("0011000B916".into()), line("+CMGS: 64"), OK]
        );
        // SIM7670G: ">" on its own line.
        assert_eq!(
            run(Some("AT+CMGS=26"), b"AT+CMGS=26\r\r\n>\r\n"),
            [Frame::Echo("AT+CMGS=26".into()), Frame::Prompt]
        );
        // The echo glued to the prompt.
        assert_eq!(
            run(
                Some("AT+CMGW=18"),
                b"\r\n> 0051FF\x1a\r\n+CMGW: 5\r\nOK\r\n"
            ),
            [
                Frame::Prompt,
                Frame::Echo("0051FF".into()),
                line("+CMGW: 5"),
                OK
            ]
        );
        // No SMS write pending: "> " is just text.
        assert_eq!(run(None, b"\r\n> x\r\n"), [urc(Urc::Unknown("> x".into()))]);
    }

    #[test]
    fn hex_before_the_prompt_is_not_an_echo() {
        let frames = run(Some("AT+CMGS=5"), b"\r\n+CMS ERROR: 304\r\n");
        assert_eq!(frames, [Frame::Final(FinalResult::CmsError(304))]);
        let frames = run(Some("AT+CGSN"), b"\r\n867962040000000\r\nOK\r\n");
        assert_eq!(frames, [line("867962040000000"), OK]);
    }

    #[test]
    fn urcs_inside_a_response() {
        let bytes =
            b"\r\n+CMGR: 0,,29\r\n^RSSI:3\r\n07911989\r\n\r\n+CMTI: \"SM\",4\r\nRING\r\nOK\r\n";
        let frames = run(Some("AT+CMGR=7"), bytes);
        // The line after the header is its PDU, whatever it looks like.
        assert_eq!(
            frames,
            [
                line("+CMGR: 0,,29"),
                line("^RSSI:3"),
                line("07911989"),
                urc(Urc::Cmti {
                    mem: "SM".into(),
                    index: 4
                }),
                urc(Urc::Ring),
                OK
            ]
        );
    }

    #[test]
    fn two_line_urc_mid_response() {
        let bytes = b"\r\n+CMGL: 1,1,,23\r\n0791AB\r\n+CDS: 25\r\n0791CD\r\n+CMGL: 2,1,,23\r\n0791EF\r\nOK\r\n";
        let frames = run(Some("AT+CMGL=4"), bytes);
        assert_eq!(
            frames,
            [
                line("+CMGL: 1,1,,23"),
                line("0791AB"),
                urc(Urc::Cds {
                    length: 25,
                    pdu: "0791CD".into()
                }),
                line("+CMGL: 2,1,,23"),
                line("0791EF"),
                OK
            ]
        );
    }

    #[test]
    fn urc_header_without_body_does_not_swallow_the_final() {
        let frames = run(Some("AT+CSQ"), b"\r\n+CMT: ,23\r\nOK\r\n");
        assert_eq!(frames, [urc(Urc::Unknown("+CMT: ,23".into())), OK]);
    }

    #[test]
    fn registration_response_and_urc_while_querying() {
        let frames = run(
            Some("AT+CREG?"),
            b"\r\n+CREG: 1,\"00A1\",\"1B2C\",7\r\n+CREG: 2,1,\"00A1\",\"1B2C\",7\r\nOK\r\n",
        );
        assert_eq!(
            frames,
            [
                urc(Urc::Registration {
                    kind: RegKind::Creg,
                    stat: 1,
                    lac: Some("00A1".into()),
                    ci: Some("1B2C".into())
                }),
                line("+CREG: 2,1,\"00A1\",\"1B2C\",7"),
                OK
            ]
        );
    }

    #[test]
    fn noise_is_ignored() {
        let bytes = b"\0\0\r\n\r\r\n\r\n+CSQ: 5,99\r\r\n\xff\xfe\r\n\0OK\r\n";
        let frames = run(Some("AT+CSQ"), bytes);
        assert_eq!(
            frames,
            [
                line("+CSQ: 5,99"),
                urc(Urc::Unknown("\u{fffd}\u{fffd}".into())),
                OK
            ]
        );
        // Garbage glued to a real line does not hide it.
        assert_eq!(run(Some("AT"), b"\xff\xffOK\r\n"), [OK]);
        // Unknown lines with nothing pending are never dropped.
        assert_eq!(
            run(None, b"\r\n+XYZ: \"UMTS\"\r\nhello\r\n"),
            [
                urc(Urc::Unknown("+XYZ: \"UMTS\"".into())),
                urc(Urc::Unknown("hello".into()))
            ]
        );
    }

    #[test]
    fn overlong_lines_are_dropped_and_reported() {
        let mut f = Framer::new();
        f.command_sent("AT+CSQ");
        let babble = vec![b'A'; MAX_LINE * 3];
        f.push(&babble);
        assert!(f.buffered_len() <= MAX_LINE);
        f.push(b"\r\n+CSQ: 5,99\r\nOK\r\n");
        assert_eq!(
            drain(&mut f),
            [
                urc(Urc::Overlong {
                    bytes: MAX_LINE * 3 + 1
                }),
                line("+CSQ: 5,99"),
                OK
            ]
        );
        // MAX_LINE counts the bytes before the LF, CR included: this one just fits...
        let mut f = Framer::new();
        let mut exact = vec![b'B'; MAX_LINE - 1];
        exact.extend_from_slice(b"\r\n");
        f.push(&exact);
        assert_eq!(drain(&mut f), [urc(Urc::Unknown("B".repeat(MAX_LINE - 1)))]);
        // ...and one more byte does not.
        f.push(&[b'B'; MAX_LINE]);
        f.push(b"\r\n");
        assert_eq!(
            drain(&mut f),
            [urc(Urc::Overlong {
                bytes: MAX_LINE + 1
            })]
        );
    }

    #[test]
    fn frames_use_the_state_at_arrival() {
        // The driver sends the next command before draining: the URC that came after OK
        // is still classified with nothing pending.
        let mut f = Framer::new();
        f.command_sent("AT+CSQ");
        f.push(b"\r\nOK\r\n\r\n+QTTS: 0\r\n");
        f.command_sent("AT+CMGL=4");
        assert_eq!(drain(&mut f), [OK, urc(Urc::Vendor("+QTTS: 0".into()))]);
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        /// Bytes that look like modem output often enough to reach every branch: pieces of
        /// real lines, terminators, prompts, noise and arbitrary bytes.
        fn modem_bytes() -> impl Strategy<Value = Vec<u8>> {
            let piece = prop_oneof![
                Just(b"\r\n".to_vec()),
                Just(b"\r\r\n".to_vec()),
                Just(b"> ".to_vec()),
                Just(b">\r\n".to_vec()),
                Just(b"OK\r\n".to_vec()),
                Just(b"+CMS ERROR: 500\r\n".to_vec()),
                Just(b"NO CARRIER\r\n".to_vec()),
                Just(b"+CMT: ,23\r\n".to_vec()),
                Just(b"+CDS: 25\r\n".to_vec()),
                Just(b"+CMGR: 0,,29\r\n".to_vec()),
                Just(b"+CREG: 1,\"5C9\",\"39E5\"\r\n".to_vec()),
                Just(b"0791198904\x1a\r\n".to_vec()),
                Just(b"AT+CMGS=61\r".to_vec()),
                Just(vec![0u8, 0xff, 0x1a, 0x1b]),
                proptest::collection::vec(any::<u8>(), 0..16),
            ];
            proptest::collection::vec(piece, 0..40).prop_map(|p| p.concat())
        }

        const COMMANDS: &[&str] = &["AT+CMGS=61", "AT+CMGR=3", "AT+CREG?", "ATD10086;", "AT"];

        /// Feeds `bytes` cut at `cuts`, sending `COMMANDS[i]` (or abandoning) at the
        /// byte offsets in `commands`, and returns every frame.
        fn feed(bytes: &[u8], cuts: &[usize], commands: &[(usize, usize)]) -> Vec<Frame> {
            let mut f = Framer::new();
            let mut frames = Vec::new();
            let mut points: Vec<usize> = cuts
                .iter()
                .chain(commands.iter().map(|(at, _)| at))
                .map(|&c| c.min(bytes.len()))
                .collect();
            points.push(bytes.len());
            points.sort_unstable();
            points.dedup();
            let mut start = 0;
            for point in points {
                for &(_, which) in commands
                    .iter()
                    .filter(|(at, _)| (*at).min(bytes.len()) == start)
                {
                    match COMMANDS.get(which) {
                        Some(c) => f.command_sent(c),
                        None => f.command_abandoned(),
                    }
                }
                f.push(&bytes[start..point]);
                frames.extend(std::iter::from_fn(|| f.next_frame()));
                assert!(f.buffered_len() <= MAX_LINE);
                start = point;
            }
            frames
        }

        proptest! {
            #[test]
            fn arbitrary_bytes_never_panic_and_stay_bounded(
                bytes in proptest::collection::vec(any::<u8>(), 0..20_000),
                chunk in 1usize..5000,
            ) {
                let mut f = Framer::new();
                f.command_sent("AT+CMGS=61");
                for piece in bytes.chunks(chunk) {
                    f.push(piece);
                    prop_assert!(f.buffered_len() <= MAX_LINE);
                    while let Some(frame) = f.next_frame() {
                        if let Frame::Line(l) | Frame::Echo(l) = frame {
                            prop_assert!(l.len() <= MAX_LINE * 3, "a line cannot outgrow its bytes");
                        }
                    }
                }
            }

            #[test]
            fn modem_like_bytes_frame_the_same_under_any_chunking(
                bytes in modem_bytes(),
                cuts in proptest::collection::vec(0usize..2000, 0..30),
                commands in proptest::collection::vec((0usize..2000, 0usize..6), 0..6),
            ) {
                let whole = feed(&bytes, &[], &commands);
                prop_assert_eq!(&feed(&bytes, &cuts, &commands), &whole);
                let every: Vec<usize> = (0..bytes.len()).collect();
                prop_assert_eq!(&feed(&bytes, &every, &commands), &whole);
            }
        }
    }
}
