//! `gw versions [--all] [--json]`: installed builds, and what the index offers.

use serde::Serialize;

use crate::Result;
use crate::builds::{self, Build, Flavor};
use crate::cli::source::SourceArgs;
use crate::cli::{Terminal, context};
use crate::settings::Settings;
use crate::settings::default_build as default;

/// List installed builds; --all adds the Envoy versions each source offers for this platform
/// (with the sources that offer each), and the cilium-envoy builds gw's catalogue pins.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Also list Envoy versions available from the sources (the versions index, the package
    /// index; see --source) and the cilium-envoy images gw's catalogue pins by digest.
    #[arg(long, short)]
    all: bool,

    /// Print JSON (an array of objects) instead of text.
    #[arg(long)]
    json: bool,

    #[command(flatten)]
    source: SourceArgs,
}

#[derive(Serialize)]
struct Row {
    reference: String,
    flavor: String,
    version: String,
    platform: String,
    installed: bool,
    default: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sha256: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    release_date: Option<String>,
    /// For catalogue builds: the image, pinned by digest.
    #[serde(skip_serializing_if = "Option::is_none")]
    image: Option<String>,
    /// The sources that offer it (`index`, `pypi`, `image`), with --all.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    sources: Vec<String>,
}

pub fn run(args: Args, settings: &Settings, terminal: &Terminal) -> Result<i32> {
    let chosen = default::get(&settings.layout, settings.project.as_ref())?.map(|(r, _)| r);
    let is_default = |build: &Build| {
        chosen.as_ref().is_some_and(|r| {
            r.flavor == build.flavor
                && r.version == build.version
                && r.platform.or(settings.platform) == Some(build.platform)
        })
    };
    let mut rows: Vec<Row> = builds::installed_builds(&settings.layout)?
        .into_iter()
        .map(|b| Row {
            reference: b.build.to_string(),
            flavor: b.build.flavor.to_string(),
            version: b.build.version.to_string(),
            platform: b.build.platform.to_string(),
            installed: true,
            default: is_default(&b.build),
            path: Some(b.binary.display().to_string()),
            sha256: Some(b.sha256.to_string()),
            release_date: None,
            image: None,
            sources: Vec::new(),
        })
        .collect();
    if args.all {
        let platform = settings.platform.ok_or(builds::Error::NoHostPlatform)?;
        let mut ctx = context(settings, terminal);
        args.source.apply(&mut ctx);
        let mut offered = Vec::new();
        for (source, versions) in builds::source::available(&ctx, platform)? {
            for (version, date) in versions {
                offered.push((version, source, date));
            }
        }
        // Newest first; a version keeps its place when a second source offers it.
        offered.sort_by(|a, b| b.0.cmp(&a.0));
        for (version, source, date) in offered {
            let build = Build { flavor: Flavor::Standard, version, platform };
            merge_available(&mut rows, &build, |row| {
                row.release_date = row.release_date.take().or(date);
                row.sources.push(source.to_string());
            });
        }
        // Catalogue images are Linux images.
        if platform.os == builds::Os::Linux {
            for entry in builds::catalogue::entries() {
                let reference = entry.reference();
                let build = Build { flavor: reference.flavor, version: reference.version, platform };
                let image = entry.image().pinned(&entry.digest).to_string();
                merge_available(&mut rows, &build, |row| {
                    row.image = Some(image);
                    row.sources.push("image".into());
                });
            }
        }
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&rows).expect("rows serialise"));
        return Ok(0);
    }
    if rows.is_empty() {
        terminal.status(format!(
            "no builds installed in {}; install one with `gw fetch 1.36`, or list what exists with `gw versions --all`",
            settings.layout.home().display()
        ));
    }
    for row in rows {
        let mark = if row.default { "*" } else { " " };
        let state = if row.installed { "installed" } else { "available" };
        let date = row.release_date.map(|d| format!("  {d}")).unwrap_or_default();
        let date = if row.image.is_some() && !row.installed {
            format!("{date}  (image, pinned by gw's catalogue)")
        } else if !row.sources.is_empty() {
            format!("{date}  ({})", row.sources.join(", "))
        } else {
            date
        };
        println!("{mark} {:<36} {state}{date}", row.reference);
    }
    Ok(0)
}

/// Adds `build` as an available row, unless a row for it exists; `fill` then
/// adds what this source knows to whichever row it is.
fn merge_available(rows: &mut Vec<Row>, build: &Build, fill: impl FnOnce(&mut Row)) {
    let reference = build.to_string();
    let index = match rows.iter().position(|r| r.reference == reference) {
        Some(index) => index,
        None => {
            rows.push(Row {
                reference,
                flavor: build.flavor.to_string(),
                version: build.version.to_string(),
                platform: build.platform.to_string(),
                installed: false,
                default: false,
                path: None,
                sha256: None,
                release_date: None,
                image: None,
                sources: Vec::new(),
            });
            rows.len() - 1
        }
    };
    fill(&mut rows[index]);
}
