//! The RPM database of the RHEL family (Rocky, Alma, RHEL 9, Fedora): the SQLite backend
//! (`/var/lib/rpm/rpmdb.sqlite`, RPM 4.16+), whose `Packages` table holds one RPM header per
//! package. Headers are read here from their documented layout: index entry count and data length
//! (big-endian), 16-byte entries (tag, type, offset, count), then the data store. The database is
//! opened read-only and immutable, so a mounted image is never written.

use super::{Package, purl};
use crate::dissect::reader::Reader;
use std::path::Path;

const NAME: u32 = 1000;
const VERSION: u32 = 1001;
const RELEASE: u32 = 1002;
const EPOCH: u32 = 1003;
const ARCH: u32 = 1022;
const SOURCERPM: u32 = 1044;
const TYPE_INT32: u32 = 4;
const TYPE_STRING: u32 = 6;
/// Most index entries believed in one header (real packages have a few hundred).
const MAX_ENTRIES: u32 = 65_536;

/// The fields read from one header.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Header {
    /// Package name.
    pub name: Option<String>,
    /// Version.
    pub version: Option<String>,
    /// Release.
    pub release: Option<String>,
    /// Epoch.
    pub epoch: Option<i32>,
    /// Architecture.
    pub arch: Option<String>,
    /// Source RPM file name.
    pub source_rpm: Option<String>,
}

/// Parses a header blob; `None` when its layout is broken.
pub fn header(blob: &[u8]) -> Option<Header> {
    let mut r = Reader::new(blob);
    let (count, len) = (r.u32be()?, r.u32be()?);
    if count > MAX_ENTRIES {
        return None;
    }
    let index = r.take(usize::try_from(count).ok()? * 16)?;
    let data = r.take(usize::try_from(len).ok()?)?;
    let mut h = Header::default();
    let mut entries = Reader::new(index);
    for _ in 0..count {
        let (tag, kind, offset, _n) = (
            entries.u32be()?,
            entries.u32be()?,
            entries.u32be()?,
            entries.u32be()?,
        );
        let at = data.get(usize::try_from(offset).ok()?..)?;
        let string = || {
            (kind == TYPE_STRING).then_some(())?;
            let end = at.iter().position(|&b| b == 0)?;
            Some(String::from_utf8_lossy(&at[..end]).into_owned())
        };
        match tag {
            NAME => h.name = string(),
            VERSION => h.version = string(),
            RELEASE => h.release = string(),
            ARCH => h.arch = string(),
            SOURCERPM => h.source_rpm = string(),
            EPOCH if kind == TYPE_INT32 => {
                h.epoch = at.get(..4).map(|b| i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
            }
            _ => {}
        }
    }
    Some(h)
}

/// The source package name of a source RPM file name (`openssl-3.0.7-27.el9.src.rpm`).
fn source_name(srpm: &str) -> Option<&str> {
    let base = srpm
        .strip_suffix(".src.rpm")
        .or_else(|| srpm.strip_suffix(".nosrc.rpm"))?;
    let (rest, _release) = base.rsplit_once('-')?;
    let (name, _version) = rest.rsplit_once('-')?;
    Some(name)
}

/// The packages of the SQLite database at `path`, for distribution (`ID`, `VERSION_ID`). Returns
/// the packages and the number of headers that were not usable.
pub fn read(path: &Path, distro: (&str, &str)) -> Result<(Vec<Package>, usize), String> {
    let db = crate::host::root::open_sqlite(path)?;
    let mut stmt = db
        .prepare("SELECT blob FROM Packages")
        .map_err(|e| format!("{}: not an RPM database ({e})", path.display()))?;
    let blobs = stmt
        .query_map([], |row| row.get::<_, Vec<u8>>(0))
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let (mut out, mut bad) = (Vec::new(), 0);
    let distro_q = format!("{}-{}", distro.0, distro.1);
    for blob in blobs {
        let h = blob.ok().and_then(|b| header(&b));
        let Some((Some(name), Some(version), Some(release), h)) =
            h.map(|h| (h.name.clone(), h.version.clone(), h.release.clone(), h))
        else {
            bad += 1;
            continue;
        };
        if name == "gpg-pubkey" {
            continue; // imported signing keys, not software
        }
        let vr = format!("{version}-{release}");
        let full = match h.epoch {
            Some(e) => format!("{e}:{vr}"),
            None => vr.clone(),
        };
        let epoch = h.epoch.map(|e| e.to_string());
        out.push(Package {
            manager: "rpm",
            purl: purl(
                "rpm",
                distro.0,
                &name,
                &vr,
                &[
                    ("arch", h.arch.as_deref()),
                    ("epoch", epoch.as_deref()),
                    ("distro", Some(&distro_q)),
                ],
            ),
            source: h
                .source_rpm
                .as_deref()
                .and_then(source_name)
                .filter(|s| *s != name)
                .map(str::to_owned),
            name,
            version: full,
            arch: h.arch,
            state: None,
        });
    }
    out.sort();
    Ok((out, bad))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_and_source_names() {
        // One string entry and one int32 entry.
        let mut blob = vec![0, 0, 0, 2, 0, 0, 0, 12];
        blob.extend_from_slice(&[0, 0, 0x03, 0xe8, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0, 1]);
        blob.extend_from_slice(&[0, 0, 0x03, 0xeb, 0, 0, 0, 4, 0, 0, 0, 8, 0, 0, 0, 1]);
        blob.extend_from_slice(b"bash\0\0\0\0\0\0\0\x02");
        let h = header(&blob).unwrap();
        assert_eq!((h.name.as_deref(), h.epoch), (Some("bash"), Some(2)));
        // Offsets past the data, counts past the blob: refused, no panic.
        let mut bad = blob.clone();
        bad[19] = 200;
        assert!(header(&bad).is_none());
        assert!(header(&[0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]).is_none());
        assert_eq!(source_name("openssl-3.0.7-27.el9.src.rpm"), Some("openssl"));
        assert_eq!(source_name("not-a-src"), None);
    }
}
