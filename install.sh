#!/bin/sh
# Install gw.
#
#   Inside a checkout of gw (this script next to gw's Cargo.toml): builds and
#   installs that checkout with `cargo install --locked`.
#   Anywhere else, or with --from-release: downloads a release binary,
#   verifies its SHA-256 before unpacking anything, and installs it.
#
#   curl -fsSL https://github.com/gw-sh/gw/releases/download/v0.1.0/install.sh | sh
#   sh install.sh --prefix /usr/local --version 0.1.0
#
# Settings (a flag wins over its variable, which wins over the default):
#   --prefix DIR     GW_PREFIX             default $HOME/.local; gw goes to DIR/bin
#   --version V      GW_VERSION            default GW_DEFAULT_VERSION below
#   --from-release                         release mode even inside a checkout
#                    GW_INSTALL_BASE_URL   default https://github.com/gw-sh/gw/releases/download
#                    GW_INSTALL_PLATFORM   skip detection: linux-amd64, linux-arm64,
#                                          darwin-amd64 or darwin-arm64
#                    GW_INSTALL_DRY_RUN=1  print the mode and what would be run or
#                                          downloaded, change nothing, exit 0
# Proxies (HTTPS_PROXY, NO_PROXY, ...) are honoured by curl and wget themselves.
GW_DEFAULT_VERSION=0.1.0

set -eu

SUPPORTED_PLATFORMS="linux-amd64, linux-arm64, darwin-amd64, darwin-arm64"
tmp_dir=
staged=

say() {
    printf 'install.sh: %s\n' "$*"
}

die() {
    printf 'install.sh: %s\n' "$*" >&2
    exit 1
}

usage() {
    cat <<EOF
Install gw.

Usage: install.sh [--prefix DIR] [--version V] [--from-release]

Inside a checkout of gw this builds the checkout from source (cargo install
--locked); elsewhere, or with --from-release, it downloads release V, checks
its SHA-256 and installs the gw binary into DIR/bin.

Options:
  --prefix DIR     install into DIR/bin      [env: GW_PREFIX; default: \$HOME/.local]
  --version V      release to install        [env: GW_VERSION; default: $GW_DEFAULT_VERSION]
  --from-release   install a release binary even inside a checkout
  -h, --help       print this help

Environment:
  GW_INSTALL_BASE_URL   where releases live  [default: https://github.com/gw-sh/gw/releases/download]
  GW_INSTALL_PLATFORM   skip detection; one of: $SUPPORTED_PLATFORMS
  GW_INSTALL_DRY_RUN=1  print the chosen mode and what it would run or download, then exit
EOF
}

cleanup() {
    if [ -n "$staged" ]; then rm -f "$staged"; fi
    if [ -n "$tmp_dir" ]; then rm -rf "$tmp_dir"; fi
}
trap cleanup EXIT
# Some shells (dash) skip the EXIT trap on a signal unless the signal is trapped.
trap 'exit 130' INT
trap 'exit 143' TERM

# --- settings ---------------------------------------------------------------

prefix=${GW_PREFIX:-}
version=${GW_VERSION:-$GW_DEFAULT_VERSION}
version_flag=
from_release=
while [ $# -gt 0 ]; do
    case $1 in
        --prefix)
            [ $# -ge 2 ] || die "--prefix needs a directory"
            prefix=$2
            shift 2
            ;;
        --prefix=*)
            prefix=${1#--prefix=}
            shift
            ;;
        --version)
            [ $# -ge 2 ] || die "--version needs a version, e.g. --version $GW_DEFAULT_VERSION"
            version=$2
            version_flag=1
            shift 2
            ;;
        --version=*)
            version=${1#--version=}
            version_flag=1
            shift
            ;;
        --from-release)
            from_release=1
            shift
            ;;
        -h | --help)
            usage
            exit 0
            ;;
        *)
            die "unknown argument: $1 (see install.sh --help)"
            ;;
    esac
done

