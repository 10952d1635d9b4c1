//! Nothing outside the workspace is published: `package` and its `dist` must
//! resolve, symlinks followed, inside the workspace (`GITHUB_WORKSPACE` on a runner,
//! the working directory locally unless `--allow-outside`).

use std::path::{Component, Path, PathBuf};

use super::InputError;

/// `path` made absolute against `base`, with every existing part's symlinks
/// resolved and `.`/`..` applied to the rest.
pub fn resolve(base: &Path, path: &Path) -> PathBuf {
    let joined = if path.is_absolute() {
        path.to_owned()
    } else {
        base.join(path)
    };
    // The longest prefix that exists is canonicalised (symlinks followed); the
    // rest is applied lexically.
    let mut existing = joined.clone();
    let mut rest: Vec<std::ffi::OsString> = Vec::new();
    let resolved = loop {
        if let Ok(canonical) = existing.canonicalize() {
            break canonical;
        }
        match (existing.file_name(), existing.parent()) {
            (Some(name), Some(parent)) => {
                rest.push(name.to_owned());
                existing = parent.to_owned();
            }
            _ => break existing,
        }
    };
    let mut out = resolved;
    for part in rest.iter().rev() {
        for component in Path::new(part).components() {
            match component {
                Component::ParentDir => {
                    out.pop();
                }
                Component::CurDir => {}
                other => out.push(other.as_os_str()),
            }
        }
    }
    out
}

/// Refuses a `package` or `dist` that resolves outside `workspace`.
pub fn confine(
    workspace: &Path,
    cwd: &Path,
    package: &Path,
    dist: &str,
    hint: &str,
) -> Result<(), InputError> {
    let root = resolve(cwd, workspace);
    let package_at = resolve(cwd, package);
    let outside = |name: &'static str, value: String, at: &Path| InputError::Invalid {
        name,
        value,
        hint: format!(
            "it resolves to {}, outside the workspace {}: only what the repository builds is deployed; {hint}",
            at.display(),
            root.display()
        ),
    };
    if !package_at.starts_with(&root) {
        return Err(outside(
            "package",
            package.display().to_string(),
            &package_at,
        ));
    }
    let dist_at = resolve(&package_at, Path::new(dist));
    if !dist_at.starts_with(&root) {
        return Err(outside("dist", dist.to_owned(), &dist_at));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("ws/packages/shop/dist")).unwrap();
        std::fs::create_dir_all(dir.path().join("elsewhere/dist")).unwrap();
        dir
    }

    #[test]
    fn a_package_and_dist_inside_the_workspace_pass() {
        let dir = tree();
        let ws = dir.path().join("ws");
        assert!(confine(&ws, &ws, Path::new("packages/shop"), "dist", "").is_ok());
        assert!(confine(&ws, &ws, Path::new("packages/shop"), "./dist/../dist", "").is_ok());
        assert!(
            confine(&ws, &ws, Path::new("packages/not-built-yet"), "dist", "").is_ok(),
            "a missing folder inside is for the scan to report"
        );
    }

    #[test]
    fn relative_absolute_and_dotted_escapes_are_refused_naming_the_input() {
        let dir = tree();
        let ws = dir.path().join("ws");
        let absolute = dir.path().join("elsewhere");
        let cases: [(&str, &str, &str); 4] = [
            ("../elsewhere", "dist", "package"),
            (absolute.to_str().unwrap(), "dist", "package"),
            ("packages/shop", "../../../../elsewhere/dist", "dist"),
            ("packages/../../elsewhere", "dist", "package"),
        ];
        for (package, dist, name) in cases {
            let err = confine(&ws, &ws, Path::new(package), dist, "pass --allow-outside")
                .unwrap_err()
                .to_string();
            assert!(
                err.contains(&format!("`{name}`")),
                "{package} {dist}: {err}"
            );
            assert!(err.contains("outside the workspace"), "{err}");
        }
    }

    #[test]
    fn a_symlink_that_leaves_the_workspace_is_followed_and_refused() {
        let dir = tree();
        let ws = dir.path().join("ws");
        std::os::unix::fs::symlink(dir.path().join("elsewhere"), ws.join("packages/link")).unwrap();
        let err = confine(&ws, &ws, Path::new("packages/link"), "dist", "")
            .unwrap_err()
            .to_string();
        assert!(err.contains("`package`"), "{err}");
        std::os::unix::fs::symlink(
            dir.path().join("elsewhere/dist"),
            ws.join("packages/shop/out"),
        )
        .unwrap();
        let err = confine(&ws, &ws, Path::new("packages/shop"), "out", "")
            .unwrap_err()
            .to_string();
        assert!(err.contains("`dist`"), "{err}");
    }
}
