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

/// What identifies one installed RPM.
#[derive(Debug, Default)]
pub struct Nevra {
    /// Name.
    pub name: String,
    /// Epoch, when set.
    pub epoch: Option<i32>,
    /// Version.
    pub version: String,
    /// Release.
    pub release: String,
    /// Architecture.
    pub arch: Option<String>,
    /// Source RPM file name.
    pub source_rpm: Option<String>,
}

/// The package of an installed RPM, for distribution (`ID`, `VERSION_ID`).
fn package(p: Nevra, distro: (&str, &str)) -> Package {
    let vr = format!("{}-{}", p.version, p.release);
    let epoch = p.epoch.map(|e| e.to_string());
    let distro_q = format!("{}-{}", distro.0, distro.1);
    Package {
        manager: "rpm",
        purl: purl(
            "rpm",
            distro.0,
            &p.name,
            &vr,
            &[
                ("arch", p.arch.as_deref()),
                ("epoch", epoch.as_deref()),
                ("distro", Some(&distro_q)),
            ],
        ),
        source: p
            .source_rpm
            .as_deref()
            .and_then(source_name)
            .filter(|s| *s != p.name)
            .map(str::to_owned),
        version: match &epoch {
            Some(e) => format!("{e}:{vr}"),
            None => vr,
        },
        name: p.name,
        arch: p.arch,
        state: None,
    }
}

/// `rpm -qa` output format: one tab-separated line per package.
const QUERY_FORMAT: &str = "%{NAME}\t%{EPOCH}\t%{VERSION}\t%{RELEASE}\t%{ARCH}\t%{SOURCERPM}\n";

/// Parses `rpm -qa --queryformat QUERY_FORMAT` output; returns the packages and the number of
/// unusable lines.
pub fn parse_query(text: &str, distro: (&str, &str)) -> (Vec<Package>, usize) {
    let (mut out, mut bad) = (Vec::new(), 0);
    let given = |v: &str| (v != "(none)" && !v.is_empty()).then(|| v.to_owned());
    for line in text.lines().filter(|l| !l.is_empty()) {
        let f: Vec<&str> = line.split('\t').collect();
        let [name, epoch, version, release, arch, source] = f[..] else {
            bad += 1;
            continue;
        };
        if name == "gpg-pubkey" {
            continue;
        }
        out.push(package(
            Nevra {
                name: name.to_owned(),
                epoch: epoch.parse().ok(),
                version: version.to_owned(),
                release: release.to_owned(),
                arch: given(arch),
                source_rpm: given(source),
            },
            distro,
        ));
    }
    out.sort();
    (out, bad)
}

/// The packages the running system's `rpm` tool lists (any database backend it reads: Berkeley
/// DB of RPM < 4.16, ndb, SQLite); `None` when the tool is not installed.
pub fn query(distro: (&str, &str)) -> Option<Result<(Vec<Package>, usize), String>> {
    let out = match std::process::Command::new("rpm")
        .args(["-qa", "--queryformat", QUERY_FORMAT])
        .output()
    {
        Ok(out) => out,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => return Some(Err(format!("rpm -qa: {e}"))),
    };
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Some(Err(format!(
            "rpm -qa: {}",
            err.lines().next().unwrap_or("failed")
        )));
    }
    Some(Ok(parse_query(&String::from_utf8_lossy(&out.stdout), distro)))
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
        out.push(package(
            Nevra {
                name,
                epoch: h.epoch,
                version,
                release,
                arch: h.arch,
                source_rpm: h.source_rpm,
            },
            distro,
        ));
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

    #[test]
    fn rpm_query_lines() {
        let out = "bash\t(none)\t5.1.8\t9.el9\tx86_64\tbash-5.1.8-9.el9.src.rpm\n\
                   openssl-libs\t1\t3.0.7\t27.el9\tx86_64\topenssl-3.0.7-27.el9.src.rpm\n\
                   gpg-pubkey\t(none)\t350d275d\t6279464b\t(none)\t(none)\n\
                   truncated\tline\n";
        let (pkgs, bad) = parse_query(out, ("rhel", "8.10"));
        assert_eq!(bad, 1);
        assert_eq!(pkgs.len(), 2);
        assert_eq!(
            (pkgs[0].name.as_str(), pkgs[0].version.as_str()),
            ("bash", "5.1.8-9.el9")
        );
        assert_eq!(pkgs[1].version, "1:3.0.7-27.el9");
        assert_eq!(pkgs[1].source.as_deref(), Some("openssl"));
        assert_eq!(
            pkgs[1].purl,
            "pkg:rpm/rhel/openssl-libs@3.0.7-27.el9?arch=x86_64&distro=rhel-8.10&epoch=1"
        );
    }
}
