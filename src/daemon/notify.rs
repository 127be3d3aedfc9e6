//! systemd notification (sd_notify) without a C library: one datagram to $NOTIFY_SOCKET.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

/// Sends a state string ("READY=1", "WATCHDOG=1") when started by systemd; a no-op otherwise.
pub fn sd_notify(state: &str) {
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
        return;
    };
    let Ok(sock) = std::os::unix::net::UnixDatagram::unbound() else {
        return;
    };
    let bytes = path.as_encoded_bytes();
    let result = if let Some(abstract_name) = bytes.strip_prefix(b"@") {
        use std::os::linux::net::SocketAddrExt;
        std::os::unix::net::SocketAddr::from_abstract_name(abstract_name)
            .and_then(|addr| sock.send_to_addr(state.as_bytes(), &addr))
    } else {
        sock.send_to(state.as_bytes(), &path)
    };
    if let Err(e) = result {
        tracing::debug!(error = %e, "sd_notify failed");
    }
}

/// Pings the systemd watchdog at half its interval while the runtime is alive.
pub async fn watchdog(shutdown: CancellationToken) {
    let Some(usec) = std::env::var("WATCHDOG_USEC")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    else {
        return;
    };
    let every = Duration::from_micros(usec / 2).max(Duration::from_secs(1));
    loop {
        sd_notify("WATCHDOG=1");
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
    }
}
