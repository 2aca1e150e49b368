//! `sintfuzz cover`: what a corpus covers. First the semantic table (`semantic.rs`, no
//! toolchain component needed), then line coverage of `model/` and `targets/`: the
//! `sintfuzz` binary built with `-C instrument-coverage` (in `target/cover/`) replays the
//! inputs, and `llvm-profdata`/`llvm-cov` from the toolchain's `llvm-tools` component
//! (installed with `rustup component add llvm-tools` when missing) write an HTML report
//! and a per-file summary.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use clap::Args;
use sintfuzz_targets::files::read_input;
use sintfuzz_targets::Settings;

use crate::campaign::semantic::Semantic;
use crate::engine::run_cmd;
use crate::{repo_root, Fail};

#[derive(Args, Clone, Debug)]
pub struct CoverArgs {
    #[command(flatten)]
    pub run: crate::args::Run,
    /// Where the HTML report and the tables go (default: sintfuzz-cover).
    #[arg(long, default_value = "sintfuzz-cover", value_parser = crate::paths::absolute)]
    pub out: PathBuf,
    /// Only the semantic table (no instrumented build, no llvm-tools).
    #[arg(long)]
    pub semantic_only: bool,
    /// Corpus directories or input files.
    #[arg(required = true, value_parser = crate::paths::absolute)]
    pub inputs: Vec<PathBuf>,
}

fn fail(msg: impl Into<String>) -> Fail {
    Fail::Usage(msg.into())
}

/// The readable input files among `inputs` (directories: their files).
fn files(inputs: &[PathBuf]) -> Result<Vec<PathBuf>, Fail> {
    let mut out = Vec::new();
    for p in inputs {
        let meta = std::fs::metadata(p).map_err(|e| fail(format!("{}: {e}", p.display())))?;
        if meta.is_dir() {
            let mut v: Vec<PathBuf> = std::fs::read_dir(p)
                .map_err(|e| fail(format!("{}: {e}", p.display())))?
                .flatten()
                .map(|e| e.path())
                .filter(|f| read_input(f).is_ok())
                .collect();
            v.sort();
            out.extend(v);
        } else {
            read_input(p).map_err(fail)?;
            out.push(p.clone());
        }
    }
    Ok(out)
}

/// `llvm-profdata` and `llvm-cov` of the active toolchain, installing `llvm-tools` once
/// if they are missing.
pub fn llvm_tools() -> Result<(PathBuf, PathBuf), Fail> {
    let out = |args: &[&str]| {
        Command::new("rustc")
            .args(args)
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    };
    let sysroot = out(&["--print", "sysroot"]).trim().to_string();
    let host = out(&["-vV"])
        .lines()
        .find_map(|l| l.strip_prefix("host:"))
        .map(|h| h.trim().to_string())
        .ok_or_else(|| fail("cannot tell the host triple from `rustc -vV`"))?;
    let bin = Path::new(&sysroot)
        .join("lib/rustlib")
        .join(host)
        .join("bin");
    let tools = (bin.join("llvm-profdata"), bin.join("llvm-cov"));
    if tools.0.is_file() && tools.1.is_file() {
        return Ok(tools);
    }
    eprintln!("sintfuzz: installing llvm-tools (rustup component add llvm-tools) ...");
    run_cmd(
        Command::new("rustup").args(["component", "add", "llvm-tools"]),
        "rustup component add llvm-tools",
    )
    .map_err(|Fail::Usage(e)| {
        fail(format!(
            "line coverage needs the llvm-tools component and it could not be installed ({e}); \
             `sintfuzz cover --semantic-only` needs none"
        ))
    })?;
    if tools.0.is_file() && tools.1.is_file() {
        Ok(tools)
    } else {
        Err(fail(format!(
            "{}: no llvm-profdata/llvm-cov even after `rustup component add llvm-tools`",
            bin.display()
        )))
    }
}

pub fn cover(args: CoverArgs) -> Result<u8, Fail> {
    let settings = args.run.settings()?;
    let files = files(&args.inputs)?;
    if files.is_empty() {
        return Err(fail("no readable input files"));
    }
    let out = args.out.clone();
    std::fs::create_dir_all(&out).map_err(|e| fail(format!("{}: {e}", out.display())))?;
    write_semantic(&args, &files, &settings)?;
    if args.semantic_only {
        return Ok(0);
    }
    let (profdata, llvm_cov) = llvm_tools()?;
    let root = repo_root();
    let bin = build_instrumented(&root)?;
    let prof = out.join("profraw");
    replay_instrumented(&bin, &args, &settings, &files, &prof)?;
    let data = out.join("cover.profdata");
    let mut merge = Command::new(&profdata);
    merge.args(["merge", "-sparse", "-o"]).arg(&data);
    for e in std::fs::read_dir(&prof).into_iter().flatten().flatten() {
        merge.arg(e.path());
    }
    run_cmd(&mut merge, "llvm-profdata merge")?;
    let html = out.join("html");
    run_cmd(
        Command::new(&llvm_cov)
            .arg("show")
            .arg(&bin)
            .arg(format!("-instr-profile={}", data.display()))
            .arg("-format=html")
            .arg(format!("-output-dir={}", html.display()))
            .arg(format!("-ignore-filename-regex={IGNORE}")),
        "llvm-cov show",
    )?;
    let rows = line_rows(&llvm_cov, &bin, &data, &root)?;
    println!(
        "\nLine coverage of model/ and targets/ ({} inputs):\n\n{rows}",
        files.len()
    );
    println!("HTML report: {}", html.join("index.html").display());
    std::fs::write(out.join("lines.md"), &rows)
        .map_err(|e| fail(format!("{}: {e}", out.display())))?;
    Ok(0)
}

