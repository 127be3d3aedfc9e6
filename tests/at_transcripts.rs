//! Replays the public modem dialogues of tests/data/modem-transcripts.md through the AT
//! framer, the way the modem driver drives it (command_sent before each command, drain
//! after each read, command_abandoned when a command got no final code), and checks:
//! - the exact frame sequence written down below for every transcript;
//! - that the frames do not depend on how the bytes were chunked: whole, one byte at a
//!   time, every 2-way split, and a few hundred random chunkings per transcript.

use std::collections::BTreeMap;

use appeal_gateway::at::{FinalResult, Frame, Framer, RegKind, Urc};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

const TRANSCRIPTS: &str = include_str!("data/modem-transcripts.md");

/// One thing that happened on the line, in order.
#[derive(Debug, Clone)]
enum Event {
    /// The host wrote a command line: the driver calls `command_sent` first.
    Command(String),
    /// Bytes from the modem.
    Bytes(Vec<u8>),
    /// Data the host wrote after a command (the PDU hex after the prompt), without Ctrl-Z.
    Write(String),
}

#[derive(Debug)]
struct Transcript {
    id: String,
    events: Vec<Event>,
}

/// Cuts the explanatory comment off a dialogue line: it starts after a run of spaces.
fn strip_comment(text: &str) -> &str {
    match text.find("  (") {
        Some(i) => text[..i].trim_end(),
        None => text.trim_end(),
    }
}

/// Parses the C string literals of a fixture line (`"\r\r\n+CRING: VOICE\r\r\n"  "..."`).
fn c_literals(mut rest: &str) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        rest = rest.trim_start();
        let Some(body) = rest.strip_prefix('"') else {
            return out;
        };
        let mut chars = body.char_indices();
        let mut end = body.len();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => {
                    end = i + 1;
                    break;
                }
                '\\' => match chars.next().map(|(_, e)| e) {
                    Some('r') => out.push(b'\r'),
                    Some('n') => out.push(b'\n'),
                    Some(other) => out.extend(other.to_string().bytes()),
                    None => {}
                },
                c => out.extend(c.to_string().bytes()),
            }
        }
        rest = &body[end..];
    }
}

fn is_hex_byte(token: &str) -> bool {
    token.len() == 2 && token.bytes().all(|b| b.is_ascii_hexdigit())
}

fn parse_block(lines: &[&str]) -> Vec<Event> {
    let mut events = Vec::new();
    let bytes = |events: &mut Vec<Event>, b: Vec<u8>| match events.last_mut() {
        Some(Event::Bytes(prev)) => prev.extend(b),
        _ => events.push(Event::Bytes(b)),
    };
    for raw in lines {
        let line = raw.trim();
        if let Some(host) = line.strip_prefix(">>") {
            let host = strip_comment(host.trim());
            // `AT+CMGS=42<CR>0691...<^Z>`: the command, then the PDU written after it.
            let (command, data) = host.split_once("<CR>").unwrap_or((host, ""));
            let is_command = command
                .get(..2)
                .is_some_and(|at| at.eq_ignore_ascii_case("AT"))
                && !command.contains("<^Z>");
            let data = if is_command {
                events.push(Event::Command(command.to_string()));
                data
            } else {
                host
            };
            if let Some(pdu) = data.strip_suffix("<^Z>") {
                events.push(Event::Write(pdu.to_string()));
            }
        } else if let Some(modem) = line.strip_prefix("<<").or_else(|| line.strip_prefix("..")) {
            if line.starts_with("...") {
                continue;
            }
            let text = strip_comment(modem.trim());
            if text == ">" {
                // The standard prompt: CR LF "> " and no line end.
                bytes(&mut events, b"\r\n> ".to_vec());
            } else {
                bytes(&mut events, format!("\r\n{text}\r\n").into_bytes());
            }
        } else if line.starts_with('"') {
            bytes(&mut events, c_literals(line));
        } else if line.split_whitespace().next().is_some_and(is_hex_byte) {
            let dump: Vec<u8> = line
                .split_whitespace()
                .take_while(|t| is_hex_byte(t))
                .filter_map(|t| u8::from_str_radix(t, 16).ok())
                .collect();
            bytes(&mut events, dump);
        }
    }
    events
}

