//! `doctor`: every file of the live versions fetched through `public-url`, the way a
//! browser gets it, and compared with its deploy record: the status, the
//! `Content-Type`, the `Cache-Control` class and the bytes. It finds the poisoned
//! cache (an error page, or `index.html` as a `200`, stored under a chunk's URL) and
//! names each wrong URL with the headers that say which cache answered
//! (docs/poisoned-cache.md). Read-only, unless asked to invalidate what it found.

pub mod fetch;

/// A wrong URL, as the report shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wrong {
    pub url: String,
    pub problems: Vec<String>,
    /// `Age`, `X-Cache` and `X-Amz-Cf-Pop` as served (`-` when absent).
    pub age: String,
    pub x_cache: String,
    pub pop: String,
}

/// What `doctor` found for one module.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Findings {
    /// URLs fetched.
    pub checked: usize,
    /// What was live, each as `stable <version>`, `canary <version>`, `preview #N <version>`.
    pub versions: Vec<String>,
    pub wrong: Vec<Wrong>,
    /// Live versions that could not be checked, and why.
    pub unchecked: Vec<String>,
}

/// What a URL must serve, from the deploy record and the class rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    pub url: String,
    pub key: String,
    pub size: u64,
    pub sha256: String,
    /// The object's ETag as recorded: an answer carrying it needs no body.
    pub etag: Option<String>,
    pub content_type: String,
    pub cache_control: String,
}

/// What came back.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Observed {
    pub status: u16,
    pub content_type: Option<String>,
    pub cache_control: Option<String>,
    pub length: Option<u64>,
    pub etag: Option<String>,
    /// The body's SHA-256, when the body was read (not after a HEAD alone).
    pub sha256: Option<String>,
    /// The headers that tell which cache answered, and how long it has held it.
    pub age: Option<String>,
    pub x_cache: Option<String>,
    pub pop: Option<String>,
}

/// One way an answer differs from the record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    Status(u16),
    ContentType {
        expected: String,
        got: String,
    },
    CacheClass {
        expected: CacheClass,
        got: String,
    },
    Size {
        expected: u64,
        got: u64,
    },
    Bytes {
        expected: String,
        got: String,
    },
    Unreachable(String),
    /// Found in the compressed variant a CDN caches apart (`Accept-Encoding`).
    Compressed(Box<Problem>),
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Status(status) => write!(f, "HTTP {status} (expected 200)"),
            Self::ContentType { expected, got } => {
                write!(f, "Content-Type {got} (expected {expected})")
            }
            Self::CacheClass { expected, got } => {
                write!(f, "Cache-Control `{got}` (expected {})", expected.as_str())
            }
            Self::Size { expected, got } => write!(f, "{got} bytes (expected {expected})"),
            Self::Bytes { expected, got } => {
                write!(f, "other bytes: SHA-256 {got} (expected {expected})")
            }
            Self::Unreachable(why) => write!(f, "no answer: {why}"),
            Self::Compressed(problem) => {
                write!(f, "asked with Accept-Encoding br, gzip: {problem}")
            }
        }
    }
}

/// How long caches may keep an answer without asking again, as far as a
/// `Cache-Control` value says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum CacheClass {
    /// `no-store`: never kept.
    NoStore,
    /// Kept, but asked again before each use (`no-cache`, `max-age=0`).
    Revalidate,
    /// Kept for less than a day.
    Short,
    /// Kept for a day or more (`immutable`, long `max-age`).
    Long,
    /// No `Cache-Control` at all: each cache decides.
    Unset,
}

impl CacheClass {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NoStore => "no-store",
            Self::Revalidate => "revalidated (no-cache)",
            Self::Short => "cached briefly",
            Self::Long => "cached a day or more",
            Self::Unset => "no Cache-Control",
        }
    }

    /// The class of a `Cache-Control` value (`None`: the header was absent).
    pub fn of(value: Option<&str>) -> Self {
        let Some(value) = value else {
            return Self::Unset;
        };
        let directives: Vec<String> = value
            .split(',')
            .map(|d| d.trim().to_ascii_lowercase())
            .collect();
        let has = |name: &str| directives.iter().any(|d| d == name);
        let max_age = directives.iter().find_map(|d| {
            let (name, seconds) = d.split_once('=')?;
            (name.trim() == "s-maxage" || name.trim() == "max-age")
                .then(|| seconds.trim().trim_matches('"').parse::<u64>().ok())
                .flatten()
        });
        if has("no-store") {
            Self::NoStore
        } else if has("no-cache") || max_age == Some(0) {
            Self::Revalidate
        } else if has("immutable") || max_age.is_some_and(|s| s >= 86_400) {
            Self::Long
        } else if max_age.is_some() {
            Self::Short
        } else {
            Self::Unset
        }
    }
}

/// The media type of a `Content-Type`, without parameters, in lower case.
fn media_type(value: &str) -> String {
    value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// Everything in `observed` that differs from `expected`. A body that was not read
/// (a HEAD) is judged by its length and ETag; [`needs_body`] says when that is not
/// enough.
pub fn compare(expected: &Expected, observed: &Observed) -> Vec<Problem> {
    let mut problems = Vec::new();
    if observed.status != 200 {
        problems.push(Problem::Status(observed.status));
    }
    let got_type = observed.content_type.as_deref().unwrap_or("(none)");
    if media_type(got_type) != media_type(&expected.content_type) {
        problems.push(Problem::ContentType {
            expected: expected.content_type.clone(),
            got: got_type.to_owned(),
        });
    }
    let want = CacheClass::of(Some(&expected.cache_control));
    if CacheClass::of(observed.cache_control.as_deref()) != want {
        problems.push(Problem::CacheClass {
            expected: want,
            got: observed.cache_control.clone().unwrap_or_default(),
        });
    }
    match (&observed.sha256, observed.length) {
        (Some(sha), _) if *sha != expected.sha256 => problems.push(Problem::Bytes {
            expected: expected.sha256.clone(),
            got: sha.clone(),
        }),
        (None, Some(length)) if length != expected.size => problems.push(Problem::Size {
            expected: expected.size,
            got: length,
        }),
        _ => {}
    }
    problems
}

/// Whether a HEAD's answer leaves the bytes undecided: everything else matched, and
/// no recorded ETag vouches for them.
pub fn needs_body(expected: &Expected, head: &Observed) -> bool {
    let vouched = match (&expected.etag, &head.etag) {
        (Some(recorded), Some(served)) => {
            recorded.trim_matches('"') == served.trim_start_matches("W/").trim_matches('"')
        }
        _ => false,
    };
    compare(expected, head).is_empty() && !vouched
}

#[cfg(test)]
mod tests;
