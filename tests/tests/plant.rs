//! Plant-in-a-box end to end: the plant of `tests/plant/scenario.toml` built from network
//! namespaces, its devices real protocol stacks from PyPI (pymodbus, python-snap7, cpppo, c104,
//! asyncua, bacpypes3), a shoko sensor on the bridge's mirror port, a shoko host agent on the HMI and the
//! collector in the DMZ. After the operators' steps the inventory, events and findings must be
//! exactly what the scenario expects. Needs root (network namespaces) and the plant's virtualenv
//! (`.ci/run` makes it); without root it skips, saying why.

use shoko_collector::store::postgres::scratch::Scratch;
use shoko_tests::plant::{Plant, Scenario, python};
use shoko_tests::*;
use std::collections::{BTreeMap, BTreeSet};
use std::process::Stdio;

/// The scenario, the plant built and running, and the collector with its agents.
struct Run {
    // Dropped in this order: the agents, the collector, the devices and namespaces, the data.
    sensor: KillOnDrop,
    host_agent: KillOnDrop,
    collector: CollectorProcess,
    plant: Plant,
    scenario: Scenario,
    data: DataDir,
}

/// One plant at a time: two would share two cores with a dozen protocol stacks each.
static ONE_PLANT: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Builds the plant (namespaces tagged `tag`), starts shoko in it — storing in `postgres` when
/// given, reached from the collector's namespace through a forwarded local port — starts the
/// devices and runs the steps.
fn run_plant(tag: &str, postgres: Option<&Scratch>) -> Run {
    assert!(
        python().exists(),
        "no plant virtualenv at {} (.ci/run makes it: python3 -m venv target/plant-venv && \
         target/plant-venv/bin/pip install -r tests/plant/requirements.txt)",
        python().display()
    );
    let dir = workspace().join("tests/plant");
    let scenario = Scenario::load(&dir.join("scenario.toml"));
    let plant = Plant::build(&scenario, &format!("{tag}{}", std::process::id() % 100_000));

    let data = DataDir::init();
    if let Some(db) = postgres {
        data.set("store", &format!("{:?}", db.url()));
        plant.ns(&scenario.collector).forward_local_port(5432);
    }
    std::fs::copy(dir.join(&scenario.zones), data.dir.path().join("zones.toml")).unwrap();
    let cfg = data.dir.path().join("collector.toml");
    let text = std::fs::read_to_string(&cfg).unwrap() + "\nzones = \"zones.toml\"\n";
    std::fs::write(&cfg, text).unwrap();
    let listen = format!(
        "{}:{}",
        scenario.host(&scenario.collector).ip,
        scenario.collector_port
    );
    let wrapper = |host: &str| ["ip", "netns", "exec", &plant.ns(host).0].map(str::to_owned);
    let collector_ns = wrapper(&scenario.collector);
    let collector = CollectorProcess::start_with(
        &data,
        &listen,
        &collector_ns.iter().map(String::as_str).collect::<Vec<_>>(),
    );

    let bundle = data.enroll_for("span-sensor", &["--collector", &listen]);
    let sensor_config = data.dir.path().join("sensor.toml");
    std::fs::write(
        &sensor_config,
        format!(
            "identity = {:?}\ntelemetry_interval_secs = 2\n[capture]\nreport_interval_secs = 1\n\
             [[capture.interfaces]]\nname = \"span\"\n",
            bundle.display().to_string()
        ),
    )
    .unwrap();
    let sensor_ns = wrapper(&scenario.sensor);
    let sensor = KillOnDrop(start_agent_with(
        &sensor_config,
        &sensor_ns.iter().map(String::as_str).collect::<Vec<_>>(),
        Stdio::inherit(),
    ));
    let host = HostAgent::new(&data, "hmi-01", &listen);
    let host_ns = wrapper(&scenario.host_agent);
    let host_agent = KillOnDrop(start_agent_with(
        &host.config,
        &host_ns.iter().map(String::as_str).collect::<Vec<_>>(),
        Stdio::inherit(),
    ));
    std::mem::forget(host);
    let mut plant = plant;
    plant.start_devices(&scenario);
    plant.run_steps(&scenario);
    Run {
        scenario,
        plant,
        data,
        collector,
        sensor,
        host_agent,
    }
}

/// Runs `shoko-collector ARGS --data DATA --json` and parses what it prints.
fn cli_json(data: &DataDir, args: &[&str]) -> serde_json::Value {
    let d = data.path();
    let mut all = args.to_vec();
    all.extend(["--data", &d, "--json"]);
    serde_json::from_slice(&run_ok("shoko-collector", &all).stdout).unwrap()
}

