//! Invalidate: refresh exactly the URLs users could be served stale.

pub mod paths;
