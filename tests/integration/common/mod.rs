//! Test harness: a real `moto_server` on loopback (`moto`), the real binary run as
//! the GitHub runner runs the container (`runner`), and readers for what it left
//! behind (`aws`).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use aws_sdk_s3::Client;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use mfe_deploy::github::outputs::parse_outputs;

pub const ACCESS_KEY: &str = "AKIAMFEDEPLOYTEST0001";
pub const SECRET_KEY: &str = "mfe-test-secret-Zq8xW3vT9pL2kR7s";

mod aws;
pub mod browser;
pub mod cache;
mod moto;
mod proxy;
mod runner;
pub mod tls;

pub use aws::*;
pub use moto::*;
pub use proxy::*;
pub use runner::*;

/// A copy of the example monorepo in a temporary workspace.
pub struct Workspace {
    pub dir: tempfile::TempDir,
}

impl Workspace {
    pub fn example() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/monorepo");
        copy_tree(&source, dir.path());
        Self { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn dist(&self, package: &str) -> PathBuf {
        self.path().join("packages").join(package).join("dist")
    }

    pub fn write(&self, rel: &str, content: &[u8]) {
        let path = self.path().join(rel);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, content).expect("write");
    }

    /// Rewrites every file of a package's dist with the same bytes and a new mtime,
    /// as a fresh CI build does.
    pub fn rebuild_same_bytes(&self, package: &str) {
        let later = std::time::SystemTime::now() + Duration::from_secs(3600);
        for entry in walk(&self.dist(package)) {
            let bytes = std::fs::read(&entry).expect("read");
            std::fs::remove_file(&entry).expect("rm");
            std::fs::write(&entry, bytes).expect("write");
            let file = std::fs::File::options()
                .write(true)
                .open(&entry)
                .expect("open");
            file.set_modified(later).expect("mtime");
        }
    }
}

fn copy_tree(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("entry");
        let name = entry.file_name();
        if name == "node_modules" {
            continue;
        }
        let target = to.join(&name);
        if entry.file_type().expect("type").is_dir() {
            std::fs::create_dir_all(&target).expect("mkdir");
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

pub fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read_dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out.sort();
    out
}

/// The usual start of a test: the shared server, a fresh bucket, a fresh workspace.
pub fn setup(name: &str) -> (&'static Moto, String, Workspace) {
    let moto = shared();
    let bucket = bucket(moto, name);
    (moto, bucket, Workspace::example())
}
