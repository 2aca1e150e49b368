//! Content-addressed files: a directory (corpus, crashes) holds each input once, under
//! its content name, whatever run or engine brought it.

use std::path::{Path, PathBuf};

use crate::Fail;

/// The sha1 of `data` in hex: libFuzzer's corpus file name, so the same input is one file.
pub fn content_name(data: &[u8]) -> String {
    sha1_smol::Sha1::from(data).digest().to_string()
}

fn io(p: &Path, e: std::io::Error) -> Fail {
    Fail::Usage(format!("{}: {e}", p.display()))
}

/// Copy `from` into `dir` under its content name (after `prefix`) unless a file with the
/// same content name is there; returns the file holding the bytes and whether it is new.
pub fn add_file(dir: &Path, from: &Path, prefix: &str) -> Result<(PathBuf, bool), Fail> {
    let data = std::fs::read(from).map_err(|e| io(from, e))?;
    add_bytes(dir, &data, prefix)
}

pub fn add_bytes(dir: &Path, data: &[u8], prefix: &str) -> Result<(PathBuf, bool), Fail> {
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    let name = content_name(data);
    let to = dir.join(format!("{prefix}{name}"));
    if to.exists() {
        return Ok((to, false));
    }
    let dash = format!("-{name}");
    let existing = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .find(|e| {
            let n = e.file_name();
            let n = n.to_string_lossy();
            n == name.as_str() || n.ends_with(&dash)
        });
    if let Some(e) = existing {
        return Ok((e.path(), false));
    }
    let tmp = dir.join(format!(".{name}.tmp"));
    std::fs::write(&tmp, data)
        .and_then(|_| std::fs::rename(&tmp, &to))
        .map_err(|e| io(&to, e))?;
    Ok((to, true))
}

pub fn count_files(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .filter(|e| e.path().is_file() && !e.file_name().to_string_lossy().starts_with('.'))
                .count()
        })
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_named_by_content_once() {
        let d = std::env::temp_dir().join(format!("sintfuzz-store-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        let (a, new) = add_bytes(&d, b"abc", "").unwrap();
        assert!(new);
        assert_eq!(
            a.file_name().unwrap().to_str().unwrap(),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        assert_eq!(add_bytes(&d, b"abc", "").unwrap(), (a.clone(), false));
        assert_eq!(add_bytes(&d, b"abc", "afl-").unwrap(), (a, false));
        assert_eq!(count_files(&d), 1);
        let _ = std::fs::remove_dir_all(&d);
    }
}