if [ -z "$prefix" ]; then
    [ -n "${HOME:-}" ] || die "HOME is not set; choose where to install with --prefix DIR"
    prefix=$HOME/.local
fi
case $prefix in
    /*) ;;
    *) prefix=$(pwd)/$prefix ;;
esac
prefix=${prefix%/}
bin_dir=$prefix/bin
base_url=${GW_INSTALL_BASE_URL:-https://github.com/gw-sh/gw/releases/download}
base_url=${base_url%/}
version=${version#v}
dry_run=
case ${GW_INSTALL_DRY_RUN:-} in
    '' | 0) ;;
    *) dry_run=1 ;;
esac

# --- mode ---------------------------------------------------------------------

# The checkout is the directory holding this script. When the script is piped
# into sh, $0 is the shell's name, not a file, so there is no checkout.
checkout_dir() {
    [ -f "$0" ] || return 1
    dir=$(cd "$(dirname "$0")" && pwd -P) || return 1
    [ -f "$dir/Cargo.toml" ] || return 1
    # `name = "gw"` inside [package], not some [[bin]] or dependency.
    awk '/^[[:space:]]*\[/ { pkg = ($0 ~ /^[[:space:]]*\[package\][[:space:]]*$/) }
         pkg && /^[[:space:]]*name[[:space:]]*=[[:space:]]*"gw"/ { found = 1 }
         END { exit !found }' "$dir/Cargo.toml" || return 1
    printf '%s\n' "$dir"
}

install_from_source() {
    src=$1
    if [ -n "$version_flag" ]; then
        die "--version picks a release, but this is a checkout of gw, which would be built from source; add --from-release to install release $version"
    fi
    if [ -n "$dry_run" ]; then
        echo "mode: source"
        echo "checkout: $src"
        echo "command: cargo install --locked --path $src --root $prefix"
        echo "install: $bin_dir/gw"
        exit 0
    fi
    command -v cargo >/dev/null 2>&1 ||
        die "cargo not found; building gw from source needs Rust (https://rustup.rs), or add --from-release to install a release binary"
    say "building gw from source in $src (add --from-release to install a release binary instead)"
    cargo install --locked --path "$src" --root "$prefix"
}

# --- release mode ---------------------------------------------------------------

detect_platform() {
    if [ -n "${GW_INSTALL_PLATFORM:-}" ]; then
        case " $SUPPORTED_PLATFORMS," in
            *" $GW_INSTALL_PLATFORM,"*) printf '%s\n' "$GW_INSTALL_PLATFORM" ;;
            *) die "GW_INSTALL_PLATFORM=$GW_INSTALL_PLATFORM is not supported; supported: $SUPPORTED_PLATFORMS" ;;
        esac
        return
    fi
    kernel=$(uname -s)
    machine=$(uname -m)
    case $kernel in
        Linux) os=linux ;;
        Darwin) os=darwin ;;
        *) os= ;;
    esac
    case $machine in
        x86_64 | amd64) arch=amd64 ;;
        aarch64 | arm64) arch=arm64 ;;
        *) arch= ;;
    esac
    if [ -z "$os" ] || [ -z "$arch" ]; then
        die "unsupported platform: $kernel $machine (uname -s, uname -m); supported: $SUPPORTED_PLATFORMS"
    fi
    # A shell under Rosetta reports x86_64 on Apple silicon; prefer the native build.
    if [ "$os-$arch" = darwin-amd64 ] &&
        [ "$(sysctl -n sysctl.proc_translated 2>/dev/null || true)" = 1 ]; then
        arch=arm64
    fi
    printf '%s-%s\n' "$os" "$arch"
}

# download URL FILE HINT: the hint is printed on its own line if it fails.
download() {
    if command -v curl >/dev/null 2>&1; then
        err=$(curl -fsSL -S --retry 3 -o "$2" "$1" 2>&1) && return
    elif command -v wget >/dev/null 2>&1; then
        err=$(wget -nv --tries=3 -O "$2" "$1" 2>&1) && return
    else
        die "need curl or wget to download $1"
    fi
    # The last line is the reason; wget starts it with a timestamp.
    err=$(printf '%s\n' "$err" | tail -n 1 | sed 's/^[0-9-]* [0-9:]* //')
    printf 'install.sh: download failed: %s: %s\n' "$1" "$err" >&2
    die "$3"
}

sha256_of() {
    if command -v sha256sum >/dev/null 2>&1; then
        sha256sum "$1" | awk '{ print $1 }'
    elif command -v shasum >/dev/null 2>&1; then
        shasum -a 256 "$1" | awk '{ print $1 }'
    elif command -v openssl >/dev/null 2>&1; then
        openssl dgst -sha256 -r "$1" | awk '{ print $1 }'
    else
        die "need sha256sum, shasum or openssl to verify the download"
    fi
}

install_release() {
    case $version in
        '' | *[!0-9A-Za-z.+-]*) die "invalid version: '$version' (expected something like $GW_DEFAULT_VERSION)" ;;
    esac
    platform=$(detect_platform)
    stem=gw-$version-$platform
    url=$base_url/v$version/$stem.tar.gz
    if [ -n "$dry_run" ]; then
        echo "mode: release"
        echo "platform: $platform"
        echo "url: $url"
        echo "checksum-url: $url.sha256"
        echo "install: $bin_dir/gw"
        exit 0
    fi

    tmp_dir=$(mktemp -d 2>/dev/null || mktemp -d -t gw-install)
    say "downloading $url"
    hint="hint: is gw $version released for $platform? Choose another with --version, or a mirror with GW_INSTALL_BASE_URL"
    download "$url.sha256" "$tmp_dir/$stem.tar.gz.sha256" "$hint"
    download "$url" "$tmp_dir/$stem.tar.gz" "$hint"

    # The .sha256 file is `<hex>  <filename>`, as sha256sum writes it.
    expected=$(awk 'NR == 1 { print tolower($1) }' "$tmp_dir/$stem.tar.gz.sha256")
    case $expected in
        *[!0-9a-f]*) expected= ;;
    esac
    [ ${#expected} -eq 64 ] || die "no SHA-256 digest in $url.sha256"
    actual=$(sha256_of "$tmp_dir/$stem.tar.gz")
    if [ "$actual" != "$expected" ]; then
        die "checksum mismatch for $url: expected $expected, got $actual"
    fi

    mkdir "$tmp_dir/x"
    tar -xzf "$tmp_dir/$stem.tar.gz" -C "$tmp_dir/x" || die "cannot unpack $url"
    binary=
    for candidate in "$tmp_dir/x/$stem/gw" "$tmp_dir/x/gw"; do
        if [ -f "$candidate" ] && [ ! -L "$candidate" ]; then
            binary=$candidate
            break
        fi
    done
    [ -n "$binary" ] || die "$url holds neither $stem/gw nor gw"

    mkdir -p "$bin_dir"
    # Stage next to the target, then rename: a running gw or a concurrent
    # installer never sees a half-written file.
    staged=$bin_dir/.gw.tmp.$$
    cp "$binary" "$staged"
    chmod 755 "$staged"
    mv -f "$staged" "$bin_dir/gw"
    staged=
    say "installed gw $version ($platform)"
}

# --- main -----------------------------------------------------------------------

if [ -z "$from_release" ] && src=$(checkout_dir); then
    install_from_source "$src"
else
    install_release
fi

say "gw is at $bin_dir/gw"
case ":${PATH:-}:" in
    *":$bin_dir:"*) ;;
    *)
        say "$bin_dir is not on your PATH; add it with:"
        # shellcheck disable=SC2016 # $PATH is for the user's shell to expand
        printf '\n    export PATH="%s:$PATH"\n\n' "$bin_dir"
        say "(put that line in your shell's profile, e.g. ~/.profile, to keep it)"
        ;;
esac
