//! The vocabulary every stage shares: how a file is cached ([`FileClass`]), when it is
//! uploaded ([`Phase`]), and the headers it is served with ([`Headers`]). Imports
//! nothing of the crate.

use serde::{Deserialize, Serialize};

/// How a file is cached and when it is uploaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FileClass {
    /// Content-hashed: cached for a year, never rewritten with other bytes.
    Immutable,
    /// Anything else that is not HTML or an entry: short-lived.
    Other,
    /// Module Federation entries (`remoteEntry.js`, `mf-manifest.json`): revalidated.
    Entry,
    /// HTML documents: revalidated, uploaded last.
    Html,
}

impl FileClass {
    /// All classes, in upload order.
    pub const ALL: [Self; 4] = [Self::Immutable, Self::Other, Self::Entry, Self::Html];

    /// The upload phase this class belongs to.
    pub fn phase(self) -> Phase {
        match self {
            Self::Immutable | Self::Other => Phase::Assets,
            Self::Entry => Phase::Entries,
            Self::Html => Phase::Html,
        }
    }

    /// The built-in `Cache-Control` for this class.
    pub fn default_cache_control(self) -> &'static str {
        match self {
            Self::Html | Self::Entry => "no-cache",
            Self::Immutable => "public, max-age=31536000, immutable",
            Self::Other => "public, max-age=300",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Immutable => "immutable",
            Self::Other => "other",
            Self::Entry => "entry",
            Self::Html => "html",
        }
    }
}

/// Upload phases: a phase starts only after the previous one fully succeeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Phase {
    /// Chunks, styles, images and everything else the entries point at.
    Assets,
    /// Federation entries, which reference the assets.
    Entries,
    /// HTML, which references entries and assets.
    Html,
}

impl Phase {
    pub const ALL: [Self; 3] = [Self::Assets, Self::Entries, Self::Html];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Assets => "assets",
            Self::Entries => "entries",
            Self::Html => "html",
        }
    }
}

/// The headers a file is served with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Headers {
    pub cache_control: String,
    pub content_type: String,
}
