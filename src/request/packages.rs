//! `packages`: several modules in one run, named as folders or matched by globs
//! (`packages/*`), each becoming the `package` of its own deploy.

use std::path::Path;

use globset::{Glob, GlobMatcher};

use super::checks::default_prefix;
use super::{InputError, RawInputs};

/// Folders deeper than this below the working directory are not searched.
const MAX_DEPTH: usize = 6;

impl RawInputs {
    /// One set of inputs per module: `packages` expanded (each with its own
    /// `package`), or these inputs alone when `packages` is not set.
    pub fn per_module(&self, root: &Path) -> Result<Vec<Self>, InputError> {
        self.modules(root, true)
    }

    /// [`Self::per_module`] before the modules are built (a job that resolves the
    /// environment first): globs keep every folder they match.
    pub fn per_module_unbuilt(&self, root: &Path) -> Result<Vec<Self>, InputError> {
        self.modules(root, false)
    }

    fn modules(&self, root: &Path, built: bool) -> Result<Vec<Self>, InputError> {
        let Some(spec) = self.packages.as_deref() else {
            return Ok(vec![self.clone()]);
        };
        for (name, value) in [
            ("package", &self.package),
            ("prefix", &self.prefix),
            ("rollback-to", &self.rollback_to),
            ("republish", &self.republish),
        ] {
            if let Some(value) = value {
                return Err(InputError::Invalid {
                    name,
                    value: value.clone(),
                    hint: format!(
                        "`{name}` names one module, `packages` several: set one of them ({})",
                        match name {
                            "package" => "`packages` alone deploys each folder it names",
                            "prefix" => "with `packages` each module's prefix is its folder name",
                            "republish" => "a republish moves one module at a time",
                            _ => "a rollback repoints one module at a time",
                        }
                    ),
                });
            }
        }
        let dist = self.dist.as_deref().unwrap_or("dist");
        let folders = expand(spec, root, built.then_some(dist))?;
        if built {
            one_folder_per_name(&folders)?;
        }
        Ok(folders
            .into_iter()
            .map(|package| Self {
                package: Some(package),
                packages: None,
                ..self.clone()
            })
            .collect())
    }
}

/// Two built modules whose folders share a name (`apps/checkout`,
/// `legacy/checkout`) would both deploy under it, over each other: with `packages`
/// a module's prefix is always its folder's name. (Before the build, a glob also
/// keeps folders that will hold no module, so only built folders are compared.)
fn one_folder_per_name(folders: &[String]) -> Result<(), InputError> {
    for (i, later) in folders.iter().enumerate() {
        let Ok(prefix) = default_prefix(later) else {
            continue;
        };
        let earlier = folders[..i]
            .iter()
            .find(|f| default_prefix(f).is_ok_and(|p| p == prefix));
        if let Some(earlier) = earlier {
            return Err(InputError::Invalid {
                name: "packages",
                value: format!("{earlier} {later}"),
                hint: format!(
                    "both would deploy to the prefix `{prefix}`, over each other (a module's \
                     prefix is its folder name): rename one folder, or deploy each alone with \
                     `package` and its own `prefix`. Nothing was written."
                ),
            });
        }
    }
    Ok(())
}

/// The module folders `spec` names (newline- or space-separated), relative to
/// `root`, in the order given and without duplicates. A folder named as is must
/// exist; a glob keeps the folders that hold a `dist` folder (a library without a
/// build is not a module) — every folder it matches when `dist` is `None` — and must
/// match at least one.
pub fn expand(spec: &str, root: &Path, dist: Option<&str>) -> Result<Vec<String>, InputError> {
    let invalid = |value: &str, hint: String| InputError::Invalid {
        name: "packages",
        value: value.to_owned(),
        hint,
    };
    let mut folders: Vec<String> = Vec::new();
    let push = |folder: String, folders: &mut Vec<String>| {
        if !folders.contains(&folder) {
            folders.push(folder);
        }
    };
    for entry in spec.split_whitespace() {
        let entry = entry.trim_start_matches("./").trim_end_matches('/');
        if !entry.contains(['*', '?', '[', '{']) {
            if !root.join(entry).is_dir() {
                return Err(invalid(
                    entry,
                    "no such folder: name module folders relative to the repository root, e.g. `packages/checkout`, or a glob such as `packages/*`".to_owned(),
                ));
            }
            push(entry.to_owned(), &mut folders);
            continue;
        }
        let matcher = glob(entry).map_err(|e| invalid(entry, format!("not a glob: {e}")))?;
        let depth = entry.split('/').count().min(MAX_DEPTH);
        let mut matched: Vec<String> = walkdir::WalkDir::new(root)
            .min_depth(1)
            .max_depth(if entry.contains("**") {
                MAX_DEPTH
            } else {
                depth
            })
            .into_iter()
            .filter_entry(|e| {
                let name = e.file_name().to_string_lossy();
                !name.starts_with('.') && name != "node_modules"
            })
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_dir())
            .filter_map(|e| {
                let rel = e.path().strip_prefix(root).ok()?;
                let rel = rel.to_string_lossy().replace('\\', "/");
                let built = dist.is_none_or(|dist| e.path().join(dist).is_dir());
                (matcher.is_match(&rel) && built).then_some(rel)
            })
            .collect();
        matched.sort();
        if matched.is_empty() {
            return Err(invalid(
                entry,
                match dist {
                    Some(dist) => format!(
                        "no folder matching it holds a `{dist}` folder: build the modules first, or check the glob"
                    ),
                    None => "no folder matches it: check the glob".to_owned(),
                },
            ));
        }
        for folder in matched {
            push(folder, &mut folders);
        }
    }
    if folders.is_empty() {
        return Err(invalid(
            spec,
            "it names no module folder: list folders or globs, separated by spaces or new lines"
                .to_owned(),
        ));
    }
    Ok(folders)
}

