//! AFL++ through cargo-afl: `cargo afl build` builds the targets; the campaign spawns the
//! `afl-fuzz` that cargo-afl installed directly (with `-c0`, as `cargo afl fuzz` does), one
//! process per job: `-M main` plus `-S secN`. The main instance imports the shared corpus
//! with `-F` (foreign sync, every 30 s); its own finds stay in its queue, and the campaign
//! copies them into the shared corpus. AFL++ exits 0 after crashes: they are read from
//! `crashes/`.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::{cargo_install, files_in, fuzz_target_dir, have, run_cmd, Exit, RunSpec, Stats};
use crate::Fail;

pub const VERSION: &str = "0.18.2";

pub fn ensure_tools() -> Result<(), Fail> {
    if !have("cargo", &["afl", "--version"]) {
        cargo_install("cargo-afl", Some(VERSION))?;
    }
    Ok(())
}

pub fn build(root: &Path) -> Result<PathBuf, Fail> {
    let dir = fuzz_target_dir(root)?;
    run_cmd(
        Command::new("cargo")
            .args([
                "afl",
                "build",
                "--release",
                "--no-default-features",
                "--features",
                "afl",
                "--target-dir",
            ])
            .arg(&dir)
            .current_dir(root.join("fuzz")),
        "cargo afl build",
    )?;
    Ok(dir.join("release"))
}

/// Where cargo-afl keeps AFL++: `$XDG_DATA_HOME/afl.rs/rustc-<version>-<commit7>/
/// afl.rs-<version>/afl/bin/afl-fuzz` (cargo-afl-common's `afl_dir`).
pub fn afl_fuzz() -> Result<PathBuf, Fail> {
    let data = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .ok_or_else(|| Fail::Usage("neither XDG_DATA_HOME nor HOME is set".into()))?;
    let vv = Command::new("rustc")
        .arg("-vV")
        .output()
        .map_err(|e| Fail::Usage(format!("rustc -vV: {e}")))?;
    let vv = String::from_utf8_lossy(&vv.stdout);
    let field = |k: &str| {
        vv.lines()
            .find_map(|l| l.strip_prefix(k))
            .map(|v| v.trim().to_string())
    };
    let release = field("release:").unwrap_or_default();
    let mut rustc = format!("rustc-{release}");
    if let Some(c) = field("commit-hash:").filter(|c| c.len() >= 7) {
        rustc.push('-');
        rustc.push_str(&c[..7]);
    }
    let path = data
        .join("afl.rs")
        .join(rustc)
        .join(format!("afl.rs-{VERSION}"))
        .join("afl/bin/afl-fuzz");
    if path.is_file() {
        Ok(path)
    } else {
        Err(Fail::Usage(format!(
            "{}: no afl-fuzz (install cargo-afl {VERSION}, or run `cargo afl config --build` after a rustc update)",
            path.display()
        )))
    }
}

pub fn commands(run: &RunSpec) -> Result<Vec<Command>, Fail> {
    let afl = afl_fuzz()?;
    let out = run.work.join("afl");
    // AFL++ stops when a file it is reading at start vanishes, and libFuzzer deletes
    // corpus files it has reduced: AFL++ reads a snapshot of the shared corpus, and
    // imports from a mirror that only grows (`sync_in`).
    let input = run.work.join("in");
    let fail = |e: std::io::Error| Fail::Usage(format!("{}: {e}", input.display()));
    std::fs::create_dir_all(&input).map_err(fail)?;
    for f in files_in(&run.corpus, |n| !n.starts_with('.')) {
        if let Some(name) = f.file_name() {
            // Gone since the listing: skip it.
            let _ = std::fs::copy(&f, input.join(name));
        }
    }
    // AFL++ needs at least one input: an empty corpus gets a two-byte one.
    if files_in(&input, |_| true).is_empty() {
        std::fs::write(input.join("zero2"), [0u8, 0]).map_err(fail)?;
    }
    std::fs::create_dir_all(mirror(run)).map_err(fail)?;
    let mut cmds = Vec::new();
    for i in 0..run.jobs {
        let mut cmd = Command::new(&afl);
        cmd.arg("-c0")
            .arg("-i")
            .arg(&input)
            .arg("-o")
            .arg(&out)
            .arg("-V")
            .arg(run.seconds.to_string())
            .arg("-G")
            .arg(RunSpec::max_len().to_string());
        if i == 0 {
            cmd.args(["-M", "main"]);
            if run.shared {
                cmd.arg("-F").arg(mirror(run));
            }
        } else {
            cmd.args(["-S", &format!("sec{i}")]);
        }
        if let Some(s) = run.seed {
            cmd.arg("-s").arg((s + i as u64).to_string());
        }
        cmd.args(&run.args).arg("--").arg(&run.binary);
        cmd.env("AFL_NO_UI", "1")
            // Rounds restart AFL++ while the last instance may still hold its core, and
            // other engines share the cores: no pinning.
            .env("AFL_NO_AFFINITY", "1")
            .env("AFL_SKIP_CPUFREQ", "1")
            .env("AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES", "1")
            // Sync every minute (the main node every 30 s), not every 20 minutes.
            .env("AFL_SYNC_TIME", "1")
            .current_dir(&run.work);
        if run.stop_on_crash {
            cmd.env("AFL_BENCH_UNTIL_CRASH", "1");
        }
        cmds.push(cmd);
    }
    Ok(cmds)
}

/// The directory AFL++ imports from (`-F`): new files of the shared corpus, copied in.
fn mirror(run: &RunSpec) -> PathBuf {
    run.work.join("import")
}

