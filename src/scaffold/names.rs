//! What a project may be called: a valid crate name, which also keeps it a
//! plain directory name (no separators, no `..`, no leading dot).

use super::Error;

const RESERVED: &[&str] = &[
    "as",
    "async",
    "await",
    "break",
    "const",
    "continue",
    "crate",
    "dyn",
    "else",
    "enum",
    "extern",
    "false",
    "fn",
    "for",
    "if",
    "impl",
    "in",
    "let",
    "loop",
    "match",
    "mod",
    "move",
    "mut",
    "pub",
    "ref",
    "return",
    "self",
    "static",
    "struct",
    "super",
    "trait",
    "true",
    "type",
    "unsafe",
    "use",
    "where",
    "while",
    "abstract",
    "become",
    "box",
    "do",
    "final",
    "macro",
    "override",
    "priv",
    "try",
    "typeof",
    "unsized",
    "virtual",
    "yield",
    "core",
    "std",
    "alloc",
    "proc_macro",
    "proc-macro",
    "test",
];

pub fn check_project_name(name: &str) -> Result<(), Error> {
    let bad = |reason: &str| Err(Error::BadName { name: name.to_string(), reason: reason.to_string() });
    if name.is_empty() {
        return bad("it is empty");
    }
    if name.len() > 64 {
        return bad("it is longer than 64 characters");
    }
    if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        return bad("it must start with a lower-case letter (a-z)");
    }
    if let Some(c) = name.chars().find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-' || *c == '_')) {
        return bad(&format!("'{c}' is not allowed; use a-z, 0-9, '-' and '_'"));
    }
    if RESERVED.contains(&name) {
        return bad("it is a Rust keyword or a reserved crate name");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(check_project_name("my-filter").is_ok());
        assert!(check_project_name("jwt_auth2").is_ok());
        for bad in ["", "My", "1x", "a/b", "..", "../x", ".hidden", "a b", "fn", "std", "ü"] {
            assert!(check_project_name(bad).is_err(), "{bad}");
        }
    }
}
