//! Applying an observation to the fused asset tables, whatever the engine: which asset it is
//! about, what it adds to that asset, and which change records it makes (a new asset, a new
//! service, a firmware change, new or updated software, a protocol event that changes a device).

use super::claims::{self, HOST_CONFIDENCE, SIGHTING_CONFIDENCE, host_claims, identity_claims};
use super::{AssetKey, events, host_key, merge, reference_key, sighting_keys};
use crate::store::StoreError;
use crate::store::ingest::{Change, ClaimRow, IdentityKey, IngestTx, ServiceRow, SoftwareRow};
use shoko_proto::{AssetRef, ConfigCheck, Identity, ObservationBody, Service, SoftwareItem};

/// Where an observation came from: the agent that sent it, when it was observed, its id.
#[derive(Debug, Clone, Copy)]
pub struct Evidence<'a> {
    /// The sending agent.
    pub agent_id: &'a str,
    /// When it was observed (ns).
    pub at: i64,
    /// The stored observation.
    pub observation_id: i64,
}

/// Applies one observation; returns the asset it is about.
pub fn fuse_observation<T: IngestTx>(
    tx: &mut T,
    body: &ObservationBody,
    ev: &Evidence<'_>,
) -> Result<Option<i64>, StoreError> {
    let (at, observation_id) = (ev.at, ev.observation_id);
    match body {
        ObservationBody::AssetSighting(s) => {
            let seen = (s.first_seen.0, s.last_seen.0);
            let mut asset = None;
            for key in sighting_keys(s) {
                let router = s.router && matches!(key, AssetKey::Mac(_));
                let id = upsert_asset(tx, &key, router, seen, observation_id)?;
                let ips: Vec<_> = match &key {
                    AssetKey::Mac(_) | AssetKey::Host(_) => s.ips.clone(),
                    AssetKey::Ip(_, ip) => vec![*ip],
                };
                for ip in ips {
                    tx.add_address(id, &ip.to_string(), s.vlans.first().copied(), seen)?;
                }
                for v in &s.vlans {
                    tx.add_vlan(id, *v)?;
                }
                if let Some(class) = &s.class {
                    let claim = [("class", class.clone())];
                    record_claims(tx, id, ev, "sensor", SIGHTING_CONFIDENCE, &claim)?;
                }
                asset.get_or_insert(id);
            }
            Ok(asset)
        }
        ObservationBody::HostFacts(f) => {
            let (Some(host_id), Some((key, ips))) = (&f.asset.host_id, host_key(f)) else {
                return Ok(None);
            };
            let mut id = upsert_asset(tx, &key, false, (at, at), observation_id)?;
            for ip in ips {
                tx.add_address(id, &ip.to_string(), None, (at, at))?;
            }
            tx.set_host(host_id, id, at)?;
            record_claims(tx, id, ev, "host", HOST_CONFIDENCE, &host_claims(f))?;
            // The host's other interfaces are the same machine.
            for mac in other_macs(f, &key) {
                id = merge::alias(
                    tx,
                    &AssetKey::Mac(mac),
                    id,
                    &format!("interface of host {host_id}"),
                    ev,
                )?;
            }
            Ok(Some(id))
        }
        ObservationBody::IdentityClaim(c) => {
            let Some(id) = resolve(tx, &c.asset, at, observation_id)? else {
                return Ok(None);
            };
            record_identity(tx, id, &c.identity, at, observation_id)?;
            // A chassis module's identity is the module's, not the asset's.
            if c.identity.attributes.contains_key("chassis_slot") {
                return Ok(Some(id));
            }
            let claims = identity_claims(&c.identity);
            record_claims(tx, id, ev, &c.identity.protocol, c.identity.confidence, &claims)?;
            match (&c.identity.vendor, &c.identity.serial) {
                (Some(vendor), Some(serial)) => {
                    Ok(Some(merge::merge_serial_twins(tx, id, vendor, serial, ev)?))
                }
                _ => Ok(Some(id)),
            }
        }
        // Checks of a host agent belong to its machine.
        ObservationBody::ConfigCheck(ConfigCheck { asset, .. }) if asset.host_id.is_some() => {
            resolve(tx, asset, at, observation_id)
        }
        ObservationBody::SoftwareItem(w) => {
            let Some(id) = resolve(tx, &w.asset, at, observation_id)? else {
                return Ok(None);
            };
            record_software(tx, id, w, at, observation_id)?;
            Ok(Some(id))
        }
        ObservationBody::Service(s) => {
            let Some(id) = resolve(tx, &s.asset, at, observation_id)? else {
                return Ok(None);
            };
            record_service(tx, id, s, at, observation_id)?;
            Ok(Some(id))
        }
        // A change of the device it targets (of the actor, when the target is not named).
        ObservationBody::ProtocolEvent(e) if events::is_change(e) => {
            let Some(device) = e.target.as_ref().or(e.actor.as_ref()) else {
                return Ok(None);
            };
            let Some(id) = resolve(tx, device, at, observation_id)? else {
                return Ok(None);
            };
            let (subject, value) = events::change_text(e);
            let change = Change::first_seen("protocol_event", &subject, value.as_deref());
            tx.record_change(id, &change, at, observation_id)?;
            Ok(Some(id))
        }
        _ => Ok(None),
    }
}

