//! Every key mfe-deploy reads or writes, decided in one place.
//!
//! Under a module's prefix there is nothing but its build: `prefix/<path>`. The
//! tool's own objects live under one reserved prefix (`_mfe-deploy/` by default,
//! config `records-prefix`), outside every module, one folder per module:
//!
//! ```text
//! _mfe-deploy/modules/<module>/records/<UTC time>-<version>-<nonce>.json   deploy records (immutable)
//! _mfe-deploy/modules/<module>/latest.json                                pointer to the newest record (a cache)
//! _mfe-deploy/modules/<module>/state.json                                 ETags and headers last left (a cache)
//! _mfe-deploy/in-flight/<module, one segment>/<expiry>-<nonce>.json        what a deploy still uploading will publish
//! ```
//!
//! `<module>` is the module prefix without its trailing slash (`checkout`,
//! `apps/checkout`), or `~root` for a module deployed at the bucket root. A record is
//! a direct child of its module's `records/` folder, named `<time>-<version>-<nonce>`
//! (no `/` in any part), so the records of `apps` are never those of `apps/records`
//! (whose keys go one folder deeper) nor of `apps/checkout`.

/// The reserved prefix when the config names none.
pub const DEFAULT_RECORDS_PREFIX: &str = "_mfe-deploy/";

/// Where the state lived before the reserved prefix (inside the module prefix).
const LEGACY_STATE: &str = ".mfe-deploy/state.json";

/// The module name of a module deployed at the bucket root.
const ROOT_MODULE: &str = "~root";

/// The keys of one module in one bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    records_prefix: String,
    prefix: String,
    /// A pull request's preview of the module: its records are the preview's own.
    preview: Option<u64>,
}

/// Why a module prefix and the reserved prefix cannot live together.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LayoutError {
    /// The module would be deployed inside the reserved prefix.
    #[error(
        "prefix `{prefix}` lies inside `{records_prefix}`, which mfe-deploy reserves for its deploy records: choose another `prefix`, or move the records with the config's `records-prefix`"
    )]
    ModuleInReserved {
        prefix: String,
        records_prefix: String,
    },
    /// The reserved prefix would be inside a module (other than the bucket root).
    #[error(
        "`records-prefix: {records_prefix}` lies inside the module prefix `{prefix}`, whose prefix must hold nothing but the build: set `records-prefix` to a folder outside every module (the default is `_mfe-deploy/`)"
    )]
    ReservedInModule {
        prefix: String,
        records_prefix: String,
    },
    /// A file of the build would land in the reserved prefix (a module at the root
    /// whose build has a folder of that name).
    #[error(
        "{path} would be written to s3 key `{key}`, inside `{records_prefix}`, which mfe-deploy reserves for its deploy records: rename the folder in the build, or set `records-prefix`"
    )]
    FileInReserved {
        path: String,
        key: String,
        records_prefix: String,
    },
}

impl Layout {
    /// The layout of the module at `prefix` (empty or ending with `/`), with the
    /// reserved prefix `records_prefix` (ending with `/`).
    pub fn new(records_prefix: &str, prefix: &str) -> Result<Self, LayoutError> {
        if prefix.starts_with(records_prefix) {
            return Err(LayoutError::ModuleInReserved {
                prefix: prefix.to_owned(),
                records_prefix: records_prefix.to_owned(),
            });
        }
        if !prefix.is_empty() && records_prefix.starts_with(prefix) {
            return Err(LayoutError::ReservedInModule {
                prefix: prefix.to_owned(),
                records_prefix: records_prefix.to_owned(),
            });
        }
        Ok(Self {
            records_prefix: records_prefix.to_owned(),
            prefix: prefix.to_owned(),
            preview: None,
        })
    }

    /// The same module as previewed by pull request `number`: its build goes under
    /// the module's prefix like any version, but its records, pointer and state live
    /// under `previews/pr-<number>/`, so that they never count as the module's
    /// deploys (history, `previous`, rollback, retention's `keep-versions`).
    pub fn for_preview(&self, number: u64) -> Self {
        Self {
            preview: Some(number),
            ..self.clone()
        }
    }

    /// The pull request this layout previews, if any.
    pub fn preview(&self) -> Option<u64> {
        self.preview
    }

    /// The folder of every preview's records.
    pub fn previews_dir(&self) -> String {
        format!("{}previews/", self.records_prefix)
    }

    /// The reserved prefix, ending with `/`.
    pub fn records_prefix(&self) -> &str {
        &self.records_prefix
    }

