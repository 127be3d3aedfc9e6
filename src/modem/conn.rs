//! One AT conversation over a port: one command in flight, its response collected from the
//! framer, URCs that arrive meanwhile (even mid-response) queued for the task to handle after.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;

use super::port::Port;
use crate::at::{self, FinalResult, Frame, Framer, Urc};

#[derive(Debug, thiserror::Error)]
pub enum CmdError {
    #[error("the port closed (modem unplugged or link down)")]
    Closed,
    #[error("port I/O: {0}")]
    Io(#[from] std::io::Error),
    #[error("no answer to {0} within {1:?}")]
    Timeout(String, Duration),
    #[error("+CME ERROR: {0} ({desc})", desc = at::cme_description(*.0))]
    Cme(u16),
    #[error("+CMS ERROR: {0} ({desc})", desc = at::cms_description(*.0))]
    Cms(u16),
    #[error("ERROR")]
    Error,
    #[error("unexpected result {0:?}")]
    Unexpected(FinalResult),
    /// A final result where AT+CMGS's `> ` belonged: a refusal, or a late answer to an
    /// earlier command. Nothing was sent.
    #[error("AT+CMGS answered {0:?} instead of the `> ` prompt; nothing sent")]
    NoPrompt(FinalResult),
}

impl CmdError {
    /// Worth trying again on the same link.
    pub fn is_transient(&self) -> bool {
        match self {
            CmdError::Timeout(..) => true,
            CmdError::Cme(c) => at::cme_is_transient(*c),
            CmdError::Cms(c) => at::cms_is_transient(*c),
            _ => false,
        }
    }

    /// The link itself is gone: reconnect.
    pub fn is_link_failure(&self) -> bool {
        matches!(self, CmdError::Closed | CmdError::Io(_))
    }
}

/// The resynchronisation probe (see `Conn::resync`).
const PROBE: &str = "AT+CSCS?";
/// How long the line must stay silent before a resynchronisation counts as done.
const QUIET: Duration = Duration::from_millis(300);

pub struct Conn {
    port: Box<dyn Port>,
    framer: Framer,
    urcs: VecDeque<Urc>,
    buf: Box<[u8; 2048]>,
    /// When the modem last sent us anything.
    pub last_contact: Option<Instant>,
}

impl Conn {
    pub fn new(port: Box<dyn Port>) -> Conn {
        Conn {
            port,
            framer: Framer::new(),
            urcs: VecDeque::new(),
            buf: Box::new([0; 2048]),
            last_contact: None,
        }
    }

    /// URCs received so far and not yet handled.
    pub fn take_urc(&mut self) -> Option<Urc> {
        self.urcs.pop_front()
    }

    /// The next URC only if it matches (to gather a burst of +CMTI into one batch).
    pub fn take_urc_if(&mut self, f: impl Fn(&Urc) -> bool) -> Option<Urc> {
        if self.urcs.front().is_some_and(f) {
            self.urcs.pop_front()
        } else {
            None
        }
    }

    /// The first queued URC that matches, wherever it is; the others keep their order. For a
    /// call's keys and signals, which must not wait behind an unrelated URC (a +CDSI that
    /// arrived first is handled after the call).
    pub fn take_first_urc(&mut self, f: impl Fn(&Urc) -> bool) -> Option<Urc> {
        let i = self.urcs.iter().position(f)?;
        self.urcs.remove(i)
    }

    /// Drops every queued URC that matches (the rest of a boot's announcements).
    pub fn drop_urcs(&mut self, f: impl Fn(&Urc) -> bool) {
        self.urcs.retain(|u| !f(u));
    }

    /// Reads once from the port into the framer. Cancel-safe: a cancelled read consumed nothing.
    pub async fn read_more(&mut self) -> Result<(), CmdError> {
        let n = self.port.read(&mut self.buf[..]).await?;
        if n == 0 {
            return Err(CmdError::Closed);
        }
        self.last_contact = Some(Instant::now());
        self.framer.push(&self.buf[..n]);
        Ok(())
    }

