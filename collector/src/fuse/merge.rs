//! Merging assets found to be one device: a host agent names all its interfaces, so a second
//! interface's MAC (an asset of its own on the sensor's side, or a key not seen yet) is the host's;
//! an own identity with a vendor and a serial number claimed on two assets makes them one (the
//! older survives). The merged asset's key keeps pointing to the survivor, and the merge is an
//! `assets_merged` change record.

use super::AssetKey;
use super::apply::Evidence;
use crate::store::StoreError;
use crate::store::ingest::{Change, IngestTx};

/// True for a serial number that can identify a device: at least 4 characters, not all zeros or
/// all `f`s (placeholders some stacks send).
pub fn identifying_serial(serial: &str) -> bool {
    let digits = serial.trim().trim_start_matches("0x").trim_start_matches("0X");
    digits.len() >= 4 && !digits.chars().all(|c| c == '0') && !digits.chars().all(|c| c == 'f' || c == 'F')
}

/// Merges asset `from` into `into`, recording why.
pub fn merge<T: IngestTx>(
    tx: &mut T,
    from: i64,
    into: i64,
    why: &str,
    ev: &Evidence<'_>,
) -> Result<(), StoreError> {
    let (from_key, into_key) = (tx.asset_key(from)?, tx.asset_key(into)?);
    tx.lock_asset(into)?;
    tx.lock_asset(from)?;
    tx.merge_assets(from, into)?;
    let subject = format!("{from_key} is {into_key}: {why}");
    let change = Change {
        kind: "assets_merged",
        subject: &subject,
        old: Some(&from_key),
        new: Some(&into_key),
        previous: None,
    };
    tx.record_change(into, &change, ev.at, ev.observation_id)
}

/// Makes `key` name the same asset as `asset`: the asset holding the key now and `asset` are
/// merged (the older survives); a key not seen yet is reserved. The surviving asset.
pub fn alias<T: IngestTx>(
    tx: &mut T,
    key: &AssetKey,
    asset: i64,
    why: &str,
    ev: &Evidence<'_>,
) -> Result<i64, StoreError> {
    let text = key.as_text();
    match tx.asset_by_key(&text)? {
        None => {
            let mac = match key {
                AssetKey::Mac(m) => Some(m.to_string()),
                AssetKey::Ip(..) | AssetKey::Host(_) => None,
            };
            tx.insert_alias(&text, mac.as_deref(), asset, ev.at)?;
            Ok(asset)
        }
        Some((id, merged)) => match merged.unwrap_or(id) {
            current if current == asset => Ok(asset),
            current => {
                let (from, into) = (current.max(asset), current.min(asset));
                merge(tx, from, into, why, ev)?;
                Ok(into)
            }
        },
    }
}

/// Merges the other assets claiming the same vendor and serial into the oldest of them; the
/// surviving asset.
pub fn merge_serial_twins<T: IngestTx>(
    tx: &mut T,
    asset: i64,
    vendor: &str,
    serial: &str,
    ev: &Evidence<'_>,
) -> Result<i64, StoreError> {
    if !identifying_serial(serial) {
        return Ok(asset);
    }
    let mut survivor = asset;
    for twin in tx.serial_twins(vendor, serial, asset)? {
        let (from, into) = (survivor.max(twin), survivor.min(twin));
        merge(tx, from, into, &format!("{vendor} serial {serial}"), ev)?;
        survivor = into;
    }
    Ok(survivor)
}

#[cfg(test)]
mod tests {
    use super::identifying_serial;

    #[test]
    fn placeholder_serials_identify_nothing() {
        for s in ["0x0051aec3", "S C-N2K123456", "1234"] {
            assert!(identifying_serial(s), "{s}");
        }
        for s in ["", "0", "123", "0x00000000", "00000000", "FFFFFFFF", "0xffff"] {
            assert!(!identifying_serial(s), "{s}");
        }
    }
}