fn transcripts() -> Vec<Transcript> {
    let mut out = Vec::new();
    let mut heading = String::new();
    let mut block: Option<Vec<&str>> = None;
    for line in TRANSCRIPTS.lines() {
        if line.starts_with("```") {
            match block.take() {
                Some(lines) => out.push(Transcript {
                    id: heading.clone(),
                    events: parse_block(&lines),
                }),
                None => block = Some(Vec::new()),
            }
            continue;
        }
        match block.as_mut() {
            Some(lines) => lines.push(line),
            None => {
                if let Some(h) = line.strip_prefix("### ") {
                    heading = h.split_whitespace().next().unwrap_or_default().to_string();
                }
            }
        }
    }
    out
}

/// Feeds a transcript, cutting the modem's byte stream at `cuts` (offsets into the
/// concatenation of all modem bytes) as well as where the host wrote a command.
fn feed(pre: Option<&str>, events: &[Event], cuts: &[usize]) -> Vec<Frame> {
    let mut framer = Framer::new();
    let mut frames = Vec::new();
    let drain = |framer: &mut Framer, frames: &mut Vec<Frame>| {
        while let Some(frame) = framer.next_frame() {
            frames.push(frame);
        }
    };
    if let Some(command) = pre {
        framer.command_sent(command);
    }
    let mut offset = 0;
    for event in events {
        match event {
            Event::Command(command) => {
                if framer.is_pending() {
                    // The driver timed out waiting for a final code (Wavecom +CPIN?).
                    framer.command_abandoned();
                }
                framer.command_sent(command);
            }
            Event::Bytes(bytes) => {
                let end = offset + bytes.len();
                let mut start = offset;
                let mut inner: Vec<usize> = cuts
                    .iter()
                    .copied()
                    .filter(|&c| c > offset && c < end)
                    .collect();
                inner.sort_unstable();
                inner.push(end);
                for cut in inner {
                    framer.push(&bytes[start - offset..cut - offset]);
                    drain(&mut framer, &mut frames);
                    start = cut;
                }
                offset = end;
            }
            Event::Write(_) => {}
        }
    }
    frames
}

/// The same dialogue from a modem with echo on: every command line comes back before its
/// response, and the PDU hex written after the prompt comes back (its Ctrl-Z included)
/// before `+CMGS:`.
fn with_echo(events: &[Event]) -> Vec<Event> {
    let mut out: Vec<Event> = Vec::new();
    for event in events {
        let echoed = match event {
            Event::Command(command) => Some(format!("{command}\r")),
            Event::Write(pdu) if pdu.bytes().all(|b| b.is_ascii_hexdigit()) => {
                Some(format!("{pdu}\x1a"))
            }
            _ => None,
        };
        match (event, out.last_mut()) {
            (Event::Bytes(b), Some(Event::Bytes(prev))) => prev.extend(b),
            _ => out.push(event.clone()),
        }
        if let Some(echoed) = echoed {
            out.push(Event::Bytes(echoed.into_bytes()));
        }
    }
    out
}

/// Where the echo frames go: an echo arrives before anything else the modem says after
/// the command or the write, so it lands where the frame count stood at that moment.
fn expected_with_echo(pre: Option<&str>, events: &[Event]) -> Vec<Frame> {
    let mut frames = Vec::new();
    let mut prefix = Vec::new();
    for event in events {
        prefix.push(event.clone());
        let echo_line = match event {
            Event::Command(command) => command.clone(),
            Event::Write(pdu) if pdu.bytes().all(|b| b.is_ascii_hexdigit()) => pdu.clone(),
            _ => continue,
        };
        let before = feed(pre, &prefix, &[]);
        frames.push((before.len(), echo_line));
    }
    let mut out = feed(pre, events, &[]);
    for (at, line) in frames.into_iter().rev() {
        out.insert(at, Frame::Echo(line));
    }
    out
}

