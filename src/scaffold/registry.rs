//! The embedded templates. Each is a directory with a `template.toml`
//! (description, kind, parameters, conditional files) and a `content/` tree.

use include_dir::{Dir, include_dir};
use serde::Deserialize;

use super::Error;
use crate::project::Kind;

static WASM: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/templates");
static EBPF: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/ebpf-templates");
/// A folder of a group that is not a template: files every template of the group gets
/// (unless it has its own of the same path), kept once in the repo.
const SHARED: &str = "_shared";

/// The template `gw init` uses when none is named.
pub const DEFAULT_TEMPLATE: &str = "http-filter";
/// The eBPF template `-t ebpf` names, listed first among eBPF templates.
pub const DEFAULT_EBPF_TEMPLATE: &str = "xdp";

/// Whether `id` is the default template of its kind.
pub fn is_default(id: &str) -> bool {
    id == DEFAULT_TEMPLATE || id == DEFAULT_EBPF_TEMPLATE
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Parameter {
    pub name: String,
    pub prompt: String,
    #[serde(default)]
    pub default: Option<String>,
    /// A regular expression the whole value must match.
    #[serde(default)]
    pub pattern: Option<String>,
    /// The only values allowed.
    #[serde(default)]
    pub choices: Vec<String>,
    /// One line shown with errors and prompts.
    #[serde(default)]
    pub help: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileRule {
    /// A path under content/, as written there (before its name is rendered).
    pub path: String,
    /// A template expression; the file (or directory) is left out when it is false.
    pub when: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct TemplateToml {
    description: String,
    kind: String,
    #[serde(default)]
    parameters: Vec<Parameter>,
    #[serde(default)]
    files: Vec<FileRule>,
    /// Globs (under content/) copied as they are, not rendered.
    #[serde(default)]
    copy: Vec<String>,
    /// A template of the same folder whose files and parameters this one adds to.
    #[serde(default)]
    extends: Option<String>,
    #[serde(default)]
    dev_jwt: Option<DevJwtFiles>,
}

/// `[dev_jwt]`: a development JWKS and a token it verifies, made when the project is
/// (values rendered like the files).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DevJwtFiles {
    /// Where the JWKS goes, under the project.
    pub jwks: String,
    /// Where the token goes.
    pub token: String,
    pub issuer: String,
    pub audience: String,
    pub subject: String,
    /// How long the token is valid.
    pub days: u64,
}

#[derive(Debug, Clone)]
pub struct Template {
    pub id: String,
    pub description: String,
    pub kind: Kind,
    pub parameters: Vec<Parameter>,
    pub files: Vec<FileRule>,
    pub copy: Vec<String>,
    /// The `[topology]` text gw init writes into gw.toml instead of the default (rendered).
    pub topology: Option<&'static str>,
    pub dev_jwt: Option<DevJwtFiles>,
    /// The template this one extends, by id.
    pub extends: Option<String>,
    pub(super) content: &'static Dir<'static>,
    /// The extended template's files, under the template's own.
    pub(super) base: Option<&'static Dir<'static>>,
    /// The group's shared files (`_shared/`), under the template's own.
    pub(super) shared: Option<&'static Dir<'static>>,
}

impl Template {
    /// Where its files come from, first found first: its own, the extended template's, the
    /// group's shared ones.
    pub(super) fn roots(&self) -> impl Iterator<Item = &'static Dir<'static>> {
        std::iter::once(self.content).chain(self.base).chain(self.shared)
    }

    pub fn parameter(&self, name: &str) -> Option<&Parameter> {
        self.parameters.iter().find(|p| p.name == name)
    }

    /// The crates its Cargo.toml files depend on (`-` as `_`): a project may not share a name
    /// with one, since a package cannot depend on a crate of its own name.
    pub fn dependencies(&self) -> Vec<String> {
        let mut names = Vec::new();
        let mut stack: Vec<&Dir> = self.roots().collect();
        while let Some(dir) = stack.pop() {
            stack.extend(dir.dirs());
            let manifests = dir.files().filter(|f| f.path().file_name().is_some_and(|n| n == "Cargo.toml"));
            for text in manifests.filter_map(|f| f.contents_utf8()) {
                let mut in_dependencies = false;
                for line in text.lines().map(str::trim) {
                    if line.starts_with('[') {
                        in_dependencies = line.trim_matches(['[', ']']).ends_with("dependencies");
                    } else if in_dependencies && let Some((key, _)) = line.split_once('=') {
                        names.push(key.trim().replace('-', "_"));
                    }
                }
            }
        }
        names.sort();
        names.dedup();
        names
    }
}

/// Every template, proxy-wasm ones first, each group sorted by id with its default first.
pub fn templates() -> Result<Vec<Template>, Error> {
    let mut all = Vec::new();
    for (root, expected) in [(&WASM, Kind::ProxyWasm), (&EBPF, Kind::Ebpf)] {
        let mut group = Vec::new();
        let shared = root.get_dir(root.path().join(SHARED));
        for dir in root.dirs().filter(|d| d.path().file_name().is_none_or(|n| n != SHARED)) {
            group.push(Template { shared, ..load(dir, expected)? });
        }
        let bases = group.clone();
        for template in group.iter_mut() {
            if let Some(id) = template.extends.clone() {
                extend(template, &bases, &id)?;
            }
        }
        group.sort_by(|a, b| (!is_default(&a.id), &a.id).cmp(&(!is_default(&b.id), &b.id)));
        all.extend(group);
    }
    Ok(all)
}

/// The template `id`; `proxy-wasm` and `ebpf` name the default of that kind.
pub fn find(id: &str) -> Result<Template, Error> {
    let id = match id {
        "proxy-wasm" => DEFAULT_TEMPLATE,
        "ebpf" => DEFAULT_EBPF_TEMPLATE,
        other => other,
    };
    let all = templates()?;
    let ids = all.iter().map(|t| t.id.clone()).collect::<Vec<_>>().join(", ");
    all.into_iter().find(|t| t.id == id).ok_or_else(|| Error::UnknownTemplate(id.to_string(), ids))
}

fn load(dir: &'static Dir<'static>, expected: Kind) -> Result<Template, Error> {
    let id = dir.path().file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let broken = |message: String| Error::Template { template: id.clone(), message };
    let manifest = dir
        .get_file(dir.path().join("template.toml"))
        .and_then(|f| f.contents_utf8())
        .ok_or_else(|| broken("has no template.toml".into()))?;
    let manifest: TemplateToml = toml::from_str(manifest).map_err(|e| broken(e.to_string()))?;
    let kind = match manifest.kind.as_str() {
        "proxy-wasm" => Kind::ProxyWasm,
        "ebpf" => Kind::Ebpf,
        other => return Err(broken(format!("kind '{other}' is neither proxy-wasm nor ebpf"))),
    };
    if kind != expected {
        return Err(broken(format!("kind {} does not belong in this folder", kind.as_str())));
    }
    let content = dir.get_dir(dir.path().join("content")).ok_or_else(|| broken("has no content/ folder".into()))?;
    Ok(Template {
        id: id.clone(),
        description: manifest.description,
        kind,
        parameters: manifest.parameters,
        files: manifest.files,
        copy: manifest.copy,
        topology: dir.get_file(dir.path().join("topology.toml")).and_then(|f| f.contents_utf8()),
        dev_jwt: manifest.dev_jwt,
        extends: manifest.extends,
        content,
        base: None,
        shared: None,
    })
}

/// Adds the template `id`'s files, parameters and rules under `template`'s own.
fn extend(template: &mut Template, group: &[Template], id: &str) -> Result<(), Error> {
    let broken = |message: String| Error::Template { template: template.id.clone(), message };
    let base = group.iter().find(|t| t.id == id).ok_or_else(|| broken(format!("extends '{id}', not in its folder")))?;
    if base.extends.is_some() {
        return Err(broken(format!("extends '{id}', which extends another: one level only")));
    }
    template.base = Some(base.content);
    for parameter in &base.parameters {
        if template.parameter(&parameter.name).is_none() {
            template.parameters.push(parameter.clone());
        }
    }
    template.files.extend(base.files.iter().cloned());
    template.copy.extend(base.copy.iter().cloned());
    template.topology = template.topology.or(base.topology);
    template.dev_jwt = template.dev_jwt.take().or_else(|| base.dev_jwt.clone());
    Ok(())
}
