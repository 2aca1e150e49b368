//! `sintfuzz cmin` and the campaign's end-of-run corpus minimization: keep only the inputs
//! that keep the corpus's coverage, by libFuzzer's merge (`-merge=1`) with the target's
//! libFuzzer binary under the run's settings. The directory is replaced only once the
//! merge succeeded; inputs that stop the binary (crashes) are left out by the merge.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use clap::Args;
use sintfuzz_targets::{Settings, Target};

use crate::engine::files::count_files;
use crate::engine::{libfuzzer, Binaries, Engine};
use crate::{repo_root, Fail};

#[derive(Args, Clone, Debug)]
pub struct CminArgs {
    #[command(flatten)]
    pub run: crate::args::Run,
    /// libFuzzer binaries built before (default: build them with cargo fuzz).
    #[arg(long, value_parser = crate::paths::absolute)]
    pub bin_dir: Option<PathBuf>,
    /// The corpus directory, minimized in place (never `corpus/` or `triage/`).
    #[arg(value_parser = crate::paths::absolute)]
    pub dir: PathBuf,
}

pub fn cmin_cmd(args: CminArgs) -> Result<u8, Fail> {
    let settings = args.run.settings()?;
    let root = repo_root();
    let dir = args
        .dir
        .canonicalize()
        .map_err(|e| Fail::Usage(format!("{}: {e}", args.dir.display())))?;
    if !dir.is_dir() {
        return Err(Fail::Usage(format!("{}: not a directory", dir.display())));
    }
    for keep in ["corpus", "triage"] {
        if let Ok(k) = root.join(keep).canonicalize() {
            if dir.starts_with(&k) {
                return Err(Fail::Usage(format!(
                    "{}: refusing to minimize checked-in inputs (copy them elsewhere first)",
                    dir.display()
                )));
            }
        }
    }
    let bins = Engine::Libfuzzer.binaries(args.bin_dir.as_deref(), &root)?;
    let (before, after) = minimize_corpus(&bins, args.run.target, &dir, &settings)?;
    println!("{}: {before} -> {after} files", dir.display());
    Ok(0)
}

/// Minimize `dir` in place; returns the file counts before and after.
pub fn minimize_corpus(
    bins: &Binaries,
    target: Target,
    dir: &Path,
    settings: &Settings,
) -> Result<(usize, usize), Fail> {
    let before = count_files(dir);
    if before == 0 {
        return Ok((0, 0));
    }
    let name = dir
        .file_name()
        .map_or("corpus".into(), |n| n.to_string_lossy().into_owned());
    let parent = dir.parent().unwrap_or(Path::new("."));
    let new = parent.join(format!(".{name}.cmin-new"));
    let old = parent.join(format!(".{name}.cmin-old"));
    // Inputs that crash during the merge are left out of it; their artifacts go here.
    let art = parent.join(format!(".{name}.cmin-crashes"));
    let _ = std::fs::create_dir_all(&art);
    let _ = std::fs::remove_dir_all(&new);
    let _ = std::fs::remove_dir_all(&old);
    let io = |p: &Path, e: std::io::Error| Fail::Usage(format!("{}: {e}", p.display()));
    std::fs::create_dir_all(&new).map_err(|e| io(&new, e))?;
    let bin = bins.target(target);
    let o = libfuzzer::merge_command(&bin, &new, dir, &art, settings)
        .current_dir(parent)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| Fail::Usage(format!("{}: cannot start: {e}", bin.display())))?;
    let after = count_files(&new);
    let _ = std::fs::remove_dir_all(&art);
    if !o.status.success() || after == 0 {
        let _ = std::fs::remove_dir_all(&new);
        let err = String::from_utf8_lossy(&o.stderr);
        let last = err
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
        return Err(Fail::Usage(format!(
            "{}: libFuzzer merge failed ({}), corpus left as it was: {}",
            dir.display(),
            o.status,
            last.trim()
        )));
    }
    std::fs::rename(dir, &old).map_err(|e| io(dir, e))?;
    std::fs::rename(&new, dir).map_err(|e| io(dir, e))?;
    let _ = std::fs::remove_dir_all(&old);
    Ok((before, after))
}