fn modem_len(events: &[Event]) -> usize {
    events
        .iter()
        .map(|e| match e {
            Event::Bytes(b) => b.len(),
            Event::Command(_) | Event::Write(_) => 0,
        })
        .sum()
}

// Frame constructors that keep the expectations short.
fn l(s: &str) -> Frame {
    Frame::Line(s.into())
}
fn echo(s: &str) -> Frame {
    Frame::Echo(s.into())
}
fn u(urc: Urc) -> Frame {
    Frame::Urc(urc)
}
fn vendor(s: &str) -> Frame {
    u(Urc::Vendor(s.into()))
}
fn dtmf(c: char) -> Frame {
    u(Urc::Dtmf(c))
}
fn cme(n: u16) -> Frame {
    Frame::Final(FinalResult::CmeError(n))
}
fn cms(n: u16) -> Frame {
    Frame::Final(FinalResult::CmsError(n))
}
fn cmti(mem: &str, index: i32) -> Frame {
    u(Urc::Cmti {
        mem: mem.into(),
        index,
    })
}
fn clip(number: &str) -> Frame {
    u(Urc::Clip {
        number: number.into(),
    })
}
const OK: Frame = Frame::Final(FinalResult::Ok);
const PROMPT: Frame = Frame::Prompt;

/// Per transcript: a command assumed pending before the excerpt starts (the excerpt
/// begins mid-dialogue), and the exact frames.
fn expectations() -> BTreeMap<&'static str, (Option<&'static str>, Vec<Frame>)> {
    let mut m = BTreeMap::new();
    m.insert(
        "1.1",
        (
            None,
            vec![
                cmti("SM", 7),
                l("+CPMS: 7,20,7,20,7,20"),
                OK,
                l("+CMGR: 0,,29"),
                l("0791198904100161240C911979099137640000511090718303220BC8B4421174CFD175D014"),
                OK,
                OK,
                PROMPT,
                l("+CMGS: 64"),
                OK,
                u(Urc::Cds {
                    length: 25,
                    pdu: "079119890400202306400C91197909913764511090718384225110907183252200"
                        .into(),
                }),
            ],
        ),
    );
    let reg = |kind, stat| Urc::Registration {
        kind,
        stat,
        lac: Some("5C9".into()),
        ci: Some("39E5".into()),
    };
    m.insert(
        "1.2",
        (
            None,
            vec![
                u(reg(RegKind::Creg, 1)),
                u(reg(RegKind::Cgreg, 1)),
                OK,
                u(Urc::Unknown("+CME ERROR: 258".into())),
                u(Urc::Cusd {
                    mode: 5,
                    text: None,
                }),
            ],
        ),
    );
    m.insert(
        "1.3",
        (
            None,
            vec![
                echo("ATZ"),
                Frame::Final(FinalResult::Error),
                echo("AT+CPIN?"),
                l("+CPIN: SIM PIN"),
                OK,
                echo("AT+CPIN=\"1111\""),
                OK,
                cme(14),
            ],
        ),
    );
    m.insert(
        "1.4",
        (
            Some("AT+CMGS=23"),
            vec![
                l("+CMGS: 40"),
                OK,
                OK,
                u(Urc::Cdsi {
                    mem: "SR".into(),
                    index: 8,
                }),
                l("+CPMS: 0,0,3,23,3,23"),
                OK,
                cms(321),
            ],
        ),
    );
    m.insert("1.5", (None, vec![l("+CMGS: 2"), OK]));
    m.insert(
        "2.1",
        (
            None,
            vec![
                OK,
                OK,
                dtmf('1'),
                dtmf('2'),
                dtmf('3'),
                OK,
                OK,
                OK,
                dtmf('1'),
                dtmf('2'),
                dtmf('3'),
            ],
        ),
    );
    m.insert(
        "2.2",
        (
            None,
            vec![
                u(Urc::Ring),
                clip("+27821231234"),
                u(Urc::Cring("VOICE".into())),
                clip("+27821231234"),
                OK,
                OK,
            ],
        ),
    );
    m.insert(
        "2.3",
        (
            None,
            vec![
                u(Urc::Cring("VOICE".into())),
                dtmf('8'),
                dtmf('*'),
                dtmf('#'),
                vendor("VOICE CALL: BEGIN"),
                vendor("VOICE CALL: END: 000041"),
                vendor("MISSED_CALL: 11:01AM 07712345678"),
                vendor("+CLCC: 1,1,0,0,0,\"123456789\",161"),
                vendor("^CIEV: 1,0"),
                vendor("+CLCC: 1,1,0,0,0,\"123456789\",161"),
                vendor("+CLCC: 2,1,5,0,0,\"987654321\",161"),
                vendor("^CIEV: 1,0"),
            ],
        ),
    );
    m.insert(
        "2.4",
        (Some("AT+CMGS=26"), vec![echo("AT+CMGS=26"), PROMPT]),
    );
    m.insert(
        "3.1",
        (
            None,
            vec![
                OK,
                l("+COPS: 0"),
                OK,
                cme(13),
                OK,
                u(Urc::SimStatus("SIM PIN".into())),
                OK,
                u(Urc::Ready("+CPIN: READY".into())),
                vendor("+QUSIM: 1"),
                u(Urc::Ready("+QIND: PB DONE".into())),
                u(Urc::Ready("+QIND: SMS DONE".into())),
                l("+CPIN: READY"),
                OK,
                l("+COPS: 0,0,\"CHINA MOBILE\",7"),
                OK,
            ],
        ),
    );
    m.insert(
        "3.2",
        (
            None,
            vec![
                l("+CPMS: \"ME\",0,255,\"ME\",0,255,\"ME\",0,255"),
                OK,
                l("+CPMS: 0,50,0,50,0,50"),
                OK,
                OK,
                cme(10),
                OK,
                cme(10),
                OK,
                l("+CSCA: \"+8613800210500\",145"),
                OK,
                l("+CSMS: 1,1,1"),
                OK,
            ],
        ),
    );
    m.insert("3.3", (None, vec![OK, PROMPT, l("+CMGW: 5"), OK]));
    m.insert(
        "3.4",
        (
            None,
            vec![
                l("+CSMS: 1,1,1"),
                OK,
                OK,
                u(Urc::Cmt {
                    length: 28,
                    pdu: "This is a test from Quectel.".into(),
                }),
                OK,
                cms(340),
            ],
        ),
    );
    m.insert(
        "3.5",
        (
            None,
            vec![
                OK,
                vendor("+QTTS: 0"),
                OK,
                vendor("+QTTS: 0"),
                OK,
                vendor("+QWTTS: 0"),
                OK,
            ],
        ),
    );
    m.insert("3.6", (None, vec![OK, dtmf('8')]));
    m.insert(
        "3.7",
        (
            Some("AT+CMGS=23"),
            vec![l("+CMGS: 78"), OK, cmti_cdsi("SM", 0), OK],
        ),
    );
    m.insert(
        "3.8",
        (
            None,
            vec![
                vendor("+QIND: \"ccinfo\",2,0,3,0,0,\"XXXXXXXXX\",129"),
                vendor("+QIND: \"ccinfo\",2,0,-1,0,0,\"XXXXXXXXX\",129"),
                vendor("^DSCI: 2,1,4,0,+48XXXXXXXXX,145"),
            ],
        ),
    );
    m.insert(
        "4.1",
        (
            None,
            vec![
                OK,
                vendor("^ORIG:1,0"),
                vendor("^CONF:1"),
                vendor("^CONN:1,0"),
                OK,
                OK,
                vendor("^CEND:1,5,29,16"),
                u(Urc::Cring("VOICE".into())),
                clip("+27821231234"),
            ],
        ),
    );
    m.insert(
        "4.2",
        (
            None,
            vec![
                u(Urc::Rssi(13)),
                vendor("^BOOT:48175390,0,0,0,89"),
                u(Urc::Rssi(25)),
            ],
        ),
    );
    m.insert("4.3", (None, vec![l("+CREG: 2,1,4CA,81DE445"), OK]));
    m.insert(
        "4.4",
        (
            None,
            vec![
                l("+CPMS: (\"SM\",\"ME\"),(\"SM\",\"ME\"),(\"SM\",\"ME\")"),
                OK,
            ],
        ),
    );
    m.insert(
        "5.1",
        (
            None,
            vec![
                l("+CPIN: READY"),
                l("+CPMS: ((\"SM\",\"BM\",\"SR\"),(\"SM\"))"),
                OK,
                l("+CPMS: 14,50,14,50"),
                OK,
                vendor("+WIND: 5,1"),
                vendor("+WIND: 2"),
                OK,
                u(Urc::NoCarrier),
                vendor("+WIND: 6,1"),
            ],
        ),
    );
    let zdonr = |ps: &str| vendor(&format!("+ZDONR: \"METEOR\",272,3,\"{ps}\",\"ROAM_OFF\""));
    m.insert(
        "5.2",
        (
            None,
            vec![
                u(Urc::Connect(String::new())),
                vendor("HANGUP: 1"),
                zdonr("CS_ONLY"),
                vendor("+ZPASR: \"UMTS\""),
                PROMPT,
                zdonr("CS_ONLY"),
                vendor("+ZPASR: \"UMTS\""),
                zdonr("CS_PS"),
                vendor("+ZPASR: \"UMTS\""),
                l("+CMGS: <mr>"),
                OK,
                l("+CMGR: ,,27"),
                l("0297F1061C0F910B487228297020F5317062419272803170624192138000"),
                OK,
            ],
        ),
    );
    m.insert(
        "5.3",
        (
            Some("AT+CMGR=0"),
            vec![
                l("+CMGR: 0,\"\",50"),
                l("07916163838428F9040B916121021021F700005190514164220A23C4B0BCFD5E8740C4B0BCFD5E83C26E3248196687C9A0301D440DBBC3677918"),
                l("+CMGL: 17,3,35"),
                l("079100F40D1101000F001000B917118336058F300001954747A0E4ACF41F27298CDCE83C6EF371B0402814020"),
            ],
        ),
    );
    m.insert(
        "5.4",
        (
            None,
            vec![
                u(Urc::Cmt {
                    length: 23,
                    pdu: "07918497483252F0840B918496445078F700007121320144744004D4F29C0E".into(),
                }),
                u(Urc::Cds {
                    length: 25,
                    pdu: "07914875215652F006360B914892347527F3817003018104808170030181448000"
                        .into(),
                }),
                cmti("SM", 1),
                l("+CMGR: 1,,23"),
                l("07918497483252F0040B918496445078F700007121320144744004D4F29C0E"),
                OK,
                cms(300),
            ],
        ),
    );
    m.insert(
        "5.5",
        (
            None,
            vec![
                l("+CSCA: 002B00390037003200350034003100320030003000330032,145"),
                l("+CNMI: (2),(0-1,3),(0,2),(0-1),(0)"),
                l("+CNMI:(0-3),(0-3),(0-3),(0,1),(0,1)"),
            ],
        ),
    );
    m
}

