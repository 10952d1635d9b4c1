//! The checks every input goes through: version labels, keys, booleans, bucket
//! names, URLs and prefixes, each failing with the input's name and the fix.

use super::InputError;

/// Version labels: `[A-Za-z0-9._-]{1,64}`.
pub(super) fn check_version(
    name: &'static str,
    value: &str,
    alternative: &str,
) -> Result<(), InputError> {
    let ok = (1..=64).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if ok {
        Ok(())
    } else {
        let hint =
            format!("use 1–64 characters of letters, digits, `.`, `_` and `-` {alternative}");
        Err(invalid(name, value, hint.trim_end()))
    }
}

/// An object key the tool writes to: relative, no empty, `.` or `..` segments, no
/// control characters.
pub(super) fn check_key(name: &'static str, key: &str) -> Result<(), InputError> {
    let ok = !key.is_empty()
        && !key.starts_with('/')
        && !key.ends_with('/')
        && key
            .split('/')
            .all(|s| !s.is_empty() && s != "." && s != "..")
        && !key.chars().any(char::is_control);
    if ok {
        Ok(())
    } else {
        Err(invalid(
            name,
            key,
            "give an object key such as `mfe-manifest.json` or `manifests/production.json` (no leading `/`, no `.` or `..`)",
        ))
    }
}

pub(super) fn invalid(name: &'static str, value: &str, hint: &str) -> InputError {
    InputError::Invalid {
        name,
        value: value.to_owned(),
        hint: hint.to_owned(),
    }
}

/// YAML 1.2 core booleans, as `core.getBooleanInput` accepts them.
pub(super) fn parse_bool(name: &'static str, value: Option<&str>) -> Result<bool, InputError> {
    match value {
        None => Ok(false),
        Some("true" | "True" | "TRUE") => Ok(true),
        Some("false" | "False" | "FALSE") => Ok(false),
        Some(other) => Err(invalid(name, other, "use `true` or `false`")),
    }
}

/// Bucket naming rules: <https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html>.
pub(super) fn validate_bucket(bucket: &str) -> Result<(), InputError> {
    let ok = (3..=63).contains(&bucket.len())
        && bucket
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
        && bucket
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric())
        && bucket
            .bytes()
            .last()
            .is_some_and(|b| b.is_ascii_alphanumeric())
        && !bucket.contains("..");
    if ok {
        Ok(())
    } else {
        Err(invalid(
            "bucket",
            bucket,
            "an S3 bucket name is 3–63 lowercase letters, digits, `.` and `-` (no `s3://`, no path)",
        ))
    }
}

pub(super) fn check_url(name: &'static str, url: &str) -> Result<(), InputError> {
    if url.starts_with("https://") || url.starts_with("http://") {
        Ok(())
    } else {
        Err(invalid(
            name,
            url,
            "give a full URL starting with https:// (or http:// for a local server)",
        ))
    }
}

/// `"/a/b/"` → `"a/b/"`, `""` or `"/"` → `""` (bucket root).
pub(super) fn normalize_prefix(prefix: &str) -> Result<String, InputError> {
    let trimmed = prefix.trim_matches('/');
    if trimmed.is_empty() {
        return Ok(String::new());
    }
    let bad = trimmed
        .split('/')
        .any(|s| s.is_empty() || s == "." || s == ".." || s.chars().any(char::is_control));
    if bad {
        return Err(invalid(
            "prefix",
            prefix,
            "use folder names separated by single `/`, without `.` or `..`",
        ));
    }
    Ok(format!("{trimmed}/"))
}

pub(super) fn default_prefix(package: &str) -> Result<String, InputError> {
    let name = package
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default();
    if name.is_empty() || name == "." || name == ".." {
        return Err(invalid(
            "package",
            package,
            "name a module folder such as `packages/subscriptions`, or set `prefix`",
        ));
    }
    normalize_prefix(name)
}

/// `rollout`: `<N>%` (1 to 99), `promote` or `abort`.
pub fn parse_rollout(value: &str) -> Result<super::Rollout, InputError> {
    use super::Rollout;
    match value {
        "promote" => Ok(Rollout::Promote),
        "abort" => Ok(Rollout::Abort),
        v => v
            .strip_suffix('%')
            .and_then(|n| n.parse::<u8>().ok())
            .filter(|n| (1..=99).contains(n))
            .map(Rollout::Percent)
            .ok_or_else(|| {
                invalid(
                    "rollout",
                    v,
                    "use `<N>%` with N from 1 to 99 (the share of users that gets the build), `promote` or `abort`",
                )
            }),
    }
}

/// The `republish` input: a version label (room left for its `.r<N>` suffix), and
/// nothing else that moves the manifest.
pub(super) fn republish(raw: &super::RawInputs) -> Result<Option<String>, InputError> {
    let Some(version) = raw.republish.as_deref() else {
        return Ok(None);
    };
    check_version("republish", version, "(the version to give fresh URLs)")?;
    if version.len() > 58 {
        return Err(invalid(
            "republish",
            version,
            "the fresh label is `<version>.r<N>` and a label has at most 64 characters",
        ));
    }
    let other = [
        ("rollback-to", &raw.rollback_to),
        ("rollout", &raw.rollout),
        ("version", &raw.version),
    ];
    if let Some((name, Some(value))) = other.into_iter().find(|(_, v)| v.is_some()) {
        return Err(invalid(
            "republish",
            version,
            &format!("`{name}: {value}` moves the manifest too: set one of them"),
        ));
    }
    Ok(Some(version.to_owned()))
}

/// `doctor`: check the live files, and invalidate what is served wrong when asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Doctor {
    Check,
    Invalidate,
}

/// The `doctor` input: `true` checks, `invalidate` also invalidates what is served
/// wrong, `false` (or nothing) deploys.
pub(super) fn doctor(raw: &super::RawInputs) -> Result<Option<Doctor>, InputError> {
    let value = raw.doctor.as_deref().map(str::trim);
    let doctor = match value {
        None | Some("" | "false") => return Ok(None),
        Some("true") => Doctor::Check,
        Some("invalidate") => Doctor::Invalidate,
        Some(other) => {
            return Err(invalid(
                "doctor",
                other,
                "use `true` (check the live files through public-url), `invalidate` (and invalidate what is served wrong) or `false`",
            ));
        }
    };
    let other = [
        ("republish", &raw.republish),
        ("rollback-to", &raw.rollback_to),
        ("rollout", &raw.rollout),
    ];
    if let Some((name, Some(v))) = other.into_iter().find(|(_, v)| v.is_some()) {
        return Err(invalid(
            "doctor",
            value.unwrap_or_default(),
            &format!(
                "doctor only checks; `{name}: {v}` changes what is live: run them as separate steps"
            ),
        ));
    }
    Ok(Some(doctor))
}
