//! Publishing a version through the discovery manifests: the entry a version gets,
//! the documents it moves, and their invalidation. Versioned deploys and rollbacks
//! publish this way.

use super::pipeline::{Invalidating, Published};
use super::{Context, Job};
use crate::cdn::{Cdn, DistributionInfo};
use crate::clock::Utc;
use crate::error::Error;
use crate::invalidate::InvalidationPlan;
use crate::layout::Layout;
use crate::manifest::{self, Format, LiveEntry, Revision};
use crate::record::History;
use crate::report::public_url_of;
use crate::request::{DeployRequest, ManifestKeys};
use crate::store::{Fetched, ObjectStore};

/// The documents to update, native first.
pub fn targets(keys: &ManifestKeys) -> Vec<(Format, &str)> {
    let mut targets = vec![(Format::Native, keys.native.as_str())];
    for (format, key) in [
        (Format::Flat, &keys.flat),
        (Format::ImportMap, &keys.import_map),
        (Format::ModuleFederation, &keys.module_federation),
    ] {
        if let Some(key) = key {
            targets.push((format, key.as_str()));
        }
    }
    targets
}

/// The manifests' URLs, what a run that moves them invalidates (with what earlier
/// runs still owe).
pub fn manifest_invalidation(
    job: &Job<'_>,
    distribution: &DistributionInfo,
    history: &History,
) -> InvalidationPlan {
    let (d, bucket) = (distribution, &job.request.bucket);
    let urls = targets(&job.request.manifest)
        .into_iter()
        .filter_map(|(format, key)| {
            let why = format!("the {} manifest moves", format.as_str());
            d.url_of(bucket, key).map(|url| (url, why))
        })
        .collect();
    let root = d.url_of(bucket, job.layout.prefix()).unwrap_or_default();
    InvalidationPlan::of_urls(urls).with_owed(&history.owed(&d.id), &root)
}

/// The native manifest's URL alone, what a canary step invalidates (the other
/// documents keep naming the stable version), with what earlier runs still owe.
pub fn native_invalidation(
    job: &Job<'_>,
    distribution: &DistributionInfo,
    history: &History,
) -> InvalidationPlan {
    let native = &job.request.manifest.native;
    document_invalidation(
        job,
        distribution,
        history,
        native,
        "the native manifest's canary moves",
    )
}

/// One document's URL (`key`), invalidated because `why`, with what earlier runs
/// still owe.
pub fn document_invalidation(
    job: &Job<'_>,
    distribution: &DistributionInfo,
    history: &History,
    key: &str,
    why: &str,
) -> InvalidationPlan {
    let (d, bucket) = (distribution, &job.request.bucket);
    let urls = d
        .url_of(bucket, key)
        .map(|url| (url, why.to_owned()))
        .into_iter()
        .collect();
    let root = d.url_of(bucket, job.layout.prefix()).unwrap_or_default();
    InvalidationPlan::of_urls(urls).with_owed(&history.owed(&d.id), &root)
}

/// Nothing of this run to invalidate, only what earlier runs still owe: a run that
/// moved nothing still makes an invalidation a failed run left owed.
pub fn owed_only(job: &Job<'_>, invalidating: &Invalidating<'_>) -> InvalidationPlan {
    match invalidating.distribution {
        Some(d) => {
            let root = d.url_of(&job.request.bucket, job.layout.prefix());
            InvalidationPlan::default()
                .with_owed(&invalidating.history.owed(&d.id), &root.unwrap_or_default())
        }
        None => InvalidationPlan::default(),
    }
}

/// The native manifest's bytes, when there is one.
pub async fn read_native<S: ObjectStore>(
    store: &S,
    keys: &ManifestKeys,
) -> Result<Option<Fetched>, Error> {
    store.get(&keys.native).await.map_err(Error::Remote)
}

/// What a version's manifest entry is made of.
pub struct Parts<'a> {
    pub version: &'a str,
    /// The entry's path in the build, and its bytes.
    pub entry_rel: &'a str,
    pub entry: &'a [u8],
    /// The version's `mf-manifest.json`, when it has one.
    pub mf_manifest: Option<&'a [u8]>,
    pub commit: Option<String>,
}

/// What was live before a versioned run: the version the document it publishes to
/// named (not a newer canary's or preview's record that most users never saw), else
/// the newest record's (a module no document names yet).
pub fn previous_version(live: Option<&LiveEntry>, history: &History) -> Option<String> {
    live.map(|l| l.version.clone())
        .or_else(|| history.latest().map(|(_, v)| v.to_owned()))
}

