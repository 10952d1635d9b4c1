//! Listings longer than a page: one page after another, or — when the caller can
//! guess where the keys are — key ranges listed at once.
//!
//! S3 returns at most [`PAGE_SIZE`] keys a request, and each page of a paginated
//! listing needs the last key of the one before, so a prefix of 6,000 objects costs
//! six round trips in a row. A range `(after, up_to]` can be listed without waiting
//! for the ranges before it (`start-after` takes any key, present or not), so with
//! good split keys the same pages go out together: one round trip.

use futures::{StreamExt, TryStreamExt, stream};

use super::{ObjectStore, RemoteObject, StoreError};

/// Keys S3 returns in one ListObjectsV2 page at most.
pub const PAGE_SIZE: usize = 1_000;

/// Ranges of one prefix in flight at once.
const RANGE_CONCURRENCY: usize = 16;

/// One page of a listing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Page {
    /// In key order.
    pub objects: Vec<RemoteObject>,
    /// More keys follow the last one.
    pub truncated: bool,
}

/// Every object under `prefix` after `start_after`, one page after another.
pub async fn all_after<S: ObjectStore + ?Sized>(
    store: &S,
    prefix: &str,
    start_after: Option<&str>,
) -> Result<Vec<RemoteObject>, StoreError> {
    range(store, prefix, start_after, None).await
}

/// The objects in `(after, up_to]` (unbounded when `None`), one page after another.
async fn range<S: ObjectStore + ?Sized>(
    store: &S,
    prefix: &str,
    after: Option<&str>,
    up_to: Option<&str>,
) -> Result<Vec<RemoteObject>, StoreError> {
    let mut objects: Vec<RemoteObject> = Vec::new();
    let mut cursor = after.map(str::to_owned);
    loop {
        let page = store.list_page(prefix, cursor.as_deref()).await?;
        let Some(last) = page.objects.last().map(|o| o.key.clone()) else {
            return Ok(objects);
        };
        let passed = up_to.is_some_and(|bound| last.as_str() >= bound);
        objects.extend(
            page.objects
                .into_iter()
                .filter(|o| up_to.is_none_or(|bound| o.key.as_str() <= bound)),
        );
        if passed || !page.truncated {
            return Ok(objects);
        }
        cursor = Some(last);
    }
}

/// Split keys for listing what follows `after` in ranges of `every` keys (a page):
/// every `every`th of `expected` (the keys the caller believes are there, sorted)
/// that sorts after `after`, but never the last (the final range is open). When the
/// guess is right, each range is exactly one page.
fn splits<'a>(expected: &'a [String], after: &str, every: usize) -> Vec<&'a str> {
    let start = expected.partition_point(|k| k.as_str() <= after);
    let tail = &expected[start..];
    tail[..tail.len().saturating_sub(1)]
        .iter()
        .skip(every - 1)
        .step_by(every)
        .map(String::as_str)
        .collect()
}

/// Every object under `prefix` after `after`, listed as the ranges `splits` (sorted,
/// each after `after`) cut it into, at once. The result is the same as
/// [`all_after`]'s whatever the splits are; they decide only how many pages go out
/// together.
async fn in_ranges<S: ObjectStore + ?Sized>(
    store: &S,
    prefix: &str,
    after: Option<&str>,
    splits: &[&str],
) -> Result<Vec<RemoteObject>, StoreError> {
    let lows = std::iter::once(after).chain(splits.iter().copied().map(Some));
    let highs = splits
        .iter()
        .copied()
        .map(Some)
        .chain(std::iter::once(None));
    let ranges: Vec<Vec<RemoteObject>> = stream::iter(lows.zip(highs))
        .map(|(low, high)| range(store, prefix, low, high))
        .buffered(RANGE_CONCURRENCY)
        .try_collect()
        .await?;
    Ok(ranges.into_iter().flatten().collect())
}

/// What was listed ahead of the first page: everything after `from`, a key the
/// caller expected the first page to reach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ahead {
    from: String,
    objects: Vec<RemoteObject>,
}

/// Lists, in ranges at once, what follows the first page the caller expects
/// (`expected`: the keys it believes are under `prefix`, sorted), while that page is
/// still being listed; `None` when `expected` fits in one page.
pub async fn ahead<S: ObjectStore + ?Sized>(
    store: &S,
    prefix: &str,
    expected: &[String],
) -> Result<Option<Ahead>, StoreError> {
    ahead_every(store, prefix, expected, PAGE_SIZE).await
}

/// [`ahead`] for a store whose pages hold `every` keys.
async fn ahead_every<S: ObjectStore + ?Sized>(
    store: &S,
    prefix: &str,
    expected: &[String],
    every: usize,
) -> Result<Option<Ahead>, StoreError> {
    let cut = splits(expected, "", every);
    let Some((from, rest)) = cut.split_first() else {
        return Ok(None);
    };
    let objects = in_ranges(store, prefix, Some(from), rest).await?;
    Ok(Some(Ahead {
        from: (*from).to_owned(),
        objects,
    }))
}

