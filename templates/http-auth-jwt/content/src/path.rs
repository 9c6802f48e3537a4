//! Which requests need a token: path patterns where `*` matches any run of
//! characters, slashes included, so `/api/*` protects everything below
//! `/api/`. The query string is not part of the match.
//!
//! Matching is on the path as Envoy passes it; turn on the connection
//! manager's `normalize_path` and `merge_slashes` so that `/api/../x` or
//! `//api/x` cannot slip past a pattern.

/// The path of a `:path` header: everything before `?` or `#`.
pub fn strip_query(path: &str) -> &str {
    path.split(['?', '#']).next().unwrap_or(path)
}

/// Whether `path` matches any of `patterns`.
pub fn matches_any(patterns: &[String], path: &str) -> bool {
    let path = strip_query(path);
    patterns.iter().any(|p| matches(p, path))
}

/// Wildcard match with backtracking to the last `*`: linear in practice,
/// quadratic at worst, and never recursive.
pub fn matches(pattern: &str, path: &str) -> bool {
    let (p, s) = (pattern.as_bytes(), path.as_bytes());
    let (mut i, mut j) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while j < s.len() {
        if i < p.len() && p[i] == b'*' {
            star = Some((i, j));
            i += 1;
        } else if i < p.len() && p[i] == s[j] {
            i += 1;
            j += 1;
        } else if let Some((si, sj)) = star {
            // Let the last star swallow one more character and retry.
            i = si + 1;
            j = sj + 1;
            star = Some((si, sj + 1));
        } else {
            return false;
        }
    }
    p[i..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn star_matches_across_slashes() {
        assert!(matches("/api/*", "/api/"));
        assert!(matches("/api/*", "/api/users/42"));
        assert!(!matches("/api/*", "/api"));
        assert!(!matches("/api/*", "/apis/x"));
        assert!(!matches("/api/*", "/public/api/x"));
    }

    #[test]
    fn exact_and_inner_stars() {
        assert!(matches("/login", "/login"));
        assert!(!matches("/login", "/login/x"));
        assert!(matches("/v*/admin/*", "/v2/admin/users"));
        assert!(!matches("/v*/admin/*", "/v2/public/users"));
        assert!(matches("*", "/anything"));
        assert!(matches("/a*b*c", "/aXXbYYbc"));
    }

    #[test]
    fn query_is_ignored() {
        let patterns = vec!["/api/*".to_string(), "/health".to_string()];
        assert!(matches_any(&patterns, "/api/x?token=1"));
        assert!(matches_any(&patterns, "/health?verbose"));
        assert!(!matches_any(&patterns, "/other?p=/api/x"));
    }
}
