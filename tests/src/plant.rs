//! Plant-in-a-box: a plant built from a scenario file (`tests/plant/scenario.toml`) out of network
//! namespaces. Every host is a namespace with one interface on a shared bridge (one layer-2
//! segment; zones are address ranges in it, as on a flat plant network). The bridge lives in a
//! "switch" namespace of its own, where `tc mirred` copies every frame entering the bridge from a
//! mirrored host port to the SPAN port of the sensor host. Devices are real protocol stacks from
//! PyPI run by `tests/plant/plant.py` inside their hosts' namespaces.

use crate::{Namespace, workspace};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A plant scenario: hosts, the devices they run, what operators do, and what shoko must find.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Prefix length of the plant's one layer-2 network (every host address is in it).
    pub prefix_len: u8,
    /// The host the collector runs on.
    pub collector: String,
    /// The collector's agent port.
    pub collector_port: u16,
    /// The host whose `span` interface receives the mirror.
    pub sensor: String,
    /// The host the host agent runs on (over the Debian fixture root).
    pub host_agent: String,
    /// The declared zones file, relative to the scenario.
    pub zones: String,
    /// The plant's hosts.
    pub host: Vec<Host>,
    /// Operator actions, run in order once every device is ready.
    pub step: Vec<Step>,
    /// What shoko must find.
    pub expect: Expect,
}

/// One host of the plant.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Host {
    /// Its name (also its bridge port's name: at most 15 characters).
    pub name: String,
    /// Its address.
    pub ip: String,
    /// Whether the frames it sends are mirrored to the sensor (not for the management hosts).
    #[serde(default = "yes")]
    pub mirrored: bool,
    /// The devices it runs: `plant.py` command lines.
    #[serde(default)]
    pub serve: Vec<Vec<String>>,
}

fn yes() -> bool {
    true
}

/// One operator action: a `plant.py` client command run on a host.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// The host it runs on.
    pub from: String,
    /// The `plant.py` command line.
    pub run: Vec<String>,
}

/// What shoko must find once the steps have run. Every list is exact: nothing missing, nothing
/// more.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// Every asset with an address in the inventory.
    pub asset: Vec<ExpectedAsset>,
    /// Every protocol event.
    pub event: Vec<ExpectedEvent>,
    /// Rules and the subjects each must find violated.
    pub finding: Vec<ExpectedFinding>,
    /// Scores of requirements, once the zone drawing is attested for NET 1.1.
    pub score: Vec<ExpectedScore>,
}

/// The score a requirement must get.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedScore {
    /// The requirement (`NET 1.1`).
    pub requirement: String,
    /// Its final level (`ML1` ... `ML4`, `insufficient-evidence`).
    pub level: String,
    /// The level its practice (telemetry) shows.
    pub practice: String,
    /// The level its documents show, when any.
    pub documentary: Option<String>,
    /// The first reason given (how many subjects were satisfied, or the critical violation
    /// listed first); `PERIOD` stands for the current period's label.
    pub practised: String,
}

/// An asset the inventory must hold.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedAsset {
    /// Its address.
    pub ip: String,
    /// Every service it offers, as `tcp/PORT protocol`.
    #[serde(default)]
    pub services: Vec<String>,
    /// Attributes as the inventory shows them (`vendor`, `model`, `firmware`, `class` ...): each
    /// given must have exactly this value.
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
}

/// A protocol event that must have been seen.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedEvent {
    /// The protocol.
    pub protocol: String,
    /// The event's kind (`write`, `plc_stop` ...).
    pub kind: String,
    /// The address of the client that caused it.
    pub from: String,
    /// The address of the device it was sent to.
    pub to: String,
}

/// A rule and every subject it must find violated.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedFinding {
    /// The rule (`net-1.1/no-enterprise-to-control` ...).
    pub rule: String,
    /// The subjects violating it.
    pub violated: Vec<String>,
}

impl Scenario {
    /// Reads the scenario file at `path`.
    pub fn load(path: &std::path::Path) -> Self {
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    /// The host named `name`.
    pub fn host(&self, name: &str) -> &Host {
        self.host
            .iter()
            .find(|h| h.name == name)
            .unwrap_or_else(|| panic!("the scenario has no host {name}"))
    }
}

/// The Python interpreter with the plant's stacks installed (`.ci/run` makes the virtualenv).
pub fn python() -> PathBuf {
    std::env::var_os("SHOKO_PLANT_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target/plant-venv/bin/python"))
}

/// A plant being run: its namespaces and the device processes in them (killed when dropped).
pub struct Plant {
    /// The namespace holding the bridge.
    pub switch: Namespace,
    /// Host namespaces by host name.
    pub hosts: BTreeMap<String, Namespace>,
    devices: Vec<Child>,
    /// What each device writes on its standard error.
    logs: tempfile::TempDir,
}