/// `tcp/PORT protocol` of every service of an asset document.
fn services(asset: &serde_json::Value) -> BTreeSet<String> {
    asset["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            format!(
                "{}/{} {}",
                s["transport"].as_str().unwrap(),
                s["port"],
                s["protocol"].as_str().unwrap_or("?")
            )
        })
        .collect()
}

/// The inventory, events and findings of a finished run must be what the scenario expects.
fn check_expectations(p: &Run) {
    let expect = &p.scenario.expect;
    let assets = cli_json(&p.data, &["assets"]);
    let by_ip: BTreeMap<String, &serde_json::Value> = assets
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|a| {
            a["ips"]
                .as_array()
                .unwrap()
                .iter()
                .map(move |ip| (ip.as_str().unwrap().to_owned(), a))
        })
        .collect();
    let expected_ips: BTreeSet<&str> = expect.asset.iter().map(|a| a.ip.as_str()).collect();
    assert_eq!(
        by_ip.keys().map(String::as_str).collect::<BTreeSet<_>>(),
        expected_ips,
        "the addresses in the inventory"
    );
    for want in &expect.asset {
        let got = by_ip[&want.ip];
        let want_services: BTreeSet<String> = want.services.iter().cloned().collect();
        assert_eq!(services(got), want_services, "services of {}", want.ip);
        for (name, value) in &want.attributes {
            assert_eq!(
                got["attributes"][name].as_str(),
                Some(value.as_str()),
                "{name} of {}: {}",
                want.ip,
                got["attributes"]
            );
        }
    }

    let party = |v: &serde_json::Value| v["ip"].as_str().unwrap_or("-").to_owned();
    let events: BTreeSet<String> = cli_json(&p.data, &["events"])
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            format!(
                "{} {} {} -> {}",
                e["protocol"].as_str().unwrap(),
                e["kind"].as_str().unwrap(),
                party(&e["actor"]),
                party(&e["target"])
            )
        })
        .collect();
    let want_events: BTreeSet<String> = expect
        .event
        .iter()
        .map(|e| format!("{} {} {} -> {}", e.protocol, e.kind, e.from, e.to))
        .collect();
    assert_eq!(events, want_events, "the protocol events");

    let findings = cli_json(&p.data, &["findings"]);
    for want in &expect.finding {
        let of_rule: Vec<&serde_json::Value> = findings
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["rule"] == want.rule.as_str())
            .collect();
        let violated: BTreeSet<&str> = of_rule
            .iter()
            .filter(|f| f["outcome"] == "violated")
            .map(|f| f["subject"].as_str().unwrap())
            .collect();
        assert_eq!(
            violated,
            want.violated.iter().map(String::as_str).collect::<BTreeSet<_>>(),
            "subjects violating {}",
            want.rule
        );
        // Every violation names the observations that show it.
        for f in of_rule.iter().filter(|f| f["outcome"] == "violated") {
            assert!(
                !f["evidence"].as_array().unwrap().is_empty(),
                "{} {} has no evidence",
                want.rule,
                f["subject"]
            );
        }
    }
}

