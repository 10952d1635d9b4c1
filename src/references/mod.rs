//! References: the files that the entries and HTML of a build make the browser load,
//! mapped to keys of the bucket, so that nothing goes live whose references do not
//! resolve; and the public-path check, so that a build made for another place is
//! refused before it is written.
//!
//! Pure: the orchestrator reads the referring files and decides, with the listing,
//! which keys are there.

mod expr;
mod federation;
mod html;
mod script;
mod site;

use std::collections::BTreeMap;

pub use site::{Resolved, Site};

/// Which parser reads a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `mf-manifest.json`.
    Manifest,
    /// An HTML document.
    Html,
    /// An entry script (`remoteEntry.js`, Vite's `remoteEntry-[hash].js`).
    Script,
}

impl Kind {
    /// The parser for a file of the build; `entry` says it is classified a
    /// federation entry. `None`: it names nothing this check follows.
    pub fn of(rel_path: &str, entry: bool) -> Option<Self> {
        let name = rel_path.rsplit('/').next().unwrap_or(rel_path);
        let lower = name.to_ascii_lowercase();
        if name == "mf-manifest.json" {
            Some(Self::Manifest)
        } else if lower.ends_with(".html") || lower.ends_with(".htm") {
            Some(Self::Html)
        } else if entry && (lower.ends_with(".js") || lower.ends_with(".mjs")) {
            Some(Self::Script)
        } else {
            None
        }
    }
}

/// One file named by another.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Reference {
    /// The referring file, relative to the build.
    pub from: String,
    /// The key it names.
    pub key: String,
}

/// A fixed public path (or HTML base) that is not where this deploy serves the
/// build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Misplaced {
    /// The file that states it, relative to the build.
    pub file: String,
    /// What it states.
    pub found: String,
    /// Where this deploy serves the build's root.
    pub expected: String,
}

/// Everything the referring files of one build name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct References {
    /// Sorted, without duplicates.
    pub references: Vec<Reference>,
    /// The referring files read.
    pub files: Vec<String>,
    /// What could not be checked, each naming its file.
    pub unchecked: Vec<String>,
    pub misplaced: Vec<Misplaced>,
}

impl References {
    /// Reads the referring files (`(path relative to the build, kind, bytes)`) of a
    /// build served at `site`.
    pub fn collect<'a>(
        site: &Site,
        files: impl IntoIterator<Item = (&'a str, Kind, &'a [u8])>,
    ) -> Self {
        let mut all = Self::default();
        for (rel_path, kind, bytes) in files {
            all.files.push(rel_path.to_owned());
            let dir = format!("{}{}", site.root(), parent(rel_path));
            let mut found = Found {
                site,
                from: rel_path,
                all: &mut all,
            };
            match kind {
                Kind::Manifest => found.manifest(&dir, bytes),
                Kind::Html => found.html(&dir, bytes),
                Kind::Script => found.script(&dir, bytes),
            }
        }
        all.references.sort();
        all.references.dedup();
        all.files.sort();
        all
    }

    /// References whose key `known` does not vouch for, in order.
    pub fn unresolved(&self, known: impl Fn(&str) -> bool) -> Vec<&Reference> {
        self.references.iter().filter(|r| !known(&r.key)).collect()
    }

    /// Who names each key.
    pub fn by_key(&self) -> BTreeMap<&str, Vec<&str>> {
        let mut map: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for r in &self.references {
            map.entry(&r.key).or_default().push(&r.from);
        }
        map
    }
}

/// The directory part of a relative path, with its trailing `/` (or empty).
fn parent(rel_path: &str) -> &str {
    rel_path.rfind('/').map_or("", |at| &rel_path[..=at])
}

/// Adds one file's findings.
struct Found<'s, 'a> {
    site: &'s Site,
    from: &'s str,
    all: &'a mut References,
}

impl Found<'_, '_> {
    fn unchecked(&mut self, why: impl std::fmt::Display) {
        self.all.unchecked.push(format!("{}: {why}", self.from));
    }

