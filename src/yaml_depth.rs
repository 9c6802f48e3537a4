//! A quick look at how deeply a YAML document nests, before a parser sees it:
//! libyaml's cost grows much faster than the depth of `[[[[…`, so 200 KB of
//! brackets would take minutes. Counted: flow brackets outside quotes and
//! comments, indentation levels, and compact `- - -` sequences; block scalars
//! (`|`, `>`) are text and skipped.

use crate::limits::YAML_DEPTH;

/// The document nests deeper than gw reads.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: the document nests more than {YAML_DEPTH} levels deep; gw does not read it")]
pub struct TooDeep {
    pub line: usize,
}

/// Refuses a document nested more than [`YAML_DEPTH`] levels deep.
pub fn check(text: &str) -> Result<(), TooDeep> {
    let mut indents: Vec<usize> = Vec::new();
    let mut flow = 0usize;
    let mut scalar_above: Option<usize> = None;
    for (index, line) in text.lines().enumerate() {
        let too_deep = || TooDeep { line: index + 1 };
        let content = line.trim_start_matches(' ');
        let indent = line.len() - content.len();
        if let Some(base) = scalar_above {
            if content.is_empty() || indent > base {
                continue;
            }
            scalar_above = None;
        }
        if content.is_empty() || content.starts_with('#') {
            continue;
        }
        if flow == 0 {
            while indents.last().is_some_and(|&top| top >= indent) {
                indents.pop();
            }
            indents.push(indent);
        }
        let mut dashes = 0;
        let mut rest = content;
        while let Some(after) = rest.strip_prefix("- ").or_else(|| rest.strip_prefix("-\t")) {
            dashes += 1;
            rest = after.trim_start();
        }
        flow = scan_flow(rest, flow).ok_or_else(too_deep)?;
        if indents.len() + dashes + flow > YAML_DEPTH {
            return Err(too_deep());
        }
        if opens_block_scalar(rest) {
            scalar_above = Some(indent);
        }
    }
    Ok(())
}

/// The flow depth after `line`, starting at `depth`; None once it passes the limit.
fn scan_flow(line: &str, mut depth: usize) -> Option<usize> {
    let mut quote: Option<char> = None;
    let mut previous = ' ';
    for c in line.chars() {
        match (quote, c) {
            (Some('"'), '"') if previous != '\\' => quote = None,
            (Some('\''), '\'') => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') if matches!(previous, ' ' | '[' | '{' | ',' | ':') => quote = Some(c),
            (None, '#') if previous == ' ' => break,
            (None, '[' | '{') => {
                depth += 1;
                if depth > YAML_DEPTH {
                    return None;
                }
            }
            (None, ']' | '}') => depth = depth.saturating_sub(1),
            _ => {}
        }
        previous = if previous == '\\' && c == '\\' { ' ' } else { c };
    }
    Some(depth)
}

/// `key: |`, `- >-`, `|2`: the lines indented below are text.
fn opens_block_scalar(line: &str) -> bool {
    let value = match line.split_once(": ") {
        Some((_, value)) => value,
        None => line,
    };
    let value = value.split(" #").next().unwrap_or("").trim();
    let mut chars = value.chars();
    matches!(chars.next(), Some('|' | '>')) && chars.all(|c| matches!(c, '+' | '-' | '1'..='9'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_documents_pass() {
        let doc = "a:\n  b:\n    - c: [1, [2, {x: 3}]]\n    - - - d\n  s: |\n        indented text\n            more\n  t: \"[[[\"\n";
        assert_eq!(check(doc), Ok(()));
        assert_eq!(check(include_str!("../docs/envoy-demo.yaml")), Ok(()));
    }

    #[test]
    fn deep_flow_is_refused_at_its_line() {
        let doc = format!("a: 1\nb: {}\n", "[".repeat(200_000));
        assert_eq!(check(&doc), Err(TooDeep { line: 2 }));
        let fine = format!("b: {}{}\n", "[".repeat(60), "]".repeat(60));
        assert_eq!(check(&fine), Ok(()));
    }

    #[test]
    fn deep_blocks_are_refused() {
        let mut doc = String::new();
        for level in 0..100 {
            doc.push_str(&format!("{}k{level}:\n", " ".repeat(level)));
        }
        assert!(check(&doc).is_err());
        assert!(check(&format!("{}x\n", "- ".repeat(100))).is_err());
    }

    #[test]
    fn brackets_in_quotes_and_comments_do_not_count() {
        let doc = format!("a: '{}'\nb: \"{}\"\nc: 1 # {}\n", "[".repeat(100), "{".repeat(100), "[".repeat(100));
        assert_eq!(check(&doc), Ok(()));
    }
}
