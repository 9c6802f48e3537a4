//! Kubernetes' rules for object names (apimachinery's validation), checked
//! before anything is written so the API server never has to refuse them.

/// A DNS-1123 label: namespaces. Lower-case letters, digits and '-', at most
/// 63, starting and ending with a letter or digit.
pub fn label(value: &str) -> Result<(), String> {
    if value.is_empty() || value.len() > 63 {
        return Err("must be 1 to 63 characters".into());
    }
    if !value.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-') {
        return Err("may hold only lower-case letters, digits and '-'".into());
    }
    if value.starts_with('-') || value.ends_with('-') {
        return Err("must start and end with a letter or digit".into());
    }
    Ok(())
}

/// A DNS-1035 label: Service names. A DNS-1123 label that starts with a letter.
pub fn service(value: &str) -> Result<(), String> {
    label(value)?;
    if !value.starts_with(|c: char| c.is_ascii_lowercase()) {
        return Err("must start with a lower-case letter".into());
    }
    Ok(())
}

/// A DNS-1123 subdomain: most object names. Labels joined by '.', at most 253.
pub fn subdomain(value: &str) -> Result<(), String> {
    if value.is_empty() || value.len() > 253 {
        return Err("must be 1 to 253 characters".into());
    }
    value.split('.').try_for_each(|part| label(part).map_err(|e| format!("each part between dots {e}")))
}

/// A label's value: empty, or at most 63 letters, digits, '-', '_' and '.', starting and
/// ending with a letter or digit.
pub fn label_value(value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Ok(());
    }
    if value.len() > 63 {
        return Err("must be at most 63 characters".into());
    }
    if !value.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')) {
        return Err("may hold only letters, digits, '-', '_' and '.'".into());
    }
    if !value.starts_with(|c: char| c.is_ascii_alphanumeric()) || !value.ends_with(|c: char| c.is_ascii_alphanumeric())
    {
        return Err("must start and end with a letter or digit".into());
    }
    Ok(())
}

/// A label's key: a name (as a non-empty value) with an optional DNS subdomain prefix and '/'.
pub fn label_key(key: &str) -> Result<(), String> {
    let name = match key.split_once('/') {
        Some((prefix, name)) => {
            subdomain(prefix).map_err(|e| format!("has a prefix that {e}"))?;
            name
        }
        None => key,
    };
    if name.is_empty() {
        return Err("must have a name".into());
    }
    label_value(name)
}

/// `name` made into a subdomain where it can be: lower case, '_' and ' ' as '-'.
pub fn to_subdomain(name: &str) -> String {
    let mapped: String =
        name.chars().map(|c| if c == '_' || c == ' ' { '-' } else { c.to_ascii_lowercase() }).collect();
    mapped.trim_matches('-').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rules_the_api_server_applies() {
        assert!(label("default").is_ok() && label("team-a1").is_ok());
        assert!(label("Team").is_err() && label("-a").is_err() && label("a_b").is_err() && label("").is_err());
        assert!(label(&"a".repeat(64)).is_err());
        assert!(service("checkout").is_ok() && service("1st").is_err());
        assert!(subdomain("gw-my-filter").is_ok() && subdomain("a.b-c").is_ok());
        assert!(subdomain("a..b").is_err() && subdomain("A").is_err());
        assert_eq!(to_subdomain("My_Filter"), "my-filter");
        assert!(label_key("app").is_ok() && label_key("app.kubernetes.io/name").is_ok());
        assert!(label_key("").is_err() && label_key("Bad Prefix/x").is_err() && label_key("a/").is_err());
        assert!(label_value("").is_ok() && label_value("v1.2_x").is_ok());
        assert!(label_value("-a").is_err() && label_value("a b").is_err() && label_value(&"a".repeat(64)).is_err());
    }
}
