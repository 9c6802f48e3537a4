//! Docs that are made from the code, kept equal to it: docs/environment.md's
//! tables of variables come from `src/env_vars.rs`. `GW_UPDATE_DOCS=1` rewrites
//! them; otherwise a difference fails, showing what the table should be.
#![allow(clippy::disallowed_methods)] // the test's own switch

use gw::env_vars::{Group, markdown_table};

const FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/environment.md");

/// The text between `<!-- env: NAME -->` and the next `<!-- /env -->`.
fn section(text: &str, name: &str) -> (usize, usize) {
    let open = format!("<!-- env: {name} -->\n");
    let start = text.find(&open).unwrap_or_else(|| panic!("docs/environment.md has no {open:?}")) + open.len();
    let end = start + text[start..].find("<!-- /env -->").expect("a closing <!-- /env -->");
    (start, end)
}

#[test]
fn the_environment_tables_are_the_registry() {
    let mut text = std::fs::read_to_string(FILE).unwrap();
    let update = std::env::var("GW_UPDATE_DOCS").as_deref() == Ok("1");
    let mut differ = Vec::new();
    for (name, group) in [("gw", Group::Gw), ("build", Group::Build), ("others", Group::Others)] {
        let (start, end) = section(&text, name);
        let table = markdown_table(group);
        if text[start..end] != table {
            differ.push(format!("<!-- env: {name} -->\n{table}"));
            text.replace_range(start..end, &table);
        }
    }
    if update {
        std::fs::write(FILE, &text).unwrap();
    } else {
        assert!(
            differ.is_empty(),
            "docs/environment.md differs from src/env_vars.rs (GW_UPDATE_DOCS=1 rewrites it):\n{}",
            differ.join("\n")
        );
    }
}
