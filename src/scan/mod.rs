//! Scan: walk a module's dist folder and digest every file (SHA-256), reading each
//! once; then MD5 for the files the bucket cannot vouch for ([`add_md5`]).

mod cores;
mod digest;
pub mod sensitive;

use std::path::{Path, PathBuf};

use cores::on_every_core;
pub use digest::{Digest, EtagMatch, MULTIPART_THRESHOLD, PART_SIZE, hex};

/// Key folder (under the module prefix) that mfe-deploy keeps its state in.
pub const RESERVED_DIR: &str = ".mfe-deploy";

/// A file of the build, with its digests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalFile {
    /// Path relative to the dist folder, `/`-separated.
    pub rel_path: String,
    /// Where to read it from (symlinks inside dist are followed).
    pub abs_path: PathBuf,
    pub digest: Digest,
}

/// Why the dist folder cannot be deployed.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    /// The package folder does not exist.
    #[error(
        "package folder {0} does not exist: check the `package` input (a path relative to the repository root, e.g. packages/subscriptions)"
    )]
    PackageMissing(PathBuf),
    /// The dist folder does not exist.
    #[error(
        "build output folder {0} does not exist: run the module's build before deploying, or set `dist` to the folder your bundler writes to"
    )]
    DistMissing(PathBuf),
    /// The dist path is a file.
    #[error("build output {0} is not a folder: set `dist` to the folder your bundler writes to")]
    DistNotFolder(PathBuf),
    /// Nothing to deploy.
    #[error(
        "build output folder {0} contains no files: did the build run and succeed? Deploying an empty folder would publish nothing"
    )]
    Empty(PathBuf),
    /// A symlink points outside the dist folder.
    #[error(
        "{link} is a symlink to {target}, which is outside the build output folder {dist}: copy the file into the build instead of linking it"
    )]
    SymlinkEscapes {
        link: PathBuf,
        target: PathBuf,
        dist: PathBuf,
    },
    /// A file name cannot become an S3 key.
    #[error("{0:?} has a name that is not valid UTF-8, so it cannot become an S3 key: rename it")]
    NonUtf8(PathBuf),
    /// A file or folder name holds a control character (newline, tab, ESC, DEL, …).
    #[error(
        "{path:?} has a control character ({}) in its name, which would break log lines and the runner's workflow commands: rename it (or fix the bundler option or source file that produced the name); nothing was written",
        escaped_controls(path)
    )]
    ControlCharacter { path: PathBuf },
    /// The build contains the folder mfe-deploy keeps its state in.
    #[error(
        "{0} uses the reserved folder name `.mfe-deploy`, where mfe-deploy keeps its deploy state: rename it"
    )]
    Reserved(PathBuf),
    /// The build holds files that look like secrets or repository data.
    #[error(
        "refusing to publish {} file(s) of {dist} that look like secrets or repository data: {}. Whatever is in the build output is served to anyone who asks for its name. Remove them from the build (check `dist`: `dist: .` publishes the whole package folder), or, if they are meant to be public, list them in `allow-sensitive-files:` in mfe-deploy.yml (globs relative to the build folder); nothing was written",
        files.len(),
        files.join(", ")
    )]
    Sensitive { dist: PathBuf, files: Vec<String> },
    /// A file's bytes changed between two reads of the same deploy.
    #[error(
        "{0} changed while it was being deployed (its SHA-256 differs between two reads): let the build finish before deploying, and run the deploy again"
    )]
    Changed(PathBuf),
    /// Reading the folder or a file failed.
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Lists and digests every file under `dist`, sorted by relative path.
pub fn scan(
    package: &Path,
    dist: &Path,
    allow: &globset::GlobSet,
) -> Result<Vec<LocalFile>, ScanError> {
    if !package.is_dir() {
        return Err(ScanError::PackageMissing(package.to_owned()));
    }
    let paths = walk(dist)?;
    if paths.is_empty() {
        return Err(ScanError::Empty(dist.to_owned()));
    }
    let refused = sensitive::found(paths.iter().map(|(rel, _)| rel.as_str()), allow);
    if !refused.is_empty() {
        return Err(ScanError::Sensitive {
            dist: dist.to_owned(),
            files: refused,
        });
    }
    digest_all(paths)
}

