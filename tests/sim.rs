//! The simulated modem seen from the daemon's side: a real pseudo-terminal opened through
//! tokio-serial, spoken to in AT.

use std::time::Duration;

use appeal_gateway::pdu::{self, Pdu};
use appeal_gateway::sim::{CallEvent, SimModem, SimOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::{timeout, Instant};
use tokio_serial::{SerialPortBuilderExt, SerialStream};

const WAIT: Duration = Duration::from_secs(5);

/// A tiny AT client: writes lines, reads until an expected string shows up.
struct Client {
    port: SerialStream,
    buf: Vec<u8>,
}

impl Client {
    async fn open(sim: &SimModem) -> Client {
        let path = sim.device_path();
        let port = tokio_serial::new(path.to_string_lossy(), 115200)
            .open_native_async()
            .unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
        Client {
            port,
            buf: Vec::new(),
        }
    }

    async fn send(&mut self, s: &str) {
        self.port.write_all(s.as_bytes()).await.expect("write");
    }

    /// Reads until `needle` appears; returns everything up to and including it.
    async fn expect(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let n = needle.as_bytes();
            if let Some(i) = self.buf.windows(n.len()).position(|w| w == n) {
                let rest = self.buf.split_off(i + n.len());
                let got = std::mem::replace(&mut self.buf, rest);
                return String::from_utf8_lossy(&got).into_owned();
            }
            let text = String::from_utf8_lossy(&self.buf).into_owned();
            let mut chunk = [0u8; 512];
            match tokio::time::timeout_at(deadline, self.port.read(&mut chunk)).await {
                Ok(Ok(n)) if n > 0 => self.buf.extend_from_slice(&chunk[..n]),
                Ok(r) => panic!("line closed while waiting for {needle:?}: {r:?}; got {text:?}"),
                Err(_) => panic!("timed out waiting for {needle:?}; got {text:?}"),
            }
        }
    }

    /// Sends a command and returns the response through its final code.
    async fn cmd(&mut self, c: &str) -> String {
        self.send(&format!("{c}\r")).await;
        let mut out = String::new();
        loop {
            out.push_str(&self.expect("\r\n").await);
            let last = out
                .trim_end()
                .rsplit("\r\n")
                .next()
                .unwrap_or("")
                .to_string();
            if last == "OK"
                || last == "ERROR"
                || last.starts_with("+CMS ERROR")
                || last.starts_with("+CME ERROR")
                || last == "NO CARRIER"
            {
                return out;
            }
        }
    }

    /// Nothing arrives within `d`.
    async fn quiet_for(&mut self, d: Duration) -> bool {
        let mut chunk = [0u8; 64];
        match timeout(d, self.port.read(&mut chunk)).await {
            Err(_) => self.buf.is_empty(),
            Ok(Ok(n)) => {
                self.buf.extend_from_slice(&chunk[..n]);
                false
            }
            Ok(Err(_)) => false,
        }
    }

    async fn init(&mut self) {
        self.cmd("ATE0").await;
        assert!(self.cmd("AT+CMGF=0").await.ends_with("OK\r\n"));
    }
}

async fn sim(opts: SimOptions) -> SimModem {
    SimModem::start(opts).await.expect("start sim")
}

fn pdu_after(header: &str, response: &str) -> String {
    let mut lines = response
        .split("\r\n")
        .skip_while(|l| !l.starts_with(header));
    lines.next().expect("header line");
    lines.next().expect("PDU line").to_string()
}

#[tokio::test]
async fn echo_is_on_until_ate0() {
    let s = sim(SimOptions::default()).await;
    let mut c = Client::open(&s).await;
    assert_eq!(c.cmd("AT").await, "AT\r\n\r\nOK\r\n");
    assert_eq!(c.cmd("ATE0").await, "ATE0\r\n\r\nOK\r\n");
    assert_eq!(c.cmd("AT").await, "\r\nOK\r\n");
    assert_eq!(c.cmd("AT+CSQ").await, "\r\n+CSQ: 20,99\r\n\r\nOK\r\n");
    s.shutdown().await;
}

