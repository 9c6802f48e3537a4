//! Rendering a template into a new project: everything is written into a
//! temporary directory beside the target and renamed into place at the end,
//! so a failure leaves nothing behind.

use fs_err as fs;
use std::path::{Component, Path, PathBuf};

use include_dir::{Dir, DirEntry};
use minijinja::{Environment, UndefinedBehavior};

use super::Error;
use super::answers::Answers;

#[derive(Debug)]
pub struct Rendered {
    pub root: PathBuf,
    /// The files written, relative to the root, sorted.
    pub files: Vec<PathBuf>,
}

/// Files a caller adds beside the template's own (gw.toml), made from the rendered
/// project (given its root before it is moved into place): `(relative path, text)`.
pub type Extra<'a> = &'a dyn Fn(&Path) -> Result<Vec<(String, String)>, String>;

/// Renders `answers` into `target`, with the `extra` files. An existing non-empty
/// `target` needs `force`.
pub fn render(answers: &Answers, target: &Path, force: bool, extra: Extra<'_>) -> Result<Rendered, Error> {
    if target.exists() && !target.is_dir() {
        return Err(Error::NotADirectory(target.to_path_buf()));
    }
    let occupied = match fs::read_dir(target) {
        Ok(mut entries) => entries.next().is_some(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
        Err(e) => return Err(Error::Io(e)),
    };
    if occupied && !force {
        return Err(Error::NotEmpty(target.to_path_buf()));
    }
    let parent = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    // The parent must exist: gw creates one directory, the project, and nothing above it.
    if !parent.is_dir() {
        return Err(Error::NoParent(parent));
    }
    let staging =
        tempfile::Builder::new().prefix(".gw-init-").tempdir_in(&parent).map_err(crate::fsutil::at(&parent))?;

    let template = &answers.template;
    let broken = |message: String| Error::Template { template: template.id.clone(), message };
    let env = environment();
    let context = context(answers);

    let copy: Vec<regex::Regex> = template.copy.iter().map(|g| glob(g)).collect::<Result<_, _>>().map_err(broken)?;
    let mut files = Vec::new();
    // The template's own files, then those of the template it extends and its group's shared
    // ones, each only where no earlier root has a file of the same path.
    let mut own = std::collections::HashSet::new();
    for root in template.roots() {
        let mut stack: Vec<&Dir> = vec![root];
        while let Some(dir) = stack.pop() {
            for entry in dir.entries() {
                let source = entry.path().strip_prefix(root.path()).expect("entries are under their root");
                if !included(&env, answers, source, &context)? {
                    continue;
                }
                match entry {
                    DirEntry::Dir(sub) => stack.push(sub),
                    DirEntry::File(_) if root != template.content && own.contains(source) => {}
                    DirEntry::File(file) => {
                        let relative = render_path(&env, source, &context).map_err(broken)?;
                        let raw = copy.iter().any(|g| g.is_match(&source.to_string_lossy()));
                        let bytes = match (raw, file.contents_utf8()) {
                            (false, Some(text)) => env
                                .render_str(text, &context)
                                .map_err(|e| broken(format!("{}: {e}", source.display())))?
                                .into_bytes(),
                            _ => file.contents().to_vec(),
                        };
                        write(staging.path(), &relative, &bytes)?;
                        own.insert(source.to_path_buf());
                        files.push(relative);
                    }
                }
            }
        }
    }
    for (name, text) in extra(staging.path()).map_err(broken)? {
        write(staging.path(), Path::new(&name), text.as_bytes())?;
        files.push(PathBuf::from(name));
    }
    files.sort();
    files.dedup();

    if occupied {
        // --force: the rendered files replace their namesakes; other files stay. Checked
        // first, so a refusal leaves the directory as it was.
        for file in &files {
            refuse_links(target, file)?;
        }
        for file in &files {
            let to = target.join(file);
            if let Some(dir) = to.parent() {
                fs::create_dir_all(dir)?;
            }
            fs::rename(staging.path().join(file), &to)?;
        }
    } else {
        if target.exists() {
            fs::remove_dir(target)?;
        }
        fs::rename(staging.path(), target)?;
        // The staging directory is now the project; nothing is left to clean up.
        std::mem::forget(staging);
    }
    Ok(Rendered { root: target.to_path_buf(), files })
}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_keep_trailing_newline(true);
    env
}