fn walk(dist: &Path) -> Result<Vec<(String, PathBuf)>, ScanError> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| ScanError::Io { path, source }
    };
    let meta = match std::fs::metadata(dist) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(ScanError::DistMissing(dist.to_owned()));
        }
        Err(e) => return Err(io(dist)(e)),
    };
    if !meta.is_dir() {
        return Err(ScanError::DistNotFolder(dist.to_owned()));
    }
    let root = dist.canonicalize().map_err(io(dist))?;
    let mut files = Vec::new();
    for entry in walkdir::WalkDir::new(dist)
        .follow_links(true)
        .sort_by_file_name()
    {
        let entry = entry.map_err(|e| {
            let path = e.path().unwrap_or(dist).to_owned();
            ScanError::Io {
                source: e
                    .into_io_error()
                    .unwrap_or_else(|| std::io::Error::other("symlink loop")),
                path,
            }
        })?;
        if entry.path_is_symlink() {
            // A non-link entry lives where its parent resolved to, so checking each
            // link is enough to keep every file inside the dist folder.
            let target = entry.path().canonicalize().map_err(io(entry.path()))?;
            if !target.starts_with(&root) {
                return Err(ScanError::SymlinkEscapes {
                    link: entry.path().to_owned(),
                    target,
                    dist: dist.to_owned(),
                });
            }
        }
        if !entry.file_type().is_file() {
            continue;
        }
        let rel = entry.path().strip_prefix(dist).unwrap_or(entry.path());
        let rel_path = rel
            .components()
            .map(|c| c.as_os_str().to_str())
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| ScanError::NonUtf8(entry.path().to_owned()))?
            .join("/");
        if rel_path.chars().any(char::is_control) {
            return Err(ScanError::ControlCharacter {
                path: entry.path().to_owned(),
            });
        }
        if rel_path.split('/').next() == Some(RESERVED_DIR) {
            return Err(ScanError::Reserved(entry.path().to_owned()));
        }
        files.push((rel_path, entry.path().to_owned()));
    }
    files.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(files)
}

