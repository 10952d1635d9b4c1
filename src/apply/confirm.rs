//! Right before a phase publishes a file, the files it names that this deploy did
//! not write are checked to be still in the bucket: another writer (a prune, a
//! hand-made delete) may have removed one since the listing.

use std::collections::BTreeMap;

use futures::{StreamExt, stream};

use super::FileError;
use crate::plan::Plan;
use crate::references::Reference;
use crate::store::ObjectStore;

/// Above this many keys under the plan's prefix, one listing is cheaper than a HEAD
/// per key.
const HEAD_LIMIT: usize = 32;
/// HEADs in flight.
const CONCURRENCY: usize = 16;

/// The references that are no longer there, each with who names it; a key outside
/// the plan's prefix that cannot be read is not one of them (it was not checkable
/// at plan time either).
pub async fn missing<S: ObjectStore>(
    store: &S,
    plan: &Plan,
    references: Vec<&Reference>,
) -> Vec<(String, FileError)> {
    let mut named_by: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for r in references {
        named_by.entry(&r.key).or_default().push(&r.from);
    }
    let inside = named_by
        .keys()
        .filter(|k| k.starts_with(plan.prefix.as_str()))
        .count();
    let listed = if inside > HEAD_LIMIT {
        match store.list(&plan.prefix).await {
            Ok(objects) => Some(
                objects
                    .into_iter()
                    .map(|o| o.key)
                    .collect::<std::collections::BTreeSet<_>>(),
            ),
            Err(e) => {
                return vec![(plan.prefix.clone(), FileError::Store(e))];
            }
        }
    } else {
        None
    };
    let checks = named_by.iter().map(|(key, from)| {
        let listed = listed.as_ref();
        async move {
            let inside = key.starts_with(plan.prefix.as_str());
            let present = match listed {
                Some(keys) if inside => Ok(keys.contains(*key)),
                _ => store.head(key).await.map(|h| h.is_some()),
            };
            match present {
                Ok(true) => None,
                Ok(false) => Some((
                    from.join(", "),
                    FileError::MissingReference {
                        bucket: plan.bucket.clone(),
                        key: (*key).to_owned(),
                        named_by: from.join(", "),
                    },
                )),
                Err(e) if inside => Some((from.join(", "), FileError::Store(e))),
                Err(e) => {
                    tracing::warn!(
                        "{key} could not be checked before publishing {}: {e}",
                        from.join(", ")
                    );
                    None
                }
            }
        }
    });
    let mut failures: Vec<_> = stream::iter(checks)
        .buffer_unordered(CONCURRENCY)
        .filter_map(|f| async move { f })
        .collect()
        .await;
    failures.sort_by(|a, b| a.0.cmp(&b.0));
    failures
}