/// Copy the shared corpus's new files into the import mirror (written beside it, then
/// renamed in, so AFL++ never reads half a file).
pub fn sync_in(run: &RunSpec) {
    let m = mirror(run);
    for f in files_in(&run.corpus, |n| !n.starts_with('.')) {
        let Some(name) = f.file_name() else { continue };
        let to = m.join(name);
        // Files of the start snapshot (`in/`) are in AFL++'s queue already.
        if to.exists() || run.work.join("in").join(name).exists() {
            continue;
        }
        let tmp = run.work.join("import.tmp");
        if std::fs::copy(&f, &tmp).is_ok() {
            let _ = std::fs::rename(&tmp, &to);
        }
    }
}

/// `fuzzer_stats` of every instance under `work/afl`.
pub fn read_stats(work: &Path, s: &mut Stats) {
    let (mut execs, mut eps, mut corpus, mut edges, mut cvg) = (0u64, 0f64, 0usize, 0u64, None);
    let mut any = false;
    for inst in std::fs::read_dir(work.join("afl"))
        .into_iter()
        .flatten()
        .flatten()
    {
        let Ok(text) = std::fs::read_to_string(inst.path().join("fuzzer_stats")) else {
            continue;
        };
        any = true;
        for l in text.lines() {
            let Some((k, v)) = l.split_once(':') else {
                continue;
            };
            let v = v.trim();
            match k.trim() {
                "execs_done" => execs += v.parse::<u64>().unwrap_or(0),
                "execs_per_sec" => eps += v.parse::<f64>().unwrap_or(0.0),
                "corpus_count" => corpus += v.parse::<usize>().unwrap_or(0),
                "edges_found" => edges = edges.max(v.parse().unwrap_or(0)),
                "bitmap_cvg" => cvg = Some(v.to_string()),
                _ => {}
            }
        }
    }
    if any {
        s.execs = s.execs.max(execs);
        s.exec_per_sec = eps;
        s.corpus = Some(corpus);
        s.coverage = Some(edges);
        s.coverage_label = Some(format!(
            "edges {edges}, bitmap {}",
            cvg.unwrap_or_else(|| "?".into())
        ));
    }
}

fn instances(work: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(work.join("afl"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    v.sort();
    v
}

pub fn crash_files(work: &Path) -> Vec<PathBuf> {
    instances(work)
        .iter()
        .flat_map(|i| files_in(&i.join("crashes"), |n| n.starts_with("id:")))
        .collect()
}

/// The `execs:N` field of an AFL++ crash or queue file name
/// (`id:000000,sig:06,src:000001,time:812,execs:10934,op:havoc,rep:2`).
pub fn crash_execs(path: &Path) -> Option<u64> {
    path.file_name()?
        .to_str()?
        .split(',')
        .find_map(|f| f.strip_prefix("execs:"))?
        .parse()
        .ok()
}

/// Queue entries AFL++ found itself: neither a seed (`orig:`) nor an import (`sync:`).
pub fn own_finds(work: &Path) -> Vec<PathBuf> {
    instances(work)
        .iter()
        .flat_map(|i| {
            files_in(&i.join("queue"), |n| {
                n.starts_with("id:") && !n.contains(",orig:") && !n.contains(",sync:")
            })
        })
        .collect()
}

/// Queue entries imported from the shared corpus (`sync:` names) that added coverage.
pub fn imported(work: &Path) -> usize {
    instances(work)
        .iter()
        .map(|i| files_in(&i.join("queue"), |n| n.contains(",sync:")).len())
        .sum()
}

pub fn classify(code: i32, crashed: bool) -> Exit {
    match code {
        0 if crashed => Exit::Crashed,
        0 => Exit::Finished,
        c => Exit::Failed(format!("afl-fuzz exit code {c}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_finds_and_imports() {
        let w = std::env::temp_dir().join(format!("sintfuzz-afl-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&w);
        let main = w.join("afl/main");
        std::fs::create_dir_all(main.join("queue")).unwrap();
        std::fs::create_dir_all(main.join("crashes")).unwrap();
        std::fs::write(
            main.join("fuzzer_stats"),
            "execs_done        : 1234\nexecs_per_sec     : 99.5\ncorpus_count      : 7\nedges_found       : 42\nbitmap_cvg        : 1.5%\n",
        )
        .unwrap();
        for n in [
            "id:000000,time:0,execs:0,orig:seed",
            "id:000001,src:000000,time:5,execs:9,op:havoc,+cov",
            "id:000002,sync:corpus_0,src:abc",
        ] {
            std::fs::write(main.join("queue").join(n), b"x").unwrap();
        }
        std::fs::write(main.join("crashes/README.txt"), b"").unwrap();
        std::fs::write(main.join("crashes/id:000000,sig:06"), b"y").unwrap();
        let mut s = Stats::default();
        read_stats(&w, &mut s);
        assert_eq!((s.execs, s.corpus, s.coverage), (1234, Some(7), Some(42)));
        assert_eq!(own_finds(&w).len(), 1);
        assert_eq!(imported(&w), 1);
        assert_eq!(crash_files(&w).len(), 1);
        assert_eq!(classify(0, true), Exit::Crashed);
        assert_eq!(
            crash_execs(Path::new(
                "/w/afl/main/crashes/id:000000,sig:06,src:000001,time:812,execs:10934,op:havoc,rep:2"
            )),
            Some(10934)
        );
        assert_eq!(crash_execs(Path::new("/w/crashes/id:000000,sig:06")), None);
        assert!(matches!(classify(1, false), Exit::Failed(_)));
        let _ = std::fs::remove_dir_all(&w);
    }
}
