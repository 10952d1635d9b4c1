//! What the bucket holds under a module prefix, as far as the plan needs to know.

use std::collections::HashMap;

use crate::classify::Headers;
use crate::scan::{EtagMatch, LocalFile};
use crate::state::DeployState;
use crate::store::RemoteObject;

/// The listing, the deploy state, and headers read for keys the state cannot vouch for.
#[derive(Debug, Clone, Default)]
pub struct RemoteView {
    objects: HashMap<String, RemoteObject>,
    state: DeployState,
    prefix: String,
    headers: HashMap<String, Headers>,
}

impl RemoteView {
    pub fn new(prefix: &str, listing: Vec<RemoteObject>, state: Option<DeployState>) -> Self {
        Self {
            objects: listing.into_iter().map(|o| (o.key.clone(), o)).collect(),
            state: state.unwrap_or_default(),
            prefix: prefix.to_owned(),
            headers: HashMap::new(),
        }
    }

    pub fn state(&self) -> &DeployState {
        &self.state
    }

    pub fn object(&self, key: &str) -> Option<&RemoteObject> {
        self.objects.get(key)
    }

    /// Every listed key (the deploy state excluded).
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.objects.keys().map(String::as_str)
    }

    pub fn etag(&self, key: &str) -> Option<&str> {
        self.objects.get(key).map(|o| o.etag.as_str())
    }

    /// Records headers read with HEAD.
    pub fn set_headers(&mut self, key: String, headers: Headers) {
        self.headers.insert(key, headers);
    }

    /// Compares a local file with the object at `key`; `None` when there is none.
    ///
    /// A state record that still matches the listed ETag vouches for the SHA-256 of
    /// the bytes, which works whatever the ETag is (SSE-KMS, copies, other part sizes).
    pub fn content(&self, key: &str, rel_path: &str, file: &LocalFile) -> Option<EtagMatch> {
        let object = self.objects.get(key)?;
        if object.size != file.digest.size {
            return Some(EtagMatch::Different);
        }
        Some(match self.state.trusted(rel_path, &object.etag) {
            Some(record) if record.sha256 == file.digest.sha256_hex() => EtagMatch::Same,
            Some(_) => EtagMatch::Different,
            None => file.digest.compare_etag(&object.etag),
        })
    }

    /// The object's current headers, when known without a request.
    pub fn headers(&self, key: &str, rel_path: &str) -> Option<&Headers> {
        let object = self.objects.get(key)?;
        self.state
            .trusted(rel_path, &object.etag)
            .map(|r| &r.headers)
            .or_else(|| self.headers.get(key))
    }

    /// Keys whose bytes already match but whose headers are unknown: the only
    /// objects that need a HEAD (none once mfe-deploy's state covers the prefix).
    pub fn keys_needing_headers(&self, files: &[LocalFile]) -> Vec<String> {
        files
            .iter()
            .filter_map(|file| {
                let key = format!("{}{}", self.prefix, file.rel_path);
                let same = self.content(&key, &file.rel_path, file) == Some(EtagMatch::Same);
                (same && self.headers(&key, &file.rel_path).is_none()).then_some(key)
            })
            .collect()
    }
}
