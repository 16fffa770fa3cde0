//! Fuzz target: the spool's recovery scan on arbitrary segment bytes (what a disk holds after a
//! torn write or corruption): never a panic, never a payload allocation over the bound, and the
//! intact prefix it reports re-scans to the same records.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shoko_agent::spool::record;

fuzz_target!(|data: &[u8]| {
    let Ok(scan) = record::scan(&mut &data[..], 1 << 16) else { return };
    let valid = usize::try_from(scan.valid_len).unwrap_or(usize::MAX);
    assert!(valid <= data.len());
    let again = record::scan(&mut &data[..valid], 1 << 16).expect("reading memory cannot fail");
    assert_eq!(again.records, scan.records);
    assert!(again.damage.is_none());
});
