//! Observation kinds: everything an agent can report.
//!
//! Every struct uses named fields and serde defaults so that an older collector can read a newer
//! agent's observation (unknown fields are ignored) and a newer collector an older agent's
//! (missing optional fields default). A new observation kind needs a new protocol version.

use crate::net::MacAddr;
use crate::provenance::Provenance;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::IpAddr;

/// One observation: what was seen, with its provenance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    /// Where it came from and what backs it.
    pub provenance: Provenance,
    /// What was seen.
    pub body: ObservationBody,
}

/// The kinds of observation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ObservationBody {
    /// A device seen on the network.
    AssetSighting(AssetSighting),
    /// A claim about what a device is (vendor, model, firmware ...).
    IdentityClaim(IdentityClaim),
    /// A software item installed on or announced by a device.
    SoftwareItem(SoftwareItem),
    /// A network service offered by a device.
    Service(Service),
    /// A summary of one bidirectional flow.
    FlowSummary(FlowSummary),
    /// Facts about the host an agent runs on.
    HostFacts(HostFacts),
    /// The outcome of one configuration check on a host.
    ConfigCheck(ConfigCheck),
    /// Something a protocol showed happening (a write, a stop, a name change ...).
    ProtocolEvent(ProtocolEvent),
    /// The agent's report about itself.
    AgentTelemetry(AgentTelemetry),
}

impl ObservationBody {
    /// Stable short name of the kind, as stored and shown.
    pub fn kind(&self) -> &'static str {
        match self {
            ObservationBody::AssetSighting(_) => "asset_sighting",
            ObservationBody::IdentityClaim(_) => "identity_claim",
            ObservationBody::SoftwareItem(_) => "software_item",
            ObservationBody::Service(_) => "service",
            ObservationBody::FlowSummary(_) => "flow_summary",
            ObservationBody::HostFacts(_) => "host_facts",
            ObservationBody::ConfigCheck(_) => "config_check",
            ObservationBody::ProtocolEvent(_) => "protocol_event",
            ObservationBody::AgentTelemetry(_) => "agent_telemetry",
        }
    }
}

/// How an observation names the device it is about. At least one field is set.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize)]
pub struct AssetRef {
    /// The device's own MAC (never a router's MAC for a routed IP).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<MacAddr>,
    /// An IP address of the device.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<IpAddr>,
    /// The VLAN the device was seen on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vlan: Option<u16>,
    /// The host agent's machine id, for observations made on the host itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_id: Option<String>,
}

/// A device seen on the network.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct AssetSighting {
    /// MAC address, when the device is on the sensor's segment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<MacAddr>,
    /// IP addresses bound to this device.
    #[serde(default)]
    pub ips: Vec<IpAddr>,
    /// VLANs the device was seen on.
    #[serde(default)]
    pub vlans: Vec<u16>,
    /// True when the MAC forwards traffic for other IPs (a router or gateway); such a MAC is
    /// never merged with the routed IPs.
    #[serde(default)]
    pub router: bool,
    /// First time seen.
    pub first_seen: Timestamp,
    /// Last time seen.
    pub last_seen: Timestamp,
    /// Frames sent by the device.
    #[serde(default)]
    pub packets: u64,
    /// Bytes sent by the device.
    #[serde(default)]
    pub bytes: u64,
    /// Coarse device class the sensor chose (`plc`, `ied`, `hmi-scada`, `network-device`,
    /// `it-host`), with its reasons.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
    /// Why the class was chosen.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub class_reasons: Vec<String>,
    /// Application protocols and the roles the device plays in them (`dnp3: [master]`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub protocols: BTreeMap<String, Vec<String>>,
}

/// A claim about what a device is.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct IdentityClaim {
    /// The device.
    pub asset: AssetRef,
    /// What it is said to be.
    pub identity: Identity,
}

/// What a device is, as one protocol or source tells it. Every field is optional but `protocol`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize)]
pub struct Identity {
    /// The protocol or source that carried the claim (`cip`, `s7comm`, `lldp`, `dhcp` ...).
    pub protocol: String,
    /// Vendor name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor: Option<String>,
    /// Product name, family or description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
    /// Model or order number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Firmware or software version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firmware: Option<String>,
    /// Hardware revision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hardware_revision: Option<String>,
    /// Serial number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial: Option<String>,
    /// Device, host or station name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Device type (PLC, communications adapter, switch, IP phone ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_type: Option<String>,
    /// Confidence in the claim, 0-100.
    #[serde(default)]
    pub confidence: u8,
    /// Further protocol-specific facts (`dhcp_prl`, `ja4`, `sys_object_id`, `os` ...).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
}

impl Identity {
    /// An empty claim of `protocol` with `confidence`.
    pub fn new(protocol: impl Into<String>, confidence: u8) -> Self {
        Identity {
            protocol: protocol.into(),
            confidence,
            ..Default::default()
        }
    }

    /// Every non-empty value of the claim, for searching.
    pub fn values(&self) -> impl Iterator<Item = &str> {
        [
            &self.vendor,
            &self.product,
            &self.model,
            &self.firmware,
            &self.hardware_revision,
            &self.serial,
            &self.name,
            &self.device_type,
        ]
        .into_iter()
        .flatten()
        .map(String::as_str)
        .chain(self.attributes.values().map(String::as_str))
    }
}

