//! A module's rollout, as transitions of its native manifest entry: a canary starts or
//! moves, is promoted to stable for everyone, or is aborted. Pure; the deploy modes
//! write what these return with the manifest's conditional merge.

use super::{Canary, LiveEntry};

/// Why a rollout step cannot be taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RolloutError {
    /// A canary needs a stable version to roll out from.
    #[error(
        "`{module}` has no stable version in the manifest to roll out from: deploy it once without `rollout`"
    )]
    NoStable { module: String },
    /// Promote or abort with no canary live.
    #[error(
        "`{module}` has no canary live, so there is nothing to {step}: start one with `rollout: <N>%`"
    )]
    NoCanary { module: String, step: &'static str },
    /// A step names a version that is not the live canary.
    #[error(
        "`version: {asked}` is not the canary of `{module}` (the live canary is `{canary}`): nothing was changed; run the step without `version`, or with the canary's"
    )]
    NotTheCanary {
        module: String,
        asked: String,
        canary: String,
    },
    /// The canary would be the stable version itself.
    #[error(
        "`{version}` is already the stable version of `{module}`: a canary must be another version"
    )]
    Stable { module: String, version: String },
}

/// `stable` with `candidate` as its canary at `percent`. The same version as the live
/// canary keeps its rollout (id and start) and moves its percentage; another version
/// starts a new rollout with `id`.
pub fn canary(
    module: &str,
    stable: Option<&LiveEntry>,
    candidate: &LiveEntry,
    percent: u8,
    now: &str,
    id: String,
) -> Result<LiveEntry, RolloutError> {
    let stable = stable.ok_or_else(|| RolloutError::NoStable {
        module: module.to_owned(),
    })?;
    if candidate.version == stable.version {
        return Err(RolloutError::Stable {
            module: module.to_owned(),
            version: candidate.version.clone(),
        });
    }
    let (rollout, started) = match &stable.canary {
        Some(c) if c.version == candidate.version => (c.rollout.clone(), c.started.clone()),
        _ => (id, now.to_owned()),
    };
    Ok(LiveEntry {
        canary: Some(Canary {
            version: candidate.version.clone(),
            entry: candidate.entry.clone(),
            mf_manifest: candidate.mf_manifest.clone(),
            integrity: candidate.integrity.clone(),
            percent,
            rollout,
            started,
            commit: candidate.commit.clone(),
        }),
        ..stable.clone()
    })
}

/// The canary made the stable version for everyone (the stable one becomes its
/// `previous`), with no canary left.
pub fn promote(
    module: &str,
    live: Option<&LiveEntry>,
    now: &str,
) -> Result<LiveEntry, RolloutError> {
    let (stable, canary) = with_canary(module, live, "promote")?;
    Ok(LiveEntry {
        name: stable.name.clone(),
        entry: canary.entry.clone(),
        mf_manifest: canary.mf_manifest.clone(),
        version: canary.version.clone(),
        integrity: canary.integrity.clone(),
        deployed: now.to_owned(),
        commit: canary.commit.clone(),
        previous: Some(stable.version.clone()),
        canary: None,
    })
}

/// The stable version for everyone again, the canary removed.
pub fn abort(module: &str, live: Option<&LiveEntry>) -> Result<LiveEntry, RolloutError> {
    let (stable, _) = with_canary(module, live, "abort")?;
    Ok(LiveEntry {
        canary: None,
        ..stable.clone()
    })
}

fn with_canary<'a>(
    module: &str,
    live: Option<&'a LiveEntry>,
    step: &'static str,
) -> Result<(&'a LiveEntry, &'a Canary), RolloutError> {
    let no_canary = || RolloutError::NoCanary {
        module: module.to_owned(),
        step,
    };
    let stable = live.ok_or_else(no_canary)?;
    let canary = stable.canary.as_ref().ok_or_else(no_canary)?;
    Ok((stable, canary))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(version: &str) -> LiveEntry {
        LiveEntry {
            name: "checkout".to_owned(),
            entry: format!("/checkout/{version}/remoteEntry.js"),
            mf_manifest: None,
            version: version.to_owned(),
            integrity: format!("sha384-{version}"),
            deployed: "2026-12-01T00:00:00.000Z".to_owned(),
            commit: None,
            previous: None,
            canary: None,
        }
    }

    const T1: &str = "2026-12-07T10:00:00.000Z";
    const T2: &str = "2026-12-07T11:00:00.000Z";

    #[test]
    fn a_canary_starts_keeps_its_rollout_while_it_moves_and_a_new_version_starts_anew() {
        let stable = entry("v1");
        let at10 = canary("checkout", Some(&stable), &entry("v2"), 10, T1, "r1".into()).unwrap();
        assert_eq!(at10.version, "v1", "stable stays");
        let c = at10.canary.as_ref().unwrap();
        assert_eq!(
            (
                c.version.as_str(),
                c.percent,
                c.rollout.as_str(),
                c.started.as_str()
            ),
            ("v2", 10, "r1", T1)
        );
        let at50 = canary("checkout", Some(&at10), &entry("v2"), 50, T2, "r2".into()).unwrap();
        let c = at50.canary.as_ref().unwrap();
        assert_eq!(
            (c.percent, c.rollout.as_str(), c.started.as_str()),
            (50, "r1", T1)
        );
        let other = canary("checkout", Some(&at50), &entry("v3"), 10, T2, "r3".into()).unwrap();
        let c = other.canary.as_ref().unwrap();
        assert_eq!(
            (c.version.as_str(), c.rollout.as_str(), c.started.as_str()),
            ("v3", "r3", T2)
        );
    }

    #[test]
    fn promote_makes_the_canary_stable_and_abort_removes_it() {
        let at10 = canary(
            "checkout",
            Some(&entry("v1")),
            &entry("v2"),
            10,
            T1,
            "r1".into(),
        )
        .unwrap();
        let promoted = promote("checkout", Some(&at10), T2).unwrap();
        assert_eq!(promoted.version, "v2");
        assert_eq!(promoted.entry, "/checkout/v2/remoteEntry.js");
        assert_eq!(promoted.previous.as_deref(), Some("v1"));
        assert_eq!(
            (promoted.canary.as_ref(), promoted.deployed.as_str()),
            (None, T2)
        );
        let aborted = abort("checkout", Some(&at10)).unwrap();
        assert_eq!(aborted, entry("v1"));
    }

    #[test]
    fn steps_that_cannot_be_taken_say_why() {
        let stable = entry("v1");
        assert_eq!(
            canary("checkout", None, &entry("v2"), 10, T1, "r".into()),
            Err(RolloutError::NoStable {
                module: "checkout".into()
            })
        );
        assert!(matches!(
            canary("checkout", Some(&stable), &entry("v1"), 10, T1, "r".into()),
            Err(RolloutError::Stable { .. })
        ));
        for result in [
            promote("checkout", Some(&stable), T1),
            abort("checkout", Some(&stable)),
            abort("checkout", None),
        ] {
            assert!(
                matches!(result, Err(RolloutError::NoCanary { .. })),
                "{result:?}"
            );
        }
    }
}