    /// The module's prefix: empty (bucket root) or ending with `/`.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The module's name in records: its prefix without the trailing slash.
    pub fn module(&self) -> &str {
        match self.prefix.strip_suffix('/') {
            Some(name) => name,
            None => ROOT_MODULE,
        }
    }

    /// The key of a build file, by its path relative to the dist folder.
    pub fn file_key(&self, rel_path: &str) -> Result<String, LayoutError> {
        let key = format!("{}{rel_path}", self.prefix);
        if self.is_reserved(&key) {
            return Err(LayoutError::FileInReserved {
                path: rel_path.to_owned(),
                key,
                records_prefix: self.records_prefix.clone(),
            });
        }
        Ok(key)
    }

    /// Versioned mode: the prefix of one version, `prefix/<version>/`.
    pub fn version_prefix(&self, version: &str) -> String {
        format!("{}{version}/", self.prefix)
    }

    /// Where a revision of the manifest at `manifest` is kept, immutably: one per
    /// change, named by time, module and version, sorting by time.
    pub fn history_key(&self, manifest: &str, time: &str, version: &str) -> String {
        format!(
            "{}manifests/{manifest}/history/{time}-{}-{version}.json",
            self.records_prefix,
            self.module().replace('/', "+")
        )
    }

    /// The folder of a manifest's history revisions.
    pub fn history_dir(&self, manifest: &str) -> String {
        format!("{}manifests/{manifest}/history/", self.records_prefix)
    }

    /// The time and version of one of this module's revisions of `manifest`, from a
    /// key [`Self::history_key`] made; `None` for another module's.
    /// NOTE: module names and versions may both hold `-`, so module `a` at version
    /// `b-c` and module `a-b` at version `c` name their revisions alike; the names
    /// only serve `history` and the keep-days window of retention, which then keeps
    /// more, never less.
    pub fn history_revision<'k>(
        &self,
        manifest: &str,
        key: &'k str,
    ) -> Option<(crate::clock::Utc, &'k str)> {
        let name = key
            .strip_prefix(&self.history_dir(manifest))?
            .strip_suffix(".json")?;
        let (time, rest) = name.split_once('-')?;
        let module = self.module().replace('/', "+");
        let version = rest.strip_prefix(&module)?.strip_prefix('-')?;
        Some((crate::clock::Utc::parse_compact(time)?, version))
    }

    /// Whether `key` is one of the tool's own (never part of a module's build).
    pub fn is_reserved(&self, key: &str) -> bool {
        key.starts_with(&self.records_prefix) || key == self.legacy_state_key()
    }

    fn module_dir(&self) -> String {
        match self.preview {
            Some(n) => format!("{}pr-{n}/modules/{}/", self.previews_dir(), self.module()),
            None => format!("{}modules/{}/", self.records_prefix, self.module()),
        }
    }

    /// The folder of the module's deploy records; keys sort by time.
    pub fn records_dir(&self) -> String {
        format!("{}records/", self.module_dir())
    }

    /// The key of a new record: `time` as `20261202T010811.123Z`, a label and a
    /// nonce so two records never share a key.
    pub fn record_key(&self, time: &str, version: &str, nonce: &str) -> String {
        format!("{}{time}-{version}-{nonce}.json", self.records_dir())
    }

    /// The time a record key was named with (see [`Layout::record_key`]).
    pub fn record_time(&self, key: &str) -> Option<crate::clock::Utc> {
        crate::clock::Utc::parse_compact(self.record_name(key)?.0)
    }

    /// The version a record key was named with.
    pub fn record_version<'k>(&self, key: &'k str) -> Option<&'k str> {
        Some(self.record_name(key)?.1)
    }

    /// Whether `key` is one of this module's records: a direct child of its
    /// `records/` folder named `<time>-<version>-<nonce>.json`. A nested module
    /// called `records` keeps its own records one folder deeper, and its pointer
    /// beside them: neither is one of these.
    pub fn is_record_key(&self, key: &str) -> bool {
        self.record_name(key).is_some()
    }

    /// (time, version, nonce) of a record key.
    fn record_name<'k>(&self, key: &'k str) -> Option<(&'k str, &'k str, &'k str)> {
        let name = key
            .strip_prefix(&self.records_dir())?
            .strip_suffix(".json")?;
        if name.contains('/') {
            return None;
        }
        let (rest, nonce) = name.rsplit_once('-')?;
        let (time, version) = rest.split_once('-')?;
        crate::clock::Utc::parse_compact(time)?;
        Some((time, version, nonce))
    }

    /// The folder of every module's in-flight intents.
    pub fn in_flight_dir(&self) -> String {
        format!("{}in-flight/", self.records_prefix)
    }

    /// The key of an intent of this module expiring at `expires` (compact time).
    pub fn intent_key(&self, expires: &str, nonce: &str) -> String {
        format!(
            "{}{}/{expires}-{nonce}.json",
            self.in_flight_dir(),
            segment(self.module())
        )
    }

    /// The pointer to the module's newest record.
    pub fn pointer_key(&self) -> String {
        format!("{}latest.json", self.module_dir())
    }

    /// The deploy state cache: ETags and headers last left under the prefix.
    pub fn state_key(&self) -> String {
        format!("{}state.json", self.module_dir())
    }

    /// Where releases before the reserved prefix kept the state, inside the module
    /// prefix; read once when the new one is missing, then removed.
    pub fn legacy_state_key(&self) -> String {
        format!("{}{LEGACY_STATE}", self.prefix)
    }
}

