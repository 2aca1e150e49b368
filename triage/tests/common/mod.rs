//! Helpers the CLI end-to-end tests share.

use std::path::{Path, PathBuf};

/// The repository root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A #1162 witness from the regressions (a crash a stand-in engine "finds").
#[allow(dead_code)]
pub fn witness_1162() -> PathBuf {
    std::fs::read_dir(root().join("triage/regressions/relay_lifecycle"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.extension().is_some_and(|x| x == "bin")
                && std::fs::read_to_string(p.with_extension("toml"))
                    .is_ok_and(|t| t.contains("openvmm#1162"))
        })
        .expect("a #1162 regression")
}

/// Writes an executable stand-in engine binary.
#[allow(dead_code)]
pub fn write_script(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// `sintfuzz tte ARGS --bin-dir BINS --out OUT` from the root, with `env`; asserts it
/// succeeded and returns `OUT/trials.tsv`.
#[allow(dead_code)]
pub fn tte(args: &[&str], bins: &Path, out: &Path, env: &[(&str, &Path)]) -> String {
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_sintfuzz"))
        .arg("tte")
        .args(args)
        .arg("--bin-dir")
        .arg(bins)
        .arg("--out")
        .arg(out)
        .envs(env.iter().copied())
        .current_dir(root())
        .output()
        .expect("runs");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    std::fs::read_to_string(out.join("trials.tsv")).unwrap()
}