fn cmti_cdsi(mem: &str, index: i32) -> Frame {
    u(Urc::Cdsi {
        mem: mem.into(),
        index,
    })
}

#[test]
fn every_transcript_has_an_expectation() {
    let ids: Vec<String> = transcripts().into_iter().map(|t| t.id).collect();
    let expected: Vec<String> = expectations().keys().map(|k| k.to_string()).collect();
    assert_eq!(ids, expected);
    assert!(ids.len() >= 25, "parsed only {} transcripts", ids.len());
}

#[test]
fn transcripts_give_the_expected_frames() {
    let expectations = expectations();
    for t in transcripts() {
        let (pre, want) = &expectations[t.id.as_str()];
        let got = feed(*pre, &t.events, &[]);
        assert_eq!(&got, want, "transcript {}", t.id);
    }
}

#[test]
fn one_byte_at_a_time_gives_the_same_frames() {
    let expectations = expectations();
    for t in transcripts() {
        let (pre, want) = &expectations[t.id.as_str()];
        let every: Vec<usize> = (1..modem_len(&t.events)).collect();
        assert_eq!(&feed(*pre, &t.events, &every), want, "transcript {}", t.id);
    }
}

#[test]
fn every_two_way_split_gives_the_same_frames() {
    let expectations = expectations();
    for t in transcripts() {
        let (pre, want) = &expectations[t.id.as_str()];
        for cut in 1..modem_len(&t.events) {
            assert_eq!(
                &feed(*pre, &t.events, &[cut]),
                want,
                "transcript {} split at {cut}",
                t.id
            );
        }
    }
}

