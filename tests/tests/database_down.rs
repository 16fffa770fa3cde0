//! The collector's PostgreSQL goes away while an agent delivers: the collector reaches it through
//! a TCP relay the test cuts (every open connection reset, new ones refused). Batches that cannot
//! be stored are refused as `store_unavailable`, the agent keeps them spooled and backs off, and
//! once the database is back everything is stored, every batch once. Skips, saying so, without a
//! PostgreSQL server.

use shoko_collector::store::postgres::scratch::Scratch;
use shoko_tests::*;
use std::net::{TcpListener, TcpStream};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

const CAPTURE: &str = "ITI_ICS-Security-Tools/pcaps/ModbusTCP/mb2.pcap";

/// A TCP relay to `target` that can be cut: while down, open connections are reset and new ones
/// closed at once.
struct Relay {
    port: u16,
    up: Arc<AtomicBool>,
    open: Arc<Mutex<Vec<TcpStream>>>,
}

impl Relay {
    fn start(target: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let (up, open) = (Arc::new(AtomicBool::new(true)), Arc::new(Mutex::new(Vec::new())));
        let (up2, open2, target) = (up.clone(), open.clone(), target.to_owned());
        std::thread::spawn(move || {
            for client in listener.incoming().map_while(Result::ok) {
                if !up2.load(Ordering::SeqCst) {
                    continue;
                }
                let Ok(server) = TcpStream::connect(&target) else {
                    continue;
                };
                let mut list = open2.lock().unwrap();
                list.push(client.try_clone().unwrap());
                list.push(server.try_clone().unwrap());
                splice(client, server);
            }
        });
        Relay { port, up, open }
    }

    fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        for s in self.open.lock().unwrap().drain(..) {
            let _ = s.shutdown(std::net::Shutdown::Both);
        }
    }

    fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

#[test]
fn a_database_outage_delays_evidence_but_loses_none() {
    let Some(db) = Scratch::for_test("a_database_outage_delays_evidence_but_loses_none") else {
        return;
    };
    let url = db.url();
    let Some(rest) = url.strip_prefix("postgres://postgres@127.0.0.1:5432/") else {
        eprintln!("SKIPPED: the relay is set up for postgres://postgres@127.0.0.1:5432, not {url}");
        return;
    };
    let expected: u32 = direct_delivery(&dev_capture(CAPTURE)).values().sum();
    let relay = Relay::start("127.0.0.1:5432");
    let data = DataDir::init();
    data.set(
        "store",
        &format!(
            "{:?}",
            format!("postgres://postgres@127.0.0.1:{}/{rest}", relay.port)
        ),
    );
    let listen = format!("127.0.0.1:{}", free_port());
    let bundle = data.enroll_for("patient", &["--collector", &listen]);
    let collector = CollectorProcess::start_on(&data, &listen);

    relay.cut();
    let dir = tempfile::tempdir().unwrap();
    let config = file_agent_config(dir.path(), &bundle, &dev_capture(CAPTURE));
    let mut agent = start_agent_with(&config, &[], Stdio::null());
    let refusal = collector.wait_refusal("store_unavailable");
    let message = refusal["message"].as_str().unwrap_or("");
    assert!(
        message.starts_with("session refused: cannot read the agent's highest stored batch: database:")
            || message.starts_with("session refused: cannot store batch"),
        "{refusal}"
    );
    std::thread::sleep(std::time::Duration::from_secs(2));

    relay.restore();
    wait_until("every observation stored once the database is back", 90, || {
        let (code, body) = collector.status("/api/v1/status");
        code == 200
            && serde_json::from_str::<serde_json::Value>(&body).unwrap()["observations"].as_u64()
                == Some(u64::from(expected) + 1)
    });
    signal(&agent, "-TERM");
    assert!(agent.wait().unwrap().success());
    let a = &collector.get_json("/api/v1/agents")[0];
    assert_eq!(a["highest_seq"], a["batches"], "every batch once");
    assert_eq!(
        collector.get_json("/api/v1/status")["observations"].as_u64(),
        Some(u64::from(expected) + 1),
        "the capture's observations and one telemetry report, nothing twice"
    );
}
