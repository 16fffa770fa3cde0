//! dnf (RHEL family): the repository metadata dnf keeps in its cache
//! (`/var/cache/dnf/<repo>-<hash>/repodata/`, dnf5: `/var/cache/libdnf5/...`): `primary.xml`
//! gives the newest version of each installed package per repository, `updateinfo.xml` the
//! advisories (RLSA/RHSA with their type) and the package versions that fix them; RPM version
//! ordering; the last successful transaction from dnf's history database.

use super::{Advisory, Catalog, Offer, format_time, open_index};
use crate::host::Unknown;
use crate::host::packages::Package;
use crate::host::root::{HostRoot, open_sqlite};
use quick_xml::events::{BytesStart, Event};
use std::cmp::Ordering;
use std::collections::HashMap;
use std::io::{BufReader, Read};

/// dnf's metadata caches (dnf 4, dnf 5).
const CACHES: [&str; 2] = ["/var/cache/dnf", "/var/cache/libdnf5"];
/// Longest element text kept (package names, advisory ids).
const MAX_TEXT: usize = 256;

/// RPM version ordering of `[epoch:]version-release` strings.
pub fn compare(a: &str, b: &str) -> Option<Ordering> {
    Some(rpm_version::rpm_evr_compare(a, b))
}

/// `[epoch:]version-release`, the epoch left out when 0 or absent (as installed versions are written).
fn evr(epoch: Option<&str>, version: &str, release: &str) -> String {
    match epoch.filter(|e| !e.is_empty() && *e != "0") {
        Some(e) => format!("{e}:{version}-{release}"),
        None => format!("{version}-{release}"),
    }
}

/// True when a package of `offered` architecture can update one of `installed` architecture.
fn arch_fits(installed: Option<&str>, offered: &str) -> bool {
    offered != "src" && (offered == "noarch" || installed == Some(offered) || installed == Some("noarch"))
}

/// The repository id of a cache directory (`baseos-5c2bd2d8d4c1e6a3` is `baseos`).
fn repo_id(dir: &str) -> &str {
    match dir.rsplit_once('-') {
        Some((id, hash)) if hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()) => id,
        _ => dir,
    }
}

/// An attribute's value.
fn attr(e: &BytesStart<'_>, key: &str) -> Option<String> {
    let a = e.try_get_attribute(key).ok()??;
    Some(a.unescape_value().ok()?.into_owned())
}

/// Which element's text is being read.
#[derive(Clone, Copy, PartialEq)]
enum Field {
    None,
    Name,
    Arch,
}

/// The newest version of each installed package in a `primary.xml` stream: name to version.
pub fn scan_primary(
    reader: impl Read,
    installed: &HashMap<&str, &Package>,
    out: &mut HashMap<String, String>,
) -> Result<(), String> {
    let mut xml = quick_xml::Reader::from_reader(BufReader::new(reader));
    let mut buf = Vec::new();
    let (mut field, mut name, mut arch, mut version) = (Field::None, String::new(), String::new(), None);
    loop {
        let event = xml.read_event_into(&mut buf).map_err(|e| e.to_string())?;
        match event {
            Event::Start(e) | Event::Empty(e) => match e.local_name().as_ref() {
                b"package" => {
                    (name, arch, version) = (String::new(), String::new(), None);
                }
                b"name" => field = Field::Name,
                b"arch" => field = Field::Arch,
                b"version" => {
                    version = Some(evr(
                        attr(&e, "epoch").as_deref(),
                        &attr(&e, "ver").unwrap_or_default(),
                        &attr(&e, "rel").unwrap_or_default(),
                    ));
                }
                _ => {}
            },
            Event::Text(t) if field != Field::None => {
                let text = t.decode().map_err(|e| e.to_string())?;
                let target = if field == Field::Name {
                    &mut name
                } else {
                    &mut arch
                };
                if target.len() + text.len() <= MAX_TEXT {
                    target.push_str(text.trim());
                }
            }
            Event::End(e) => {
                field = Field::None;
                if e.local_name().as_ref() == b"package"
                    && let (Some(p), Some(v)) = (installed.get(name.as_str()), version.take())
                    && arch_fits(p.arch.as_deref(), &arch)
                {
                    match out.get(&name) {
                        Some(best) if compare(best, &v) != Some(Ordering::Less) => {}
                        _ => {
                            out.insert(name.clone(), v);
                        }
                    }
                }
            }
            Event::Eof => return Ok(()),
            _ => {}
        }
        buf.clear();
    }
}