#[test]
fn random_chunkings_give_the_same_frames() {
    let expectations = expectations();
    for t in transcripts() {
        let (pre, want) = &expectations[t.id.as_str()];
        let len = modem_len(&t.events);
        let mut runner = TestRunner::new(Config {
            cases: 300,
            failure_persistence: None,
            ..Config::default()
        });
        let cuts = proptest::collection::vec(1..len.max(2), 0..24);
        let result = runner.run(&cuts, |cuts| {
            prop_assert_eq!(&feed(*pre, &t.events, &cuts), want);
            Ok(())
        });
        if let Err(e) = result {
            panic!("transcript {}: {e}", t.id);
        }
    }
}

#[test]
fn comment_stripping_and_literals() {
    assert_eq!(
        strip_comment("+CREG: 1, 5C9, 39E5      (registration URC)"),
        "+CREG: 1, 5C9, 39E5"
    );
    assert_eq!(strip_comment("+CNMI: (2),(0-1,3)"), "+CNMI: (2),(0-1,3)");
    assert_eq!(
        c_literals(r#""\r\n+CLCC: 1,\"12\",161\r\n"   "\r\nX\r\n"   (note)"#),
        b"\r\n+CLCC: 1,\"12\",161\r\n\r\nX\r\n"
    );
}

/// 1.3 and 2.4 already show the echo; 1.5 writes its PDU without waiting for a prompt.
const ALREADY_ECHOED_OR_PROMPTLESS: &[&str] = &["1.3", "1.5", "2.4"];

#[test]
fn echo_on_gives_echo_frames_and_nothing_else_changes() {
    let expectations = expectations();
    let mut echoed_pdus = 0;
    for t in transcripts() {
        if ALREADY_ECHOED_OR_PROMPTLESS.contains(&t.id.as_str()) {
            continue;
        }
        let (pre, _) = &expectations[t.id.as_str()];
        let want = expected_with_echo(*pre, &t.events);
        let events = with_echo(&t.events);
        echoed_pdus += want
            .iter()
            .filter(|f| matches!(f, Frame::Echo(e) if !e.starts_with("AT")))
            .count();
        assert_eq!(
            feed(*pre, &events, &[]),
            want,
            "transcript {} with echo",
            t.id
        );
        let len = modem_len(&events);
        let every: Vec<usize> = (1..len).collect();
        assert_eq!(
            feed(*pre, &events, &every),
            want,
            "transcript {} bytewise",
            t.id
        );
        for cut in 1..len {
            assert_eq!(
                feed(*pre, &events, &[cut]),
                want,
                "transcript {} at {cut}",
                t.id
            );
        }
    }
    // 1.1 and 3.3 write a real PDU after the prompt.
    assert_eq!(echoed_pdus, 2);
}