/// The manifests' entry for a published version of `layout`'s module, its URLs
/// under `public` (root-relative without one).
pub fn live_entry(
    public: Option<&str>,
    layout: &Layout,
    parts: &Parts<'_>,
    live: Option<&LiveEntry>,
    deployed: String,
) -> LiveEntry {
    let prefix = layout.version_prefix(parts.version);
    LiveEntry {
        name: parts
            .mf_manifest
            .and_then(manifest::federation_name)
            .unwrap_or_else(|| layout.module().to_owned()),
        entry: public_url_of(public, &format!("{prefix}{}", parts.entry_rel)),
        mf_manifest: parts
            .mf_manifest
            .map(|_| public_url_of(public, &format!("{prefix}mf-manifest.json"))),
        version: parts.version.to_owned(),
        integrity: manifest::integrity(parts.entry),
        deployed,
        commit: parts.commit.clone(),
        previous: live.map(|l| l.version.clone()),
        canary: None,
    }
}

/// Moves the manifests to `next` when the run moves what is live; otherwise moves
/// the documents a failed run left behind to the live entry. Invalidates what it
/// planned when it moved, else only the documents it repaired (with what earlier
/// runs owe). `read` is the native document as this run read it (see [`switch`]).
pub async fn publish<S: ObjectStore, C: Cdn>(
    ctx: &Context<'_, S, C>,
    job: &Job<'_>,
    invalidating: Invalidating<'_>,
    live: Option<&LiveEntry>,
    next: Option<LiveEntry>,
    time: Utc,
    read: Option<Option<Fetched>>,
) -> Result<Published, Error> {
    let (request, layout) = (job.request, job.layout);
    let Invalidating {
        planned,
        distribution,
        history,
    } = invalidating;
    if let Some(entry) = next {
        let switched = switch(
            ctx.store,
            ctx.manifests,
            request,
            layout,
            &entry,
            time,
            read,
        )
        .await?;
        return Ok(Published {
            invalidation: planned,
            moved: switched.moved,
            revision: switched.revision,
        });
    }
    let Switched { moved, revision } = match live {
        Some(entry) if targets(&request.manifest).len() > 1 => {
            switch(ctx.store, ctx.manifests, request, layout, entry, time, read).await?
        }
        _ => Switched {
            moved: Vec::new(),
            revision: None,
        },
    };
    let invalidation = match distribution {
        Some(d) => InvalidationPlan::of_urls(
            moved
                .iter()
                .filter_map(|key| {
                    let why = "a manifest a failed run left behind moves".to_owned();
                    d.url_of(&request.bucket, key).map(|url| (url, why))
                })
                .collect(),
        )
        .with_owed(&history.owed(&d.id), ""),
        None => InvalidationPlan::default(),
    };
    Ok(Published {
        invalidation,
        moved,
        revision,
    })
}

/// Writes `entry` into the native manifest alone (a canary step: the flat, import-map
/// and Module Federation documents have no canary and keep the stable version), with
/// its revision to keep in the history.
pub async fn native<S: ObjectStore, C: Cdn>(
    ctx: &Context<'_, S, C>,
    job: &Job<'_>,
    entry: &LiveEntry,
    time: Utc,
    read: Option<Option<Fetched>>,
) -> Result<Switched, Error> {
    let request = job.request;
    let only = DeployRequest {
        manifest: crate::request::ManifestKeys {
            flat: None,
            import_map: None,
            module_federation: None,
            ..request.manifest.clone()
        },
        ..request.clone()
    };
    switch(
        ctx.store,
        ctx.manifests,
        &only,
        job.layout,
        entry,
        time,
        read,
    )
    .await
}

/// Merges `entry` into a pull request's overlay at `key` (a conditional write, merged
/// like the manifest's, so two modules of one pull request end in one overlay).
/// Returns the key when it changed.
pub async fn overlay<S: ObjectStore, C: Cdn>(
    ctx: &Context<'_, S, C>,
    job: &Job<'_>,
    key: &str,
    entry: &LiveEntry,
) -> Result<Vec<String>, Error> {
    let (bucket, module) = (&job.request.bucket, job.layout.module());
    let updated = match ctx.manifests {
        Some(queue) => {
            queue
                .update(ctx.store, bucket, key, Format::Native, module, entry)
                .await
        }
        None => {
            manifest::update(
                ctx.store,
                bucket,
                key,
                Format::Native,
                (module, entry),
                None,
            )
            .await
        }
    };
    let updated = updated.map_err(|source| {
        Error::Switch(Box::new(crate::error::SwitchFailure {
            version: entry.version.clone(),
            moved: Vec::new(),
            left: vec![key.to_owned()],
            source,
        }))
    })?;
    tracing::info!("preview overlay {key}: {module} → {}", entry.version);
    Ok(if updated.moved() {
        vec![key.to_owned()]
    } else {
        Vec::new()
    })
}

