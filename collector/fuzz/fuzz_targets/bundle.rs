//! Evidence bundles as `verify-bundle` reads them: any bytes as a `.tar.gz` (gzip, tar, manifest
//! JSON, signature hex, public key PEM) never panic and never read more than the bounded small
//! files; the same bytes as a public key PEM.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shoko_collector::evidence::bundle;
use shoko_collector::pki::signing::PublicKey;

fuzz_target!(|data: &[u8]| {
    let _ = PublicKey::from_pem(data, "fuzz");
    let dir = std::env::temp_dir().join(format!("shoko-fuzz-bundle-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join("bundle.tar.gz");
    if std::fs::write(&path, data).is_ok() {
        let _ = bundle::verify(&path, None);
    }
});
