//! What the engines' objects name from gw.toml or the command line: the
//! Gateways, routes or Services they attach to (`KIND/NAME`), and a pull
//! Secret. A flag wins over gw.toml; every value is checked where it came from.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{Error, names};

/// A `targetRef` / `targetRefs` entry.
#[derive(Debug, Serialize)]
pub struct TargetRef {
    pub group: &'static str,
    pub kind: &'static str,
    pub name: String,
}

/// The flags' `KIND/NAME`s, else gw.toml's `target_refs` under `section`; each kind one of
/// `kinds` (kind, API group), which `object` ("a WasmPlugin") targets.
pub fn target_refs(
    flags: Vec<String>,
    toml: Vec<String>,
    section: &str,
    kinds: &[(&'static str, &'static str)],
    object: &str,
) -> Result<(Vec<TargetRef>, String), Error> {
    let (refs, place) =
        if flags.is_empty() { (toml, format!("{section} target_refs")) } else { (flags, "--target-ref".into()) };
    let parsed = refs
        .iter()
        .map(|text| {
            target_ref(text, kinds, object).map_err(|reason| Error::Input {
                place: place.clone(),
                value: text.clone(),
                reason,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((parsed, place))
}

fn target_ref(text: &str, kinds: &[(&'static str, &'static str)], object: &str) -> Result<TargetRef, String> {
    let (first, _) = kinds[0];
    let (kind, name) = text.split_once('/').ok_or_else(|| format!("is not KIND/NAME, e.g. {first}/NAME"))?;
    let Some((kind, group)) = kinds.iter().find(|(k, _)| *k == kind) else {
        let names: Vec<&str> = kinds.iter().map(|(k, _)| *k).collect();
        let (last, rest) = names.split_last().expect("engines name their kinds");
        return Err(format!("names kind {kind:?}; {object} targets {} or {last}", rest.join(", ")));
    };
    names::subdomain(name).map_err(|e| format!("names {name:?}, which is not a resource name: it {e}"))?;
    Ok(TargetRef { group, kind, name: name.to_string() })
}

/// Labels to select by: the flag's `KEY=VALUE`s (`flag` names it), else gw.toml's table
/// `key` under `section`. A value no label can hold selects nothing, so it is refused rather
/// than deployed inert; `what` says what it would select ("workload", "node").
pub fn selector(
    (flag, given): (&str, Vec<String>),
    (section, key, toml): (&str, &str, BTreeMap<String, String>),
    what: &str,
) -> Result<BTreeMap<String, String>, Error> {
    let bad =
        |place: &str, value: &str, reason: String| Error::Input { place: place.into(), value: value.into(), reason };
    // (where it came from, as written, key, value)
    let mut pairs = Vec::new();
    if given.is_empty() {
        for (k, v) in toml {
            pairs.push((format!("{section} {key}.{k}"), format!("{k}={v}"), k, v));
        }
    } else {
        for text in given {
            let (k, v) = text.split_once('=').ok_or_else(|| bad(flag, &text, "is not KEY=VALUE".into()))?;
            let (k, v) = (k.to_string(), v.to_string());
            pairs.push((flag.to_string(), text, k, v));
        }
    }
    let mut labels = BTreeMap::new();
    for (place, text, k, v) in pairs {
        names::label_key(&k).map_err(|e| bad(&place, &text, format!("has no label key: it {e}")))?;
        names::label_value(&v).map_err(|e| bad(&place, &text, format!("can match no {what}: it {e}")))?;
        labels.insert(k, v);
    }
    Ok(labels)
}

/// The flag's pull Secret, else gw.toml's `pull_secret`, checked as a Secret name.
pub fn pull_secret(flag: Option<String>, toml: Option<String>) -> Result<Option<String>, Error> {
    let secret = flag.or(toml);
    if let Some(name) = &secret {
        names::subdomain(name).map_err(|e| Error::Input {
            place: "--pull-secret / pull_secret".into(),
            value: name.clone(),
            reason: format!("is not a Secret name: it {e}"),
        })?;
    }
    Ok(secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KINDS: [(&str, &str); 3] = [("Gateway", "gateway.networking.k8s.io"), ("GatewayClass", "x"), ("Service", "")];

    #[test]
    fn kind_slash_name_with_its_group() {
        let (refs, place) =
            target_refs(vec![], vec!["Service/checkout".into()], "[deploy.istio]", &KINDS, "a WasmPlugin").unwrap();
        assert_eq!((refs[0].group, refs[0].kind, refs[0].name.as_str()), ("", "Service", "checkout"));
        assert_eq!(place, "[deploy.istio] target_refs");
        let e = target_refs(vec!["Pod/x".into()], vec![], "s", &KINDS, "a WasmPlugin").unwrap_err().to_string();
        assert!(
            e.starts_with(
                "--target-ref \"Pod/x\" names kind \"Pod\"; a WasmPlugin targets Gateway, GatewayClass or Service"
            ),
            "{e}"
        );
        let e = target_refs(vec!["checkout".into()], vec![], "s", &KINDS, "x").unwrap_err().to_string();
        assert!(e.contains("is not KIND/NAME, e.g. Gateway/NAME"), "{e}");
        assert!(pull_secret(None, Some("Reg Cred".into())).is_err());
        let toml = BTreeMap::from([("app".to_string(), "a*".to_string())]);
        let e = selector(("--selector", vec![]), ("[deploy.istio]", "selector", toml), "workload").unwrap_err();
        assert!(e.to_string().starts_with("[deploy.istio] selector.app \"app=a*\" can match no workload"), "{e}");
        let flags = vec!["zone=eu".to_string()];
        let labels = selector(("--node-selector", flags), ("s", "node_selector", BTreeMap::new()), "node").unwrap();
        assert_eq!(labels["zone"], "eu");
        assert_eq!(pull_secret(Some("a".into()), Some("b".into())).unwrap().as_deref(), Some("a"));
    }
}