/// Moves every manifest document that does not name `entry` yet (each compared and
/// moved on its own, so a re-run repairs a document a failed run left behind) and
/// returns the native revision to keep in the history. The native document goes
/// first (when it fails, nothing moved); the other formats then go together. `read` is the native document as this run read it, merged into
/// without reading it again. Returns the keys it moved; a failure says which
/// documents name what now.
pub async fn switch<S: ObjectStore>(
    store: &S,
    queue: Option<&manifest::Ticket>,
    request: &DeployRequest,
    layout: &Layout,
    entry: &LiveEntry,
    time: Utc,
    read: Option<Option<Fetched>>,
) -> Result<Switched, Error> {
    let targets = targets(&request.manifest);
    let (bucket, module) = (&request.bucket, layout.module());
    let one = |format: Format, key: String, read| async move {
        let updated = match queue {
            Some(queue) => {
                queue
                    .update(store, bucket, &key, format, module, entry)
                    .await
            }
            None => manifest::update(store, bucket, &key, format, (module, entry), read).await,
        };
        if let Ok(updated) = &updated
            && updated.moved()
        {
            tracing::info!(
                "{} manifest {key}: {module} → {} ({} attempt(s))",
                format.as_str(),
                entry.version,
                updated.attempts
            );
        }
        (key, updated)
    };
    let failed = |moved: Vec<String>, left: Vec<String>, source| {
        Error::Switch(Box::new(crate::error::SwitchFailure {
            version: entry.version.clone(),
            moved,
            left,
            source,
        }))
    };
    let (format, native_key) = targets[0];
    let (_, native) = one(format, native_key.to_owned(), read).await;
    let native = native.map_err(|source| {
        let left = targets.iter().map(|(_, k)| (*k).to_owned()).collect();
        failed(Vec::new(), left, source)
    })?;
    let revision = native.moved().then(|| {
        let key = layout.history_key(native_key, &time.compact(), &entry.version);
        Revision::new(key, native.written.clone())
    });
    let others = targets[1..]
        .iter()
        .map(|&(format, key)| one(format, key.to_owned(), None));
    let others = futures::future::join_all(others).await;
    let mut moved: Vec<String> = Vec::new();
    if native.moved() {
        moved.push(native_key.to_owned());
    }
    let (mut left, mut failure) = (Vec::new(), None);
    for (key, updated) in others {
        match updated {
            Ok(updated) if updated.moved() => moved.push(key),
            Ok(_) => {}
            Err(source) => {
                left.push(key);
                failure.get_or_insert(source);
            }
        }
    }
    match failure {
        None => Ok(Switched { moved, revision }),
        Some(source) => {
            if let Some(revision) = revision {
                revision.keep(store).await;
            }
            Err(failed(moved, left, source))
        }
    }
}

/// What [`switch`] moved, and the revision it leaves its caller to keep (while it
/// goes on with the invalidation and the pointer).
#[derive(Debug)]
pub struct Switched {
    pub moved: Vec<String>,
    pub revision: Option<Revision>,
}

/// Refuses a build whose federation name another module of the manifest declares:
/// the flat, import-map and Module Federation documents (and shells) name remotes by
/// it, so one module would silently replace the other there.
pub fn refuse_taken_name(
    request: &DeployRequest,
    layout: &Layout,
    native: Option<&[u8]>,
    files: &[crate::scan::LocalFile],
) -> Result<(), Error> {
    let Some(native) = native else {
        return Ok(());
    };
    let name = files
        .iter()
        .find(|f| f.rel_path == "mf-manifest.json")
        .and_then(|f| std::fs::read(&f.abs_path).ok())
        .and_then(|bytes| manifest::federation_name(&bytes))
        .unwrap_or_else(|| layout.module().to_owned());
    match manifest::name_taken(native, layout.module(), &name) {
        Some(other) => Err(Error::NameTaken {
            name,
            module: layout.module().to_owned(),
            other,
            manifest: format!("s3://{}/{}", request.bucket, request.manifest.native),
        }),
        None => Ok(()),
    }
}