/// The advisories of an `updateinfo.xml` stream that name installed packages.
pub fn scan_updateinfo(
    reader: impl Read,
    installed: &HashMap<&str, &Package>,
    out: &mut HashMap<String, Vec<Advisory>>,
) -> Result<(), String> {
    let mut xml = quick_xml::Reader::from_reader(BufReader::new(reader));
    let mut buf = Vec::new();
    let (mut in_id, mut id, mut security) = (false, String::new(), false);
    loop {
        let event = xml.read_event_into(&mut buf).map_err(|e| e.to_string())?;
        match event {
            Event::Start(e) | Event::Empty(e) => match e.local_name().as_ref() {
                b"update" => {
                    id.clear();
                    security = attr(&e, "type").as_deref() == Some("security");
                }
                b"id" => in_id = true,
                b"package" => {
                    let name = attr(&e, "name").unwrap_or_default();
                    if let Some(p) = installed.get(name.as_str())
                        && arch_fits(p.arch.as_deref(), &attr(&e, "arch").unwrap_or_default())
                    {
                        let fixed = evr(
                            attr(&e, "epoch").as_deref(),
                            &attr(&e, "version").unwrap_or_default(),
                            &attr(&e, "release").unwrap_or_default(),
                        );
                        let list = out.entry(name).or_default();
                        if !list.iter().any(|a| a.id == id) {
                            list.push(Advisory {
                                id: id.clone(),
                                fixed,
                                security,
                            });
                        }
                    }
                }
                _ => {}
            },
            Event::Text(t) if in_id => {
                let text = t.decode().map_err(|e| e.to_string())?;
                if id.len() + text.len() <= MAX_TEXT {
                    id.push_str(text.trim());
                }
            }
            Event::End(_) => in_id = false,
            Event::Eof => return Ok(()),
            _ => {}
        }
        buf.clear();
    }
}

/// What dnf's cached repository metadata offers for the installed packages.
pub fn catalog(root: &HostRoot, installed: &HashMap<&str, &Package>, unknown: &mut Vec<Unknown>) -> Catalog {
    let mut catalog = Catalog::default();
    for cache in CACHES {
        for dir in root.list(cache) {
            let repodata = format!("{cache}/{dir}/repodata");
            let files = root.list(&repodata);
            let find = |kind: &str| {
                files
                    .iter()
                    .find(|f| f.contains(&format!("{kind}.xml")))
                    .map(|f| format!("{repodata}/{f}"))
            };
            let Some(primary) = find("primary") else {
                continue;
            };
            let mut found = HashMap::new();
            if let Err(e) = open_index(root, &primary)
                .and_then(|r| scan_primary(r, installed, &mut found).map_err(|e| format!("{primary}: {e}")))
            {
                unknown.push(Unknown::new("patches.dnf_repodata", &e));
                continue;
            }
            catalog.indexes += 1;
            let origin = repo_id(&dir).to_owned();
            for (name, version) in found {
                catalog.offers.entry(name).or_default().push(Offer {
                    version,
                    origin: origin.clone(),
                    security: false,
                });
            }
            if let Some(updateinfo) = find("updateinfo")
                && let Err(e) = open_index(root, &updateinfo).and_then(|r| {
                    scan_updateinfo(r, installed, &mut catalog.advisories)
                        .map_err(|e| format!("{updateinfo}: {e}"))
                })
            {
                unknown.push(Unknown::new("patches.dnf_updateinfo", &e));
            }
        }
    }
    if catalog.indexes == 0 {
        unknown.push(Unknown::new(
            "patches.dnf_repodata",
            &"/var/cache/dnf: no cached repository metadata (run dnf makecache)",
        ));
    }
    catalog
}

