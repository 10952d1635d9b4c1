//! In-flight intents: before its first upload, a run that will publish files writes
//! what it is about to make live (exact keys in place, the version's folder when
//! versioned) under `_mfe-deploy/in-flight/`. Until its record names those files,
//! the intent is all that says they are wanted, so every deletion honours it until
//! it expires (`requests.abort-incomplete-after`, the age at which a run is taken
//! for dead and its multipart uploads are aborted too). The run removes it once its
//! record is written, or when it stops; a killed run's intent simply expires.

use serde::{Deserialize, Serialize};

use crate::clock::Utc;
use crate::layout::{self, Layout};
use crate::store::{Body, Condition, ObjectMeta, ObjectStore, StoreError};

/// The `schema` of intents.
pub const INTENT_SCHEMA: &str = "mfe-deploy/in-flight@1";

/// What a run still uploading is about to publish.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Intent {
    pub schema: String,
    pub module: String,
    pub version: String,
    /// When the run wrote it, and until when it is honoured (RFC 3339, UTC).
    pub started: String,
    pub expires: String,
    /// Keys the run writes or relies on (in place: every file of its version).
    #[serde(default)]
    pub keys: Vec<String>,
    /// Folders whose every object it writes or relies on (`prefix/<version>/`).
    #[serde(default)]
    pub prefixes: Vec<String>,
}

impl Intent {
    /// An intent of `layout`'s module, started `now` and honoured for `lifetime_secs`.
    pub fn new(
        layout: &Layout,
        version: &str,
        keys: Vec<String>,
        prefixes: Vec<String>,
        now: Utc,
        lifetime_secs: u64,
    ) -> Self {
        let lifetime = i64::try_from(lifetime_secs.saturating_mul(1000)).unwrap_or(i64::MAX);
        Self {
            schema: INTENT_SCHEMA.to_owned(),
            module: layout.module().to_owned(),
            version: version.to_owned(),
            started: now.rfc3339(),
            expires: Utc::from_millis(now.millis.saturating_add(lifetime)).rfc3339(),
            keys,
            prefixes,
        }
    }

    pub fn expires(&self) -> Option<Utc> {
        Utc::parse_rfc3339(&self.expires)
    }

    pub fn to_json(&self) -> Vec<u8> {
        let mut out = serde_json::to_vec_pretty(self).unwrap_or_default();
        out.push(b'\n');
        out
    }

    fn from_json(bytes: &[u8]) -> Option<Self> {
        serde_json::from_slice::<Self>(bytes)
            .ok()
            .filter(|i| i.schema == INTENT_SCHEMA)
    }
}

/// Writes `intent` (once, at a key of its own); returns the key.
pub async fn write<S: ObjectStore>(
    store: &S,
    layout: &Layout,
    intent: &Intent,
) -> Result<String, StoreError> {
    let expires = intent.expires().unwrap_or_else(Utc::now);
    let key = layout.intent_key(&expires.compact(), &crate::record::new_nonce());
    store
        .put(
            &key,
            Body::Bytes(intent.to_json()),
            &ObjectMeta::private_json(),
            &Condition::Absent,
        )
        .await?;
    Ok(key)
}

/// Removes a run's own intent; a failure only leaves it to expire.
pub async fn remove<S: ObjectStore>(store: &S, key: &str) {
    let failed = match store.delete(&[key.to_owned()]).await {
        Ok(outcome) => outcome.failed.into_iter().next().map(|(_, why)| why),
        Err(e) => Some(e.to_string()),
    };
    if let Some(why) = failed {
        tracing::info!("could not remove the in-flight intent {key} ({why}); it expires by itself");
    }
}

/// A listed intent, from its key alone: whose, and until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub key: String,
    /// The module's prefix (empty at the bucket root).
    pub prefix: String,
    pub expires: Utc,
}

/// Parses an intent key under `dir`.
fn parse(dir: &str, key: &str) -> Option<Listed> {
    let (segment, name) = key.strip_prefix(dir)?.split_once('/')?;
    let expires = Utc::parse_compact(name.split('-').next()?)?;
    Some(Listed {
        key: key.to_owned(),
        prefix: layout::prefix_of_segment(segment),
        expires,
    })
}