/// The distinct control characters in `path`, escaped (`\n, \u{1b}`).
fn escaped_controls(path: &Path) -> String {
    let mut found: Vec<char> = path
        .to_string_lossy()
        .chars()
        .filter(|c| c.is_control())
        .collect();
    found.sort_unstable();
    found.dedup();
    found
        .iter()
        .map(|c| c.escape_debug().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Digests files on every core; hashing dominates a rebuild, so it is parallel.
fn digest_all(paths: Vec<(String, PathBuf)>) -> Result<Vec<LocalFile>, ScanError> {
    let digests = on_every_core(
        &paths
            .iter()
            .map(|(_, path)| path.as_path())
            .collect::<Vec<_>>(),
        false,
    );
    paths
        .into_iter()
        .zip(digests)
        .map(|((rel_path, abs_path), digest)| {
            Ok(LocalFile {
                digest: digest?,
                rel_path,
                abs_path,
            })
        })
        .collect()
}

/// Adds the MD5s to each file `needed` names (the same length as `files`): what an
/// ETag is compared with, and each part's `Content-MD5`. The file is read
/// again, so its SHA-256 is checked again: bytes that changed since the scan stop
/// the deploy.
pub fn add_md5(files: &mut [LocalFile], needed: &[bool]) -> Result<(), ScanError> {
    let chosen: Vec<usize> = (0..files.len())
        .filter(|&i| needed.get(i) == Some(&true) && !files[i].digest.has_md5())
        .collect();
    let digests = {
        let paths: Vec<&Path> = chosen
            .iter()
            .map(|&i| files[i].abs_path.as_path())
            .collect();
        on_every_core(&paths, true)
    };
    for (i, digest) in chosen.into_iter().zip(digests) {
        let file = &mut files[i];
        file.digest = unchanged(&file.abs_path, &file.digest, digest?)?;
    }
    Ok(())
}

/// [`add_md5`] for one file outside the plan (a key another writer took during
/// the deploy): its digest with the MD5s, read again and checked again.
pub fn md5_of(path: &Path, scanned: &Digest) -> Result<Digest, ScanError> {
    let digest = on_every_core(&[path], true)
        .pop()
        .unwrap_or_else(|| Err(ScanError::Changed(path.to_path_buf())))?;
    unchanged(path, scanned, digest)
}

/// `again`, when it is the scanned file's bytes still.
fn unchanged(path: &Path, scanned: &Digest, again: Digest) -> Result<Digest, ScanError> {
    if again.sha256 != scanned.sha256 || again.size != scanned.size {
        return Err(ScanError::Changed(path.to_path_buf()));
    }
    Ok(again)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (path, body) in files {
            let path = dir.path().join("pkg/dist").join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, body).unwrap();
        }
        std::fs::create_dir_all(dir.path().join("pkg/dist")).unwrap();
        dir
    }

    fn run(dir: &tempfile::TempDir) -> Result<Vec<LocalFile>, ScanError> {
        scan(
            &dir.path().join("pkg"),
            &dir.path().join("pkg/dist"),
            &globset::GlobSet::empty(),
        )
    }

    #[test]
    fn files_are_listed_sorted_with_forward_slashes() {
        let dir = tree(&[("b.js", "b"), ("a/z.css", "z"), ("a/b/c.png", "c")]);
        let files = run(&dir).unwrap();
        let names: Vec<_> = files.iter().map(|f| f.rel_path.as_str()).collect();
        assert_eq!(names, ["a/b/c.png", "a/z.css", "b.js"]);
        assert_eq!(files[2].digest.size, 1);
    }

    #[test]
    fn the_scan_leaves_md5_out_and_add_md5_adds_it_where_needed() {
        let dir = tree(&[("a.js", "a"), ("b.js", "b")]);
        let mut files = run(&dir).unwrap();
        assert!(files.iter().all(|f| !f.digest.has_md5()));
        add_md5(&mut files, &[false, true]).unwrap();
        assert!(!files[0].digest.has_md5());
        assert_eq!(files[1].digest, Digest::of_reader(&b"b"[..]).unwrap());
    }

    #[test]
    fn a_file_changed_since_the_scan_stops_the_deploy() {
        let dir = tree(&[("a.js", "a")]);
        let mut files = run(&dir).unwrap();
        std::fs::write(dir.path().join("pkg/dist/a.js"), "edited").unwrap();
        let err = add_md5(&mut files, &[true]).unwrap_err();
        assert!(matches!(err, ScanError::Changed(_)), "{err}");
        assert!(err.to_string().contains("a.js"), "{err}");
    }

    #[test]
    fn empty_dist_is_refused() {
        let dir = tree(&[]);
        assert!(matches!(run(&dir), Err(ScanError::Empty(_))));
    }

    #[test]
    fn missing_package_and_dist_are_distinct_errors() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            scan(
                &dir.path().join("nope"),
                &dir.path().join("nope/dist"),
                &globset::GlobSet::empty()
            ),
            Err(ScanError::PackageMissing(_))
        ));
        std::fs::create_dir(dir.path().join("pkg")).unwrap();
        assert!(matches!(
            scan(
                &dir.path().join("pkg"),
                &dir.path().join("pkg/dist"),
                &globset::GlobSet::empty()
            ),
            Err(ScanError::DistMissing(_))
        ));
    }

    #[test]
    fn symlink_escaping_dist_is_refused_but_inner_links_are_followed() {
        let dir = tree(&[("a.js", "a")]);
        let dist = dir.path().join("pkg/dist");
        std::fs::write(dir.path().join("secret.txt"), "s").unwrap();
        std::os::unix::fs::symlink("a.js", dist.join("alias.js")).unwrap();
        let files = run(&dir).unwrap();
        assert_eq!(files.len(), 2);
        std::os::unix::fs::symlink(dir.path().join("secret.txt"), dist.join("leak.txt")).unwrap();
        let err = run(&dir).unwrap_err();
        assert!(matches!(err, ScanError::SymlinkEscapes { .. }), "{err}");
        assert!(err.to_string().contains("leak.txt"), "{err}");
    }

    #[test]
    fn symlinked_folder_outside_dist_is_refused() {
        let dir = tree(&[("a.js", "a")]);
        std::fs::create_dir(dir.path().join("outside")).unwrap();
        std::fs::write(dir.path().join("outside/x.js"), "x").unwrap();
        std::os::unix::fs::symlink(dir.path().join("outside"), dir.path().join("pkg/dist/lib"))
            .unwrap();
        assert!(matches!(run(&dir), Err(ScanError::SymlinkEscapes { .. })));
    }

    #[test]
    fn control_characters_in_file_and_folder_names_are_refused_with_the_name_escaped() {
        // (case, path inside dist, what the message shows of it)
        let rows = [
            ("newline in a file name", "a\nb.js", r#"a\nb.js""#),
            ("tab", "tab\t.css", r#"tab\t.css""#),
            ("carriage return", "cr\r.js", r#"cr\r.js""#),
            ("escape", "\u{1b}[31mred.js", r#"\u{1b}[31mred.js""#),
            ("delete", "del\u{7f}.js", r#"del\u{7f}.js""#),
            ("C1 next-line", "nel\u{85}.js", r#"nel\u{85}.js""#),
            (
                "newline in a folder name",
                "assets\n/logo.svg",
                r#"assets\n/logo.svg""#,
            ),
            (
                "a workflow command after a newline",
                "x\n::error::pwned.js",
                r#"x\n::error::pwned.js""#,
            ),
        ];
        for (case, name, shown) in rows {
            let dir = tree(&[("ok.js", "ok"), (name, "x")]);
            let err = run(&dir).expect_err(case);
            assert!(
                matches!(err, ScanError::ControlCharacter { .. }),
                "{case}: {err}"
            );
            let message = err.to_string();
            assert!(message.contains(shown), "{case}: {message}");
            assert!(
                !message.chars().any(char::is_control),
                "{case}: the message itself holds a control character: {message:?}"
            );
            assert!(message.contains("rename it"), "{case}: {message}");
        }
    }

    #[test]
    fn printable_unusual_names_are_deployable() {
        let dir = tree(&[
            ("::error::pwned.js", "a"),
            ("%0A::warning::x.js", "b"),
            ("##[error]legacy.js", "c"),
            ("späße 😀.js", "d"),
        ]);
        assert_eq!(run(&dir).unwrap().len(), 4);
    }

    #[test]
    fn reserved_state_folder_is_refused() {
        let dir = tree(&[(".mfe-deploy/state.json", "{}")]);
        assert!(matches!(run(&dir), Err(ScanError::Reserved(_))));
    }
}
