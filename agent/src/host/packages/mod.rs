//! Installed software from the package managers' own databases, one module per format, each
//! package with a purl (package URL) identifier.

pub mod apk;
pub mod dpkg;
pub mod rpm;

use serde::Serialize;

/// One installed package.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Package {
    /// Package manager (`dpkg`, `rpm`, `apk`).
    pub manager: &'static str,
    /// Package name.
    pub name: String,
    /// Version as the package manager writes it (with epoch).
    pub version: String,
    /// Architecture.
    pub arch: Option<String>,
    /// Source package, when it differs from the name.
    pub source: Option<String>,
    /// State when not simply installed (`config-files`, `half-installed` ...).
    pub state: Option<String>,
    /// Package URL (`pkg:deb/debian/openssl@3.0.15-1~deb12u1?arch=amd64&distro=debian-12`).
    pub purl: String,
}

/// An installed package for tests: no source, no purl.
#[cfg(test)]
pub fn test_package(manager: &'static str, name: &str, version: &str, arch: &str) -> Package {
    Package {
        manager,
        name: name.into(),
        version: version.into(),
        arch: Some(arch.into()),
        source: None,
        state: None,
        purl: String::new(),
    }
}

/// Percent-encodes a purl component: letters, digits and `.-_~` stay.
pub fn purl_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"._-~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A purl: `pkg:TYPE/NAMESPACE/NAME@VERSION?QUALIFIERS` (qualifiers sorted by key; `upstream`
/// names the source package when it differs, as syft writes it, so advisories keyed by source
/// package match).
pub fn purl(
    kind: &str,
    namespace: &str,
    name: &str,
    version: &str,
    qualifiers: &[(&str, Option<&str>)],
) -> String {
    let mut q: Vec<(&str, &str)> = qualifiers.iter().filter_map(|(k, v)| Some((*k, (*v)?))).collect();
    q.sort();
    let mut p = format!(
        "pkg:{kind}/{}/{}@{}",
        purl_encode(namespace),
        purl_encode(name),
        purl_encode(version)
    );
    for (i, (k, v)) in q.iter().enumerate() {
        p.push(if i == 0 { '?' } else { '&' });
        p.push_str(k);
        p.push('=');
        p.push_str(&purl_encode(v));
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purls() {
        assert_eq!(
            purl(
                "deb",
                "debian",
                "openssl",
                "3.0.15-1~deb12u1",
                &[("distro", Some("debian-12")), ("arch", Some("amd64"))]
            ),
            "pkg:deb/debian/openssl@3.0.15-1~deb12u1?arch=amd64&distro=debian-12"
        );
        assert_eq!(
            purl("deb", "debian", "libc6", "1:2.36+x", &[("arch", None)]),
            "pkg:deb/debian/libc6@1%3A2.36%2Bx"
        );
    }
}