/// Sources left out of the line coverage: the standard library, dependencies, this crate.
const IGNORE: &str = "(/\\.cargo/|/rustc/|/triage/|/library/)";

/// The semantic coverage of `files`, printed and written to `semantic.md`.
fn write_semantic(args: &CoverArgs, files: &[PathBuf], settings: &Settings) -> Result<(), Fail> {
    let mut sem = Semantic::default();
    for f in files {
        if let Ok(d) = read_input(f) {
            let _ = crate::panics::quietly(|| sem.replay(args.run.target, &d, settings));
        }
    }
    let table = sem.markdown(&format!(
        "Semantic coverage of `{}` on `{}`",
        args.run.target.name(),
        settings.revision.name()
    ));
    print!("{table}");
    std::fs::write(args.out.join("semantic.md"), &table)
        .map_err(|e| fail(format!("{}: {e}", args.out.display())))
}

/// `sintfuzz` built with `-C instrument-coverage` under `target/cover`.
fn build_instrumented(root: &Path) -> Result<PathBuf, Fail> {
    let target_dir = root.join("target/cover");
    eprintln!("sintfuzz: building sintfuzz with -C instrument-coverage (target/cover) ...");
    run_cmd(
        Command::new("cargo")
            .args([
                "build",
                "--release",
                "-p",
                "sintfuzz-triage",
                "--bin",
                "sintfuzz",
            ])
            .arg("--target-dir")
            .arg(&target_dir)
            .env("RUSTFLAGS", "-C instrument-coverage")
            .current_dir(root),
        "cargo build (instrumented)",
    )?;
    Ok(target_dir.join("release/sintfuzz"))
}

/// `sintfuzz repro` of `files` by the instrumented `bin`, its profiles into `prof`.
fn replay_instrumented(
    bin: &Path,
    args: &CoverArgs,
    settings: &Settings,
    files: &[PathBuf],
    prof: &Path,
) -> Result<(), Fail> {
    let _ = std::fs::remove_dir_all(prof);
    std::fs::create_dir_all(prof).map_err(|e| fail(format!("{}: {e}", prof.display())))?;
    for chunk in files.chunks(500) {
        let st = Command::new(bin)
            .args(["repro", "--target", args.run.target.name()])
            .args(["--revision", settings.revision.name()])
            .args(["--invariants", &settings.invariants.to_string()])
            .args(chunk)
            .env("LLVM_PROFILE_FILE", prof.join("%p-%m.profraw"))
            .env("SINTFUZZ_KNOWN", "report")
            .stdout(Stdio::null())
            .status()
            .map_err(|e| fail(format!("{}: {e}", bin.display())))?;
        if st.code() == Some(2) || st.code().is_none() {
            return Err(fail(format!("instrumented replay failed ({st})")));
        }
    }
    Ok(())
}

/// The line coverage of each file under `model/` and `targets/`, a Markdown table.
fn line_rows(llvm_cov: &Path, bin: &Path, data: &Path, root: &Path) -> Result<String, Fail> {
    let o = Command::new(llvm_cov)
        .arg("export")
        .arg(bin)
        .arg(format!("-instr-profile={}", data.display()))
        .args(["-summary-only", "-format=text"])
        .arg(format!("-ignore-filename-regex={IGNORE}"))
        .output()
        .map_err(|e| fail(format!("llvm-cov export: {e}")))?;
    let v: serde_json::Value = serde_json::from_slice(&o.stdout)
        .map_err(|e| fail(format!("llvm-cov export: not JSON: {e}")))?;
    let mut rows = String::from("| file | lines | covered | % |\n|---|---:|---:|---:|\n");
    let root_s = root
        .canonicalize()
        .unwrap_or(root.to_path_buf())
        .display()
        .to_string();
    for f in v["data"][0]["files"].as_array().into_iter().flatten() {
        let name = f["filename"].as_str().unwrap_or("?");
        let rel = name
            .strip_prefix(&root_s)
            .unwrap_or(name)
            .trim_start_matches('/');
        if !(rel.starts_with("model/") || rel.starts_with("targets/")) {
            continue;
        }
        let l = &f["summary"]["lines"];
        rows.push_str(&format!(
            "| {rel} | {} | {} | {:.1} |\n",
            l["count"],
            l["covered"],
            l["percent"].as_f64().unwrap_or(0.0)
        ));
    }
    Ok(rows)
}
