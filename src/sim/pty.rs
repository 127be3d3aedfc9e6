//! The simulated modem's serial line: a pseudo-terminal pair and a stable symlink to its
//! slave side.
//!
//! The master is non-blocking and driven through `tokio::io::unix::AsyncFd`, so one tokio
//! task can wait on the line, on timers and on control requests at once and can be
//! cancelled at any await point (a blocking reader thread could not be stopped while a
//! `read` is pending). The simulator keeps its own slave fd open: without it the master
//! reads EIO whenever the daemon closes the port, and the pty would vanish between a
//! close and a reopen. The slave is put in raw mode so `\r`, `\n`, Ctrl-Z and ESC pass
//! unchanged and the tty layer echoes nothing (echo is the engine's job, as on a modem).
//!
//! Known limit: serialport opens ports with TIOCEXCL. If a non-root process holding the
//! port dies without closing it cleanly, the flag survives (our slave fd keeps the tty
//! alive) and the next non-root open fails with EBUSY until `close_port` makes a new pty.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::fcntl::{fcntl, FcntlArg, FdFlag, OFlag};
use nix::sys::termios::{cfmakeraw, tcgetattr, tcsetattr, SetArg};
use tokio::io::unix::AsyncFd;

pub struct Pty {
    master: AsyncFd<OwnedFd>,
    _slave: OwnedFd,
    slave_path: PathBuf,
}

impl Pty {
    /// Opens a fresh pseudo-terminal. Needs a tokio runtime with I/O enabled.
    pub fn open() -> io::Result<Pty> {
        let pair = nix::pty::openpty(None, None)?;
        for fd in [&pair.master, &pair.slave] {
            // Children of the test process (or of the daemon) must not inherit the pty:
            // an inherited master would keep the line alive after close_port.
            fcntl(fd.as_raw_fd(), FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC))?;
        }
        let mut t = tcgetattr(&pair.slave)?;
        cfmakeraw(&mut t);
        tcsetattr(&pair.slave, SetArg::TCSANOW, &t)?;
        let flags = OFlag::from_bits_truncate(fcntl(pair.master.as_raw_fd(), FcntlArg::F_GETFL)?);
        fcntl(
            pair.master.as_raw_fd(),
            FcntlArg::F_SETFL(flags | OFlag::O_NONBLOCK),
        )?;
        let slave_path = nix::unistd::ttyname(&pair.slave)?;
        // SAFETY: `register` needs the fd to stay valid and unchanged while registered;
        // an OwnedFd owned by the AsyncFd is exactly that (closed only when it drops).
        #[allow(unsafe_code)]
        let master = unsafe { AsyncFd::register(pair.master) }?;
        Ok(Pty {
            master,
            _slave: pair.slave,
            slave_path,
        })
    }

    /// `/dev/pts/N`: changes with every `open`.
    pub fn slave_path(&self) -> &Path {
        &self.slave_path
    }

    pub async fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let mut guard = self.master.readable().await?;
            match guard.try_io(|fd| Ok(nix::unistd::read(fd.get_ref().as_raw_fd(), buf)?)) {
                Ok(r) => return r,
                Err(_would_block) => continue,
            }
        }
    }

    pub async fn write_all(&self, mut data: &[u8]) -> io::Result<()> {
        while !data.is_empty() {
            let mut guard = self.master.writable().await?;
            match guard.try_io(|fd| Ok(nix::unistd::write(fd.get_ref(), data)?)) {
                Ok(Ok(n)) => data = &data[n..],
                Ok(Err(e)) => return Err(e),
                Err(_would_block) => continue,
            }
        }
        Ok(())
    }
}

/// Creates a private directory (mode 0700) for the stable device symlink.
pub fn private_dir() -> io::Result<PathBuf> {
    use std::os::unix::fs::DirBuilderExt;
    let base = std::env::temp_dir();
    let mut last = io::Error::new(io::ErrorKind::AlreadyExists, "no free name");
    for _ in 0..16 {
        let dir = base.join(format!(
            "appeal-sim-{}-{:08x}",
            std::process::id(),
            rand::random::<u32>()
        ));
        match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// Points `link` at `target` atomically (symlink beside it, then rename), so a reader of the
/// link never sees it missing during a re-point.
pub fn point_link(link: &Path, target: &Path) -> io::Result<()> {
    let tmp = link.with_extension("new");
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(target, &tmp)?;
    std::fs::rename(&tmp, link)
}
