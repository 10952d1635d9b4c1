//! Globs as every pattern in the config is read: `*` stays within one path segment,
//! `**` crosses them.

use globset::{Glob, GlobBuilder, GlobSet, GlobSetBuilder};

/// Compiles a glob the way every glob in the config is read.
pub fn compile_glob(pattern: &str) -> Result<Glob, globset::Error> {
    GlobBuilder::new(pattern).literal_separator(true).build()
}

/// Compiles a list of config globs into one set.
pub fn glob_set(patterns: &[String]) -> Result<GlobSet, globset::Error> {
    let mut set = GlobSetBuilder::new();
    for pattern in patterns {
        set.add(compile_glob(pattern)?);
    }
    set.build()
}
