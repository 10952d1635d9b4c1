//! Classify: decide each file's class, `Cache-Control` and `Content-Type`.
//!
//! The class decides both the caching policy and the upload phase, so this module is
//! the single statement of "how is this file served".

mod content_type;
mod hash_name;

use globset::{GlobSet, GlobSetBuilder};

use crate::config::caching::DEFAULT_FEDERATION_ENTRIES;
use crate::config::{CachingConfig, Rule};
use crate::globs::compile_glob;
pub use crate::model::{FileClass, Headers, Phase};

pub use content_type::{content_type_for, with_charset};
pub use hash_name::has_content_hash;

/// What the classifier decided for one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classification {
    pub class: FileClass,
    pub headers: Headers,
    /// The name carries a content hash.
    pub hashed: bool,
    /// Served immutable and written once: a content-hashed file, including an entry
    /// whose name carries a hash (Vite's `remoteEntry-[hash].js`), which keeps its
    /// place in the entries phase.
    pub immutable: bool,
    /// Script or stylesheet served with the short policy because its name has no hash.
    pub unhashed_code: bool,
}

/// Classifies paths relative to the dist folder, using the config's policy.
#[derive(Debug)]
pub struct Classifier {
    entries: GlobSet,
    rules: Vec<(GlobSet, Rule)>,
    policies: [String; 4],
}

impl Classifier {
    /// Builds a classifier; the config must already be validated.
    pub fn new(config: &CachingConfig) -> Result<Self, globset::Error> {
        let mut entries = GlobSetBuilder::new();
        match &config.federation_entries {
            Some(patterns) => {
                for pattern in patterns {
                    entries.add(compile_glob(pattern)?);
                }
            }
            None => {
                for name in DEFAULT_FEDERATION_ENTRIES {
                    entries.add(compile_glob(&format!("**/{name}"))?);
                }
            }
        }
        let rules = config
            .rules
            .iter()
            .map(|rule| {
                let set = GlobSetBuilder::new()
                    .add(compile_glob(&rule.files)?)
                    .build()?;
                Ok((set, rule.clone()))
            })
            .collect::<Result<_, globset::Error>>()?;
        let chosen = &config.cache_control;
        let policy = |value: &Option<String>, class: FileClass| {
            value
                .clone()
                .unwrap_or_else(|| class.default_cache_control().to_owned())
        };
        Ok(Self {
            entries: entries.build()?,
            rules,
            policies: [
                policy(&chosen.immutable, FileClass::Immutable),
                policy(&chosen.other, FileClass::Other),
                policy(&chosen.entry, FileClass::Entry),
                policy(&chosen.html, FileClass::Html),
            ],
        })
    }

    /// The `Cache-Control` in force for a class.
    pub fn policy(&self, class: FileClass) -> &str {
        &self.policies[class as usize]
    }

    /// Classifies one path (relative to dist, `/`-separated).
    pub fn classify(&self, path: &str) -> Classification {
        let name = path.rsplit('/').next().unwrap_or(path);
        let hashed = has_content_hash(name);
        let rule = self
            .rules
            .iter()
            .find(|(set, _)| set.is_match(path))
            .map(|(_, rule)| rule);
        let chosen = rule.and_then(|r| r.class);
        let class = chosen.unwrap_or_else(|| {
            if is_html(name) {
                FileClass::Html
            } else if self.entries.is_match(path) {
                FileClass::Entry
            } else if hashed {
                FileClass::Immutable
            } else {
                FileClass::Other
            }
        });
        // A detected entry with a hash in its name changes its URL with its bytes.
        let hashed_entry = chosen.is_none() && class == FileClass::Entry && hashed;
        let policy_class = if hashed_entry {
            FileClass::Immutable
        } else {
            class
        };
        let cache_control = rule
            .and_then(|r| r.cache_control.clone())
            .unwrap_or_else(|| self.policy(policy_class).to_owned());
        let content_type = rule
            .and_then(|r| r.content_type.clone())
            .map_or_else(|| content_type_for(path), with_charset);
        Classification {
            class,
            headers: Headers {
                cache_control,
                content_type,
            },
            hashed,
            immutable: class == FileClass::Immutable || hashed_entry,
            unhashed_code: class == FileClass::Other && is_code(name),
        }
    }
}

fn is_html(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.ends_with(".html") || lower.ends_with(".htm")
}

