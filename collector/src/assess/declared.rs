//! Declared state: what the asset owner says the plant should look like (zones with their kind,
//! Purdue level, CIDRs and VLANs; conduits between zones with their allowed services and the hosts
//! they pass through; jump hosts; allowed services per zone and per device class; allowed
//! remote-access applications; approved time sources and log servers). Kept apart from what was
//! observed and what was attested; checked on load with errors that name the file and line.
//! Example: `deploy/zones.toml`.

use super::catalog::line_of;
use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::path::Path;
use toml::Spanned;

/// What a zone is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ZoneKind {
    /// Business network (or the internet beyond it).
    Enterprise,
    /// Demilitarised zone between enterprise and control.
    Dmz,
    /// Supervisory control: HMIs, engineering stations, historians.
    Control,
    /// Field devices: PLCs, RTUs, IEDs, drives.
    Field,
    /// Safety instrumented systems.
    Safety,
    /// Where remote access enters (jump hosts).
    RemoteAccess,
    /// Wireless segments.
    Wireless,
}

impl ZoneKind {
    /// The name as written in zones.toml.
    pub fn as_str(self) -> &'static str {
        match self {
            ZoneKind::Enterprise => "enterprise",
            ZoneKind::Dmz => "dmz",
            ZoneKind::Control => "control",
            ZoneKind::Field => "field",
            ZoneKind::Safety => "safety",
            ZoneKind::RemoteAccess => "remote-access",
            ZoneKind::Wireless => "wireless",
        }
    }

    /// True for the zones the IACS consists of (control, field, safety).
    pub fn is_iacs(self) -> bool {
        matches!(self, ZoneKind::Control | ZoneKind::Field | ZoneKind::Safety)
    }
}

/// A service as declared: `tcp/502`, `udp/161`, or a protocol name (`modbus`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum ServiceSpec {
    /// A transport and port.
    Port {
        /// `tcp` or `udp`.
        transport: String,
        /// Port.
        port: u16,
    },
    /// An application protocol as shoko names it.
    Protocol(String),
}

impl ServiceSpec {
    /// Parses `tcp/502`, `udp/161` or a protocol name.
    pub fn parse(s: &str) -> Result<Self, String> {
        match s.split_once('/') {
            Some((t @ ("tcp" | "udp"), port)) => match port.parse::<u16>() {
                Ok(p) if p > 0 => Ok(ServiceSpec::Port {
                    transport: t.to_string(),
                    port: p,
                }),
                _ => Err(format!("service {s:?}: the port must be 1-65535")),
            },
            Some(_) => Err(format!(
                "service {s:?}: expected tcp/PORT, udp/PORT or a protocol name"
            )),
            None if !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_-".contains(c)) =>
            {
                Ok(ServiceSpec::Protocol(s.to_string()))
            }
            None => Err(format!(
                "service {s:?}: expected tcp/PORT, udp/PORT or a protocol name"
            )),
        }
    }

    /// True when a service (transport, port, protocol) is this one.
    pub fn matches(&self, transport: &str, port: u16, protocol: Option<&str>) -> bool {
        match self {
            ServiceSpec::Port {
                transport: t,
                port: p,
            } => t == transport && *p == port,
            ServiceSpec::Protocol(name) => protocol == Some(name.as_str()),
        }
    }
}

/// A declared zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Zone {
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: ZoneKind,
    /// Purdue level (0-5), when given.
    pub level: Option<u8>,
    /// Address ranges.
    pub cidrs: Vec<IpNet>,
    /// VLANs.
    pub vlans: Vec<u16>,
    /// Services its assets may offer.
    pub allowed_services: Vec<ServiceSpec>,
    /// Part of the system under consideration (default: every kind but enterprise). Assets of
    /// zones out of scope leave the denominators; their flows into scope are still evidence.
    pub in_scope: bool,
    /// Agent ids of the sensors placed to see this zone's traffic.
    pub sensors: Vec<String>,
}

/// A declared conduit between two zones.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Conduit {
    /// Name.
    pub name: String,
    /// The two zones.
    pub zones: [String; 2],
    /// Services allowed through it (any when empty).
    pub services: Vec<ServiceSpec>,
    /// Hosts the conduit passes through (its DMZ end), when given.
    pub via: Vec<IpAddr>,
}