/// Time of the last successful dnf transaction (dnf 4 `history.sqlite`, dnf 5
/// `transaction_history.sqlite`).
pub fn last_operation(root: &HostRoot) -> Option<String> {
    let sources = [
        // libdnf TransactionState::DONE = 1.
        ("/var/lib/dnf/history.sqlite", "state = 1"),
        // dnf 5 trans_state 2 = Ok.
        (
            "/usr/lib/sysimage/libdnf5/transaction_history.sqlite",
            "state_id = 2",
        ),
    ];
    sources.iter().find_map(|(path, done)| {
        let path = root.path(path);
        if !path.exists() {
            return None;
        }
        let db = open_sqlite(&path).ok()?;
        let end: Option<i64> = db
            .query_row(&format!("SELECT MAX(dt_end) FROM trans WHERE {done}"), [], |r| {
                r.get(0)
            })
            .ok()?;
        format_time(end?)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pkg(name: &str, version: &str) -> Package {
        crate::host::packages::test_package("rpm", name, version, "x86_64")
    }

    #[test]
    fn primary_and_updateinfo() {
        let p = pkg("openssl", "1:3.0.7-27.el9");
        let installed = HashMap::from([("openssl", &p)]);
        let primary = r#"<?xml version="1.0"?>
<metadata xmlns="http://linux.duke.edu/metadata/common" xmlns:rpm="http://linux.duke.edu/metadata/rpm" packages="3">
<package type="rpm"><name>openssl</name><arch>x86_64</arch><version epoch="1" ver="3.0.7" rel="28.el9_4"/>
<format><rpm:provides><rpm:entry name="openssl" flags="EQ" epoch="1" ver="3.0.7" rel="28.el9_4"/></rpm:provides></format></package>
<package type="rpm"><name>openssl</name><arch>i686</arch><version epoch="1" ver="3.0.9" rel="1.el9"/></package>
<package type="rpm"><name>bash</name><arch>x86_64</arch><version epoch="0" ver="5.2" rel="1.el9"/></package>
</metadata>"#;
        let mut found = HashMap::new();
        scan_primary(primary.as_bytes(), &installed, &mut found).unwrap();
        assert_eq!(
            found,
            HashMap::from([("openssl".to_owned(), "1:3.0.7-28.el9_4".to_owned())])
        );
        let updateinfo = r#"<?xml version="1.0"?><updates>
<update from="releng@rockylinux.org" status="final" type="security" version="2"><id>RLSA-2024:3501</id>
<pkglist><collection short="x"><package name="openssl" version="3.0.7" release="28.el9_4" epoch="1" arch="x86_64" src=""><filename>x.rpm</filename></package></collection></pkglist></update>
<update type="bugfix"><id>RLBA-2024:1</id><pkglist><collection><package name="openssl" version="3.0.7" release="28.el9_4" epoch="1" arch="x86_64"/></collection></pkglist></update>
</updates>"#;
        let mut adv = HashMap::new();
        scan_updateinfo(updateinfo.as_bytes(), &installed, &mut adv).unwrap();
        assert_eq!(
            adv["openssl"],
            [
                Advisory {
                    id: "RLSA-2024:3501".into(),
                    fixed: "1:3.0.7-28.el9_4".into(),
                    security: true
                },
                Advisory {
                    id: "RLBA-2024:1".into(),
                    fixed: "1:3.0.7-28.el9_4".into(),
                    security: false
                }
            ]
        );
        // Broken XML: an error, not a panic.
        assert!(scan_primary(&b"<metadata><package><name>x</nam"[..], &installed, &mut found).is_err());
        assert_eq!(repo_id("baseos-5c2bd2d8d4c1e6a3"), "baseos");
        assert_eq!(repo_id("my-repo"), "my-repo");
    }
}
