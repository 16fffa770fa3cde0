//! Live capture on Linux: an AF_PACKET socket with a TPACKET_V3 memory-mapped receive ring.
//!
//! The socket is receive-only: this module never calls `send`, `sendto`, `sendmsg` or `write` on
//! it, and it binds no transmit ring. The kernel fills blocks of frames; we read a block when the
//! kernel hands it to user space and give it back. Frames whose VLAN tag the NIC or kernel stripped
//! get the tag re-inserted, so the decoder sees what was on the wire. Kernel drop counters are read
//! with `PACKET_STATISTICS`.

use super::{Packet, linktype};
use shoko_proto::Timestamp;
use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{Ordering, fence};
use std::time::Duration;

/// Settings of the receive ring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RingConfig {
    /// Bytes per block (a multiple of the page size).
    pub block_size: u32,
    /// Number of blocks.
    pub block_count: u32,
    /// Milliseconds after which the kernel hands over a block that is not full.
    pub timeout_ms: u32,
    /// Put the interface in promiscuous mode while capturing (SPAN ports usually need it).
    pub promiscuous: bool,
    /// Join a fanout group with this id (hash by flow), to spread one interface over processes.
    pub fanout_group: Option<u16>,
}

impl Default for RingConfig {
    fn default() -> Self {
        RingConfig {
            block_size: 1 << 20,
            block_count: 64,
            timeout_ms: 100,
            promiscuous: true,
            fanout_group: None,
        }
    }
}

/// Counters the kernel keeps for the socket.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RingStats {
    /// Frames the kernel passed to the ring.
    pub packets: u64,
    /// Frames dropped because the ring was full.
    pub drops: u64,
    /// Times the ring was frozen for lack of free blocks.
    pub freezes: u64,
}

/// An open capture ring bound to one interface.
pub struct AfPacketRing {
    fd: OwnedFd,
    map: *mut u8,
    map_len: usize,
    block_size: usize,
    block_count: usize,
    current: usize,
    interface: String,
    totals: RingStats,
    /// Frames handed to sinks.
    handed: u64,
    /// Buffer for frames whose VLAN tag is re-inserted.
    retag: Vec<u8>,
}

// The mapping is owned by this value alone and only touched through `&mut self`.
unsafe impl Send for AfPacketRing {}

fn check(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

fn setsockopt<T>(fd: &OwnedFd, level: libc::c_int, name: libc::c_int, value: &T) -> io::Result<()> {
    // SAFETY: `value` points to a live T of the size given.
    let ret = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (value as *const T).cast(),
            std::mem::size_of::<T>() as libc::socklen_t,
        )
    };
    check(ret).map(|_| ())
}

fn context(e: io::Error, what: &str, interface: &str) -> io::Error {
    io::Error::new(e.kind(), format!("{interface}: {what}: {e}"))
}