/// The variables: every parameter, the project's names, gw's version.
fn context(answers: &Answers) -> std::collections::BTreeMap<String, String> {
    let mut context = answers.values.clone();
    context.insert("project_name".into(), answers.name.clone());
    context.insert("crate_name".into(), answers.name.replace('-', "_"));
    context.insert("gw_version".into(), env!("CARGO_PKG_VERSION").into());
    context
}

/// `text` (a template's own, e.g. its topology) rendered with the project's answers.
pub fn render_text(answers: &Answers, what: &str, text: &str) -> Result<String, Error> {
    environment()
        .render_str(text, context(answers))
        .map_err(|e| Error::Template { template: answers.template.id.clone(), message: format!("{what}: {e}") })
}

/// Refuses to place `file` if a directory on its way below `target` is a symbolic link: the
/// file would land wherever the link points, perhaps outside the project.
fn refuse_links(target: &Path, file: &Path) -> Result<(), Error> {
    let mut at = target.to_path_buf();
    for part in file.parent().into_iter().flat_map(Path::components) {
        at.push(part);
        match fs::symlink_metadata(&at) {
            Ok(meta) if meta.file_type().is_symlink() => {
                return Err(Error::LinkInTarget { link: at, file: file.to_path_buf() });
            }
            Ok(_) => {}
            Err(_) => return Ok(()), // from here on gw makes the directories itself
        }
    }
    Ok(())
}

/// Whether a rule's condition leaves this path (or one of its parents) out.
fn included(
    env: &Environment,
    answers: &Answers,
    source: &Path,
    context: &std::collections::BTreeMap<String, String>,
) -> Result<bool, Error> {
    for rule in &answers.template.files {
        if source == Path::new(&rule.path) {
            let broken = |e: minijinja::Error| Error::Template {
                template: answers.template.id.clone(),
                message: format!("condition for {}: {e}", rule.path),
            };
            let expression = env.compile_expression(&rule.when).map_err(broken)?;
            if !expression.eval(context).map_err(broken)?.is_true() {
                return Ok(false);
            }
        }
    }
    Ok(true)
}

/// Renders each part of a path (`src/{{crate_name}}.rs`) and checks the
/// result stays a plain relative path.
fn render_path(
    env: &Environment,
    source: &Path,
    context: &std::collections::BTreeMap<String, String>,
) -> Result<PathBuf, String> {
    let mut out = PathBuf::new();
    for component in source.components() {
        let Component::Normal(part) = component else { return Err(format!("{}: not a plain path", source.display())) };
        let part = part.to_string_lossy();
        let rendered = env.render_str(&part, context).map_err(|e| format!("{}: {e}", source.display()))?;
        if rendered.is_empty() || rendered == "." || rendered == ".." || rendered.contains('/') {
            return Err(format!("{} renders to the unsafe name '{rendered}'", source.display()));
        }
        out.push(rendered);
    }
    Ok(out)
}

fn write(root: &Path, relative: &Path, bytes: &[u8]) -> Result<(), Error> {
    let path = root.join(relative);
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir)?;
    }
    Ok(fs::write(&path, bytes)?)
}

/// `*` within a name, `**` across folders.
fn glob(pattern: &str) -> Result<regex::Regex, String> {
    let mut re = String::from("^");
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '*' if chars.peek() == Some(&'*') => {
                chars.next();
                re.push_str(".*");
            }
            '*' => re.push_str("[^/]*"),
            '?' => re.push_str("[^/]"),
            other => re.push_str(&regex::escape(&other.to_string())),
        }
    }
    re.push('$');
    regex::Regex::new(&re).map_err(|e| format!("bad glob {pattern}: {e}"))
}