/// The whole listing of `prefix` from its first page and what was listed ahead of
/// it: the first page up to where the ranges ahead begin, the keys between them
/// when the page stopped short (more keys than expected), and the rest.
pub async fn join<S: ObjectStore + ?Sized>(
    store: &S,
    prefix: &str,
    first: Page,
    ahead: Option<Ahead>,
) -> Result<Vec<RemoteObject>, StoreError> {
    let mut objects = first.objects;
    let last = objects.last().map(|o| o.key.clone());
    match ahead {
        Some(Ahead {
            from,
            objects: rest,
        }) => {
            objects.retain(|o| o.key <= from);
            if first.truncated
                && let Some(last) = last.filter(|last| *last < from)
            {
                objects.extend(range(store, prefix, Some(&last), Some(&from)).await?);
            }
            objects.extend(rest);
        }
        None => {
            if first.truncated
                && let Some(last) = last
            {
                objects.extend(all_after(store, prefix, Some(&last)).await?);
            }
        }
    }
    Ok(objects)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::model::Headers;
    use crate::store::memory::MemoryStore;

    fn store_with(keys: &[String], page: usize) -> MemoryStore {
        let store = MemoryStore::new();
        store.set_page_size(page);
        for key in keys {
            store.insert(
                key,
                b"x",
                Headers {
                    cache_control: String::new(),
                    content_type: String::new(),
                },
            );
        }
        store
    }

    fn keys(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("m/{i:05}.js")).collect()
    }

    fn names(objects: &[RemoteObject]) -> Vec<&str> {
        objects.iter().map(|o| o.key.as_str()).collect()
    }

    #[test]
    fn splits_fall_every_page_after_the_start() {
        let expected = keys(3_500);
        assert_eq!(
            splits(&expected, "m/00499.js", PAGE_SIZE),
            ["m/01499.js", "m/02499.js"],
            "3,000 keys after the start: two splits, three ranges of at most a page"
        );
        assert!(splits(&expected, "m/02500.js", PAGE_SIZE).is_empty());
        assert!(splits(&[], "", PAGE_SIZE).is_empty());
    }

    #[tokio::test]
    async fn a_right_guess_lists_each_range_in_one_page_all_sent_before_any_answer() {
        let all = keys(4_000);
        let store = store_with(&all, PAGE_SIZE);
        store.overlap("list");
        let first = store.list_page("m/", None).await.unwrap();
        let after = first.objects.last().map(|o| o.key.clone()).unwrap();
        let cut = splits(&all, &after, PAGE_SIZE);
        assert_eq!(cut.len(), 2);

        let rest = in_ranges(&store, "m/", Some(&after), &cut).await.unwrap();

        assert_eq!(rest.len(), 3_000);
        assert_eq!(
            names(&rest),
            all[1_000..].iter().map(String::as_str).collect::<Vec<_>>()
        );
        assert_eq!(store.calls("list"), 1 + 3, "one page per range");
        assert_eq!(
            store.most_at_once("list"),
            3,
            "the three ranges went out together"
        );
    }

    #[tokio::test]
    async fn a_range_holding_more_than_a_page_goes_on_until_its_bound() {
        let mut all = keys(2_000);
        let expected = all.clone();
        all.extend((0..10).map(|i| format!("m/00500.js-extra{i}")));
        all.sort();
        let store = store_with(&all, PAGE_SIZE);

        let listed = in_ranges(&store, "m/", None, &splits(&expected, "", PAGE_SIZE))
            .await
            .unwrap();

        assert_eq!(
            names(&listed),
            all.iter().map(String::as_str).collect::<Vec<_>>()
        );
        assert_eq!(
            store.calls("list"),
            3,
            "the first range needed a second page"
        );
    }

    proptest! {
        #[test]
        fn ranges_list_exactly_what_one_page_after_another_does(
            present in proptest::collection::btree_set("[a-d]{1,4}", 0..60),
            expected in proptest::collection::btree_set("[a-e]{1,4}", 0..60),
            cut_every in 1usize..7,
            page in 1usize..9,
            after in proptest::option::of("[a-d]{1,3}"),
        ) {
            let present: Vec<String> = present.into_iter().map(|k| format!("p/{k}")).collect();
            let expected: Vec<String> = expected.into_iter().map(|k| format!("p/{k}")).collect();
            let after = after.map(|k| format!("p/{k}"));
            let low = after.clone().unwrap_or_default();
            let cut: Vec<&str> = expected
                .iter()
                .filter(|k| k.as_str() > low.as_str())
                .step_by(cut_every)
                .map(String::as_str)
                .collect();
            let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
            let store = store_with(&present, page);
            let (one_by_one, ranged) = runtime.block_on(async {
                (
                    all_after(&store, "p/", after.as_deref()).await.unwrap(),
                    in_ranges(&store, "p/", after.as_deref(), &cut).await.unwrap(),
                )
            });
            let wanted: Vec<&str> = present
                .iter()
                .map(String::as_str)
                .filter(|k| *k > low.as_str())
                .collect();
            prop_assert_eq!(names(&one_by_one), wanted);
            prop_assert_eq!(ranged, one_by_one);
        }

        #[test]
        fn the_first_page_joined_with_what_was_listed_ahead_is_the_whole_listing(
            present in proptest::collection::btree_set("[a-d]{1,4}", 0..80),
            expected in proptest::collection::btree_set("[a-e]{1,4}", 0..80),
            page in 1usize..9,
        ) {
            let present: Vec<String> = present.into_iter().map(|k| format!("p/{k}")).collect();
            let expected: Vec<String> = expected.into_iter().map(|k| format!("p/{k}")).collect();
            let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
            let store = store_with(&present, page);
            let joined = runtime.block_on(async {
                let first = store.list_page("p/", None).await.unwrap();
                let ahead = ahead_every(&store, "p/", &expected, page).await.unwrap();
                join(&store, "p/", first, ahead).await.unwrap()
            });
            prop_assert_eq!(names(&joined), present.iter().map(String::as_str).collect::<Vec<_>>());
        }
    }
}
