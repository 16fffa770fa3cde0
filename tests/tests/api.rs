//! The HTTP API against its OpenAPI description (`collector/api/openapi.json`): every documented
//! path answers on a collector holding real observations, with every field its schema requires,
//! and the filters, the one-asset view and the baseline give exact answers.

use serde_json::Value;
use shoko_tests::*;

/// The schema a response of `path` is documented with (resolving `$ref` and array items).
fn response_schema<'a>(doc: &'a Value, path: &str) -> Option<&'a Value> {
    let schema =
        doc["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"].as_object()?;
    Some(match schema.get("items") {
        Some(items) => resolve(doc, items),
        None => resolve(
            doc,
            &doc["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"],
        ),
    })
}

fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(r) => &doc["components"]["schemas"][r.rsplit('/').next().unwrap()],
        None => schema,
    }
}

/// Asserts `value` has every field `schema` requires, recursing into documented objects.
fn conforms(doc: &Value, schema: &Value, value: &Value, at: &str) {
    for field in schema["required"].as_array().into_iter().flatten() {
        let name = field.as_str().unwrap();
        assert!(
            value.get(name).is_some(),
            "{at}: no required field {name} in {value}"
        );
        let property = resolve(doc, &schema["properties"][name]);
        if property.get("required").is_some() {
            conforms(doc, property, &value[name], &format!("{at}.{name}"));
        }
    }
}