/// A module name as one key segment, injectively: `%` → `%25`, `/` → `%2F`.
pub fn segment(module: &str) -> String {
    module.replace('%', "%25").replace('/', "%2F")
}

/// The module prefix a [`segment`] stands for (empty for the bucket root).
pub fn prefix_of_segment(segment: &str) -> String {
    let module = segment.replace("%2F", "/").replace("%25", "%");
    if module == ROOT_MODULE {
        String::new()
    } else {
        format!("{module}/")
    }
}

/// `"_mfe-deploy"` or `"/x/y/"` → `"x/y/"`: the config's `records-prefix`, checked.
pub fn normalize_records_prefix(value: &str) -> Option<String> {
    let trimmed = value.trim_matches('/');
    let ok = !trimmed.is_empty()
        && trimmed
            .split('/')
            .all(|s| !s.is_empty() && s != "." && s != ".." && !s.chars().any(char::is_control));
    ok.then(|| format!("{trimmed}/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(prefix: &str) -> Layout {
        Layout::new(DEFAULT_RECORDS_PREFIX, prefix).unwrap()
    }

    #[test]
    fn module_files_live_under_the_prefix_and_nothing_else_does() {
        let l = layout("checkout/");
        assert_eq!(
            l.file_key("remoteEntry.js").unwrap(),
            "checkout/remoteEntry.js"
        );
        for key in [l.pointer_key(), l.state_key(), l.record_key("t", "v", "n")] {
            assert!(key.starts_with("_mfe-deploy/"), "{key}");
            assert!(!key.starts_with("checkout/"), "{key}");
        }
    }

    #[test]
    fn keys_are_named_after_the_module() {
        let l = layout("apps/checkout/");
        assert_eq!(l.module(), "apps/checkout");
        assert_eq!(
            l.record_key("20261202T010811.123Z", "3f2a9c1b0d4e", "a1b2"),
            "_mfe-deploy/modules/apps/checkout/records/20261202T010811.123Z-3f2a9c1b0d4e-a1b2.json"
        );
        assert_eq!(
            l.pointer_key(),
            "_mfe-deploy/modules/apps/checkout/latest.json"
        );
        assert_eq!(
            l.state_key(),
            "_mfe-deploy/modules/apps/checkout/state.json"
        );
        assert_eq!(l.legacy_state_key(), "apps/checkout/.mfe-deploy/state.json");
    }

    #[test]
    fn versions_and_manifest_history_have_their_own_keys() {
        let l = layout("apps/checkout/");
        assert_eq!(l.version_prefix("3f2a"), "apps/checkout/3f2a/");
        assert_eq!(
            l.history_key("mfe-manifest.json", "20261202T010811.123Z", "3f2a"),
            "_mfe-deploy/manifests/mfe-manifest.json/history/20261202T010811.123Z-apps+checkout-3f2a.json"
        );
        assert!(
            l.history_key("m.json", "t", "v")
                .starts_with(&l.history_dir("m.json"))
        );
    }

    #[test]
    fn a_record_key_tells_its_time() {
        let l = layout("shop/");
        let t = crate::clock::Utc::from_millis(1_764_637_691_123);
        assert_eq!(
            l.record_time(&l.record_key(&t.compact(), "v1", "ab")),
            Some(t)
        );
        assert_eq!(l.record_time("elsewhere/x.json"), None);
        let key = l.record_key(&t.compact(), "release-1.2", "ab12cd34");
        assert_eq!(l.record_version(&key), Some("release-1.2"));
    }

    #[test]
    fn records_of_a_module_never_include_those_of_a_nested_one() {
        let outer = layout("apps/");
        let inner = layout("apps/checkout/");
        assert!(!inner.records_dir().starts_with(&outer.records_dir()));
        assert!(!inner.pointer_key().starts_with(&outer.records_dir()));
    }

    #[test]
    fn a_nested_module_called_records_is_not_read_as_records_of_its_parent() {
        let parent = layout("apps/");
        let nested = layout("apps/records/");
        let t = crate::clock::Utc::from_millis(1_764_637_691_123).compact();
        let theirs = nested.record_key(&t, "v1", "ab");
        assert!(
            theirs.starts_with(&parent.records_dir()),
            "the folders nest"
        );
        assert!(!parent.is_record_key(&theirs));
        assert!(!parent.is_record_key(&nested.pointer_key()));
        assert!(!parent.is_record_key(&nested.state_key()));
        assert!(nested.is_record_key(&theirs));
        assert!(parent.is_record_key(&parent.record_key(&t, "v1", "ab")));
    }

    #[test]
    fn module_segments_map_back_to_their_prefixes() {
        for prefix in ["checkout/", "apps/checkout/", "a%2Fb/", "a+b/c/", ""] {
            let l = layout(prefix);
            assert_eq!(prefix_of_segment(&segment(l.module())), prefix, "{prefix}");
        }
        assert_ne!(segment("a/b"), segment("a%2Fb"));
        let key = layout("apps/checkout/").intent_key("20261202T010811.123Z", "ab");
        assert_eq!(
            key,
            "_mfe-deploy/in-flight/apps%2Fcheckout/20261202T010811.123Z-ab.json"
        );
    }

    #[test]
    fn a_previews_records_are_its_own_and_never_the_modules() {
        let layout = Layout::new("_mfe-deploy/", "apps/shop/").unwrap();
        let preview = layout.for_preview(42);
        let key = preview.record_key("20261207T000000.000Z", "pr-42-abc1234", "n0nce");
        assert_eq!(
            key,
            "_mfe-deploy/previews/pr-42/modules/apps/shop/records/20261207T000000.000Z-pr-42-abc1234-n0nce.json"
        );
        assert!(!layout.is_record_key(&key));
        assert!(preview.is_record_key(&key));
        assert_eq!(
            preview.in_flight_dir(),
            layout.in_flight_dir(),
            "retention sees its intents"
        );
        assert_eq!(
            preview.version_prefix("pr-42-abc1234"),
            "apps/shop/pr-42-abc1234/"
        );
    }

    #[test]
    fn a_revision_key_names_its_time_and_version_and_only_for_its_module() {
        let layout = Layout::new("_mfe-deploy/", "apps/shop/").unwrap();
        let now = crate::clock::Utc::from_millis(1_700_000_000_000);
        let key = layout.history_key("mfe-manifest.json", &now.compact(), "v1-rc");
        assert_eq!(
            layout.history_revision("mfe-manifest.json", &key),
            Some((
                crate::clock::Utc::parse_compact(&now.compact()).unwrap(),
                "v1-rc"
            ))
        );
        assert_eq!(layout.history_revision("other.json", &key), None);
        let other = Layout::new("_mfe-deploy/", "apps/cart/").unwrap();
        assert_eq!(other.history_revision("mfe-manifest.json", &key), None);
    }

    #[test]
    fn a_module_at_the_bucket_root_keeps_its_build_out_of_the_reserved_prefix() {
        let l = layout("");
        assert_eq!(l.module(), "~root");
        assert_eq!(l.file_key("index.html").unwrap(), "index.html");
        assert!(matches!(
            l.file_key("_mfe-deploy/x.js"),
            Err(LayoutError::FileInReserved { .. })
        ));
        assert!(l.is_reserved("_mfe-deploy/modules/~root/state.json"));
        assert!(!l.is_reserved("index.html"));
    }

    #[test]
    fn prefixes_that_overlap_the_reserved_one_are_refused() {
        assert!(matches!(
            Layout::new("_mfe-deploy/", "_mfe-deploy/x/"),
            Err(LayoutError::ModuleInReserved { .. })
        ));
        assert!(matches!(
            Layout::new("shop/_records/", "shop/"),
            Err(LayoutError::ReservedInModule { .. })
        ));
        assert!(Layout::new("_records/", "shop/").is_ok());
    }

    #[test]
    fn records_prefix_values_are_normalised_or_refused() {
        assert_eq!(
            normalize_records_prefix("_mfe-deploy").as_deref(),
            Some("_mfe-deploy/")
        );
        assert_eq!(
            normalize_records_prefix("/ops/mfe/").as_deref(),
            Some("ops/mfe/")
        );
        for bad in ["", "/", "a//b", "a/../b", "a\nb"] {
            assert_eq!(normalize_records_prefix(bad), None, "{bad:?}");
        }
    }
}
