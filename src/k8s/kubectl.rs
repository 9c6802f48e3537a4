//! Applying written manifests with the user's own kubectl, so its contexts,
//! credentials and auth plugins all work as they do for them.

use std::path::Path;
use std::process::Command;

use super::Error;

/// What kubectl said and how it ended.
#[derive(Debug)]
pub struct Applied {
    /// kubectl's exit code (1 when a signal ended it).
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// The command that applies `file`: server-side, because an inline module is
/// larger than the 256 KiB annotation client-side apply keeps; gw owns every
/// field it writes, so it takes them back from other managers (`--force-conflicts`).
pub fn command(file: &Path, context: Option<&str>) -> Command {
    let mut command = Command::new("kubectl");
    if let Some(context) = context {
        command.args(["--context", context]);
    }
    command.args(["apply", "--server-side", "--force-conflicts", "--field-manager=gw", "-f"]).arg(file);
    command
}

/// Runs `kubectl apply` for `file`; an error only when kubectl cannot be started.
pub fn apply(file: &Path, context: Option<&str>) -> Result<Applied, Error> {
    let output = command(file, context).output().map_err(|source| Error::Kubectl { source })?;
    Ok(Applied {
        code: output.status.code().unwrap_or(1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    })
}

/// The installed kubectl's version (`v1.32.4`), or None when it cannot be run.
pub fn client_version() -> Option<String> {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Version {
        client_version: Client,
    }
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Client {
        git_version: String,
    }
    let output = Command::new("kubectl").args(["version", "--client", "-o", "json"]).output().ok()?;
    let version: Version = serde_json::from_slice(&output.stdout).ok()?;
    Some(version.client_version.git_version)
}

/// Advice for what kubectl reported, where gw knows the cause.
pub fn hint(stderr: &str) -> Option<String> {
    if stderr.contains("no matches for kind \"CiliumEnvoyConfig\"") {
        return Some(
            "the cluster has no CiliumEnvoyConfig resource: install Cilium with envoyConfig.enabled=true \
             (helm upgrade cilium cilium/cilium --reuse-values --set envoyConfig.enabled=true)"
                .into(),
        );
    }
    if stderr.contains("connection refused") || stderr.contains("no configuration has been provided") {
        return Some("kubectl reaches no cluster: check `kubectl config current-context`, or pass --context".into());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_side_apply_in_the_context_given() {
        let command = command(Path::new("out/gw-a.yaml"), Some("prod"));
        let args: Vec<_> = command.get_args().map(|a| a.to_string_lossy().into_owned()).collect();
        assert_eq!(
            args,
            [
                "--context",
                "prod",
                "apply",
                "--server-side",
                "--force-conflicts",
                "--field-manager=gw",
                "-f",
                "out/gw-a.yaml"
            ]
        );
    }

    #[test]
    fn a_missing_crd_gets_the_helm_setting() {
        let stderr = "error: resource mapping not found for name: \"gw-a\" namespace: \"default\" from \"gw-a.yaml\": \
                      no matches for kind \"CiliumEnvoyConfig\" in version \"cilium.io/v2\"";
        assert!(hint(stderr).unwrap().contains("envoyConfig.enabled=true"));
        assert_eq!(hint("error: forbidden"), None);
    }
}