/// Declared state, checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Declared {
    /// Zones, in file order.
    pub zones: Vec<Zone>,
    /// Conduits, in file order.
    pub conduits: Vec<Conduit>,
    /// Hosts remote access must come through.
    pub jump_hosts: Vec<IpAddr>,
    /// Remote-access applications allowed on hosts (package or process names).
    pub remote_access_apps: Vec<String>,
    /// Approved time sources.
    pub time_sources: Vec<IpAddr>,
    /// Log servers.
    pub log_servers: Vec<IpAddr>,
    /// Services allowed per device class (`plc`, `hmi` ...).
    pub class_services: BTreeMap<String, Vec<ServiceSpec>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ZoneFile {
    name: Spanned<String>,
    kind: ZoneKind,
    #[serde(default)]
    level: Option<Spanned<u8>>,
    #[serde(default)]
    cidrs: Vec<Spanned<String>>,
    #[serde(default)]
    vlans: Vec<Spanned<u16>>,
    #[serde(default)]
    allowed_services: Vec<Spanned<String>>,
    #[serde(default)]
    in_scope: Option<bool>,
    #[serde(default)]
    sensors: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConduitFile {
    name: Spanned<String>,
    zones: Spanned<Vec<String>>,
    #[serde(default)]
    services: Vec<Spanned<String>>,
    #[serde(default)]
    via: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClassFile {
    class: Spanned<String>,
    services: Vec<Spanned<String>>,
}

/// The `[plant]` table: plant-wide declarations.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PlantFile {
    #[serde(default)]
    jump_hosts: Vec<Spanned<String>>,
    #[serde(default)]
    remote_access_apps: Vec<String>,
    #[serde(default)]
    time_sources: Vec<Spanned<String>>,
    #[serde(default)]
    log_servers: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DeclaredFile {
    #[serde(default)]
    plant: PlantFile,
    #[serde(default)]
    zone: Vec<ZoneFile>,
    #[serde(default)]
    conduit: Vec<ConduitFile>,
    #[serde(default)]
    class: Vec<ClassFile>,
}

/// Why declared state was refused: the file, the line and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DeclaredError(String);

/// Parses each spanned string with `parse`, naming the line of a failure.
fn each<T>(
    items: &[Spanned<String>],
    at: &impl Fn(usize, String) -> DeclaredError,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Result<Vec<T>, DeclaredError> {
    items
        .iter()
        .map(|i| parse(i.get_ref()).map_err(|m| at(i.span().start, m)))
        .collect()
}

fn ip(s: &str) -> Result<IpAddr, String> {
    s.parse().map_err(|_| format!("{s:?} is not an IP address"))
}

fn cidr(s: &str) -> Result<IpNet, String> {
    s.parse::<IpNet>()
        .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
        .map(|n| n.trunc())
        .map_err(|_| format!("{s:?} is not a CIDR (10.10.1.0/24)"))
}

impl Declared {
    /// Loads and checks a declared-state file.
    pub fn load(path: &Path) -> Result<Self, DeclaredError> {
        let text =
            std::fs::read_to_string(path).map_err(|e| DeclaredError(format!("{}: {e}", path.display())))?;
        Declared::parse(&text, &path.display().to_string())
    }

    /// Parses and checks declared state; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Self, DeclaredError> {
        let file: DeclaredFile = toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|s| format!(":{}", line_of(text, s.start)))
                .unwrap_or_default();
            DeclaredError(format!("{origin}{line}: {}", e.message()))
        })?;
        let at = |offset: usize, m: String| DeclaredError(format!("{origin}:{}: {m}", line_of(text, offset)));
        let mut zones = Vec::new();
        let mut owner: BTreeMap<IpNet, String> = BTreeMap::new();
        for z in &file.zone {
            let name = z.name.get_ref().clone();
            if zones.iter().any(|known: &Zone| known.name == name) {
                return Err(at(
                    z.name.span().start,
                    format!("zone {name:?} is declared twice"),
                ));
            }
            if let Some(level) = &z.level
                && *level.get_ref() > 5
            {
                return Err(at(
                    level.span().start,
                    format!("zone {name:?}: Purdue level {} is not 0-5", level.get_ref()),
                ));
            }
            let cidrs = each(&z.cidrs, &at, cidr)?;
            for (net, spanned) in cidrs.iter().zip(&z.cidrs) {
                if let Some(other) = owner.insert(*net, name.clone()) {
                    return Err(at(
                        spanned.span().start,
                        format!("{net} is in zones {other:?} and {name:?}"),
                    ));
                }
            }
            let vlans = z
                .vlans
                .iter()
                .map(|v| match *v.get_ref() {
                    id @ 1..=4094 => Ok(id),
                    id => Err(at(v.span().start, format!("VLAN {id} is not 1-4094"))),
                })
                .collect::<Result<_, _>>()?;
            zones.push(Zone {
                name,
                kind: z.kind,
                level: z.level.as_ref().map(|l| *l.get_ref()),
                cidrs,
                vlans,
                allowed_services: each(&z.allowed_services, &at, ServiceSpec::parse)?,
                in_scope: z.in_scope.unwrap_or(z.kind != ZoneKind::Enterprise),
                sensors: z.sensors.clone(),
            });
        }
        let known: BTreeSet<&str> = zones.iter().map(|z| z.name.as_str()).collect();
        let mut conduits = Vec::new();
        for c in &file.conduit {
            let name = c.name.get_ref().clone();
            let pair = match c.zones.get_ref().as_slice() {
                [a, b] if a != b => [a.clone(), b.clone()],
                _ => {
                    return Err(at(
                        c.zones.span().start,
                        format!("conduit {name:?}: name two different zones"),
                    ));
                }
            };
            if let Some(unknown) = pair.iter().find(|z| !known.contains(z.as_str())) {
                return Err(at(
                    c.zones.span().start,
                    format!("conduit {name:?} names unknown zone {unknown:?}"),
                ));
            }
            conduits.push(Conduit {
                name,
                zones: pair,
                services: each(&c.services, &at, ServiceSpec::parse)?,
                via: each(&c.via, &at, ip)?,
            });
        }
        let mut class_services = BTreeMap::new();
        for c in &file.class {
            let services = each(&c.services, &at, ServiceSpec::parse)?;
            if class_services
                .insert(c.class.get_ref().clone(), services)
                .is_some()
            {
                return Err(at(
                    c.class.span().start,
                    format!("class {:?} is declared twice", c.class.get_ref()),
                ));
            }
        }
        Ok(Declared {
            zones,
            conduits,
            jump_hosts: each(&file.plant.jump_hosts, &at, ip)?,
            remote_access_apps: file.plant.remote_access_apps,
            time_sources: each(&file.plant.time_sources, &at, ip)?,
            log_servers: each(&file.plant.log_servers, &at, ip)?,
            class_services,
        })
    }

    /// The zone of an address: the one with the most specific CIDR holding it.
    pub fn zone_of(&self, ip: IpAddr) -> Option<&Zone> {
        self.zones
            .iter()
            .flat_map(|z| {
                z.cidrs
                    .iter()
                    .filter(|n| n.contains(&ip))
                    .map(move |n| (n.prefix_len(), z))
            })
            .max_by_key(|(len, _)| *len)
            .map(|(_, z)| z)
    }

    /// The conduits declared between two zones (several may join the same pair, each for its
    /// own services), in the order declared.
    pub fn conduits_between<'a>(&'a self, a: &'a str, b: &'a str) -> impl Iterator<Item = &'a Conduit> {
        self.conduits
            .iter()
            .filter(move |c| (c.zones[0] == a && c.zones[1] == b) || (c.zones[0] == b && c.zones[1] == a))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLANT: &str = r#"