impl Plant {
    /// Builds the network of `scenario`: namespaces named `TAG-HOST`, the bridge, the mirror to
    /// the sensor's `span` interface (receive-only: no address, no IPv6).
    pub fn build(scenario: &Scenario, tag: &str) -> Self {
        let switch = plant_namespace(&format!("{tag}-switch"));
        switch.ip(&["link", "add", "br0", "type", "bridge"]);
        switch.ip(&["link", "set", "br0", "up"]);
        let hosts: BTreeMap<String, Namespace> = scenario
            .host
            .iter()
            .map(|h| {
                assert!(h.name.len() <= 15, "host name {} is too long", h.name);
                (h.name.clone(), plant_namespace(&format!("{tag}-{}", h.name)))
            })
            .collect();
        let sensor = &hosts[&scenario.sensor];
        switch.ip(&[
            "link", "add", "mirror", "type", "veth", "peer", "name", "span", "netns", &sensor.0,
        ]);
        quiet_ipv6(sensor, "span");
        switch.ip(&["link", "set", "mirror", "up"]);
        sensor.ip(&["link", "set", "span", "up"]);
        for host in &scenario.host {
            let ns = &hosts[&host.name];
            switch.ip(&[
                "link", "add", &host.name, "type", "veth", "peer", "name", "eth0", "netns", &ns.0,
            ]);
            switch.ip(&["link", "set", &host.name, "master", "br0", "up"]);
            quiet_ipv6(ns, "eth0");
            let addr = format!("{}/{}", host.ip, scenario.prefix_len);
            ns.ip(&["addr", "add", &addr, "dev", "eth0"]);
            ns.ip(&["link", "set", "eth0", "up"]);
            if host.mirrored {
                mirror(&switch, &host.name);
            }
        }
        Plant {
            switch,
            hosts,
            devices: Vec::new(),
            logs: tempfile::tempdir().unwrap(),
        }
    }

    /// The namespace of host `name`.
    pub fn ns(&self, name: &str) -> &Namespace {
        &self.hosts[name]
    }

    /// Starts every device of the scenario and waits until each says it is ready.
    pub fn start_devices(&mut self, scenario: &Scenario) {
        for host in &scenario.host {
            for (i, cmd) in host.serve.iter().enumerate() {
                let log = self.logs.path().join(format!("{}-{i}.log", host.name));
                let mut child = self
                    .python_in(&host.name, cmd)
                    .stdout(Stdio::piped())
                    .stderr(std::fs::File::create(&log).unwrap())
                    .spawn()
                    .unwrap();
                let mut line = String::new();
                let mut out = BufReader::new(child.stdout.take().unwrap());
                out.read_line(&mut line).unwrap();
                assert_eq!(
                    line.trim(),
                    "ready",
                    "{} on {} did not start: {}",
                    cmd[0],
                    host.name,
                    std::fs::read_to_string(&log).unwrap_or_default()
                );
                // Keep draining what the device prints so it never blocks on a full pipe.
                std::thread::spawn(move || for _ in out.lines().map_while(Result::ok) {});
                self.devices.push(child);
            }
        }
    }

    /// Runs every step of the scenario in order; each must succeed.
    pub fn run_steps(&self, scenario: &Scenario) {
        for step in &scenario.step {
            let out = self
                .python_in(&step.from, &step.run)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "step {:?} on {} failed: {}",
                step.run,
                step.from,
                String::from_utf8_lossy(&out.stderr)
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// A `plant.py` command line run inside host `host`'s namespace.
    fn python_in(&self, host: &str, args: &[String]) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.hosts[host].0])
            .arg(python())
            .arg(workspace().join("tests/plant/plant.py"))
            .args(args)
            .stdin(Stdio::null());
        cmd
    }
}

impl Drop for Plant {
    fn drop(&mut self) {
        for child in &mut self.devices {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A fresh namespace where interfaces are made without IPv6 (nothing sent unasked).
fn plant_namespace(name: &str) -> Namespace {
    let ns = Namespace::new(name);
    for scope in ["all", "default"] {
        ns.exec(
            "sysctl",
            &["-qw", &format!("net.ipv6.conf.{scope}.disable_ipv6=1")],
        );
    }
    ns
}

/// Turns IPv6 off on `dev` in `ns` so it sends nothing of its own (router solicitations, DAD).
fn quiet_ipv6(ns: &Namespace, dev: &str) {
    ns.exec("sysctl", &["-qw", &format!("net.ipv6.conf.{dev}.disable_ipv6=1")]);
}

/// Mirrors every frame entering the bridge from `port` to the `mirror` interface (a u32 filter
/// matching everything: the matchall classifier is not in every kernel).
fn mirror(switch: &Namespace, port: &str) {
    let tc = |args: &[&str]| {
        let out = switch.exec("tc", args);
        assert!(
            out.status.success(),
            "tc {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    tc(&["qdisc", "add", "dev", port, "handle", "ffff:", "ingress"]);
    tc(&[
        "filter", "add", "dev", port, "parent", "ffff:", "protocol", "all", "u32", "match", "u32", "0", "0",
        "action", "mirred", "egress", "mirror", "dev", "mirror",
    ]);
}