/// Attests the zone drawing for NET 1.1, acknowledges the PLC stop as a planned change, scores
/// the plant, and checks that the levels follow the attestation and the decision, and that the
/// evidence bundle verifies.
fn check_assessment(p: &Run) {
    let d = p.data.path();
    let zones = workspace().join("tests/plant").join(&p.scenario.zones);
    run_ok(
        "shoko-collector",
        &[
            "attest",
            "document",
            "--data",
            &d,
            "--requirement",
            "NET 1.1",
            "--title",
            "Zones and conduits of the plant",
            "--version",
            "1",
            "--owner",
            "OT security lead",
            "--approved",
            "2026-11-01",
            "--next-review",
            "2027-11-01",
            "--file",
            zones.to_str().unwrap(),
            "--by",
            "plant.owner",
        ],
    );
    // Four eyes: the zone drawing counts once a second administrator countersigns it.
    countersign_as_second_admin(&d, 1);
    // The PLC stop was planned: the engineer's change is acknowledged with its reference, and
    // change control (CM 1.4) finds it decided within its SLA.
    let stops = cli_json(&p.data, &["changes", "--kind", "protocol_event"]);
    let stop = stops
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["subject"] == "s7comm plc_stop from 10.77.1.20")
        .unwrap_or_else(|| panic!("no change record of the PLC stop: {stops}"));
    let id = stop["id"].to_string();
    acknowledge(&d, &id, "MOC-2026-042", "plant.engineer");
    let findings = cli_json(&p.data, &["findings", "--requirement", "CM 1.4"]);
    let decided: Vec<&serde_json::Value> = findings
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| {
            f["subject"]
                .as_str()
                .is_some_and(|s| s.starts_with(&format!("change {id} ")))
        })
        .collect();
    assert_eq!(decided.len(), 1, "{findings}");
    assert_eq!(decided[0]["outcome"], "satisfied", "{}", decided[0]);
    assert!(!decided[0]["evidence"].as_array().unwrap().is_empty());

    let assessment = cli_json(&p.data, &["assess"]);
    let mut wrong = Vec::new();
    for want in &p.scenario.expect.score {
        let got = assessment["scores"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["requirement"] == want.requirement.as_str())
            .unwrap_or_else(|| panic!("no score of {}", want.requirement));
        let found = (
            got["level"].as_str(),
            got["practice"].as_str(),
            got["documentary"].as_str(),
            got["reasons"][0].as_str(),
        );
        // The current period's label stands for PERIOD (the test runs on any day).
        let period = &assessment["periods"][0];
        let day = |k: &str| {
            period[k]
                .as_str()
                .unwrap_or_default()
                .get(..10)
                .unwrap_or_default()
                .to_string()
        };
        let practised = want
            .practised
            .replace("PERIOD", &format!("{}..{}", day("start"), day("end")));
        let wanted = (
            Some(want.level.as_str()),
            Some(want.practice.as_str()),
            want.documentary.as_deref(),
            Some(practised.as_str()),
        );
        if found != wanted {
            wrong.push(format!("{}: {found:?}, expected {wanted:?}", want.requirement));
        }
    }
    assert!(wrong.is_empty(), "scores:\n{}", wrong.join("\n"));
    let bundle = p.data.dir.path().join("bundle.tar.gz");
    run_ok(
        "shoko-collector",
        &["export-evidence", "--data", &d, "--out", bundle.to_str().unwrap()],
    );
    let key = p.data.dir.path().join("pki/evidence.pub");
    let verified = run_ok(
        "shoko-collector",
        &[
            "verify-bundle",
            bundle.to_str().unwrap(),
            "--key",
            key.to_str().unwrap(),
        ],
    );
    let verified = String::from_utf8_lossy(&verified.stdout);
    assert!(
        verified.contains(" files verified; signature checked with SHA256:")
            && verified.ends_with("intact\n"),
        "{verified}"
    );
}

/// Stops the agents (their last reports are delivered as they stop) and checks everything.
fn finish(mut p: Run) {
    for agent in [&mut p.sensor, &mut p.host_agent] {
        signal(&agent.0, "-TERM");
        assert!(agent.0.wait().unwrap().success());
    }
    check_expectations(&p);
    // What the API serves inside the DMZ is what the CLI read.
    let api_events = p
        .plant
        .ns(&p.scenario.collector)
        .inside(|| p.collector.get_json("/api/v1/events"));
    assert_eq!(api_events, cli_json(&p.data, &["events"]));
    let stops = cli_json(&p.data, &["events", "--protocol", "s7comm", "--kind", "plc_stop"]);
    assert_eq!(stops.as_array().unwrap().len(), 1, "{stops}");
    assert_eq!(stops[0]["severity"], "high");
    check_assessment(&p);
}

#[test]
fn plant_in_a_box_on_sqlite() {
    if !root_or_skip("plant_in_a_box_on_sqlite needs root for network namespaces") {
        return;
    }
    let _one = ONE_PLANT.lock().unwrap_or_else(|e| e.into_inner());
    finish(run_plant("pls", None));
}

#[test]
fn plant_in_a_box_on_postgres() {
    if !root_or_skip("plant_in_a_box_on_postgres needs root for network namespaces") {
        return;
    }
    let Some(db) = Scratch::for_test("plant_in_a_box_on_postgres") else {
        return;
    };
    if !db.url().starts_with("postgres://postgres@127.0.0.1:5432/") {
        eprintln!("SKIPPED plant_in_a_box_on_postgres: the plant forwards 127.0.0.1:5432 only");
        return;
    }
    let _one = ONE_PLANT.lock().unwrap_or_else(|e| e.into_inner());
    finish(run_plant("plp", Some(&db)));
}
