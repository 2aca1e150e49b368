//! The checked-in inputs: curated seeds in `corpus/<target>/` and minimized regressions
//! in `triage/regressions/<target>/<name>.bin`, each with a `<name>.toml` sidecar of the
//! expected outcome per revision. Engines and `cmin` never write into either folder.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sintfuzz_model::Revision;

use crate::codec::encode;
use crate::harness::{run, Settings};
use crate::invariant::InvariantSet;
use crate::scenarios::{seeds, witnesses, Named};
use crate::target::Target;

pub const CORPUS_DIR: &str = "corpus";
pub const REGRESSIONS_DIR: &str = "triage/regressions";
/// Inputs larger than this are refused by the file readers: the largest canonical input
/// is `MAX_CANONICAL_LEN` (about 2 KiB) and engines write at most their `max_len`.
pub const MAX_FILE_LEN: u64 = 1 << 20;

/// `clean` or an invariant id.
pub fn outcome_name(target: Target, data: &[u8], settings: &Settings) -> String {
    match run(target, data, settings).violation() {
        None => "clean".to_string(),
        Some(v) => v.invariant.id().to_string(),
    }
}

/// What a regression file is expected to give, per revision.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sidecar {
    pub name: String,
    pub target: String,
    pub about: String,
    /// Upstream issue or sintfuzz finding id (`triage/known.toml`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub finding: String,
    /// Revision name → outcome under the default invariant set.
    pub default: BTreeMap<String, String>,
    /// Revision name → outcome under `strict`.
    pub strict: BTreeMap<String, String>,
}

impl Sidecar {
    /// The outcomes the current model gives `data` on every revision.
    pub fn measure(name: &str, target: Target, about: &str, finding: &str, data: &[u8]) -> Self {
        let table = |invariants| {
            Revision::ALL
                .into_iter()
                .map(|revision| {
                    let s = Settings {
                        revision,
                        invariants,
                    };
                    (revision.name().to_string(), outcome_name(target, data, &s))
                })
                .collect()
        };
        Self {
            name: name.to_string(),
            target: target.name().to_string(),
            about: about.to_string(),
            finding: finding.to_string(),
            default: table(InvariantSet::default_set()),
            strict: table(InvariantSet::strict()),
        }
    }

    /// One line per outcome that differs from `new`: `name [set] revision: old -> new`.
    pub fn diff(&self, new: &Sidecar) -> Vec<String> {
        let mut out = Vec::new();
        for (set, a, b) in [
            ("default", &self.default, &new.default),
            ("strict", &self.strict, &new.strict),
        ] {
            let revisions: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for r in revisions {
                let (x, y) = (a.get(r), b.get(r));
                if x != y {
                    out.push(format!(
                        "  {} [{set}] {r}: {} -> {}",
                        self.name,
                        x.map_or("-", String::as_str),
                        y.map_or("-", String::as_str)
                    ));
                }
            }
        }
        for (field, x, y) in [
            ("about", &self.about, &new.about),
            ("finding", &self.finding, &new.finding),
            ("target", &self.target, &new.target),
        ] {
            if x != y {
                out.push(format!("  {} {field}: {x:?} -> {y:?}", self.name));
            }
        }
        out
    }

    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("a sidecar always serializes")
    }

    pub fn parse(text: &str) -> Result<Self, String> {
        toml::from_str(text).map_err(|e| e.message().to_string())
    }
}

/// Read an input file with the errors a user should see, never a panic.
pub fn read_input(path: &Path) -> Result<Vec<u8>, String> {
    let meta = fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if meta.is_dir() {
        return Err(format!(
            "{}: is a directory, not an input file",
            path.display()
        ));
    }
    if meta.len() > MAX_FILE_LEN {
        return Err(format!(
            "{}: {} bytes is over the {} byte input limit",
            path.display(),
            meta.len(),
            MAX_FILE_LEN
        ));
    }
    let data = fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if data.is_empty() {
        return Err(format!("{}: empty input file", path.display()));
    }
    Ok(data)
}

/// Write `bytes` to `path` only if it differs, so rewriting is idempotent.
fn write_if_changed(path: &Path, bytes: &[u8]) -> io::Result<bool> {
    if fs::read(path).ok().as_deref() == Some(bytes) {
        return Ok(false);
    }
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir)?;
    }
    fs::write(path, bytes)?;
    Ok(true)
}