/// Every intent in the bucket, from the listing only.
pub async fn list<S: ObjectStore>(store: &S, layout: &Layout) -> Result<Vec<Listed>, StoreError> {
    let dir = layout.in_flight_dir();
    Ok(store
        .list(&dir)
        .await?
        .into_iter()
        .filter_map(|o| parse(&dir, &o.key))
        .collect())
}

/// Whether files of the module at `theirs` can lie under `ours`: one prefix holds
/// the other.
pub fn overlaps(ours: &str, theirs: &str) -> bool {
    ours.starts_with(theirs) || theirs.starts_with(ours)
}

/// The intents that still protect something under `layout`'s prefix, read: those of
/// modules overlapping it that have not expired, and this module's own until a
/// record of the module newer than the intent exists (`newest_record`), expired or
/// not: a run that published an entry and then failed left files only its intent
/// names, and they stay until the module's next record says what is live. An intent
/// that cannot be read is honoured as covering its whole module prefix.
pub async fn read_protecting<S: ObjectStore>(
    store: &S,
    layout: &Layout,
    now: Utc,
    newest_record: Option<Utc>,
) -> Result<Vec<Intent>, StoreError> {
    let mut intents = Vec::new();
    for listed in list(store, layout).await? {
        let own = listed.prefix == layout.prefix();
        if !overlaps(layout.prefix(), &listed.prefix) || (listed.expires <= now && !own) {
            continue;
        }
        let read = store
            .get(&listed.key)
            .await?
            .and_then(|f| Intent::from_json(&f.bytes));
        let superseded = |intent: &Intent| {
            let started = Utc::parse_rfc3339(&intent.started);
            matches!((started, newest_record), (Some(s), Some(r)) if r > s)
        };
        if own && listed.expires <= now && read.as_ref().is_none_or(superseded) {
            continue;
        }
        intents.push(read.unwrap_or_else(|| Intent {
            schema: INTENT_SCHEMA.to_owned(),
            module: listed.prefix.trim_end_matches('/').to_owned(),
            version: String::new(),
            started: String::new(),
            expires: listed.expires.rfc3339(),
            keys: Vec::new(),
            prefixes: vec![listed.prefix.clone()],
        }));
    }
    Ok(intents)
}

/// This module's expired intents, for clean-up once a newer record of the module
/// supersedes them (`newest_record`): from the key, an intent expired before that
/// record was written was started before it.
pub async fn superseded<S: ObjectStore>(
    store: &S,
    layout: &Layout,
    now: Utc,
    newest_record: Option<Utc>,
) -> Result<Vec<String>, StoreError> {
    let Some(newest) = newest_record else {
        return Ok(Vec::new());
    };
    Ok(list(store, layout)
        .await?
        .into_iter()
        .filter(|l| l.prefix == layout.prefix() && l.expires <= now && l.expires < newest)
        .map(|l| l.key)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::DEFAULT_RECORDS_PREFIX;

    #[test]
    fn an_intent_key_names_its_module_and_expiry() {
        let layout = Layout::new(DEFAULT_RECORDS_PREFIX, "apps/checkout/").unwrap();
        let expires = Utc::from_millis(1_764_637_691_123);
        let key = layout.intent_key(&expires.compact(), "ab12");
        let listed = parse(&layout.in_flight_dir(), &key).unwrap();
        assert_eq!(listed.prefix, "apps/checkout/");
        assert_eq!(listed.expires, expires);
        assert_eq!(
            parse(&layout.in_flight_dir(), "_mfe-deploy/in-flight/x.json"),
            None
        );
    }

    #[test]
    fn modules_overlap_when_one_prefix_holds_the_other() {
        assert!(overlaps("apps/", "apps/checkout/"));
        assert!(overlaps("apps/checkout/", "apps/"));
        assert!(overlaps("", "checkout/"));
        assert!(!overlaps("checkout/", "cart/"));
        assert!(!overlaps("app/", "apps/"));
    }
}
