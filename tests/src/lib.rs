//! Helpers for shoko's end-to-end tests: locate the built binaries, run collector processes and
//! collect their logs, and talk to a collector at the frame level with a real TLS client.

use shoko_agent::identity::Identity;
use shoko_proto::{
    AssetRef, Endpoint, FlowSummary, Message, MessageCodec, Observation, ObservationBody, ParserRef,
    Provenance, Service, Source, Timestamp, Transport,
};
use std::io::{BufRead, BufReader};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex, Once};
use std::time::{Duration, Instant};

pub mod plant;

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A file of the shared DEV captures.
pub fn dev_capture(rel: &str) -> PathBuf {
    workspace().join("../shared/pcaps/dev").join(rel)
}

static BUILD: Once = Once::new();

/// Path of a workspace binary, building the binaries once if they are not there yet.
pub fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target profile directory");
    let path = dir.join(name);
    BUILD.call_once(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        // Benchmarks run from target/release: they measure release binaries.
        let release = dir.ends_with("release").then_some("--release");
        let status = Command::new(cargo)
            .args(["build", "-p", "shoko-agent", "-p", "shoko-collector", "--bins"])
            .args(release)
            .current_dir(workspace())
            .status()
            .expect("running cargo build");
        assert!(status.success(), "building the shoko binaries failed");
    });
    path
}

/// Runs a workspace binary to completion.
pub fn run(name: &str, args: &[&str]) -> Output {
    Command::new(bin(name))
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .unwrap_or_else(|e| panic!("running {name}: {e}"))
}

