//! Paths the CLI takes from the user. Every one it hands to an engine or writes to is made
//! absolute against the caller's working directory when the arguments are parsed: engines
//! run in other working directories, so a relative `--out` would name another place there.

use std::path::{Path, PathBuf};

/// `clap` value parser: `s` as an absolute path (not resolving links, not requiring that
/// it exists), against the working directory at start-up.
pub fn absolute(s: &str) -> Result<PathBuf, String> {
    if s.is_empty() {
        return Err("an empty path".into());
    }
    std::path::absolute(Path::new(s)).map_err(|e| format!("{s}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_are_resolved_against_the_working_directory() {
        let cwd = std::env::current_dir().unwrap();
        assert_eq!(absolute("out").unwrap(), cwd.join("out"));
        assert_eq!(absolute("a/../b").unwrap(), cwd.join("a/../b"));
        assert_eq!(absolute("/x/y").unwrap(), PathBuf::from("/x/y"));
        assert!(absolute("").is_err());
    }
}
