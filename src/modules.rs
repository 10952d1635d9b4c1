//! Changed modules: which module folders a set of changed files touches, so a single
//! workflow can fan out one deploy per changed module (a job matrix).

use std::collections::BTreeSet;
use std::path::Path;

use globset::GlobSet;

use crate::config::ModulesConfig;
use crate::globs::glob_set;

/// The module folders (relative, `/`-separated, sorted) that `changed` touches.
/// A change matching `all-when-changed` selects every module found under `root`; an
/// entry naming a folder (`shared`, `libs/ui/`) matches every file below it.
pub fn changed_modules(
    changed: &[String],
    config: &ModulesConfig,
    root: &Path,
) -> Result<Vec<String>, globset::Error> {
    let folders = glob_set(&config.folders)?;
    let everything = glob_set(&with_folders(&config.all_when_changed))?;
    let changed: Vec<&str> = changed
        .iter()
        .map(|p| p.trim().trim_start_matches("./"))
        .filter(|p| !p.is_empty())
        .collect();
    if changed.iter().any(|p| everything.is_match(p)) {
        return Ok(all_modules(&folders, root));
    }
    let mut modules = BTreeSet::new();
    for path in changed {
        let parts: Vec<&str> = path.split('/').collect();
        let module = (1..parts.len())
            .map(|n| parts[..n].join("/"))
            .find(|folder| folders.is_match(folder));
        if let Some(module) = module.filter(|m| root.join(m).is_dir()) {
            modules.insert(module);
        }
    }
    Ok(modules.into_iter().collect())
}

/// Each pattern, and the same pattern as a folder: what lies below it.
fn with_folders(patterns: &[String]) -> Vec<String> {
    patterns
        .iter()
        .flat_map(|p| {
            let folder = p.trim_end_matches('/');
            [folder.to_owned(), format!("{folder}/**")]
        })
        .collect()
}

/// Every module folder under `root`.
pub fn every_module(config: &ModulesConfig, root: &Path) -> Result<Vec<String>, globset::Error> {
    Ok(all_modules(&glob_set(&config.folders)?, root))
}

/// Every folder under `root` that is a module (node_modules and hidden folders skipped).
fn all_modules(folders: &GlobSet, root: &Path) -> Vec<String> {
    walkdir::WalkDir::new(root)
        .max_depth(4)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| {
            let name = e.file_name().to_string_lossy();
            e.depth() == 0 || (name != "node_modules" && !name.starts_with('.'))
        })
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_dir())
        .filter_map(|e| {
            let rel = e
                .path()
                .strip_prefix(root)
                .ok()?
                .to_str()?
                .replace('\\', "/");
            folders.is_match(&rel).then_some(rel)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for module in [
            "packages/main",
            "packages/checkout",
            "packages/subscriptions",
            "packages/subscriptions/node_modules/x",
        ] {
            std::fs::create_dir_all(dir.path().join(module)).unwrap();
        }
        dir
    }

    fn run(changed: &[&str]) -> Vec<String> {
        let dir = repo();
        let changed: Vec<String> = changed.iter().map(|s| (*s).to_owned()).collect();
        changed_modules(&changed, &ModulesConfig::default(), dir.path()).unwrap()
    }

    #[test]
    fn changed_files_map_to_their_module_once() {
        assert_eq!(
            run(&[
                "packages/checkout/src/Cart.js",
                "packages/checkout/package.json",
                "./packages/main/src/index.js",
                "README.md"
            ]),
            ["packages/checkout", "packages/main"]
        );
    }

    #[test]
    fn files_outside_modules_select_nothing() {
        assert!(
            run(&[
                "README.md",
                ".github/workflows/ci.yml",
                "packages/README.md"
            ])
            .is_empty()
        );
    }

    #[test]
    fn deleted_modules_are_not_deployed() {
        assert!(run(&["packages/legacy/src/index.js"]).is_empty());
    }

    #[test]
    fn a_shared_folder_named_in_all_when_changed_selects_every_module() {
        let dir = repo();
        let config = ModulesConfig {
            all_when_changed: vec!["mfe-deploy.yml".to_owned(), "libs/ui/".to_owned()],
            ..ModulesConfig::default()
        };
        let changed = |paths: &[&str]| {
            let paths: Vec<String> = paths.iter().map(|s| (*s).to_owned()).collect();
            changed_modules(&paths, &config, dir.path()).unwrap()
        };
        assert_eq!(changed(&["libs/ui/src/Button.tsx"]).len(), 3);
        assert_eq!(changed(&["libs/ui"]).len(), 3);
        assert!(changed(&["libs/uikit/x.js"]).is_empty());
    }

    #[test]
    fn a_config_change_selects_every_module() {
        assert_eq!(
            run(&["mfe-deploy.yml"]),
            [
                "packages/checkout",
                "packages/main",
                "packages/subscriptions"
            ]
        );
    }
}