fn glob(pattern: &str) -> Result<GlobMatcher, globset::Error> {
    Ok(Glob::new(pattern)?.compile_matcher())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(dirs: &[&str]) -> tempfile::TempDir {
        let root = tempfile::tempdir().unwrap();
        for dir in dirs {
            std::fs::create_dir_all(root.path().join(dir)).unwrap();
        }
        root
    }

    #[test]
    fn globs_keep_built_folders_in_order_and_names_are_kept_as_given() {
        let root = tree(&[
            "packages/b/dist",
            "packages/a/dist",
            "packages/lib/src",
            "packages/node_modules/x/dist",
            "apps/shell/dist",
        ]);
        let got = expand(
            "apps/shell\npackages/*  packages/a",
            root.path(),
            Some("dist"),
        )
        .unwrap();
        assert_eq!(got, ["apps/shell", "packages/a", "packages/b"]);
        let before_the_build = expand("packages/*", root.path(), None).unwrap();
        assert_eq!(
            before_the_build,
            ["packages/a", "packages/b", "packages/lib"]
        );
    }

    #[test]
    fn a_missing_folder_or_an_empty_glob_is_bad_input() {
        let root = tree(&["packages/a/src"]);
        for spec in ["packages/missing", "packages/*", "  \n "] {
            assert!(
                expand(spec, root.path(), Some("dist")).is_err(),
                "{spec:?} should be refused"
            );
        }
    }

    #[test]
    fn packages_excludes_the_single_module_inputs() {
        let root = tree(&["packages/a/dist"]);
        let raw = RawInputs {
            packages: Some("packages/*".to_owned()),
            prefix: Some("x/".to_owned()),
            ..RawInputs::default()
        };
        assert!(raw.per_module(root.path()).is_err());
        let raw = RawInputs {
            packages: Some("packages/*".to_owned()),
            ..RawInputs::default()
        };
        let modules = raw.per_module(root.path()).unwrap();
        assert_eq!(modules.len(), 1);
        assert_eq!(modules[0].package.as_deref(), Some("packages/a"));
    }

    #[test]
    fn built_modules_sharing_a_folder_name_are_refused_and_unbuilt_folders_are_not() {
        let root = tree(&[
            "apps/checkout/dist",
            "legacy/checkout/dist",
            "libs/checkout/src",
            "libs/ui/dist",
        ]);
        let raw = |spec: &str| RawInputs {
            packages: Some(spec.to_owned()),
            ..RawInputs::default()
        };
        let err = raw("apps/* legacy/*").per_module(root.path()).unwrap_err();
        assert!(
            err.to_string().contains("apps/checkout legacy/checkout")
                && err.to_string().contains("the prefix `checkout/`"),
            "{err}"
        );
        // Before the build a glob also keeps a library's folder; the deploy will not.
        let unbuilt = raw("apps/* libs/*")
            .per_module_unbuilt(root.path())
            .unwrap();
        assert_eq!(unbuilt.len(), 3);
        assert_eq!(
            raw("apps/* libs/*").per_module(root.path()).unwrap().len(),
            2
        );
        // One folder named two ways is one module.
        let same = raw("./apps/checkout apps/*")
            .per_module(root.path())
            .unwrap();
        assert_eq!(same.len(), 1);
    }
}