    /// While idle: read and queue whatever URCs arrive.
    pub async fn idle_read(&mut self) -> Result<(), CmdError> {
        self.read_more().await?;
        self.drain_idle();
        Ok(())
    }

    fn drain_idle(&mut self) {
        while let Some(f) = self.framer.next_frame() {
            match f {
                Frame::Urc(u) => self.urcs.push_back(u),
                // No command pending: a stray line or result is noise from a previous timeout.
                other => tracing::debug!(frame = ?other, "ignored frame while idle"),
            }
        }
    }

    async fn write(&mut self, bytes: &[u8]) -> Result<(), CmdError> {
        self.port.write_all(bytes).await?;
        self.port.flush().await?;
        Ok(())
    }

    /// Writes raw bytes (ESC to abort a stale prompt, a wake-up).
    pub async fn write_raw(&mut self, bytes: &[u8]) -> Result<(), CmdError> {
        self.write(bytes).await
    }

    /// Runs one command and returns its information lines.
    pub async fn command(&mut self, cmd: &str, timeout: Duration) -> Result<Vec<String>, CmdError> {
        self.drain_idle();
        self.framer.command_sent(cmd);
        let mut line = Vec::with_capacity(cmd.len() + 1);
        line.extend_from_slice(cmd.as_bytes());
        line.push(b'\r');
        self.write(&line).await?;
        let deadline = Instant::now() + timeout;
        let mut lines = Vec::new();
        loop {
            while let Some(f) = self.framer.next_frame() {
                match f {
                    Frame::Echo(_) | Frame::Prompt => {}
                    Frame::Line(l) => lines.push(l),
                    Frame::Urc(u) => self.urcs.push_back(u),
                    Frame::Final(r) => return final_to_result(r, lines),
                }
            }
            self.read_until(deadline, cmd, timeout).await?;
        }
    }

    async fn read_until(
        &mut self,
        deadline: Instant,
        cmd: &str,
        timeout: Duration,
    ) -> Result<(), CmdError> {
        match tokio::time::timeout_at(deadline, self.read_more()).await {
            Ok(r) => r,
            Err(_) => {
                self.framer.command_abandoned();
                Err(CmdError::Timeout(cmd.to_string(), timeout))
            }
        }
    }

    /// After a timeout the abandoned command's answer may still come, and must not be taken
    /// for the next command's (a late +CMGR taken as the next index's would get the wrong
    /// message deleted). Probes with `AT+CSCS?`, whose `+CSCS:` line no other command of the
    /// driver produces, until an answer carries that line (answers come in order, so what
    /// came before it is stale), then drains until the line has been quiet for a moment.
    /// False when no probe got its own answer within `attempts`.
    pub async fn resync(&mut self, timeout: Duration, attempts: u32) -> Result<bool, CmdError> {
        for _ in 0..attempts {
            match self.command(PROBE, timeout).await {
                Ok(lines) if lines.iter().any(|l| l.trim_start().starts_with("+CSCS:")) => {
                    self.drain_quiet(QUIET, timeout).await?;
                    return Ok(true);
                }
                Err(e) if e.is_link_failure() => return Err(e),
                _ => {}
            }
        }
        Ok(false)
    }

    /// Reads and discards until nothing came for `quiet` (or `max` passed); URCs are kept.
    async fn drain_quiet(&mut self, quiet: Duration, max: Duration) -> Result<(), CmdError> {
        let deadline = Instant::now() + max;
        loop {
            let until = (Instant::now() + quiet).min(deadline);
            match tokio::time::timeout_at(until, self.read_more()).await {
                Ok(r) => {
                    r?;
                    self.drain_idle();
                    if Instant::now() >= deadline {
                        return Ok(());
                    }
                }
                Err(_) => {
                    self.drain_idle();
                    return Ok(());
                }
            }
        }
    }