/// A software item on a device.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SoftwareItem {
    /// The device.
    pub asset: AssetRef,
    /// Package or product name.
    pub name: String,
    /// Version string as reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Where it was learnt (`dpkg`, `http-server`, `ssh-banner` ...).
    pub source: String,
    /// Package manager, for installed packages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package_manager: Option<String>,
    /// Package URL (purl), where one can be formed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purl: Option<String>,
    /// Newest version the host's package indexes offer, when newer than the installed one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update: Option<PendingUpdate>,
}

/// An update the host's own package indexes offer for an installed package.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PendingUpdate {
    /// The candidate version.
    pub version: String,
    /// True when it comes from a security origin or fixes a security advisory.
    #[serde(default)]
    pub security: bool,
    /// Origin of the candidate (repository, suite).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub origin: String,
    /// Advisories it fixes (RLSA-..., CVE-...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub advisories: Vec<String>,
}

/// Transport protocol of a service or flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Transport {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
    /// Any other IP protocol or a layer-2 protocol; the number is kept in the flow.
    Other,
}

impl Transport {
    /// Lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Tcp => "tcp",
            Transport::Udp => "udp",
            Transport::Other => "other",
        }
    }
}

/// A network service a device offers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Service {
    /// The device offering it.
    pub asset: AssetRef,
    /// Transport.
    pub transport: Transport,
    /// Port the device listens on.
    pub port: u16,
    /// Application protocol, when known (`modbus`, `ssh` ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// Banner or version string the service announced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub banner: Option<String>,
    /// Address the service is bound to, when seen on the host (`0.0.0.0`: all interfaces).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bound: Option<IpAddr>,
    /// The process that owns the socket, when seen on the host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process: Option<String>,
    /// How the protocol was recognised: `port` (well-known port only) or `content`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detected_by: Option<String>,
}

/// One endpoint of a flow (or of a TCP stream handed to the dissectors).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Endpoint {
    /// IP address.
    pub ip: IpAddr,
    /// Port (0 for protocols without ports).
    pub port: u16,
    /// MAC address seen for this endpoint (a router's MAC for routed endpoints).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<MacAddr>,
}

/// A bidirectional flow: the originator is the side that started it (or sent first).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlowSummary {
    /// VLAN id, if tagged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vlan: Option<u16>,
    /// Transport.
    pub transport: Transport,
    /// IP protocol number.
    pub ip_proto: u8,
    /// Originator.
    pub orig: Endpoint,
    /// Responder.
    pub resp: Endpoint,
    /// Packets from originator to responder.
    pub orig_packets: u64,
    /// Bytes (IP length) from originator to responder.
    pub orig_bytes: u64,
    /// Packets from responder to originator.
    pub resp_packets: u64,
    /// Bytes (IP length) from responder to originator.
    pub resp_bytes: u64,
    /// First packet.
    pub first_seen: Timestamp,
    /// Last packet.
    pub last_seen: Timestamp,
    /// Application protocol, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_protocol: Option<String>,
    /// Zeek-style connection history (`ShADadFf` ...), for TCP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history: Option<String>,
    /// Transport payload bytes from originator to responder.
    #[serde(default)]
    pub orig_payload_bytes: u64,
    /// Transport payload bytes from responder to originator.
    #[serde(default)]
    pub resp_payload_bytes: u64,
    /// Zeek-style connection state (`S0`, `SF`, `REJ`, `RSTO`, `OTH` ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
}

/// A network interface of a host.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct HostInterface {
    /// Interface name.
    pub name: String,
    /// MAC address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<MacAddr>,
    /// Addresses with prefix length, e.g. `10.0.0.5/24`.
    #[serde(default)]
    pub addresses: Vec<String>,
    /// True for wireless interfaces.
    #[serde(default)]
    pub wireless: bool,
}

/// Facts about the host an agent runs on.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct HostFacts {
    /// The host (its machine id in `host_id`).
    pub asset: AssetRef,
    /// Host name.
    pub hostname: String,
    /// OS name (`Debian GNU/Linux`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os_name: Option<String>,
    /// OS version (`12`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os_version: Option<String>,
    /// Kernel release.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kernel: Option<String>,
    /// CPU architecture.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arch: Option<String>,
    /// Seconds since boot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uptime_s: Option<u64>,
    /// Logical CPUs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_count: Option<u32>,
    /// Total memory in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_bytes: Option<u64>,
    /// Network interfaces.
    #[serde(default)]
    pub interfaces: Vec<HostInterface>,
    /// Default gateways.
    #[serde(default)]
    pub default_gateways: Vec<IpAddr>,
    /// DNS resolvers.
    #[serde(default)]
    pub dns_servers: Vec<IpAddr>,
    /// Patch state from the host's own package indexes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patch: Option<PatchSummary>,
    /// systemd units enabled or running.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub units: Vec<HostUnit>,
    /// What the host inventory could not establish (`source: reason`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unknown: Vec<String>,
    /// Which snapshot of the host inventory this is, and what it leaves out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<HostSnapshot>,
}