#[test]
fn every_documented_path_answers_as_documented() {
    let doc: Value = serde_json::from_str(
        &std::fs::read_to_string(workspace().join("collector/api/openapi.json")).unwrap(),
    )
    .unwrap();
    let data = DataDir::init();
    let collector = CollectorProcess::start(&data);
    let bundle = data.enroll("sensor-1");
    let pcap = dev_capture("ITI_ICS-Security-Tools/pcaps/openics/EIP-FirmwareChange.pcap");
    let out = agent_send(&bundle, collector.ingest, &pcap);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let assets = collector.get_json("/api/v1/assets");
    let enbt = assets
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["key"] == "mac:00:00:bc:3e:eb:e4")
        .expect("the ControlLogix Ethernet module");
    let id = enbt["id"].as_i64().unwrap();
    let none = collector.status("/api/v1/baselines/drift");
    assert_eq!(none.0, 404, "{none:?}");
    let approved = run_ok(
        "shoko-collector",
        &["baseline", "approve", "--data", &data.path(), "--by", "auditor"],
    );
    let approved = String::from_utf8_lossy(&approved.stdout);
    assert!(
        approved.starts_with("baseline 1 \"baseline\" approved by auditor: "),
        "{approved}"
    );
    let saved = run_ok("shoko-collector", &["assess", "--data", &data.path()]);
    assert!(String::from_utf8_lossy(&saved.stdout).ends_with("saved as assessment 1\n"));
    let paths: Vec<&String> = doc["paths"].as_object().unwrap().keys().collect();
    assert_eq!(paths.len(), 15);
    // The one write (deciding a change) is exercised by the web access tests.
    assert!(doc["paths"]["/api/v1/changes/{id}/decision"]["post"].is_object());
    let paths: Vec<&String> = paths
        .into_iter()
        .filter(|p| doc["paths"][p.as_str()]["get"].is_object())
        .collect();
    assert_eq!(paths.len(), 14);
    for path in paths {
        let url = match path.starts_with("/api/v1/requirements/") {
            true => path.replace("{id}", "CM-1.4"),
            false => path.replace("{id}", &id.to_string()),
        };
        let text = collector.get_text(&url);
        let Some(schema) = response_schema(&doc, path) else {
            assert!(!text.is_empty(), "{url}: empty answer");
            continue;
        };
        let value: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{url}: {e}: {text}"));
        match value.as_array() {
            Some(items) => {
                assert!(!items.is_empty(), "{url}: nothing listed");
                for item in items {
                    conforms(&doc, schema, item, &url);
                }
            }
            None => conforms(&doc, schema, &value, &url),
        }
    }

    // The module's own identity, one firmware, no conflict; its evidence and its new-asset change.
    assert_eq!(enbt["attributes"]["vendor"], "Rockwell Automation/Allen-Bradley");
    assert_eq!(enbt["attributes"]["firmware"], "4.003");
    assert_eq!(enbt["conflicts"], serde_json::json!([]));
    let detail = collector.get_json(&format!("/api/v1/assets/{id}"));
    let firmware = detail["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "firmware")
        .unwrap();
    assert_eq!(firmware["claims"].as_array().unwrap().len(), 1);
    assert_eq!(firmware["claims"][0]["source"], "sensor-1/cip");
    let kinds: Vec<&str> = detail["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds[0], "new_asset");
    assert!(
        detail["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["kind"] == "identity_claim")
    );

    // The inventory just approved has not changed; captured in 2008, all of it is missing after
    // the default 7 days, none of it within 10,000 days.
    let n = assets.as_array().unwrap().len();
    let drift = collector.get_json("/api/v1/baselines/drift");
    assert_eq!(drift["baseline"]["assets"], n);
    assert_eq!(
        (
            drift["unknown"].as_array().unwrap().len(),
            drift["missing"].as_array().unwrap().len()
        ),
        (0, n)
    );
    let drift = collector.get_json("/api/v1/baselines/drift?missing_after_days=10000");
    for list in ["unknown", "missing", "changed"] {
        assert_eq!(drift[list], serde_json::json!([]), "{list}");
    }

    // Filters.
    let keys = |query: &str| -> Vec<String> {
        let listed = collector.get_json(&format!("/api/v1/assets?{query}"));
        listed
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["key"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(keys("vendor=allen-bradley&q=eb:e4"), ["mac:00:00:bc:3e:eb:e4"]);
    assert_eq!(keys("vendor=siemens"), Vec::<String>::new());
    let open = collector.get_json(&format!("/api/v1/changes?asset={id}&status=open"));
    assert_eq!(
        open.as_array().unwrap().len(),
        detail["changes"].as_array().unwrap().len()
    );
    let none = collector.get_json("/api/v1/changes?status=acknowledged");
    assert_eq!(none, serde_json::json!([]));
    let bad = collector.status("/api/v1/assets?zone=control");
    assert_eq!(bad.0, 400, "{bad:?}");
    let missing = collector.status("/api/v1/assets/999999");
    assert_eq!(missing.0, 404, "{missing:?}");

    // Change control: the changes just detected are pending (within their 7-day SLA), so CM 1.4
    // has nothing to rate yet; eight days on, left open, every one is a violation: not met.
    let changes = collector.get_json("/api/v1/changes");
    let plant_changes = changes
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["kind"] != "assets_merged")
        .count();
    let now = collector.get_json("/api/v1/requirements/CM-1.4/explanation");
    assert_eq!(now["score"]["level"], "insufficient-evidence");
    assert_eq!(now["rules"][0]["pending"], plant_changes);
    let later = shoko_proto::Timestamp(shoko_proto::Timestamp::now().0 + 8 * 86_400_000_000_000);
    let later = collector.get_json(&format!("/api/v1/requirements/CM%201.4/explanation?at={later}"));
    assert_eq!(later["score"]["level"], "not-met");
    assert_eq!(later["rules"][0]["violated"], plant_changes);
    assert_eq!(later["findings"].as_array().unwrap().len(), plant_changes);
    let all = collector.get_json("/api/v1/assessment?period_days=14");
    assert_eq!(all["period_days"], 14);
    assert_eq!(all["scores"].as_array().unwrap().len(), 38);
    let saved = collector.get_json("/api/v1/assessments");
    assert_eq!(saved[0]["id"], 1);
    assert_eq!(saved[0]["digest"], saved[0]["assessment"]["digest"]);
    for (url, code) in [
        ("/api/v1/requirements/NET-9.9/explanation", 404),
        ("/api/v1/assessment?at=yesterday", 400),
        ("/api/v1/assessment?period_days=0", 400),
    ] {
        let got = collector.status(url);
        assert_eq!(got.0, code, "{url}: {got:?}");
    }
}