    /// AT+CMGS in PDU mode: command, "> " prompt, the PDU and Ctrl-Z, then +CMGS: <mr>.
    pub async fn send_pdu(
        &mut self,
        tpdu_len: usize,
        hex: &str,
        timeout: Duration,
    ) -> Result<u8, CmdError> {
        self.drain_idle();
        let cmd = format!("AT+CMGS={tpdu_len}");
        self.framer.command_sent(&cmd);
        self.write(format!("{cmd}\r").as_bytes()).await?;
        let deadline = Instant::now() + timeout;
        // Phase 1: the prompt (or an error instead of it).
        'prompt: loop {
            while let Some(f) = self.framer.next_frame() {
                match f {
                    Frame::Prompt => break 'prompt,
                    Frame::Urc(u) => self.urcs.push_back(u),
                    Frame::Final(r) => {
                        // Never "sent": an OK here is most likely a late answer to an earlier
                        // command, and the real prompt may still come; ESC cancels it so the
                        // next command is not taken for PDU text.
                        let _ = self.write(&[0x1b]).await;
                        return Err(match r {
                            FinalResult::CmsError(c) => CmdError::Cms(c),
                            FinalResult::CmeError(c) => CmdError::Cme(c),
                            other => CmdError::NoPrompt(other),
                        });
                    }
                    Frame::Echo(_) | Frame::Line(_) => {}
                }
            }
            if let Err(e) = self.read_until(deadline, &cmd, timeout).await {
                // ESC cancels a prompt we may have missed, so the PDU is never taken for a command.
                let _ = self.write(&[0x1b]).await;
                return Err(e);
            }
        }
        let mut body = Vec::with_capacity(hex.len() + 1);
        body.extend_from_slice(hex.as_bytes());
        body.push(0x1a);
        self.write(&body).await?;
        // Phase 2: +CMGS: <mr> and OK.
        let mut lines = Vec::new();
        loop {
            while let Some(f) = self.framer.next_frame() {
                match f {
                    Frame::Line(l) => lines.push(l),
                    Frame::Urc(u) => self.urcs.push_back(u),
                    Frame::Echo(_) | Frame::Prompt => {}
                    Frame::Final(r) => {
                        let lines = final_to_result(r, lines)?;
                        return Ok(lines
                            .iter()
                            .find_map(|l| super::parse::cmgs(l))
                            .unwrap_or(0));
                    }
                }
            }
            self.read_until(deadline, &cmd, timeout).await?;
        }
    }
}