#[tokio::test]
async fn pin_flow() {
    let s = sim(SimOptions {
        pin: Some("4321".into()),
        ..SimOptions::default()
    })
    .await;
    let mut c = Client::open(&s).await;
    c.cmd("ATE0").await;
    assert_eq!(c.cmd("AT+CMEE=1").await, "\r\nOK\r\n");
    assert_eq!(c.cmd("AT+CPIN?").await, "\r\n+CPIN: SIM PIN\r\n\r\nOK\r\n");
    assert_eq!(c.cmd("AT+CMGL=4").await, "\r\n+CMS ERROR: 311\r\n");
    assert_eq!(c.cmd("AT+CPIN=\"1111\"").await, "\r\n+CME ERROR: 16\r\n");
    assert_eq!(c.cmd("AT+CPIN=\"4321\"").await, "\r\nOK\r\n");
    assert_eq!(c.cmd("AT+CPIN?").await, "\r\n+CPIN: READY\r\n\r\nOK\r\n");
    assert_eq!(c.cmd("AT+CREG?").await, "\r\n+CREG: 0,1\r\n\r\nOK\r\n");
}

#[tokio::test]
async fn received_text_is_announced_and_reads_back_through_the_codec() {
    let s = sim(SimOptions::default()).await;
    let mut c = Client::open(&s).await;
    c.init().await;
    s.receive_sms("+8613912345678", "村口路灯坏了，请派人修理");
    assert_eq!(
        c.expect("\r\n+CMTI: \"SM\",1\r\n").await,
        "\r\n+CMTI: \"SM\",1\r\n"
    );
    let r = c.cmd("AT+CMGR=1").await;
    assert!(r.starts_with("\r\n+CMGR: 0,,"), "{r:?}");
    match pdu::decode_hex(&pdu_after("+CMGR:", &r), true) {
        Ok(Pdu::Deliver(d)) => {
            assert_eq!(d.sender, "+8613912345678");
            assert_eq!(d.text, "村口路灯坏了，请派人修理");
            assert_eq!(d.concat, None);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(s.stored_count(), 1);
    c.send("AT+CMGD=1\r").await;
    assert!(s.wait_until(WAIT, |m| m.stored_count() == 0).await);
    c.expect("\r\nOK\r\n").await;
}

#[tokio::test]
async fn long_text_parts_arrive_in_the_given_order_with_duplicates() {
    let s = sim(SimOptions::default()).await;
    let mut c = Client::open(&s).await;
    c.init().await;
    let text = "水".repeat(100); // UCS2: two parts
    s.receive_parts("10086", &text, &[1, 0, 1]);
    c.expect("+CMTI: \"SM\",3\r\n").await;
    let list = c.cmd("AT+CMGL=4").await;
    let seqs: Vec<(u8, u8)> = list
        .split("\r\n")
        .filter(|l| !l.is_empty() && !l.starts_with('+') && *l != "OK")
        .map(|l| match pdu::decode_hex(l, true) {
            Ok(Pdu::Deliver(d)) => {
                let cc = d.concat.expect("concat");
                (cc.seq, cc.total)
            }
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(seqs, [(2, 2), (1, 2), (2, 2)]);
}

#[tokio::test]
async fn preloaded_messages_are_listed_not_announced_and_deleting_frees_a_full_sim() {
    let s = sim(SimOptions {
        storage_capacity: 3,
        ..SimOptions::default()
    })
    .await;
    for i in 0..3 {
        s.preload("+8613800000000", &format!("old {i}"));
    }
    let mut c = Client::open(&s).await;
    c.init().await;
    assert!(
        c.quiet_for(Duration::from_millis(200)).await,
        "preload is silent"
    );
    let list = c.cmd("AT+CMGL=4").await;
    assert_eq!(list.matches("+CMGL: ").count(), 3, "{list:?}");
    assert!(list.contains("+CMGL: 1,0,,") && list.contains("+CMGL: 3,0,,"));
    assert_eq!(
        c.cmd("AT+CPMS?").await,
        "\r\n+CPMS: \"SM\",3,3,\"SM\",3,3,\"SM\",3,3\r\n\r\nOK\r\n"
    );
    // Full: the network keeps the new text until a slot frees.
    s.receive_sms("+8613800000001", "new");
    assert!(c.quiet_for(Duration::from_millis(200)).await);
    assert_eq!(c.cmd("AT+CMGD=2").await, "\r\nOK\r\n");
    c.expect("+CMTI: \"SM\",2\r\n").await;
    let r = c.cmd("AT+CMGR=2").await;
    match pdu::decode_hex(&pdu_after("+CMGR:", &r), true) {
        Ok(Pdu::Deliver(d)) => assert_eq!(d.text, "new"),
        other => panic!("{other:?}"),
    }
}

async fn send_sms(c: &mut Client, part: &pdu::EncodedPart) -> String {
    c.send(&format!("AT+CMGS={}\r", part.tpdu_len)).await;
    c.expect("\r\n> ").await;
    c.send(&format!("{}\x1a", part.hex)).await;
    let mut out = String::new();
    loop {
        out.push_str(&c.expect("\r\n").await);
        let t = out.trim_end();
        if t.ends_with("OK") || t.contains("ERROR") {
            return out;
        }
    }
}

#[tokio::test]
async fn cmgs_prompt_records_the_text_and_fail_sends_gives_cms_errors() {
    let s = sim(SimOptions::default()).await;
    let mut c = Client::open(&s).await;
    c.init().await;
    let parts = pdu::encode_submit(
        "+8613700000009",
        "您的诉求已登记，编号 SQ-0001。",
        &pdu::SubmitOptions::default(),
    )
    .expect("encode");
    assert_eq!(
        send_sms(&mut c, &parts[0]).await,
        "\r\n+CMGS: 0\r\n\r\nOK\r\n"
    );
    s.fail_sends(42, 1);
    assert_eq!(send_sms(&mut c, &parts[0]).await, "\r\n+CMS ERROR: 42\r\n");
    assert_eq!(
        send_sms(&mut c, &parts[0]).await,
        "\r\n+CMGS: 1\r\n\r\nOK\r\n"
    );
    assert_eq!(s.sent().len(), 2);
    assert_eq!(
        s.sent_texts(),
        vec![
            (
                "+8613700000009".to_string(),
                "您的诉求已登记，编号 SQ-0001。".to_string()
            );
            2
        ]
    );
}

#[tokio::test]
async fn status_report_comes_as_cdsi_with_ds_2() {
    let s = sim(SimOptions {
        report_delay: Duration::from_millis(50),
        ..SimOptions::default()
    })
    .await;
    let mut c = Client::open(&s).await;
    c.init().await;
    assert_eq!(c.cmd("AT+CNMI=2,1,0,2,0").await, "\r\nOK\r\n");
    let opts = pdu::SubmitOptions {
        status_report: true,
        ..pdu::SubmitOptions::default()
    };
    let parts = pdu::encode_submit("+8613700000009", "ok", &opts).expect("encode");
    assert!(send_sms(&mut c, &parts[0]).await.contains("+CMGS: 0"));
    // Reports live in "SR", as on EC2x/SIM7600: select it to read them.
    c.expect("\r\n+CDSI: \"SR\",1\r\n").await;
    assert!(c.cmd("AT+CPMS=\"SR\"").await.ends_with("OK\r\n"));
    let r = c.cmd("AT+CMGR=1").await;
    match pdu::decode_hex(&pdu_after("+CMGR:", &r), true) {
        Ok(Pdu::StatusReport(rep)) => assert_eq!((rep.message_ref, rep.status), (0, 0)),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn close_port_gives_eof_then_the_same_path_works_again() {
    let s = sim(SimOptions::default()).await;
    let mut c = Client::open(&s).await;
    c.init().await;
    s.preload("+8613800000000", "kept");
    let target_before = std::fs::read_link(s.device_path()).expect("symlink");

    let s2 = s.clone();
    let closer = tokio::spawn(async move { s2.close_port(Duration::from_millis(300)).await });
    let mut chunk = [0u8; 64];
    match timeout(WAIT, c.port.read(&mut chunk)).await {
        Ok(Ok(0)) | Ok(Err(_)) => {}
        other => panic!("expected EOF or an error, got {other:?}"),
    }
    drop(c);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!s.device_path().exists(), "unplugged while down");
    s.receive_sms("+8613800000001", "while down");
    closer.await.expect("close_port");

    assert!(s.device_path().exists());
    let mut c = Client::open(&s).await;
    // The modem rebooted: echo is back on and +CNMI forgotten, so the text that came
    // meanwhile is stored silently (a driver finds it by sweeping).
    assert_eq!(c.cmd("AT").await, "AT\r\n\r\nOK\r\n");
    assert_eq!(s.stored_count(), 2);
    let _ = target_before; // the pts number may be reused; only the link's behaviour matters
}

#[tokio::test]
async fn daemon_may_close_and_reopen_the_port_freely() {
    let s = sim(SimOptions::default()).await;
    for _ in 0..3 {
        let mut c = Client::open(&s).await;
        c.init().await;
        assert_eq!(c.cmd("AT").await, "\r\nOK\r\n");
    }
    // A URC written while nobody has the port open is read by the next opener.
    s.receive_sms("+8613800000001", "hello");
    tokio::time::sleep(Duration::from_millis(50)).await;
    let mut c = Client::open(&s).await;
    c.expect("+CMTI: \"SM\",1\r\n").await;
}

#[tokio::test]
async fn garbage_lands_between_responses_and_the_modem_keeps_working() {
    let s = sim(SimOptions::default()).await;
    let mut c = Client::open(&s).await;
    c.init().await;
    s.inject_garbage(b"\xff\x00~~junk~~\r\n");
    let junk = c.expect("~~junk~~\r\n").await;
    assert!(junk.as_bytes().contains(&0), "raw bytes pass unchanged");
    assert_eq!(c.cmd("AT").await, "\r\nOK\r\n");
}

#[tokio::test]
async fn urcs_never_split_a_slow_response() {
    let s = sim(SimOptions {
        latency: Duration::from_millis(150),
        ..SimOptions::default()
    })
    .await;
    for i in 0..5 {
        s.preload("+8613800000000", &format!("m{i}"));
    }
    let mut c = Client::open(&s).await;
    c.init().await;
    let t0 = Instant::now();
    c.send("AT+CMGL=4\r").await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    s.receive_sms("+8613800000001", "during");
    s.ring("+8613800000002");
    let list = c.expect("\r\nOK\r\n").await;
    assert!(
        t0.elapsed() >= Duration::from_millis(150),
        "latency applies"
    );
    assert_eq!(list.matches("+CMGL:").count(), 5);
    assert!(!list.contains("CMTI") && !list.contains("RING"), "{list:?}");
    c.expect("+CMTI: \"SM\",6\r\n").await;
    c.expect("RING\r\n").await;
    assert_eq!(c.cmd("ATH").await, "\r\nOK\r\n");
}

#[tokio::test]
async fn unresponsive_modem_reads_but_never_answers() {
    let s = sim(SimOptions::default()).await;
    let mut c = Client::open(&s).await;
    c.init().await;
    s.set_unresponsive(true);
    c.send("AT\r").await;
    assert!(c.quiet_for(Duration::from_millis(300)).await);
    s.set_unresponsive(false);
    assert_eq!(c.cmd("AT").await, "\r\nOK\r\n");
}

#[tokio::test]
async fn incoming_call_rings_with_caller_id() {
    let s = sim(SimOptions {
        ring_interval: Duration::from_millis(100),
        ..SimOptions::default()
    })
    .await;
    let mut c = Client::open(&s).await;
    c.init().await;
    c.cmd("AT+CLIP=1").await;
    s.ring("+8613500000005");
    c.expect("\r\nRING\r\n\r\n+CLIP: \"+8613500000005\",145,,,,0\r\n")
        .await;
    c.expect("\r\nRING\r\n").await;
    // A +CLIP of the ring in flight may precede the answer; nothing rings afterwards.
    assert!(c.cmd("ATA").await.ends_with("\r\nOK\r\n"));
    assert!(c.quiet_for(Duration::from_millis(300)).await);
    assert_eq!(
        s.calls(),
        [
            CallEvent::Ringing {
                from: "+8613500000005".into()
            },
            CallEvent::Answered {
                from: "+8613500000005".into()
            }
        ]
    );
}

#[tokio::test]
async fn shutdown_and_last_drop_remove_the_device() {
    let s = sim(SimOptions::default()).await;
    let path = s.device_path();
    assert!(path.exists());
    s.shutdown().await;
    assert!(!path.exists());

    let s = sim(SimOptions::default()).await;
    let path = s.device_path();
    let dir = path.parent().expect("dir").to_path_buf();
    let clone = s.clone();
    drop(s);
    assert!(path.exists(), "a clone keeps it alive");
    drop(clone);
    assert!(!path.exists() && !dir.exists());
}
