//! Linux TUN devices: synack reads and writes whole IP packets, and the
//! kernel routes the device's prefix through them, so any ordinary TCP
//! program reaches synack at an address of its own.
//!
//! The kernel side of the device gets `kernel_addr/prefix`; synack uses
//! another address inside that prefix (`local`), which the kernel reaches
//! through the device.

use std::io;
use std::net::IpAddr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};

use tun_rs::{DeviceBuilder, SyncDevice};

/// How to create a TUN device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TunConfig {
    /// Device name (at most 15 bytes on Linux).
    pub name: String,
    /// The kernel's address on the device.
    pub kernel_addr: IpAddr,
    /// Prefix length of the device's network.
    pub prefix: u8,
    /// Device MTU.
    pub mtu: u16,
}

/// A non-blocking TUN device.
pub struct TunLink {
    device: SyncDevice,
    mtu: u16,
}

impl std::fmt::Debug for TunLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TunLink")
            .field("fd", &self.device.as_raw_fd())
            .field("mtu", &self.mtu)
            .finish()
    }
}

/// Why a device could not be created, with the cause spelled out.
fn explain(e: io::Error, name: &str) -> io::Error {
    let hint = match e.kind() {
        io::ErrorKind::PermissionDenied => " (creating a TUN device needs root or CAP_NET_ADMIN)",
        io::ErrorKind::NotFound => " (is /dev/net/tun present? load the tun module)",
        _ => "",
    };
    io::Error::new(
        e.kind(),
        format!("cannot create TUN device {name}: {e}{hint}"),
    )
}

impl TunLink {
    /// Creates the device, gives the kernel side its address and brings it
    /// up. Fails with a clear message when not permitted.
    pub fn create(config: &TunConfig) -> io::Result<TunLink> {
        let mut builder = DeviceBuilder::new()
            .name(config.name.clone())
            .mtu(config.mtu);
        builder = match config.kernel_addr {
            IpAddr::V4(v4) => builder.ipv4(v4, config.prefix, None),
            IpAddr::V6(v6) => builder.ipv6(v6, config.prefix),
        };
        let device = builder.build_sync().map_err(|e| explain(e, &config.name))?;
        device.set_nonblocking(true)?;
        Ok(TunLink {
            device,
            mtu: config.mtu,
        })
    }

    /// The device MTU: the largest packet to write.
    pub fn mtu(&self) -> u16 {
        self.mtu
    }

    /// Reads one IP packet; `WouldBlock` when none is waiting.
    pub fn try_recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.device.recv(buf)
    }

    /// Writes one IP packet; `WouldBlock` when the device queue is full.
    pub fn try_send(&self, packet: &[u8]) -> io::Result<usize> {
        self.device.send(packet)
    }
}

impl AsRawFd for TunLink {
    fn as_raw_fd(&self) -> RawFd {
        self.device.as_raw_fd()
    }
}

impl AsFd for TunLink {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.device.as_fd()
    }
}