[plant]
jump_hosts = ["10.10.1.40"]
time_sources = ["10.10.1.5"]

[[zone]]
name = "enterprise"
kind = "enterprise"
level = 4
cidrs = ["10.20.0.0/16"]

[[zone]]
name = "control"
kind = "control"
level = 2
cidrs = ["10.10.1.0/24"]
vlans = [10]
allowed_services = ["tcp/3389", "opcua"]

[[zone]]
name = "historian"
kind = "dmz"
level = 3
cidrs = ["10.10.1.30"]

[[conduit]]
name = "historian-replication"
zones = ["historian", "enterprise"]
services = ["tcp/1433"]
via = ["10.10.1.30"]

[[class]]
class = "plc"
services = ["tcp/502", "tcp/102", "udp/44818"]
"#;

    #[test]
    fn zones_conduits_and_allowed_services_read_back() {
        let d = Declared::parse(PLANT, "zones.toml").unwrap();
        let names: Vec<&str> = d.zones.iter().map(|z| z.name.as_str()).collect();
        assert_eq!(names, ["enterprise", "control", "historian"]);
        // The most specific CIDR decides: the historian is a /32 inside the control /24.
        assert_eq!(
            d.zone_of("10.10.1.30".parse().unwrap()).unwrap().name,
            "historian"
        );
        assert_eq!(
            d.zone_of("10.10.1.31".parse().unwrap()).unwrap().kind,
            ZoneKind::Control
        );
        assert!(d.zone_of("192.168.0.1".parse().unwrap()).is_none());
        let c = d.conduits_between("enterprise", "historian").next().unwrap();
        assert!(c.services[0].matches("tcp", 1433, None) && !c.services[0].matches("udp", 1433, None));
        assert!(d.zones[1].allowed_services[1].matches("tcp", 4840, Some("opcua")));
        assert_eq!(d.class_services["plc"].len(), 3);
        assert!(ZoneKind::Safety.is_iacs() && !ZoneKind::Dmz.is_iacs());
    }

    fn line(needle: &str) -> usize {
        line_of(PLANT, PLANT.find(needle).unwrap())
    }

    #[test]
    fn mistakes_name_the_line() {
        let refused = |from: &str, to: &str| {
            Declared::parse(&PLANT.replacen(from, to, 1), "zones.toml")
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            refused(
                "zones = [\"historian\", \"enterprise\"]",
                "zones = [\"historian\", \"enterprize\"]"
            ),
            format!(
                "zones.toml:{}: conduit \"historian-replication\" names unknown zone \"enterprize\"",
                line("zones = [")
            )
        );
        assert_eq!(
            refused("cidrs = [\"10.10.1.0/24\"]", "cidrs = [\"10.10.1.0/33\"]"),
            format!(
                "zones.toml:{}: \"10.10.1.0/33\" is not a CIDR (10.10.1.0/24)",
                line("cidrs = [\"10.10.1.0/24\"]")
            )
        );
        assert_eq!(
            refused("cidrs = [\"10.10.1.30\"]", "cidrs = [\"10.20.0.0/16\"]"),
            format!(
                "zones.toml:{}: 10.20.0.0/16 is in zones \"enterprise\" and \"historian\"",
                line("cidrs = [\"10.10.1.30\"]")
            )
        );
        assert_eq!(
            refused("\"tcp/502\"", "\"tcp/0\""),
            format!(
                "zones.toml:{}: service \"tcp/0\": the port must be 1-65535",
                line("\"tcp/502\"")
            )
        );
        assert_eq!(
            refused("level = 2", "level = 7"),
            format!(
                "zones.toml:{}: zone \"control\": Purdue level 7 is not 0-5",
                line("level = 2")
            )
        );
        let kind = refused("kind = \"dmz\"", "kind = \"office\"");
        assert!(
            kind.starts_with(&format!(
                "zones.toml:{}: unknown variant `office`",
                line("kind = \"dmz\"")
            )),
            "{kind}"
        );
        assert_eq!(
            refused("jump_hosts = [\"10.10.1.40\"]", "jump_hosts = [\"jump01\"]"),
            format!(
                "zones.toml:{}: \"jump01\" is not an IP address",
                line("jump_hosts")
            )
        );
    }

    #[test]
    fn the_deploy_example_reads() {
        let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/zones.toml");
        let d = Declared::load(&example).unwrap();
        let kinds: BTreeSet<ZoneKind> = d.zones.iter().map(|z| z.kind).collect();
        assert_eq!(kinds.len(), 7, "every kind of zone appears in the example");
        assert!(d.zone_of("10.10.2.21".parse().unwrap()).unwrap().kind == ZoneKind::Field);
    }
}
