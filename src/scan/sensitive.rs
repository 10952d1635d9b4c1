//! Files a build must never publish: repository data and secrets that a careless
//! `dist` (`dist: .`) or a copy plugin puts into the build output. A public bucket
//! behind a CDN serves them to anyone who guesses the name.

use globset::GlobSet;

/// What is refused, at any depth of the build (the config's `allow-sensitive-files`
/// lets a pattern through).
pub const PATTERNS: &[&str] = &[
    "**/.git/**",
    "**/.git",
    "**/.env",
    "**/.env.*",
    "**/.npmrc",
    "**/.yarnrc.yml",
    "**/.netrc",
    "**/.aws/**",
    "**/.ssh/**",
    "**/*.pem",
    "**/*.key",
    "**/*.p12",
    "**/*.pfx",
    "**/id_rsa*",
    "**/id_dsa*",
    "**/id_ecdsa*",
    "**/id_ed25519*",
];

/// The paths (relative to the dist folder, `/`-separated) that look sensitive and
/// are not allowed by `allow`, sorted.
pub fn found<'p>(paths: impl IntoIterator<Item = &'p str>, allow: &GlobSet) -> Vec<String> {
    let refused = refused();
    let mut found: Vec<String> = paths
        .into_iter()
        .filter(|p| refused.is_match(p) && !allow.is_match(p))
        .map(str::to_owned)
        .collect();
    found.sort();
    found
}

fn refused() -> GlobSet {
    let patterns: Vec<String> = PATTERNS.iter().map(|p| (*p).to_owned()).collect();
    // NOTE: the patterns are constants, tested below; an error here is a bug.
    crate::globs::glob_set(&patterns).unwrap_or_else(|_| GlobSet::empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allow(patterns: &[&str]) -> GlobSet {
        crate::globs::glob_set(&patterns.iter().map(|p| (*p).to_owned()).collect::<Vec<_>>())
            .unwrap()
    }

    #[test]
    fn repository_data_and_secrets_are_found_at_any_depth() {
        let paths = [
            ".git/config",
            ".env",
            ".env.production",
            "config/.npmrc",
            "certs/server.pem",
            "deploy/id_rsa",
            "deploy/id_ed25519.pub",
            "index.html",
            "main.1a2b3c4d.js",
            "environment.js",
            "assets/pem-icon.svg",
        ];
        assert_eq!(
            found(paths, &GlobSet::empty()),
            [
                ".env",
                ".env.production",
                ".git/config",
                "certs/server.pem",
                "config/.npmrc",
                "deploy/id_ed25519.pub",
                "deploy/id_rsa",
            ]
        );
    }

    #[test]
    fn the_patterns_compile_and_an_allowed_pattern_passes() {
        assert_eq!(refused().len(), PATTERNS.len());
        let paths = [".well-known/apple.pem", ".env"];
        assert_eq!(found(paths, &allow(&[".well-known/*.pem"])), [".env"]);
    }
}
