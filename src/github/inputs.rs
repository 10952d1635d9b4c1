//! Action inputs, read as the runner sets them: `INPUT_` + the name upper-cased with
//! hyphens kept (`distribution-id` → `INPUT_DISTRIBUTION-ID`).

use crate::request::RawInputs;

/// Every input of `action.yml`, in its order.
pub const INPUT_NAMES: [&str; 25] = [
    "package",
    "packages",
    "dist",
    "config",
    "environment",
    "bucket",
    "prefix",
    "distribution-id",
    "public-url",
    "mode",
    "version",
    "manifest",
    "rollback-to",
    "republish",
    "doctor",
    "rollout",
    "verify",
    "dry-run",
    "wait",
    "aws-region",
    "role-to-assume",
    "aws-access-key-id",
    "aws-secret-access-key",
    "aws-session-token",
    "endpoint-url",
];

/// The variable the runner sets for an input.
pub fn variable(name: &str) -> String {
    format!("INPUT_{}", name.replace(' ', "_").to_uppercase())
}

/// Reads every input through `get` (the environment in production, a map in tests);
/// empty values count as unset, as the toolkit's `getInput` does.
pub fn read(get: impl Fn(&str) -> Option<String>) -> RawInputs {
    let input = |name: &str| {
        get(&variable(name))
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    RawInputs {
        package: input("package"),
        packages: input("packages"),
        dist: input("dist"),
        config: input("config"),
        environment: input("environment"),
        bucket: input("bucket"),
        prefix: input("prefix"),
        distribution_id: input("distribution-id"),
        public_url: input("public-url"),
        mode: input("mode"),
        version: input("version"),
        manifest: input("manifest"),
        rollback_to: input("rollback-to"),
        verify: input("verify"),
        rollout: input("rollout"),
        republish: input("republish"),
        doctor: input("doctor"),
        dry_run: input("dry-run"),
        wait: input("wait"),
        aws_region: input("aws-region"),
        role_to_assume: input("role-to-assume"),
        aws_access_key_id: input("aws-access-key-id"),
        aws_secret_access_key: input("aws-secret-access-key"),
        aws_session_token: input("aws-session-token"),
        endpoint_url: input("endpoint-url"),
        workspace: Some((
            get("GITHUB_WORKSPACE")
                .filter(|w| !w.is_empty())
                .map_or_else(|| std::path::PathBuf::from("."), std::path::PathBuf::from),
            "check the `package`, `packages` and `dist` inputs",
        )),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    #[test]
    fn hyphens_are_kept_in_variable_names() {
        assert_eq!(variable("distribution-id"), "INPUT_DISTRIBUTION-ID");
        assert_eq!(variable("package"), "INPUT_PACKAGE");
    }

    #[test]
    fn inputs_are_read_trimmed_and_empty_means_unset() {
        let env: HashMap<String, String> = [
            ("INPUT_PACKAGE", " packages/a "),
            ("INPUT_DISTRIBUTION-ID", "E1"),
            ("INPUT_BUCKET", ""),
            ("INPUT_DRY-RUN", "true"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let raw = read(|k| env.get(k).cloned());
        assert_eq!(raw.package.as_deref(), Some("packages/a"));
        assert_eq!(raw.distribution_id.as_deref(), Some("E1"));
        assert_eq!(raw.bucket, None);
        assert_eq!(raw.dry_run.as_deref(), Some("true"));
    }
}