/// Records what a source claims about an asset's attributes; a source claiming a new value for an
/// attribute it claimed before is an `attribute_change` (firmware has its own per identity).
fn record_claims<T: IngestTx>(
    tx: &mut T,
    asset: i64,
    ev: &Evidence<'_>,
    via: &str,
    confidence: u8,
    claims: &[(&'static str, String)],
) -> Result<(), StoreError> {
    let source = format!("{}/{via}", ev.agent_id);
    for (attribute, value) in claims {
        if claims::tracks_changes(attribute)
            && let Some(before) = tx.latest_claim(asset, attribute, &source)?
            && ev.at > before.last_seen
            && before.value.as_deref() != Some(value.as_str())
        {
            let subject = format!("{attribute} ({source})");
            let change = Change {
                kind: "attribute_change",
                subject: &subject,
                old: before.value.as_deref(),
                new: Some(value),
                previous: Some(before.observation_id),
            };
            tx.record_change(asset, &change, ev.at, ev.observation_id)?;
        }
        let claim = ClaimRow {
            attribute,
            value,
            source: &source,
            confidence,
            at: ev.at,
            observation_id: ev.observation_id,
        };
        tx.upsert_claim(asset, &claim)?;
    }
    Ok(())
}

/// The globally administered MACs of a host's interfaces other than the one its asset is keyed by.
fn other_macs(f: &shoko_proto::HostFacts, key: &AssetKey) -> Vec<shoko_proto::MacAddr> {
    f.interfaces
        .iter()
        .filter_map(|i| i.mac)
        .filter(|m| !m.is_zero() && !m.is_local() && !m.is_multicast() && *key != AssetKey::Mac(*m))
        .collect()
}

/// Finds or creates the asset with `key` (the asset it was merged into, if it was); a created
/// asset is a `new_asset` change.
fn upsert_asset<T: IngestTx>(
    tx: &mut T,
    key: &AssetKey,
    router: bool,
    seen: (i64, i64),
    observation_id: i64,
) -> Result<i64, StoreError> {
    let mac = match key {
        AssetKey::Mac(m) => Some(m.to_string()),
        AssetKey::Ip(..) | AssetKey::Host(_) => None,
    };
    let text = key.as_text();
    let up = tx.upsert_asset(&text, mac.as_deref(), router, seen)?;
    if up.created {
        let change = Change::first_seen("new_asset", &text, None);
        tx.record_change(up.id, &change, seen.0, observation_id)?;
    }
    match up.merged_into {
        Some(into) => {
            tx.widen_asset(into, router, seen)?;
            Ok(into)
        }
        None => Ok(up.id),
    }
}

/// The asset a reference names: a host agent's machine by its machine id; by MAC if it has one,
/// else the asset most recently holding the IP, else a new routed asset for the IP.
fn resolve<T: IngestTx>(
    tx: &mut T,
    r: &AssetRef,
    at: i64,
    observation_id: i64,
) -> Result<Option<i64>, StoreError> {
    if let Some(host_id) = &r.host_id {
        if let Some(found) = tx.host_asset(host_id)? {
            return Ok(Some(found));
        }
        if r.mac.is_none() && r.ip.is_none() {
            let id = upsert_asset(
                tx,
                &AssetKey::Host(host_id.clone()),
                false,
                (at, at),
                observation_id,
            )?;
            tx.set_host(host_id, id, at)?;
            return Ok(Some(id));
        }
    }
    if r.mac.is_none()
        && let Some(ip) = r.ip
        && let Some(found) = tx.asset_of_ip(&ip.to_string())?
    {
        return Ok(Some(found));
    }
    let Some(key) = reference_key(r) else {
        return Ok(None);
    };
    let id = upsert_asset(tx, &key, false, (at, at), observation_id)?;
    if let Some(ip) = r.ip {
        tx.add_address(id, &ip.to_string(), r.vlan, (at, at))?;
    }
    Ok(Some(id))
}

/// Records an identity claim of an asset; a firmware different from the one claimed before (by an
/// older observation) becomes a `firmware_change` record. Claims without a product or model, or
/// without a vendor and a serial, identify nothing and are left to the observations.
fn record_identity<T: IngestTx>(
    tx: &mut T,
    asset: i64,
    id: &Identity,
    at: i64,
    observation_id: i64,
) -> Result<(), StoreError> {
    let Some(product) = id.product.as_deref().or(id.model.as_deref()) else {
        return Ok(());
    };
    if id.vendor.is_none() && id.serial.is_none() {
        return Ok(());
    }
    let key = IdentityKey {
        protocol: &id.protocol,
        vendor: id.vendor.as_deref().unwrap_or(""),
        product,
        serial: id.serial.as_deref().unwrap_or(""),
    };
    let firmware = id.firmware.as_deref();
    tx.lock_asset(asset)?;
    match tx.identity(asset, key)? {
        None => tx.save_identity(asset, key, firmware, at, observation_id),
        // An older claim arriving late: it only widens the interval.
        Some(stored) if at < stored.last_seen => tx.widen_identity(asset, key, at),
        Some(stored) => {
            if let (Some(old), Some(new)) = (stored.value.as_deref(), firmware)
                && old != new
            {
                let subject = [key.vendor, key.product, key.serial]
                    .iter()
                    .filter(|s| !s.is_empty())
                    .copied()
                    .collect::<Vec<_>>()
                    .join(" ");
                let change = Change {
                    kind: "firmware_change",
                    subject: &subject,
                    old: Some(old),
                    new: Some(new),
                    previous: Some(stored.observation_id),
                };
                tx.record_change(asset, &change, at, observation_id)?;
            }
            tx.save_identity(asset, key, firmware, at, observation_id)
        }
    }
}

/// Records a software item of an asset: one first seen after the asset's first inventory is a
/// `new_software` change, a newer observation with another version a `software_change`.
fn record_software<T: IngestTx>(
    tx: &mut T,
    asset: i64,
    w: &SoftwareItem,
    at: i64,
    observation_id: i64,
) -> Result<(), StoreError> {
    let row = SoftwareRow {
        source: &w.source,
        name: &w.name,
        version: w.version.as_deref(),
        purl: w.purl.as_deref(),
        at,
        observation_id,
    };
    let subject = format!("{} ({})", w.name, w.source);
    match tx.software(asset, &w.source, &w.name)? {
        None => {
            if tx.had_software(asset, at)? {
                let change = Change::first_seen("new_software", &subject, row.version);
                tx.record_change(asset, &change, at, observation_id)?;
            }
        }
        // An older observation arriving late changes nothing.
        Some(stored) if at < stored.last_seen => return Ok(()),
        Some(stored) => {
            if let (Some(old), Some(new)) = (stored.value.as_deref(), row.version)
                && old != new
            {
                let change = Change {
                    kind: "software_change",
                    subject: &subject,
                    old: Some(old),
                    new: Some(new),
                    previous: Some(stored.observation_id),
                };
                tx.record_change(asset, &change, at, observation_id)?;
            }
        }
    }
    tx.save_software(asset, &row)
}

/// Records a service of an asset; one first seen is a `new_service` change.
fn record_service<T: IngestTx>(
    tx: &mut T,
    asset: i64,
    s: &Service,
    at: i64,
    observation_id: i64,
) -> Result<(), StoreError> {
    let ip = s.asset.ip.or(s.bound).map(|i| i.to_string()).unwrap_or_default();
    let row = ServiceRow {
        ip: &ip,
        transport: s.transport.as_str(),
        port: s.port,
        protocol: s.protocol.as_deref(),
        banner: s.banner.as_deref(),
        detected_by: s.detected_by.as_deref(),
        at,
        observation_id,
    };
    if tx.upsert_service(asset, &row)? {
        let subject = format!("{}/{} on {ip}", row.transport, row.port);
        let change = Change::first_seen("new_service", &subject, row.protocol);
        tx.record_change(asset, &change, at, observation_id)?;
    }
    Ok(())
}
