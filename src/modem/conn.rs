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
                    Frame::Final(r) => return final_to_result(r, Vec::new()).map(|_| 0),
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