impl AfPacketRing {
    /// Opens a receive ring on `interface`. Needs CAP_NET_RAW (and CAP_NET_ADMIN for promiscuous
    /// mode).
    pub fn open(interface: &str, cfg: &RingConfig) -> io::Result<Self> {
        let ctx = |e, what| context(e, what, interface);
        let name = CString::new(interface)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "interface name"))?;
        // SAFETY: plain FFI calls with valid arguments.
        let ifindex = unsafe { libc::if_nametoindex(name.as_ptr()) };
        if ifindex == 0 {
            return Err(ctx(io::Error::last_os_error(), "no such interface"));
        }
        let protocol = (libc::ETH_P_ALL as u16).to_be();
        let raw = check(unsafe {
            libc::socket(
                libc::AF_PACKET,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                i32::from(protocol),
            )
        })
        .map_err(|e| ctx(e, "cannot open an AF_PACKET socket (needs CAP_NET_RAW)"))?;
        // SAFETY: `raw` is a fresh descriptor we own.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let version = libc::tpacket_versions::TPACKET_V3 as libc::c_int;
        setsockopt(&fd, libc::SOL_PACKET, libc::PACKET_VERSION, &version)
            .map_err(|e| ctx(e, "TPACKET_V3"))?;
        let frame_size = 2048u32;
        let req = libc::tpacket_req3 {
            tp_block_size: cfg.block_size,
            tp_block_nr: cfg.block_count,
            tp_frame_size: frame_size,
            tp_frame_nr: cfg.block_size / frame_size * cfg.block_count,
            tp_retire_blk_tov: cfg.timeout_ms,
            tp_sizeof_priv: 0,
            tp_feature_req_word: 0,
        };
        setsockopt(&fd, libc::SOL_PACKET, libc::PACKET_RX_RING, &req).map_err(|e| ctx(e, "receive ring"))?;
        let map_len = cfg.block_size as usize * cfg.block_count as usize;
        // SAFETY: mapping the ring the kernel just allocated for this socket.
        let map = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                map_len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                fd.as_raw_fd(),
                0,
            )
        };
        if map == libc::MAP_FAILED {
            return Err(ctx(io::Error::last_os_error(), "mmap of the ring"));
        }
        let ring = AfPacketRing {
            fd,
            map: map.cast(),
            map_len,
            block_size: cfg.block_size as usize,
            block_count: cfg.block_count as usize,
            current: 0,
            interface: interface.to_owned(),
            totals: RingStats::default(),
            handed: 0,
            retag: Vec::with_capacity(65_600),
        };
        // SAFETY: a zeroed sockaddr_ll is valid; we fill the fields bind needs.
        let mut addr: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        addr.sll_family = libc::AF_PACKET as u16;
        addr.sll_protocol = protocol;
        addr.sll_ifindex = ifindex as i32;
        check(unsafe {
            libc::bind(
                ring.fd.as_raw_fd(),
                (&addr as *const libc::sockaddr_ll).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        })
        .map_err(|e| ctx(e, "bind"))?;
        if cfg.promiscuous {
            let mreq = libc::packet_mreq {
                mr_ifindex: ifindex as i32,
                mr_type: libc::PACKET_MR_PROMISC as u16,
                mr_alen: 0,
                mr_address: [0; 8],
            };
            setsockopt(&ring.fd, libc::SOL_PACKET, libc::PACKET_ADD_MEMBERSHIP, &mreq)
                .map_err(|e| ctx(e, "promiscuous mode (needs CAP_NET_ADMIN)"))?;
        }
        if let Some(group) = cfg.fanout_group {
            let arg = u32::from(group) | (libc::PACKET_FANOUT_HASH << 16);
            setsockopt(&ring.fd, libc::SOL_PACKET, libc::PACKET_FANOUT, &arg)
                .map_err(|e| ctx(e, "fanout"))?;
        }
        Ok(ring)
    }

    /// The interface captured.
    pub fn interface(&self) -> &str {
        &self.interface
    }

    fn block(&self, i: usize) -> *mut u8 {
        // SAFETY: i < block_count, so the offset stays inside the mapping.
        unsafe { self.map.add(i * self.block_size) }
    }

    /// Handles an error the kernel reported on the socket (it reports `ENETDOWN` when the link
    /// goes down and when the interface is removed): an interface that is gone ends the capture
    /// with an error naming it; a link that is down is waited out for `timeout`, so the capture
    /// loop never spins on an error it cannot clear.
    fn socket_error(&self, timeout: Duration) -> io::Result<()> {
        let mut err: libc::c_int = 0;
        let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: SO_ERROR writes one c_int into `err`, whose size `len` gives.
        check(unsafe {
            libc::getsockopt(
                self.fd.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_ERROR,
                (&raw mut err).cast(),
                &mut len,
            )
        })?;
        let name = CString::new(self.interface.as_str())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "interface name"))?;
        // SAFETY: plain FFI call with a valid C string.
        if unsafe { libc::if_nametoindex(name.as_ptr()) } == 0 {
            return Err(io::Error::new(io::ErrorKind::NotFound, "the interface is gone"));
        }
        std::thread::sleep(timeout);
        Ok(())
    }

    /// Waits up to `timeout` for the next block of frames and hands each frame to `sink`.
    /// Returns the number of frames handed over (0 after a timeout).
    pub fn next_block(&mut self, timeout: Duration, sink: &mut dyn FnMut(Packet<'_>)) -> io::Result<usize> {
        let block = self.block(self.current);
        let desc = block.cast::<libc::tpacket_block_desc>();
        // SAFETY: `desc` points at a block descriptor inside the mapping; the status word is shared
        // with the kernel, so it is read volatile.
        let ready = |d: *mut libc::tpacket_block_desc| unsafe {
            std::ptr::read_volatile(&(*d).hdr.bh1.block_status) & libc::TP_STATUS_USER != 0
        };
        if !ready(desc) {
            let mut pfd = libc::pollfd {
                fd: self.fd.as_raw_fd(),
                events: libc::POLLIN | libc::POLLERR,
                revents: 0,
            };
            let ms = timeout.as_millis().min(i32::MAX as u128) as i32;
            match check(unsafe { libc::poll(&mut pfd, 1, ms) }) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => return Ok(0),
                Err(e) => return Err(e),
                Ok(_) => {}
            }
            if pfd.revents & (libc::POLLERR | libc::POLLHUP | libc::POLLNVAL) != 0 {
                self.socket_error(timeout)?;
            }
            if !ready(desc) {
                return Ok(0);
            }
        }
        fence(Ordering::Acquire);
        // SAFETY: the kernel handed this block to user space; its header is initialised.
        let (num, first) = unsafe {
            (
                (*desc).hdr.bh1.num_pkts as usize,
                (*desc).hdr.bh1.offset_to_first_pkt as usize,
            )
        };
        let mut offset = first;
        let mut handed = 0;
        for _ in 0..num {
            let hdr_size = std::mem::size_of::<libc::tpacket3_hdr>();
            if offset + hdr_size > self.block_size {
                break;
            }
            // SAFETY: bounds checked above; the kernel wrote a tpacket3_hdr here.
            let h = unsafe { std::ptr::read_unaligned(block.add(offset).cast::<libc::tpacket3_hdr>()) };
            let (mac, snap) = (usize::from(h.tp_mac), h.tp_snaplen as usize);
            if offset + mac + snap > self.block_size {
                break;
            }
            // SAFETY: the frame lies inside the block (checked above) and the block is ours
            // until we give it back below.
            let data = unsafe { std::slice::from_raw_parts(block.add(offset + mac), snap) };
            let ts = Timestamp::from_secs_nanos(i64::from(h.tp_sec), h.tp_nsec);
            let vlan_valid = h.tp_status & libc::TP_STATUS_VLAN_VALID != 0;
            let frame: &[u8] = if vlan_valid && data.len() >= 12 {
                let tpid = if h.hv1.tp_vlan_tpid != 0 {
                    h.hv1.tp_vlan_tpid
                } else {
                    0x8100
                };
                self.retag.clear();
                self.retag.extend_from_slice(&data[..12]);
                self.retag.extend_from_slice(&tpid.to_be_bytes());
                self.retag
                    .extend_from_slice(&(h.hv1.tp_vlan_tci as u16).to_be_bytes());
                self.retag.extend_from_slice(&data[12..]);
                &self.retag
            } else {
                data
            };
            sink(Packet {
                ts,
                linktype: linktype::ETHERNET,
                orig_len: h.tp_len + if vlan_valid { 4 } else { 0 },
                data: frame,
            });
            handed += 1;
            if h.tp_next_offset == 0 {
                break;
            }
            offset += h.tp_next_offset as usize;
        }
        fence(Ordering::Release);
        // SAFETY: give the block back to the kernel.
        unsafe { std::ptr::write_volatile(&mut (*desc).hdr.bh1.block_status, libc::TP_STATUS_KERNEL) };
        self.current = (self.current + 1) % self.block_count;
        self.handed += handed as u64;
        Ok(handed)
    }

    /// Kernel counters since the ring was opened.
    pub fn stats(&mut self) -> io::Result<RingStats> {
        // SAFETY: getsockopt writes at most `len` bytes into `s`.
        let mut s: libc::tpacket_stats_v3 = unsafe { std::mem::zeroed() };
        let mut len = std::mem::size_of::<libc::tpacket_stats_v3>() as libc::socklen_t;
        check(unsafe {
            libc::getsockopt(
                self.fd.as_raw_fd(),
                libc::SOL_PACKET,
                libc::PACKET_STATISTICS,
                (&mut s as *mut libc::tpacket_stats_v3).cast(),
                &mut len,
            )
        })?;
        // The kernel resets its counters on every read; keep running totals.
        self.totals.packets += u64::from(s.tp_packets);
        self.totals.drops += u64::from(s.tp_drops);
        self.totals.freezes += u64::from(s.tp_freeze_q_cnt);
        Ok(self.totals)
    }
}

impl super::LiveSource for AfPacketRing {
    fn interface(&self) -> &str {
        &self.interface
    }

    fn next_batch(&mut self, timeout: Duration, sink: &mut dyn FnMut(Packet<'_>)) -> io::Result<usize> {
        self.next_block(timeout, sink)
    }

    fn kernel_stats(&mut self) -> io::Result<Option<RingStats>> {
        self.stats().map(Some)
    }

    fn packets(&self) -> u64 {
        self.handed
    }
}

impl Drop for AfPacketRing {
    fn drop(&mut self) {
        // SAFETY: unmapping the mapping created in `open`, exactly once.
        unsafe {
            libc::munmap(self.map.cast(), self.map_len);
        }
    }
}
