//! `shoko-collector demo`: the whole chain on one machine. Initialises a data directory, starts the
//! collector, enrols an in-process agent, writes a synthetic plant capture with our own encoder,
//! analyses it, delivers the observations over mutual TLS and shows what was stored.

use crate::config::CollectorConfig;
use crate::datadir::{init_data_dir, write_bundle};
use crate::listing::asset_table;
use crate::server::Collector;
use anyhow::Context;
use shoko_agent::identity::Identity;
use shoko_agent::pipeline::{Sensor, SensorLimits};
use shoko_agent::uplink::{Uplink, UplinkConfig};
use shoko_proto::Source;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Agent id of the demo's sensor.
pub const DEMO_AGENT: &str = "demo-sensor";

/// Runs the demo in `data`; with `serve`, keeps the collector up afterwards until Ctrl-C.
pub async fn run(data: &Path, http: Option<String>) -> anyhow::Result<()> {
    let fresh = init_data_dir(data, &CollectorConfig::default(), &[])?;
    println!(
        "shoko demo: data directory {} ({})",
        data.display(),
        if fresh { "created" } else { "reused" }
    );
    let cfg = CollectorConfig {
        listen: "127.0.0.1:0".into(),
        http: http.clone().unwrap_or_else(|| "127.0.0.1:0".into()),
        ..CollectorConfig::load(data)?
    };
    let collector = Collector::start(data, &cfg).await?;
    let bundle: PathBuf = data.join("agents").join(DEMO_AGENT);
    write_bundle(
        data,
        DEMO_AGENT,
        &collector.ingest_addr.to_string(),
        "shoko-collector",
        &bundle,
    )?;
    println!("  enrolled agent {DEMO_AGENT:?} (bundle in {})", bundle.display());

    let capture = data.join("demo-plant.pcap");
    let frames = shoko_agent::synth::write_plant_pcap(std::io::BufWriter::new(
        std::fs::File::create(&capture).with_context(|| capture.display().to_string())?,
    ))?;
    println!(
        "  wrote synthetic plant capture {} ({frames} frames)",
        capture.display()
    );

    let mut sensor = Sensor::new(SensorLimits::default());
    sensor.process_file(&capture)?;
    let observations = sensor.output().to_observations(&Source::CaptureFile {
        path: capture.display().to_string(),
    });
    let count = observations.len();
    let uplink = Uplink::start(UplinkConfig::from_identity(&Identity::load(&bundle)?, None)?);
    uplink.submit(observations).await?;
    uplink.flush(Duration::from_secs(60)).await?;
    let status = uplink.status();
    uplink.abort();
    println!(
        "  delivered {count} observations in {} batch(es) over mutual TLS to {}",
        status.acked_batches, collector.ingest_addr
    );

    let assets = collector.store.assets()?;
    let counts = collector.store.counts()?;
    println!(
        "\nStored: {} assets, {} observations in {} batches from {} agent(s).\n",
        counts.assets, counts.observations, counts.batches, counts.agents
    );
    print!("{}", asset_table(&assets));
    let d = data.display();
    println!("\nNext:");
    println!("  shoko-collector assets --data {d}            # list the stored assets (add --json)");
    println!(
        "  shoko-collector users add --data {d} --name admin --role admin   # a login (password on stdin)"
    );
    println!(
        "  shoko-collector serve --data {d}             # run the collector (agents on :7710, web UI and API on https://127.0.0.1:7780/)"
    );
    println!("  shoko-agent analyze --pcap {} --json -", capture.display());
    if http.is_some() {
        let scheme = if cfg.http_tls { "https" } else { "http" };
        println!(
            "\nServing the web UI and API on {scheme}://{}/ until Ctrl-C (log in as a user added with `users add`).",
            collector.http_addr
        );
        tokio::signal::ctrl_c().await?;
    }
    collector.stop().await;
    Ok(())
}
