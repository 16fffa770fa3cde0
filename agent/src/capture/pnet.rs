//! Interface listing and the portable capture backend, on `pnet_datalink`: the operating system's
//! own packet interface (AF_PACKET without a ring on Linux, BPF on the BSDs and macOS). Slower than
//! the TPACKET_V3 ring, it serves where the ring is unavailable. On Linux the socket is made here
//! with a large receive buffer, and its kernel counters (received, dropped) are read; elsewhere
//! there are none.
//!
//! Receive-only like the ring: the transmit half of the channel is dropped as soon as it is
//! opened, and nothing is ever written to it.

use super::{LiveSource, Packet, linktype};
use crate::capture::afpacket::RingStats;
use pnet_datalink::{Channel, Config, DataLinkReceiver, NetworkInterface};
use serde::Serialize;
use shoko_proto::Timestamp;
use std::io;
use std::time::{Duration, Instant};

/// A network interface as the operating system lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InterfaceInfo {
    /// Name (`eth1`).
    pub name: String,
    /// Interface index.
    pub index: u32,
    /// Hardware address, when it has one.
    pub mac: Option<String>,
    /// Addresses with prefix length (`192.168.0.10/24`).
    pub addresses: Vec<String>,
    /// Administratively up.
    pub up: bool,
    /// Operationally running (carrier).
    pub running: bool,
    /// A loopback interface.
    pub loopback: bool,
    /// Already in promiscuous mode.
    pub promiscuous: bool,
}

/// The interfaces of this machine, by name.
pub fn interfaces() -> Vec<InterfaceInfo> {
    let mut out: Vec<InterfaceInfo> = pnet_datalink::interfaces()
        .into_iter()
        .map(|i| InterfaceInfo {
            mac: i.mac.filter(|m| !m.is_zero()).map(|m| m.to_string()),
            addresses: i.ips.iter().map(ToString::to_string).collect(),
            up: i.is_up(),
            running: i.is_running(),
            loopback: i.is_loopback(),
            promiscuous: i.flags & libc::IFF_PROMISC as u32 != 0,
            name: i.name,
            index: i.index,
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

fn find(name: &str) -> io::Result<NetworkInterface> {
    pnet_datalink::interfaces()
        .into_iter()
        .find(|i| i.name == name)
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, format!("no interface named {name}")))
}

/// A receive-only capture through `pnet_datalink`.
pub struct PnetCapture {
    interface: String,
    rx: Box<dyn DataLinkReceiver>,
    packets: u64,
    /// The Linux packet socket (owned by `rx`), for its counters.
    #[cfg(target_os = "linux")]
    fd: i32,
    #[cfg(target_os = "linux")]
    totals: RingStats,
}

/// Receive buffer asked for the Linux socket: bursts wait here while the sensor is busy.
#[cfg(target_os = "linux")]
const RECEIVE_BUFFER: i32 = 16 << 20;

/// An AF_PACKET socket for all protocols with a large receive buffer (forced when privileged).
#[cfg(target_os = "linux")]
fn linux_socket() -> io::Result<i32> {
    // SAFETY: plain system calls; the option value outlives the calls.
    unsafe {
        let fd = libc::socket(
            libc::AF_PACKET,
            libc::SOCK_RAW,
            i32::from((libc::ETH_P_ALL as u16).to_be()),
        );
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        let size = RECEIVE_BUFFER;
        let set = |opt| libc::setsockopt(fd, libc::SOL_SOCKET, opt, (&size as *const i32).cast(), 4);
        if set(libc::SO_RCVBUFFORCE) != 0 {
            set(libc::SO_RCVBUF);
        }
        Ok(fd)
    }
}

impl PnetCapture {
    /// Opens `interface` for receiving; `promiscuous` asks the system to pass all frames.
    pub fn open(interface: &str, promiscuous: bool) -> io::Result<Self> {
        let iface = find(interface)?;
        #[cfg(target_os = "linux")]
        let fd = linux_socket()?;
        let config = Config {
            read_timeout: Some(Duration::from_millis(100)),
            read_buffer_size: 65536,
            promiscuous,
            #[cfg(target_os = "linux")]
            socket_fd: Some(fd),
            ..Config::default()
        };
        match pnet_datalink::channel(&iface, config)? {
            Channel::Ethernet(tx, rx) => {
                drop(tx); // receive-only: the transmit half is never used
                Ok(PnetCapture {
                    interface: interface.to_owned(),
                    rx,
                    packets: 0,
                    #[cfg(target_os = "linux")]
                    fd,
                    #[cfg(target_os = "linux")]
                    totals: RingStats::default(),
                })
            }
            _ => Err(io::Error::other(format!("{interface}: not an Ethernet channel"))),
        }
    }
}

impl LiveSource for PnetCapture {
    fn interface(&self) -> &str {
        &self.interface
    }

    fn next_batch(&mut self, timeout: Duration, sink: &mut dyn FnMut(Packet<'_>)) -> io::Result<usize> {
        let end = Instant::now() + timeout;
        let mut handed = 0;
        loop {
            match self.rx.next() {
                Ok(frame) => {
                    sink(Packet {
                        ts: Timestamp::now(),
                        linktype: linktype::ETHERNET,
                        orig_len: frame.len() as u32,
                        data: frame,
                    });
                    handed += 1;
                    self.packets += 1;
                    if handed >= 4096 {
                        return Ok(handed);
                    }
                }
                Err(e) if matches!(e.kind(), io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock) => {}
                Err(e) => return Err(e),
            }
            if Instant::now() >= end {
                return Ok(handed);
            }
        }
    }

    #[cfg(target_os = "linux")]
    fn kernel_stats(&mut self) -> io::Result<Option<RingStats>> {
        // SAFETY: getsockopt writes at most `len` bytes into `s`; the socket lives as long as `rx`.
        let mut s: libc::tpacket_stats = unsafe { std::mem::zeroed() };
        let mut len = std::mem::size_of::<libc::tpacket_stats>() as libc::socklen_t;
        let rc = unsafe {
            libc::getsockopt(
                self.fd,
                libc::SOL_PACKET,
                libc::PACKET_STATISTICS,
                (&mut s as *mut libc::tpacket_stats).cast(),
                &mut len,
            )
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        // The kernel resets its counters on every read; keep running totals.
        self.totals.packets += u64::from(s.tp_packets);
        self.totals.drops += u64::from(s.tp_drops);
        Ok(Some(self.totals))
    }

    #[cfg(not(target_os = "linux"))]
    fn kernel_stats(&mut self) -> io::Result<Option<RingStats>> {
        Ok(None) // the portable interface keeps no drop counters here
    }

    fn packets(&self) -> u64 {
        self.packets
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_is_listed_and_unknown_names_are_refused() {
        let all = interfaces();
        let lo = all.iter().find(|i| i.loopback).expect("a loopback interface");
        assert!(lo.up);
        assert!(lo.addresses.iter().any(|a| a.starts_with("127.0.0.1/")));
        let err = PnetCapture::open("no-such-if0", false).err().unwrap();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
    }
}