/// A host's patch state.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PatchSummary {
    /// Package tool whose indexes were read (`apt`, `dnf`, `apk`).
    pub tool: String,
    /// Package indexes read (0: the pending count is not known).
    #[serde(default)]
    pub indexes: u32,
    /// Updates pending.
    #[serde(default)]
    pub pending: u32,
    /// Security updates pending.
    #[serde(default)]
    pub security_pending: u32,
    /// Last successful package operation (`YYYY-MM-DD HH:MM:SS`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_package_operation: Option<String>,
    /// A reboot is needed to finish an update.
    #[serde(default)]
    pub reboot_required: bool,
    /// Running kernel release.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub running_kernel: Option<String>,
    /// Newest installed kernel release.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub newest_kernel: Option<String>,
}

/// A systemd unit of a host.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct HostUnit {
    /// Unit name.
    pub name: String,
    /// Enabled at boot.
    #[serde(default)]
    pub enabled: bool,
    /// Running; absent when not known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub running: Option<bool>,
}

/// How a host inventory was delivered: whole, or only what changed since the last snapshot the
/// collector acknowledged.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct HostSnapshot {
    /// True for a full snapshot (every item sent; items not sent are gone).
    pub full: bool,
    /// Items (software, services, checks) in the inventory.
    #[serde(default)]
    pub items: u32,
    /// Items sent with this snapshot.
    #[serde(default)]
    pub sent: u32,
    /// Keys of items gone since the acknowledged snapshot (`software:dpkg:telnetd:amd64`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub removed: Vec<String>,
}

/// Outcome of a configuration check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckOutcome {
    /// The host meets the check.
    Pass,
    /// The host fails the check.
    Fail,
    /// The check could not decide (file missing, unreadable, needs root ...).
    Unknown,
    /// The check does not apply to this host.
    NotApplicable,
}

/// The outcome of one configuration check on a host.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConfigCheck {
    /// The host.
    pub asset: AssetRef,
    /// Stable check id, e.g. `ssh.permit_root_login`.
    pub check_id: String,
    /// Requirement ids the check serves, e.g. `COMP 1.1`.
    #[serde(default)]
    pub requirements: Vec<String>,
    /// Outcome.
    pub outcome: CheckOutcome,
    /// Why: the excerpt that decided it, or the reason it is unknown.
    pub reason: String,
    /// The lines of the files that decided it (the files themselves are in the evidence).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub excerpts: Vec<String>,
}

/// Severity of a protocol event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Informational.
    Info,
    /// Worth a look.
    Low,
    /// Changes process or configuration.
    Medium,
    /// Changes program, firmware or run state.
    High,
}

/// Something a protocol showed happening.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ProtocolEvent {
    /// Protocol (`modbus`, `s7comm`, `pn_dcp` ...).
    pub protocol: String,
    /// Event kind (`write`, `plc_stop`, `firmware_update`, `set_ip` ...).
    pub kind: String,
    /// Severity.
    pub severity: Severity,
    /// Who did it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<AssetRef>,
    /// To whom.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<AssetRef>,
    /// Protocol-specific details (function code, address, new value ...).
    #[serde(default)]
    pub details: BTreeMap<String, String>,
}

/// The agent's report about itself.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct AgentTelemetry {
    /// Agent version.
    pub agent_version: String,
    /// Resident set size in bytes.
    #[serde(default)]
    pub rss_bytes: u64,
    /// CPU time used since start, in milliseconds.
    #[serde(default)]
    pub cpu_ms: u64,
    /// Seconds since start.
    #[serde(default)]
    pub uptime_s: u64,
    /// Packets received by the capture sources.
    #[serde(default)]
    pub packets_received: u64,
    /// Packets dropped by the kernel or the agent.
    #[serde(default)]
    pub packets_dropped: u64,
    /// Batches waiting for the collector's acknowledgement.
    #[serde(default)]
    pub spool_batches: u64,
    /// Bytes waiting for the collector's acknowledgement.
    #[serde(default)]
    pub spool_bytes: u64,
    /// The last host inventory cycle, for agents that take one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_cycle: Option<HostCycle>,
    /// What the agent's spool dropped since it started (over its size or age), when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spool_dropped: Option<SpoolDropped>,
}

/// Batches an agent's spool dropped, and the observations in them by kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SpoolDropped {
    /// Batches.
    pub batches: u64,
    /// Flow summaries.
    pub flow_observations: u64,
    /// Every other kind (identities, services, events, host inventories ...).
    pub other_observations: u64,
}

/// What one host inventory cycle cost.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct HostCycle {
    /// Wall time of the cycle in milliseconds.
    pub duration_ms: u64,
    /// CPU time the cycle used in milliseconds.
    pub cpu_ms: u64,
    /// Resident set size after the cycle, in bytes.
    pub rss_bytes: u64,
    /// Items in the inventory.
    pub items: u32,
    /// Items sent (changed since the acknowledged snapshot, or all for a full one).
    pub sent: u32,
    /// True for a full snapshot.
    pub full: bool,
}