/// (Re)write `corpus/` under `root` from the named seed scenarios. Returns every seed
/// path and whether it changed. Files that are not seeds are left alone.
pub fn write_seeds(root: &Path) -> io::Result<Vec<(PathBuf, bool)>> {
    let mut out = Vec::new();
    for Named {
        name,
        target,
        scenario,
        ..
    } in seeds()
    {
        let bytes = encode(target, &scenario)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("{name}: {e}")))?;
        let path = root
            .join(CORPUS_DIR)
            .join(target.name())
            .join(format!("{name}.bin"));
        let changed = write_if_changed(&path, &bytes)?;
        out.push((path, changed));
    }
    Ok(out)
}

/// Write a regression `<name>.bin` and its measured sidecar under `root`. An existing
/// regression is never changed: if the bytes or the measured outcomes differ, nothing is
/// written and the error carries the diff (re-record it with [`write_regression_blessed`]).
pub fn write_regression(
    root: &Path,
    target: Target,
    name: &str,
    about: &str,
    finding: &str,
    bytes: &[u8],
) -> io::Result<(PathBuf, Sidecar)> {
    write_regression_with(root, target, name, about, finding, bytes, false)
}

/// [`write_regression`], rewriting an existing regression whose outcomes changed (asked
/// for by name: `SINTFUZZ_BLESS=<name>`, `sintfuzz seed --regressions --bless <name>`).
pub fn write_regression_blessed(
    root: &Path,
    target: Target,
    name: &str,
    about: &str,
    finding: &str,
    bytes: &[u8],
) -> io::Result<(PathBuf, Sidecar)> {
    write_regression_with(root, target, name, about, finding, bytes, true)
}

fn write_regression_with(
    root: &Path,
    target: Target,
    name: &str,
    about: &str,
    finding: &str,
    bytes: &[u8],
    overwrite: bool,
) -> io::Result<(PathBuf, Sidecar)> {
    let dir = root.join(REGRESSIONS_DIR).join(target.name());
    let bin = dir.join(format!("{name}.bin"));
    let toml_path = dir.join(format!("{name}.toml"));
    let sidecar = Sidecar::measure(name, target, about, finding, bytes);
    if !overwrite {
        let mut diff = Vec::new();
        if let Ok(old) = fs::read(&bin) {
            if old != bytes {
                diff.push(format!("  {name}.bin: the input bytes change"));
            }
        }
        if let Ok(text) = fs::read_to_string(&toml_path) {
            match Sidecar::parse(&text) {
                Ok(old) => diff.extend(old.diff(&sidecar)),
                Err(e) => diff.push(format!("  {name}.toml: unreadable ({e})")),
            }
        }
        if !diff.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!(
                    "{name} would change (nothing written; re-record it by name):\n{}",
                    diff.join("\n")
                ),
            ));
        }
    }
    write_if_changed(&bin, bytes)?;
    write_if_changed(&toml_path, sidecar.to_toml().as_bytes())?;
    Ok((bin, sidecar))
}

/// Every file under `dir/<target>/` with the given extension, sorted.
pub fn list(dir: &Path, target: Target, ext: &str) -> io::Result<Vec<PathBuf>> {
    let d = dir.join(target.name());
    if !d.exists() {
        return Ok(Vec::new());
    }
    let mut files: Vec<PathBuf> = fs::read_dir(d)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == ext))
        .collect();
    files.sort();
    Ok(files)
}

/// (Re)write the regression files of every hand-built witness. A witness whose file exists
/// and would change is written only if `bless(name)`; otherwise its diff is returned and
/// nothing changes.
pub fn write_witnesses(
    root: &Path,
    bless: &dyn Fn(&str) -> bool,
) -> io::Result<Vec<Result<(PathBuf, Sidecar), String>>> {
    witnesses()
        .into_iter()
        .map(|w| {
            let bytes = encode(w.target, &w.scenario).map_err(|e| {
                io::Error::new(io::ErrorKind::InvalidData, format!("{}: {e}", w.name))
            })?;
            let write = if bless(w.name) {
                write_regression_blessed
            } else {
                write_regression
            };
            match write(root, w.target, w.name, w.about, w.finding, &bytes) {
                Ok(done) => Ok(Ok(done)),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(Err(e.to_string())),
                Err(e) => Err(e),
            }
        })
        .collect()
}