/// Runs a workspace binary and asserts it succeeded.
pub fn run_ok(name: &str, args: &[&str]) -> Output {
    let out = run(name, args);
    assert!(
        out.status.success(),
        "{name} {args:?} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Runs a command that must succeed; its standard output.
pub fn command_ok(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Builds the .deb packages with `deploy/package.sh` from the dev build the tests already have;
/// their paths (agent, then collector).
pub fn build_packages() -> Vec<PathBuf> {
    command_ok(Command::new(workspace().join("deploy/package.sh")).env("SHOKO_DEB_PROFILE", "dev"))
        .lines()
        .map(PathBuf::from)
        .collect()
}

/// Acknowledges change record `change` in the store of `data` under `reference`, decided by `by`
/// (`shoko-collector decide`).
pub fn acknowledge(data: &str, change: &str, reference: &str, by: &str) -> Output {
    run_ok(
        "shoko-collector",
        &[
            "decide",
            "--data",
            data,
            "--change",
            change,
            "--reference",
            reference,
            "--by",
            by,
        ],
    )
}

/// Runs `shoko-agent send` of `pcap` to the collector at `ingest` with a 20 s delivery timeout.
pub fn agent_send(bundle: &Path, ingest: SocketAddr, pcap: &Path) -> Output {
    run(
        "shoko-agent",
        &[
            "send",
            "--identity",
            &bundle.display().to_string(),
            "--collector",
            &ingest.to_string(),
            "--pcap",
            &pcap.display().to_string(),
            "--timeout",
            "20",
        ],
    )
}

/// Writes the synthetic plant capture into `dir`; returns its path.
pub fn synth_capture(dir: &Path) -> PathBuf {
    let path = dir.join("plant.pcap");
    shoko_agent::synth::write_plant_pcap(std::fs::File::create(&path).unwrap()).unwrap();
    path
}

/// A data directory initialised with `shoko-collector init`, with agents enrolled on demand.
pub struct DataDir {
    /// Keeps the directory alive.
    pub dir: tempfile::TempDir,
}

impl DataDir {
    /// Runs `init` in a fresh temporary directory.
    pub fn init() -> Self {
        Self::init_in(&std::env::temp_dir())
    }

    /// Runs `init` in a fresh temporary directory inside `parent` (a small filesystem, say).
    pub fn init_in(parent: &Path) -> Self {
        let dir = tempfile::tempdir_in(parent).unwrap();
        run_ok(
            "shoko-collector",
            &["init", "--data", &dir.path().display().to_string()],
        );
        DataDir { dir }
    }

    /// The data directory path as a string.
    pub fn path(&self) -> String {
        self.dir.path().display().to_string()
    }

    /// Sets `key = value` in the data directory's `collector.toml` (the key must be there).
    pub fn set(&self, key: &str, value: &str) {
        let path = self.dir.path().join("collector.toml");
        let text = std::fs::read_to_string(&path).unwrap();
        let prefix = format!("{key} = ");
        assert!(
            text.lines().any(|l| l.starts_with(&prefix)),
            "no {key} in collector.toml"
        );
        let text: Vec<String> = text
            .lines()
            .map(|l| {
                if l.starts_with(&prefix) {
                    format!("{prefix}{value}")
                } else {
                    l.to_owned()
                }
            })
            .collect();
        std::fs::write(&path, text.join("\n") + "\n").unwrap();
    }

    /// Runs `enroll` for `agent_id`; returns the bundle directory.
    pub fn enroll(&self, agent_id: &str) -> PathBuf {
        self.enroll_for(agent_id, &[])
    }

    /// Runs `enroll` for `agent_id` with extra arguments (e.g. `--collector HOST:PORT`).
    pub fn enroll_for(&self, agent_id: &str, extra: &[&str]) -> PathBuf {
        let out = self.dir.path().join("bundles").join(agent_id);
        let (out_s, data) = (out.display().to_string(), self.path());
        let mut args = vec!["enroll", "--data", &data, "--agent-id", agent_id, "--out", &out_s];
        args.extend_from_slice(extra);
        run_ok("shoko-collector", &args);
        out
    }
}

/// A running `shoko-collector serve` process with its log lines.
pub struct CollectorProcess {
    child: Child,
    /// Agent listener.
    pub ingest: SocketAddr,
    /// Web UI and API (HTTPS).
    pub http: SocketAddr,
    logs: Arc<Mutex<Vec<serde_json::Value>>>,
    data: String,
    token: std::sync::OnceLock<String>,
}

/// Name of the read-only user the tests' API calls authenticate as.
pub const API_USER: &str = "shoko-test-reader";

/// An HTTPS client trusting the collector CA of data directory `data` (statuses are not errors,
/// redirects are not followed).
pub fn https_client(data: &str) -> ureq::Agent {
    let pem = std::fs::read(Path::new(data).join("pki/ca.crt")).expect("reading pki/ca.crt");
    let roots: Vec<ureq::tls::Certificate<'static>> = ureq::tls::parse_pem(&pem)
        .filter_map(|item| match item {
            Ok(ureq::tls::PemItem::Certificate(c)) => Some(c),
            _ => None,
        })
        .collect();
    let tls = ureq::tls::TlsConfig::builder()
        .provider(ureq::tls::TlsProvider::Rustls)
        .root_certs(ureq::tls::RootCerts::new_with_certs(&roots))
        .unversioned_rustls_crypto_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
        .build();
    ureq::Agent::config_builder()
        .tls_config(tls)
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(Duration::from_secs(120)))
        .build()
        .new_agent()
}

/// Adds user `name` with `role` and `password` through `users add`.
pub fn add_user(data: &str, name: &str, role: &str, password: &str) -> Output {
    use std::io::Write;
    let mut child = Command::new(bin("shoko-collector"))
        .args([
            "users", "add", "--data", data, "--name", name, "--role", role, "--by", "root",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
    child.wait_with_output().unwrap()
}

/// The audit log of a data directory, newest first: (actor, action, target) of each entry.
pub fn audit_actions(data: &str) -> Vec<(String, String, String)> {
    let out = run_ok(
        "shoko-collector",
        &["audit-log", "--data", data, "--limit", "1000", "--json"],
    );
    let log: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    log.iter()
        .map(|e| {
            let field = |k: &str| e[k].as_str().unwrap_or_default().to_owned();
            (field("actor"), field("action"), field("target"))
        })
        .collect()
}

/// `attest countersign` of attestation `id` with `token` (read from standard input).
pub fn countersign(data: &str, id: i64, token: &str) -> Output {
    use std::io::Write;
    let mut child = Command::new(bin("shoko-collector"))
        .args(["attest", "countersign", "--data", data, "--id", &id.to_string()])
        .env_remove("SHOKO_TOKEN")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{token}").unwrap();
    child.wait_with_output().unwrap()
}

/// Adds a second administrator, `approver`, and countersigns attestation `id` as them (four
/// eyes).
pub fn countersign_as_second_admin(data: &str, id: i64) {
    let added = add_user(data, "approver", "admin", "a second admin passphrase");
    let err = String::from_utf8_lossy(&added.stderr);
    assert!(added.status.success() || err.contains("exists"), "{err}");
    let out = countersign(data, id, &create_token(data, "approver"));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

/// Creates an API token for `user` through `tokens create`; the token.
pub fn create_token(data: &str, user: &str) -> String {
    let out = run_ok(
        "shoko-collector",
        &[
            "tokens", "create", "--data", data, "--user", user, "--name", "tests", "--by", "root",
        ],
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

impl CollectorProcess {
    /// Starts `serve` on ephemeral loopback ports and waits until it listens.
    pub fn start(data: &DataDir) -> Self {
        Self::start_on(data, "127.0.0.1:0")
    }

    /// Starts `serve` with agents listening on `listen` (HTTP on an ephemeral port).
    pub fn start_on(data: &DataDir, listen: &str) -> Self {
        Self::start_with(data, listen, &[])
    }

    /// Starts `serve` through a wrapper command (e.g. `ip netns exec NS`), listening on `listen`.
    pub fn start_with(data: &DataDir, listen: &str, wrapper: &[&str]) -> Self {
        let mut cmd = match wrapper.split_first() {
            Some((first, rest)) => {
                let mut c = Command::new(first);
                c.args(rest).arg(bin("shoko-collector"));
                c
            }
            None => Command::new(bin("shoko-collector")),
        };
        let mut child = cmd
            .args([
                "--log-format",
                "json",
                "--log-level",
                "info",
                "serve",
                "--data",
                &data.path(),
            ])
            .args(["--listen", listen, "--http", "127.0.0.1:0"])
            .env_remove("RUST_LOG")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting shoko-collector serve");
        let logs = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        let sink = logs.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let v: serde_json::Value =
                    serde_json::from_str(&line).unwrap_or_else(|_| serde_json::json!({ "message": line }));
                if v["message"] == "collector serving" {
                    let _ = tx.send((
                        v["ingest"].as_str().unwrap_or("").to_owned(),
                        v["http"].as_str().unwrap_or("").to_owned(),
                    ));
                }
                sink.lock().unwrap().push(v);
            }
        });
        let (ingest, http) = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("collector did not start");
        CollectorProcess {
            child,
            ingest: ingest.parse().unwrap(),
            http: http.parse().unwrap(),
            logs,
            data: data.path(),
            token: std::sync::OnceLock::new(),
        }
    }

    /// Process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// True while the process runs.
    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// Resident memory of the process in KiB.
    pub fn rss_kib(&self) -> u64 {
        self.status_kib("VmRSS:")
    }

    /// The most resident memory the process has had, in KiB.
    pub fn peak_rss_kib(&self) -> u64 {
        self.status_kib("VmHWM:")
    }

    fn status_kib(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix(field))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap()
    }

    /// Waits until a log line satisfies `pred`; returns it.
    pub fn wait_log(&self, what: &str, pred: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(v) = self.logs.lock().unwrap().iter().find(|v| pred(v)) {
                return v.clone();
            }
            assert!(
                Instant::now() < deadline,
                "no log line {what}; logs:\n{:#?}",
                self.logs.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The log lines so far.
    pub fn logs(&self) -> Vec<serde_json::Value> {
        self.logs.lock().unwrap().clone()
    }

    /// Waits for a refusal logged with `reason`; returns the line.
    pub fn wait_refusal(&self, reason: &str) -> serde_json::Value {
        self.wait_log(&format!("with reason {reason}"), |v| v["reason"] == reason)
    }

    /// An API token of the tests' read-only user, created on first use.
    pub fn token(&self) -> &str {
        self.token.get_or_init(|| {
            // A collector restarted on the same data directory finds the user there.
            let out = add_user(&self.data, API_USER, "auditor", "tests read everything");
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(out.status.success() || err.contains("exists"), "{err}");
            create_token(&self.data, API_USER)
        })
    }

    /// The URL of `path` on the web server.
    pub fn url(&self, path: &str) -> String {
        format!("https://{}{path}", self.http)
    }

    /// GETs `path` with the tests' token: the status and body.
    pub fn status(&self, path: &str) -> (u16, String) {
        let mut r = https_client(&self.data)
            .get(&self.url(path))
            .header("Authorization", &format!("Bearer {}", self.token()))
            .call()
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        let body = r.body_mut().read_to_string().unwrap_or_default();
        (r.status().as_u16(), body)
    }

    /// GETs a text document from the API, which must answer 200.
    pub fn get_text(&self, path: &str) -> String {
        let (code, body) = self.status(path);
        assert_eq!(code, 200, "GET {path}: {body}");
        body
    }

    /// GETs a JSON document from the HTTP API.
    pub fn get_json(&self, path: &str) -> serde_json::Value {
        let text = self.get_text(path);
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("GET {path}: {e}: {text}"))
    }
}

impl Drop for CollectorProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback port that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Polls `f` every 50 ms until it returns true; fails after `secs` seconds naming `what`.
pub fn wait_until(what: &str, secs: u64, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A frame-level TLS session with a collector, for tests that misbehave on purpose.
pub struct RawSession {
    /// The framed TLS stream.
    pub conn: tokio_util::codec::Framed<tokio_rustls::client::TlsStream<tokio::net::TcpStream>, MessageCodec>,
}

/// TLS client configuration of an identity bundle.
pub fn client_config(bundle: &Path) -> Arc<rustls::ClientConfig> {
    shoko_agent::uplink::tls::client_config(&Identity::load(bundle).unwrap()).unwrap()
}

impl RawSession {
    /// Connects with `config` (TLS handshake only; nothing sent).
    pub async fn connect(addr: SocketAddr, config: Arc<rustls::ClientConfig>) -> std::io::Result<Self> {
        let tcp = tokio::net::TcpStream::connect(addr).await?;
        let name = rustls::pki_types::ServerName::try_from("shoko-collector").unwrap();
        let tls = tokio_rustls::TlsConnector::from(config)
            .connect(name, tcp)
            .await?;
        Ok(RawSession {
            conn: tokio_util::codec::Framed::new(tls, MessageCodec::new(shoko_proto::DEFAULT_MAX_FRAME_LEN)),
        })
    }

    /// Sends a message.
    pub async fn send(&mut self, m: &Message) {
        use futures_util::SinkExt;
        self.conn.send(m).await.unwrap();
    }

    /// Receives the next message; `None` when the collector closed the session or failed it.
    pub async fn recv(&mut self) -> Option<Message> {
        use futures_util::StreamExt;
        match tokio::time::timeout(Duration::from_secs(10), self.conn.next()).await {
            Ok(Some(Ok(m))) => Some(m),
            Ok(_) => None,
            Err(_) => panic!("no answer from the collector in 10 s"),
        }
    }

    /// Writes raw bytes inside the TLS stream.
    pub async fn write_raw(&mut self, bytes: &[u8]) {
        use tokio::io::AsyncWriteExt;
        let s = self.conn.get_mut();
        s.write_all(bytes).await.unwrap();
        s.flush().await.unwrap();
    }

    /// Connects as `agent_id`, says hello in protocol version 1 and expects a welcome; returns the
    /// session and the collector's highest stored sequence number for the agent.
    pub async fn open(addr: SocketAddr, config: Arc<rustls::ClientConfig>, agent_id: &str) -> (Self, u64) {
        let mut s = Self::connect(addr, config).await.unwrap();
        match s.hello(agent_id, &[1]).await {
            Some(Message::Welcome {
                highest_stored_seq, ..
            }) => (s, highest_stored_seq),
            other => panic!("expected a welcome, got {other:?}"),
        }
    }

    /// Sends the hello of `agent_id` with protocol `versions`.
    pub async fn hello(&mut self, agent_id: &str, versions: &[u16]) -> Option<Message> {
        self.send(&Message::Hello {
            agent_id: agent_id.into(),
            agent_version: "test".into(),
            protocol_versions: versions.to_vec(),
            agent_time: Some(Timestamp::now()),
        })
        .await;
        self.recv().await
    }
}

/// The services of a stored-assets listing (`shoko-collector assets --json`) as
/// `IP transport/port protocol` strings.
pub fn service_strings(assets: &serde_json::Value) -> std::collections::BTreeSet<String> {
    assets
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|a| a["services"].as_array().unwrap().iter())
        .map(|s| {
            format!(
                "{} {}/{} {}",
                s["ip"].as_str().unwrap(),
                s["transport"].as_str().unwrap(),
                s["port"],
                s["protocol"].as_str().unwrap_or("")
            )
        })
        .collect()
}

/// A network namespace made for a test or bench, deleted when dropped. Traffic sent in it never
/// leaves it.
pub struct Namespace(pub String);

impl Namespace {
    /// A fresh namespace `name` with a veth pair `tx0` (sending side) and `cap0` (capture side),
    /// both up without IPv6 autoconfiguration, and its loopback up.
    pub fn with_veth(name: &str) -> Self {
        let ns = Namespace::new(name);
        ns.ip(&["link", "add", "tx0", "type", "veth", "peer", "name", "cap0"]);
        for dev in ["tx0", "cap0"] {
            // The capture side must have no reason of its own to transmit.
            ns.exec("sysctl", &["-qw", &format!("net.ipv6.conf.{dev}.disable_ipv6=1")]);
            ns.ip(&["link", "set", dev, "up"]);
        }
        ns.ip(&["link", "set", "lo", "up"]);
        ns
    }

    /// A fresh, empty namespace `name` with its loopback up.
    pub fn new(name: &str) -> Self {
        let ns = Namespace(name.to_owned());
        let _ = Command::new("ip").args(["netns", "del", name]).status();
        assert!(
            Command::new("ip")
                .args(["netns", "add", name])
                .status()
                .unwrap()
                .success()
        );
        ns.ip(&["link", "set", "lo", "up"]);
        ns
    }

    /// Joins this namespace to `other` with a veth pair: `dev` here with `addr` (CIDR), `peer`
    /// there with `peer_addr`, both up.
    pub fn link_to(&self, dev: &str, addr: &str, other: &Namespace, peer: &str, peer_addr: &str) {
        self.ip(&[
            "link", "add", dev, "type", "veth", "peer", "name", peer, "netns", &other.0,
        ]);
        self.ip(&["addr", "add", addr, "dev", dev]);
        other.ip(&["addr", "add", peer_addr, "dev", peer]);
        self.ip(&["link", "set", dev, "up"]);
        other.ip(&["link", "set", peer, "up"]);
    }

    /// Runs `ip -n NAME ARGS`, which must succeed.
    pub fn ip(&self, args: &[&str]) {
        let ok = Command::new("ip")
            .arg("-n")
            .arg(&self.0)
            .args(args)
            .status()
            .unwrap()
            .success();
        assert!(ok, "ip -n {} {args:?}", self.0);
    }

    /// Runs a command inside the namespace.
    pub fn exec(&self, cmd: &str, args: &[&str]) -> Output {
        Command::new("ip")
            .args(["netns", "exec", &self.0, cmd])
            .args(args)
            .output()
            .unwrap()
    }

    /// Runs `f` on a thread inside the namespace (its sockets are the namespace's) and returns
    /// what it returns.
    pub fn inside<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        use std::os::fd::AsRawFd;
        let netns = std::fs::File::open(format!("/var/run/netns/{}", self.0)).unwrap();
        std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    // SAFETY: setns on an open namespace file only changes this thread's network
                    // namespace.
                    let rc = unsafe { libc::setns(netns.as_raw_fd(), libc::CLONE_NEWNET) };
                    assert_eq!(rc, 0, "setns {}: {}", self.0, std::io::Error::last_os_error());
                    f()
                })
                .join()
                .unwrap()
        })
    }

    /// Makes `127.0.0.1:port` inside the namespace reach `127.0.0.1:port` of the test's own
    /// namespace (a local PostgreSQL for a collector in the namespace, say), for as long as the
    /// test runs.
    pub fn forward_local_port(&self, port: u16) {
        let listener = self.inside(|| std::net::TcpListener::bind(("127.0.0.1", port)).unwrap());
        std::thread::spawn(move || {
            for inner in listener.incoming().map_while(Result::ok) {
                if let Ok(outer) = std::net::TcpStream::connect(("127.0.0.1", port)) {
                    splice(inner, outer);
                }
            }
        });
    }

    /// The transmit counter of `dev`.
    pub fn tx_packets(&self, dev: &str) -> u64 {
        let out = self.exec("cat", &[&format!("/sys/class/net/{dev}/statistics/tx_packets")]);
        String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
    }

    /// Replays `files` into `tx0` with extra tcpreplay options.
    pub fn replay(&self, files: &[String], options: &[&str]) {
        let mut args = vec!["-q", "-i", "tx0"];
        args.extend_from_slice(options);
        args.extend(files.iter().map(String::as_str));
        let out = self.exec("tcpreplay", &args);
        assert!(
            out.status.success(),
            "tcpreplay: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

/// Observation `i` of simulated agent `a` for load tests: every tenth a Modbus service of
/// device 10.(a/250).(a%250).(i/10%250+1), the rest flows to it.
pub fn load_observation(a: usize, i: usize) -> Observation {
    let ip = |host: usize| {
        IpAddr::V4(Ipv4Addr::new(
            10,
            (a / 250) as u8,
            (a % 250) as u8,
            (host % 250) as u8 + 1,
        ))
    };
    let at = Timestamp(1_700_000_000_000_000_000 + i as i64 * 1_000_000);
    let body = if i.is_multiple_of(10) {
        ObservationBody::Service(Service {
            asset: AssetRef {
                ip: Some(ip(i / 10)),
                ..Default::default()
            },
            transport: Transport::Tcp,
            port: 502,
            protocol: Some("modbus".into()),
            banner: None,
            detected_by: Some("content".into()),
            bound: None,
            process: None,
        })
    } else {
        ObservationBody::FlowSummary(FlowSummary {
            vlan: None,
            transport: Transport::Tcp,
            ip_proto: 6,
            orig: Endpoint {
                ip: ip(i),
                port: 40_000 + (i % 20_000) as u16,
                mac: None,
            },
            resp: Endpoint {
                ip: ip(i / 10),
                port: 502,
                mac: None,
            },
            orig_packets: 10,
            orig_bytes: 640,
            resp_packets: 9,
            resp_bytes: 700,
            first_seen: at,
            last_seen: at,
            app_protocol: Some("modbus".into()),
            history: Some("ShADadFf".into()),
            orig_payload_bytes: 120,
            resp_payload_bytes: 220,
            state: Some("SF".into()),
        })
    };
    Observation {
        provenance: Provenance {
            source: Source::Interface { name: "eth1".into() },
            parser: ParserRef::new("flow", "1"),
            observed_at: at,
            evidence: Default::default(),
        },
        body,
    }
}

/// Writes `agent.toml` into `dir` for an agent that delivers the capture file `pcap` in batches of
/// 25 observations, spooling in `dir/spool`, with hourly telemetry; its path.
pub fn file_agent_config(dir: &Path, bundle: &Path, pcap: &Path) -> PathBuf {
    let config = dir.join("agent.toml");
    std::fs::write(
        &config,
        format!(
            "identity = {:?}\ntelemetry_interval_secs = 3600\n[capture]\nfiles = [{:?}]\n\
             [uplink]\nbatch_max_observations = 25\n[spool]\ndir = {:?}\n",
            bundle.display().to_string(),
            pcap.display().to_string(),
            dir.join("spool").display().to_string()
        ),
    )
    .unwrap();
    config
}

/// Starts `shoko-agent run` with a configuration.
pub fn start_agent(config: &Path) -> Child {
    start_agent_with(config, &[], Stdio::null())
}

/// Starts `shoko-agent run` with a configuration through a wrapper command (e.g. `ip netns exec
/// NS`), its log to `stderr`.
pub fn start_agent_with(config: &Path, wrapper: &[&str], stderr: Stdio) -> Child {
    let mut cmd = match wrapper.split_first() {
        Some((first, rest)) => {
            let mut c = Command::new(first);
            c.args(rest).arg(bin("shoko-agent"));
            c
        }
        None => Command::new(bin("shoko-agent")),
    };
    cmd.args(["run", "--config", config.to_str().unwrap()])
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .unwrap()
}

/// Copies bytes both ways between two connected streams, one thread per direction; when either
/// side ends, both are shut down.
pub fn splice(a: std::net::TcpStream, b: std::net::TcpStream) {
    for (mut from, mut to) in [(a.try_clone().unwrap(), b.try_clone().unwrap()), (b, a)] {
        std::thread::spawn(move || {
            let _ = std::io::copy(&mut from, &mut to);
            let _ = to.shutdown(std::net::Shutdown::Both);
            let _ = from.shutdown(std::net::Shutdown::Both);
        });
    }
}

/// True when running as root; otherwise prints `SKIPPED: {why}` and returns false (tests that
/// need namespaces, mounts or packages skip, saying why).
pub fn root_or_skip(why: &str) -> bool {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    if !root {
        eprintln!("SKIPPED: {why}");
    }
    root
}

/// A child process killed and reaped when dropped, so a failing test leaves nothing running.
pub struct KillOnDrop(pub Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Sends a signal (`-USR1`, `-KILL` ...) to a process.
pub fn signal(agent: &Child, sig: &str) {
    assert!(
        Command::new("kill")
            .args([sig, &agent.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
}

/// A host agent of the Debian 12 fixture (copied, so a test may change it) for a collector on
/// `listen`: its data directory, root, state file and configuration.
pub struct HostAgent {
    /// Keeps the files alive.
    _dir: tempfile::TempDir,
    /// The host's root (a copy of the fixture).
    pub root: PathBuf,
    /// The agent's state file.
    pub state: PathBuf,
    /// The agent's configuration.
    pub config: PathBuf,
}

impl HostAgent {
    /// A fresh collector and the host agent `hmi-01` enrolled for it.
    pub fn with_collector() -> (DataDir, CollectorProcess, Self) {
        let data = DataDir::init();
        let listen = format!("127.0.0.1:{}", free_port());
        let collector = CollectorProcess::start_on(&data, &listen);
        let host = HostAgent::new(&data, "hmi-01", &listen);
        (data, collector, host)
    }

    /// The host agent `agent_id` enrolled for the collector on `listen`.
    pub fn new(data: &DataDir, agent_id: &str, listen: &str) -> Self {
        let bundle = data.enroll_for(agent_id, &["--collector", listen]);
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        let fixture = workspace().join("agent/tests/fixtures/debian12");
        assert!(
            Command::new("cp")
                .args(["-a", fixture.to_str().unwrap(), root.to_str().unwrap()])
                .status()
                .unwrap()
                .success()
        );
        let state = dir.path().join("state/host-snapshot.json");
        let config = dir.path().join("agent.toml");
        std::fs::write(
            &config,
            format!(
                "identity = {:?}\ntelemetry_interval_secs = 1\n[host]\nenabled = true\nroot = {:?}\n\
                 interval_secs = 3600\nstate_file = {:?}\n",
                bundle.display().to_string(),
                root.display().to_string(),
                state.display().to_string()
            ),
        )
        .unwrap();
        HostAgent {
            _dir: dir,
            root,
            state,
            config,
        }
    }
}

/// A collector holding the dev captures `captures` (one sensor each, `sensor-0` ...), with
/// `zones` as its declared zones (none when empty).
pub fn collector_with_captures(captures: &[&str], zones: &str) -> (DataDir, CollectorProcess) {
    let data = DataDir::init();
    if !zones.is_empty() {
        std::fs::write(data.dir.path().join("zones.toml"), zones).unwrap();
        let cfg = data.dir.path().join("collector.toml");
        let text = std::fs::read_to_string(&cfg).unwrap() + "\nzones = \"zones.toml\"\n";
        std::fs::write(&cfg, text).unwrap();
    }
    let collector = CollectorProcess::start(&data);
    for (i, rel) in captures.iter().enumerate() {
        let out = agent_send(
            &data.enroll(&format!("sensor-{i}")),
            collector.ingest,
            &dev_capture(rel),
        );
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    (data, collector)
}

/// The SHA-256 of every observation body a data directory's SQLite store holds, but the agents'
/// telemetry, with how often each is stored.
pub fn stored_digests(data: &DataDir) -> std::collections::BTreeMap<String, u32> {
    use sha2::Digest;
    let db = rusqlite::Connection::open(Path::new(&data.path()).join("shoko.db")).unwrap();
    let mut q = db
        .prepare("SELECT body FROM observations WHERE kind <> 'agent_telemetry'")
        .unwrap();
    let mut out = std::collections::BTreeMap::new();
    for body in q.query_map([], |r| r.get::<_, Vec<u8>>(0)).unwrap() {
        *out.entry(hex::encode(sha2::Sha256::digest(body.unwrap())))
            .or_insert(0) += 1;
    }
    out
}

/// What `shoko-agent send` of `pcap` stores: the digests of its observations (see
/// [`stored_digests`]).
pub fn direct_delivery(pcap: &Path) -> std::collections::BTreeMap<String, u32> {
    let data = DataDir::init();
    let collector = CollectorProcess::start(&data);
    let out = agent_send(&data.enroll("direct"), collector.ingest, pcap);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    drop(collector);
    stored_digests(&data)
}
