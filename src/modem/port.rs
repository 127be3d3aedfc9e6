//! Opening the byte stream to a modem: a serial device through tokio-serial, or a TCP socket
//! for a modem behind ser2net.

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};

/// Anything the driver can speak AT over.
pub trait Port: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Port for T {}

/// Where a modem is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    Serial { path: String, baud: u32 },
    Tcp { addr: String },
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Endpoint::Serial { path, baud } => write!(f, "{path}@{baud}"),
            Endpoint::Tcp { addr } => write!(f, "tcp://{addr}"),
        }
    }
}

pub async fn open(endpoint: &Endpoint) -> std::io::Result<Box<dyn Port>> {
    match endpoint {
        Endpoint::Serial { path, baud } => {
            use tokio_serial::SerialPortBuilderExt;
            let port = tokio_serial::new(path, *baud)
                .data_bits(tokio_serial::DataBits::Eight)
                .parity(tokio_serial::Parity::None)
                .stop_bits(tokio_serial::StopBits::One)
                .flow_control(tokio_serial::FlowControl::None)
                .timeout(Duration::from_secs(1))
                .open_native_async()
                .map_err(std::io::Error::other)?;
            Ok(Box::new(port))
        }
        Endpoint::Tcp { addr } => {
            let s = tokio::time::timeout(
                Duration::from_secs(10),
                tokio::net::TcpStream::connect(addr),
            )
            .await
            .map_err(|_| {
                std::io::Error::new(std::io::ErrorKind::TimedOut, "connect timed out")
            })??;
            s.set_nodelay(true)?;
            Ok(Box::new(s))
        }
    }
}
