//! What the bucket holds under a module prefix, as far as the plan needs to know.

use std::collections::HashMap;

use crate::model::Headers;
use crate::scan::{EtagMatch, LocalFile};
use crate::state::{DeployState, FileRecord};
use crate::store::{HeadInfo, RemoteObject};

/// The listing, the deploy state, and what HEAD said about objects the state cannot
/// vouch for.
#[derive(Debug, Clone, Default)]
pub struct RemoteView {
    objects: HashMap<String, RemoteObject>,
    state: DeployState,
    /// When the state object was last written (the store's clock).
    state_modified: Option<i64>,
    prefix: String,
    headers: HashMap<String, Headers>,
    /// SHA-256 of objects learnt without the state: from the metadata a HEAD
    /// returned, or by reading the bytes.
    sha256: HashMap<String, String>,
}

impl RemoteView {
    pub fn new(prefix: &str, listing: Vec<RemoteObject>, state: Option<DeployState>) -> Self {
        Self {
            objects: listing.into_iter().map(|o| (o.key.clone(), o)).collect(),
            state: state.unwrap_or_default(),
            state_modified: None,
            prefix: prefix.to_owned(),
            headers: HashMap::new(),
            sha256: HashMap::new(),
        }
    }

    /// The state object's `LastModified`, from the listing.
    pub fn with_state_modified(mut self, modified: Option<i64>) -> Self {
        self.state_modified = modified;
        self
    }

    pub fn state(&self) -> &DeployState {
        &self.state
    }