fn final_to_result(r: FinalResult, lines: Vec<String>) -> Result<Vec<String>, CmdError> {
    match r {
        FinalResult::Ok => Ok(lines),
        FinalResult::CmeError(c) => Err(CmdError::Cme(c)),
        FinalResult::CmsError(c) => Err(CmdError::Cms(c)),
        FinalResult::Error | FinalResult::CommandNotSupport => Err(CmdError::Error),
        other => Err(CmdError::Unexpected(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};

    fn pair() -> (Conn, DuplexStream) {
        let (ours, modem) = tokio::io::duplex(4096);
        (Conn::new(Box::new(ours)), modem)
    }

    /// Runs `cmd`, which must succeed within 2 s.
    async fn answered(conn: &mut Conn, cmd: &str) -> Vec<String> {
        conn.command(cmd, Duration::from_secs(2)).await.unwrap()
    }

    /// Reads what the driver wrote until `end` shows up.
    async fn read_until(modem: &mut DuplexStream, end: &[u8]) -> Vec<u8> {
        let mut got = Vec::new();
        let mut buf = [0u8; 512];
        while !got.windows(end.len()).any(|w| w == end) {
            let n = modem.read(&mut buf).await.expect("read");
            assert!(n > 0, "driver closed the line");
            got.extend_from_slice(&buf[..n]);
        }
        got
    }

    #[tokio::test]
    async fn ok_before_the_prompt_is_an_error_and_the_pdu_is_never_written() {
        for answer in ["\r\nOK\r\n", "\r\nERROR\r\n"] {
            let (mut conn, mut modem) = pair();
            let driver = tokio::spawn(async move {
                let r = conn.send_pdu(3, "00AABBCC", Duration::from_secs(2)).await;
                (r, conn)
            });
            read_until(&mut modem, b"AT+CMGS=3\r").await;
            modem.write_all(answer.as_bytes()).await.unwrap();
            let (r, _conn) = driver.await.unwrap();
            assert!(r.is_err(), "{answer:?} before `> ` taken as sent: {r:?}");
            // Whatever the driver wrote after the command, it was not the PDU.
            let mut rest = vec![0u8; 64];
            let n = tokio::time::timeout(Duration::from_millis(100), modem.read(&mut rest))
                .await
                .unwrap_or(Ok(0))
                .unwrap_or(0);
            assert!(
                !rest[..n].windows(8).any(|w| w == b"00AABBCC"),
                "the PDU went out without a prompt"
            );
        }
    }

    #[tokio::test]
    async fn after_a_timeout_a_late_answer_is_never_taken_for_the_next_command() {
        let (mut conn, mut modem) = pair();
        let fake = tokio::spawn(async move {
            read_until(&mut modem, b"AT+CMGR=1\r").await;
            // Busy past the driver's timeout; the probe is already waiting when it answers.
            read_until(&mut modem, b"AT+CSCS?\r").await;
            modem
                .write_all(b"\r\n+CMGR: 0,,1\r\nAAAA\r\n\r\nOK\r\n")
                .await
                .unwrap();
            modem
                .write_all(b"\r\n+CSCS: \"GSM\"\r\n\r\nOK\r\n")
                .await
                .unwrap();
            read_until(&mut modem, b"AT+CSCS?\r").await;
            modem
                .write_all(b"\r\n+CSCS: \"GSM\"\r\n\r\nOK\r\n")
                .await
                .unwrap();
            read_until(&mut modem, b"AT+CMGR=2\r").await;
            modem
                .write_all(b"\r\n+CMGR: 0,,1\r\nBBBB\r\n\r\nOK\r\n")
                .await
                .unwrap();
            modem
        });
        let t = Duration::from_millis(300);
        assert!(matches!(
            conn.command("AT+CMGR=1", t).await,
            Err(CmdError::Timeout(..))
        ));
        assert!(conn.resync(Duration::from_secs(2), 3).await.unwrap());
        let lines = answered(&mut conn, "AT+CMGR=2").await;
        assert!(lines.iter().any(|l| l == "BBBB"), "{lines:?}");
        assert!(!lines.iter().any(|l| l == "AAAA"), "{lines:?}");
        fake.await.unwrap();
    }

    #[tokio::test]
    async fn a_urc_mid_response_byte_by_byte_is_queued_and_the_answer_kept_whole() {
        let (mut conn, mut modem) = pair();
        let fake = tokio::spawn(async move {
            read_until(&mut modem, b"AT+CMGL=4\r").await;
            // Echo, a listing with a +CMTI between its lines, one byte per write as a slow
            // UART delivers it.
            let answer = b"AT+CMGL=4\r\r\n+CMGL: 1,0,,3\r\n0011AA\r\n+CMTI: \"SM\",2\r\n\
                           +CMGL: 2,0,,3\r\n0011BB\r\n\r\nOK\r\n";
            for b in answer {
                modem.write_all(&[*b]).await.unwrap();
            }
            modem
        });
        let lines = answered(&mut conn, "AT+CMGL=4").await;
        assert_eq!(
            lines,
            ["+CMGL: 1,0,,3", "0011AA", "+CMGL: 2,0,,3", "0011BB"]
        );
        assert!(
            matches!(conn.take_urc(), Some(Urc::Cmti { index: 2, .. })),
            "the +CMTI is kept for after the command"
        );
        fake.await.unwrap();
    }

    #[tokio::test]
    async fn a_line_that_closes_mid_command_is_a_link_failure() {
        let (mut conn, mut modem) = pair();
        let fake = tokio::spawn(async move {
            read_until(&mut modem, b"AT+CSQ\r").await;
            modem.write_all(b"\r\n+CSQ: 2").await.unwrap();
            drop(modem);
        });
        let e = conn
            .command("AT+CSQ", Duration::from_secs(2))
            .await
            .unwrap_err();
        assert!(e.is_link_failure(), "{e:?}");
        fake.await.unwrap();
    }
}