fn is_code(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    [".js", ".mjs", ".cjs", ".css"]
        .iter()
        .any(|ext| lower.ends_with(ext))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::config::Config;

    fn classifier(yaml: &str) -> Classifier {
        let config = Config::parse(yaml, Path::new("mfe-deploy.yml")).unwrap();
        Classifier::new(&config.caching).unwrap()
    }

    #[test]
    fn defaults_follow_module_federation_practice() {
        let c = classifier("");
        let table = [
            ("index.html", FileClass::Html, "no-cache"),
            ("remoteEntry.js", FileClass::Entry, "no-cache"),
            ("mf-manifest.json", FileClass::Entry, "no-cache"),
            ("nested/remoteEntry.js", FileClass::Entry, "no-cache"),
            (
                "main.3f2a9c1b7e4d5a6b8c0d.js",
                FileClass::Immutable,
                "public, max-age=31536000, immutable",
            ),
            (
                "assets/index-BqHk3x9Z.css",
                FileClass::Immutable,
                "public, max-age=31536000, immutable",
            ),
            ("robots.txt", FileClass::Other, "public, max-age=300"),
            ("main.js", FileClass::Other, "public, max-age=300"),
            (
                "remoteEntry-BqHk3x9Z.js",
                FileClass::Entry,
                "public, max-age=31536000, immutable",
            ),
            ("remoteEntry-legacy.js", FileClass::Entry, "no-cache"),
        ];
        for (path, class, cache_control) in table {
            let got = c.classify(path);
            assert_eq!(
                (got.class, got.headers.cache_control.as_str()),
                (class, cache_control),
                "{path}"
            );
        }
    }

    #[test]
    fn a_hashed_entry_is_immutable_and_still_an_entry() {
        let c = classifier("");
        let got = c.classify("assets/remoteEntry-BqHk3x9Z.js");
        assert_eq!((got.class, got.immutable), (FileClass::Entry, true));
        assert!(!c.classify("remoteEntry.js").immutable);
        assert!(c.classify("main.3f2a9c1b7e4d5a6b8c0d.js").immutable);
    }

    #[test]
    fn unhashed_scripts_and_styles_are_flagged_but_other_files_are_not() {
        let c = classifier("");
        assert!(c.classify("main.js").unhashed_code);
        assert!(c.classify("theme.css").unhashed_code);
        assert!(!c.classify("remoteEntry.js").unhashed_code);
        assert!(!c.classify("robots.txt").unhashed_code);
        assert!(!c.classify("main.1a2b3c4d.js").unhashed_code);
    }

    #[test]
    fn first_matching_rule_wins_over_detection() {
        let c = classifier(
            "caching:\n  rules:\n    - files: \"static/**\"\n      class: immutable\n    - files: \"static/*.txt\"\n      cache-control: no-store\n    - files: \"*.txt\"\n      cache-control: public, max-age=5\n      content-type: text/x-custom\n",
        );
        let got = c.classify("static/notes.txt");
        assert_eq!(got.class, FileClass::Immutable);
        assert_eq!(
            got.headers.cache_control,
            "public, max-age=31536000, immutable"
        );
        let got = c.classify("robots.txt");
        assert_eq!(got.class, FileClass::Other);
        assert_eq!(got.headers.cache_control, "public, max-age=5");
        assert_eq!(got.headers.content_type, "text/x-custom; charset=utf-8");
    }

    #[test]
    fn single_star_does_not_cross_folders() {
        let c = classifier(
            "caching:\n  rules:\n    - files: \"*.txt\"\n      cache-control: no-store\n",
        );
        assert_eq!(
            c.classify("a/robots.txt").headers.cache_control,
            "public, max-age=300"
        );
    }

    #[test]
    fn class_policies_can_be_replaced() {
        let c = classifier(
            "caching:\n  cache-control:\n    other: public, max-age=60\n  federation-entries: [\"entry.js\"]\n",
        );
        assert_eq!(
            c.classify("robots.txt").headers.cache_control,
            "public, max-age=60"
        );
        assert_eq!(c.classify("entry.js").class, FileClass::Entry);
        assert_eq!(c.classify("remoteEntry.js").class, FileClass::Other);
    }

    #[test]
    fn phases_follow_the_safe_order() {
        let order: Vec<_> = FileClass::ALL.iter().map(|c| c.phase()).collect();
        assert!(order.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(FileClass::Html.phase(), Phase::Html);
    }
}