    /// Every listed key (the deploy state excluded).
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.objects.keys().map(String::as_str)
    }

    pub fn etag(&self, key: &str) -> Option<&str> {
        self.objects
            .get(key)
            .map(|o| o.etag.as_str())
            .filter(|e| !e.is_empty())
    }

    /// Records what HEAD said: the headers, the SHA-256 the writer stored as
    /// metadata, and the ETag when the listing had none.
    pub fn set_head(&mut self, key: String, head: HeadInfo) {
        if let Some(sha) = head.sha256() {
            self.sha256.insert(key.clone(), sha.to_owned());
        }
        if let Some(object) = self.objects.get_mut(&key).filter(|o| o.etag.is_empty()) {
            object.etag = head.etag;
        }
        self.headers.insert(key, head.headers);
    }

    /// Records the SHA-256 of an object's bytes, read and hashed.
    pub fn set_sha256(&mut self, key: String, sha256: String) {
        self.sha256.insert(key, sha256);
    }

    /// The state's record for an object, when it still describes the object: the
    /// listed ETag is the recorded one or, for stores that list no ETags, the object
    /// is the recorded size and was last written no later than the state itself.
    fn record(&self, rel_path: &str, object: &RemoteObject) -> Option<&FileRecord> {
        let record = self.state.files.get(rel_path)?;
        let vouched = if object.etag.is_empty() {
            record.size == object.size
                && matches!((object.last_modified, self.state_modified), (Some(o), Some(s)) if o <= s)
        } else {
            record.etag.trim_matches('"') == object.etag.trim_matches('"')
        };
        vouched.then_some(record)
    }

    /// A deploy record written at `recorded` (seconds) names `key` with this size,
    /// ETag and SHA-256: when the listing shows that very object (same size and ETag;
    /// for a store that lists no ETags, same size and written no later than the
    /// record), its SHA-256 is known without a request, whatever kind of ETag the
    /// store makes.
    pub fn vouch(
        &mut self,
        key: &str,
        size: u64,
        etag: Option<&str>,
        sha256: &str,
        recorded: Option<i64>,
    ) {
        let listed = self.objects.get(key).is_some_and(|o| {
            let same = match (o.etag.is_empty(), etag) {
                (false, Some(etag)) => o.etag.trim_matches('"') == etag.trim_matches('"'),
                (true, _) => matches!((o.last_modified, recorded), (Some(m), Some(r)) if m <= r),
                (false, None) => false,
            };
            o.size == size && same
        });
        if listed {
            self.sha256.insert(key.to_owned(), sha256.to_owned());
            // A store that lists no ETags: the record's is the object's (as a HEAD's
            // would be), for the records this run writes and the copies they allow.
            if let (Some(object), Some(etag)) = (self.objects.get_mut(key), etag)
                && object.etag.is_empty()
            {
                object.etag = etag.to_owned();
            }
        }
    }

    /// The state's record (or a deploy record, [`Self::vouch`]) vouches that the
    /// file's key holds exactly its bytes (size and SHA-256): nothing about the file
    /// needs its MD5.
    pub fn confirms(&self, file: &LocalFile) -> bool {
        let key = format!("{}{}", self.prefix, file.rel_path);
        let local = file.digest.sha256_hex();
        self.objects.get(&key).is_some_and(|object| {
            object.size == file.digest.size
                && (self
                    .record(&file.rel_path, object)
                    .is_some_and(|r| r.sha256 == local)
                    || self.sha256.get(&key) == Some(&local))
        })
    }

    /// Whether the plan or the upload needs the file's MD5: to compare it with the
    /// ETag of an object of its size that the state cannot vouch for, or for the
    /// parts of a multipart upload (`Content-MD5` each). A new file is sent with
    /// the scan's SHA-256 alone.
    pub fn needs_md5(&self, file: &LocalFile) -> bool {
        if self.confirms(file) {
            return false;
        }
        let key = format!("{}{}", self.prefix, file.rel_path);
        file.digest.is_multipart()
            || self
                .objects
                .get(&key)
                .is_some_and(|o| o.size == file.digest.size)
    }

    /// Compares a local file with the object at `key`; `None` when there is none.
    ///
    /// A state record that still describes the object vouches for the SHA-256 of its
    /// bytes, which works whatever the ETag is (SSE-KMS, copies, other part sizes).
    pub fn content(&self, key: &str, rel_path: &str, file: &LocalFile) -> Option<EtagMatch> {
        let object = self.objects.get(key)?;
        if object.size != file.digest.size {
            return Some(EtagMatch::Different);
        }
        let local = file.digest.sha256_hex();
        let known = self
            .record(rel_path, object)
            .map(|r| r.sha256.as_str())
            .or_else(|| self.sha256.get(key).map(String::as_str));
        Some(match known {
            Some(sha) if sha == local => EtagMatch::Same,
            Some(_) => EtagMatch::Different,
            None => file.digest.compare_etag(&object.etag),
        })
    }

    /// The object's current headers, when known without a request.
    pub fn headers(&self, key: &str, rel_path: &str) -> Option<&Headers> {
        let object = self.objects.get(key)?;
        self.record(rel_path, object)
            .map(|r| &r.headers)
            .or_else(|| self.headers.get(key))
    }

    /// Keys that need a HEAD: bytes that already match but whose headers are
    /// unknown, objects listed without an ETag, and objects whose ETag is not an MD5
    /// (SSE-KMS, other tools' multipart uploads), which the state cannot vouch for:
    /// the HEAD's SHA-256 metadata decides. None once mfe-deploy's state covers the
    /// prefix.
    pub fn keys_needing_head(&self, files: &[LocalFile]) -> Vec<String> {
        files
            .iter()
            .filter_map(|file| {
                let key = format!("{}{}", self.prefix, file.rel_path);
                let object = self.objects.get(&key)?;
                if self.headers.contains_key(&key) || self.record(&file.rel_path, object).is_some()
                {
                    return None;
                }
                let content = self.content(&key, &file.rel_path, file);
                let unknown = object.size == file.digest.size
                    && !self.confirms(file)
                    && (object.etag.is_empty() || content == Some(EtagMatch::Unknown));
                (unknown || content == Some(EtagMatch::Same)).then_some(key)
            })
            .collect()
    }

    /// Keys whose content the listing cannot tell (an ETag that is not an MD5, or
    /// none, at the local size): a HEAD of their SHA-256 metadata decides. Headers
    /// are not needed (versioned mode never rewrites them).
    pub fn keys_needing_content_head(&self, files: &[LocalFile]) -> Vec<String> {
        files
            .iter()
            .filter_map(|file| {
                let key = format!("{}{}", self.prefix, file.rel_path);
                let object = self.objects.get(&key)?;
                let unknown = object.size == file.digest.size
                    && !self.confirms(file)
                    && (object.etag.is_empty()
                        || self.content(&key, &file.rel_path, file) == Some(EtagMatch::Unknown));
                (unknown && !self.headers.contains_key(&key)).then_some(key)
            })
            .collect()
    }

    /// Keys whose content is still unknown after the HEADs (no MD5 ETag, no record,
    /// no SHA-256 metadata): their bytes must be read and hashed before the plan can
    /// say whether they changed.
    pub fn keys_needing_read(&self, files: &[LocalFile]) -> Vec<String> {
        files
            .iter()
            .filter_map(|file| {
                let key = format!("{}{}", self.prefix, file.rel_path);
                (self.content(&key, &file.rel_path, file) == Some(EtagMatch::Unknown))
                    .then_some(key)
            })
            .collect()
    }
}