    fn add(&mut self, base: &str, url: &str) {
        match self.site.resolve(base, url) {
            Resolved::Key(key) => self.all.references.push(Reference {
                from: self.from.to_owned(),
                key,
            }),
            Resolved::OffSite(path) => {
                self.unchecked(format!("{path} is outside public-url, not checked"));
            }
            Resolved::Ignored => {}
        }
    }

    /// The key prefix a fixed public path names; `None` (recorded as misplaced) when
    /// it is not where this deploy serves the build.
    fn fixed_base(&mut self, dir: &str, path: &str) -> Option<String> {
        let expected = self
            .site
            .root_url()
            .unwrap_or_else(|| self.site.root_path());
        let placed = match self.site.resolve_dir(dir, path) {
            Ok(key) => key == self.site.root(),
            // Without `public-url` the host of an absolute URL cannot be compared:
            // its path still can.
            Err(_) if !self.site.has_origin() => {
                url_path(path).is_some_and(|p| same_dir(&p, &self.site.root_path()))
            }
            Err(_) => false,
        };
        if placed {
            return Some(self.site.root().to_owned());
        }
        self.all.misplaced.push(Misplaced {
            file: self.from.to_owned(),
            found: path.to_owned(),
            expected,
        });
        None
    }

    fn manifest(&mut self, dir: &str, bytes: &[u8]) {
        let named = match federation::parse(bytes) {
            Ok(named) => named,
            Err(why) => return self.unchecked(why),
        };
        let base = match &named.public_path {
            federation::PublicPath::Fixed(path) => match self.fixed_base(dir, path) {
                Some(base) => base,
                None => return,
            },
            federation::PublicPath::Relative(_) => dir.to_owned(),
            federation::PublicPath::Code => {
                self.unchecked("its public path is code (`getPublicPath`), not checkable");
                dir.to_owned()
            }
        };
        for file in &named.files {
            self.add(&base, file);
        }
        for why in named.unchecked {
            self.unchecked(why);
        }
    }

    fn html(&mut self, dir: &str, bytes: &[u8]) {
        let named = html::parse(&String::from_utf8_lossy(bytes));
        let base = match &named.base {
            Some(base) if base.starts_with('/') || base.contains("://") => {
                match self.fixed_base(dir, base) {
                    Some(base) => base,
                    None => return,
                }
            }
            Some(relative) => match self.site.resolve_dir(dir, relative) {
                Ok(base) => base,
                Err(_) => {
                    return self.unchecked(format!(
                        "its <base href=\"{relative}\"> climbs above the site"
                    ));
                }
            },
            None => dir.to_owned(),
        };
        for url in &named.urls {
            self.add(&base, url);
        }
        for url in named.templated {
            self.unchecked(format!("{url} is a template, not checked"));
        }
    }

    fn script(&mut self, dir: &str, bytes: &[u8]) {
        let Ok(text) = std::str::from_utf8(bytes) else {
            return self.unchecked("not UTF-8 text, not checked");
        };
        let named = script::parse(text);
        let chunk_base = match &named.public_path {
            Some(path) if path.starts_with('/') || path.contains("://") => {
                self.fixed_base(dir, path)
            }
            Some(relative) => self.site.resolve_dir(dir, relative).ok(),
            None => Some(dir.to_owned()),
        };
        if let Some(base) = chunk_base {
            for chunk in &named.chunks {
                self.add(&base, chunk);
            }
        }
        for import in &named.imports {
            self.add(dir, import);
        }
        for why in named.unchecked {
            self.unchecked(why);
        }
    }
}

/// The path of an absolute URL (`https://host/p/` → `/p/`), or of a root-relative one.
fn url_path(url: &str) -> Option<String> {
    if url.starts_with('/') && !url.starts_with("//") {
        return Some(url.to_owned());
    }
    let rest = url.split_once("://")?.1;
    Some(
        rest.find('/')
            .map_or("/".to_owned(), |at| rest[at..].to_owned()),
    )
}

fn same_dir(a: &str, b: &str) -> bool {
    a.trim_end_matches('/') == b.trim_end_matches('/')
}

#[cfg(test)]
mod tests;
