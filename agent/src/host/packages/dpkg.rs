//! The dpkg status database (`/var/lib/dpkg/status`: RFC 822 style stanzas) of Debian and Ubuntu.

use super::{Package, purl};

/// The non-blank stanzas of a control-file style text: field name to value (continuation lines
/// joined); a stanza without any field comes out empty.
pub fn stanzas(text: &str) -> impl Iterator<Item = Vec<(&str, String)>> {
    text.split("\n\n").filter_map(|block| {
        let mut fields: Vec<(&str, String)> = Vec::new();
        for line in block.lines() {
            if line.starts_with([' ', '\t']) {
                if let Some((_, v)) = fields.last_mut() {
                    v.push('\n');
                    v.push_str(line.trim());
                }
            } else if let Some((k, v)) = line.split_once(':') {
                fields.push((k, v.trim().to_owned()));
            }
        }
        (!block.trim().is_empty()).then_some(fields)
    })
}

/// The packages of a status file, for the distribution `distro` (`ID` and `VERSION_ID` of
/// os-release). Packages whose state is `not-installed` are left out, as `dpkg-query -W` does.
/// Returns the packages and the number of stanzas that were not usable.
pub fn parse(text: &str, distro: (&str, &str)) -> (Vec<Package>, usize) {
    let mut out = Vec::new();
    let mut bad = 0;
    for s in stanzas(text) {
        let get = |k: &str| {
            s.iter()
                .find(|(f, _)| f.eq_ignore_ascii_case(k))
                .map(|(_, v)| v.as_str())
        };
        let (Some(name), Some(status)) = (get("Package"), get("Status")) else {
            bad += 1;
            continue;
        };
        let state = status.split_whitespace().nth(2).unwrap_or("");
        if state == "not-installed" {
            continue;
        }
        let Some(version) = get("Version") else {
            bad += 1;
            continue;
        };
        let arch = get("Architecture").map(str::to_owned);
        // "Source: name (version)" when the source version differs.
        let source = get("Source")
            .map(|s| s.split_whitespace().next().unwrap_or(s).to_owned())
            .filter(|s| s != name);
        let distro_q = format!("{}-{}", distro.0, distro.1);
        out.push(Package {
            manager: "dpkg",
            purl: purl(
                "deb",
                distro.0,
                name,
                version,
                &[
                    ("arch", arch.as_deref()),
                    ("distro", Some(&distro_q)),
                    ("upstream", source.as_deref()),
                ],
            ),
            name: name.to_owned(),
            version: version.to_owned(),
            arch,
            source,
            state: (state != "installed").then(|| state.to_owned()),
        });
    }
    out.sort();
    (out, bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stanzas_states_and_sources() {
        let text = "Package: openssl\nStatus: install ok installed\nArchitecture: amd64\nSource: openssl (3.0.15)\n\
                    Version: 3.0.15-1~deb12u1\nDescription: toolkit\n more text\n\n\
                    Package: old\nStatus: deinstall ok config-files\nVersion: 1.0\n\n\
                    Package: gone\nStatus: purge ok not-installed\n\n\
                    Status: install ok installed\nVersion: 2\n";
        let (pkgs, bad) = parse(text, ("debian", "12"));
        assert_eq!(bad, 1);
        assert_eq!(pkgs.len(), 2);
        assert_eq!(pkgs[0].name, "old");
        assert_eq!(pkgs[0].state.as_deref(), Some("config-files"));
        let ssl = &pkgs[1];
        assert_eq!(
            (ssl.version.as_str(), ssl.source.as_deref()),
            ("3.0.15-1~deb12u1", None)
        );
        assert_eq!(
            ssl.purl,
            "pkg:deb/debian/openssl@3.0.15-1~deb12u1?arch=amd64&distro=debian-12"
        );
    }
}
