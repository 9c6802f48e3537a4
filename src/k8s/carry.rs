//! The gateway policies of gw.toml's `[topology]` that a Service's listener in
//! Cilium's Envoy carries, and the ones it cannot, said in words.
//!
//! A CiliumEnvoyConfig listener takes one Service's traffic and sends it to
//! that Service's backends. So it carries the front's JWT, rate limit and
//! CORS, the routes that lead to that Service alone (with their timeouts,
//! retries, header edits, limits and CORS), and the Service's upstream
//! policies on its cluster. Splits between Services, TLS and the dev-only keys
//! stay behind.

use std::path::Path;

use super::Error;
use super::spec::Target;
use crate::topology::policy::{JwksSource, Jwt, RateLimit, ServicePolicy};
use crate::topology::render::RoutePlan;
use crate::topology::spec::{LoadBalancing, Spec, TlsSpec};
use crate::topology::{self, plan};

/// What one Service's listener carries.
#[derive(Debug, Clone, Default)]
pub struct Gateway {
    /// The routes to this Service alone, in gw.toml's order.
    pub routes: Vec<RoutePlan>,
    /// The front's JWT, with the JWKS's text when it is a file (the cluster has no such file).
    pub jwt: Option<(Jwt, Option<String>)>,
    pub rate_limit: Option<RateLimit>,
    /// From the `[[topology.services]]` entry named like the Service.
    pub upstream: Option<(Option<LoadBalancing>, ServicePolicy)>,
}

impl Gateway {
    /// Whether the listener would carry no policy at all.
    pub fn is_empty(&self) -> bool {
        self.routes.is_empty() && self.jwt.is_none() && self.rate_limit.is_none() && self.upstream.is_none()
    }
}

/// Each target's [`Gateway`], and a sentence for each policy that is not carried (or is
/// carried with a difference worth knowing).
pub fn carry(spec: &Spec, root: &Path, targets: &[Target]) -> Result<(Vec<Gateway>, Vec<String>), Error> {
    let routes = plan::routes(spec)?;
    let jwt = match plan::front_jwt(spec, root)? {
        Some(jwt) => {
            let text = match &jwt.keys {
                JwksSource::File(path) => Some(fs_err::read_to_string(path)?),
                JwksSource::Remote { .. } => None,
            };
            Some((jwt, text))
        }
        None => None,
    };
    let rate_limit = plan::front_rate_limit(spec)?;

    let mut notes = Vec::new();
    if spec.front.tls.as_ref().is_some_and(|tls| !matches!(tls, TlsSpec::On(false))) {
        notes.push(
            "front.tls: not carried; Cilium's listener takes the Service's traffic as it arrives \
             (terminate TLS at the Gateway or Ingress in front of it)"
                .to_string(),
        );
    }
    if spec.front.http2 {
        notes.push("front.http2: not carried; clients choose HTTP/1.1 or HTTP/2 when they reach the Service".into());
    }
    if let Some(ebpf) = &spec.ebpf {
        notes.push(format!(
            "topology.ebpf ({}): the programs are not carried; they run where their own loader attaches them",
            ebpf.project.display()
        ));
    }
    if rate_limit.is_some() || routes.iter().any(|r| r.policy.rate_limit.is_some()) {
        notes.push(
            "rate limits: carried as Envoy's local rate limit, which counts on each node's Envoy \
             (N nodes allow up to N times the limit)"
                .into(),
        );
    }
    for (i, route) in routes.iter().enumerate() {
        let to = route.describe();
        match route.targets.as_slice() {
            [(service, _)] if targets.iter().any(|t| &t.service == service) => {}
            [(service, _)] => notes.push(format!(
                "routes[{i}] ({} → {to}): not carried; no Service {service} is deployed (--service)",
                route.prefix
            )),
            _ => notes.push(format!(
                "routes[{i}] ({} → {to}): not carried; a Service's listener sends its traffic to that Service only",
                route.prefix
            )),
        }
    }

    let mut gateways = Vec::new();
    for target in targets {
        let upstream = match spec.services.iter().position(|s| s.name == target.service) {
            Some(i) => {
                let service = &spec.services[i];
                let policy = service.policy(&format!("services[{i}]")).map_err(topology::Error::Topology)?;
                Some((service.lb, policy))
            }
            None => None,
        };
        let own = |r: &&RoutePlan| matches!(r.targets.as_slice(), [(service, _)] if *service == target.service);
        gateways.push(Gateway {
            routes: routes.iter().filter(own).cloned().collect(),
            jwt: jwt.clone(),
            rate_limit: rate_limit.clone(),
            upstream,
        });
    }
    Ok((gateways, notes))
}
