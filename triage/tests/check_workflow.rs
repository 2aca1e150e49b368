//! The sharded deep check's GitHub Actions workflow (.github/workflows/check_shards.yml)
//! parses, its matrix agrees with its shard count, its artifacts carry each shard's
//! result to the merge, and its `run` steps, run here in order as written (every shard,
//! then the merge) at depth 1, give the merged verdict.

mod common;

use std::collections::BTreeMap;
use std::process::Command;

use yaml_rust2::{Yaml, YamlLoader};

const WORKFLOW: &str = ".github/workflows/check_shards.yml";

fn get<'a>(y: &'a Yaml, key: &str) -> &'a Yaml {
    &y[key]
}

fn text(y: &Yaml) -> String {
    match y {
        Yaml::String(s) => s.clone(),
        Yaml::Integer(i) => i.to_string(),
        other => panic!("expected a string, found {other:?}"),
    }
}

/// The job's steps: (`uses` or "", `run` or "", `with`).
fn steps(job: &Yaml) -> Vec<(String, String, Yaml)> {
    get(job, "steps")
        .as_vec()
        .expect("steps")
        .iter()
        .map(|s| {
            (
                s["uses"].as_str().unwrap_or("").to_string(),
                s["run"].as_str().unwrap_or("").to_string(),
                s["with"].clone(),
            )
        })
        .collect()
}

/// Run one `run` step as GitHub's default shell does (`bash -e {0}` with pipefail).
fn run_step(script: &str, dir: &std::path::Path, env: &BTreeMap<String, String>) -> i32 {
    assert!(
        !script.contains("${{"),
        "an expression left unexpanded: {script}"
    );
    Command::new("bash")
        .args(["--noprofile", "--norc", "-eo", "pipefail", "-c", script])
        .current_dir(dir)
        .envs(env)
        .status()
        .expect("bash runs")
        .code()
        .unwrap_or(-1)
}

/// What an artifact carries from a shard job to the merge job: the merge's download
/// puts each shard's upload where the shard wrote it.
fn the_merge_downloads_what_the_shards_upload(
    shard_steps: &[(String, String, Yaml)],
    merge_steps: &[(String, String, Yaml)],
) {
    let upload = shard_steps
        .iter()
        .find(|s| s.0.starts_with("actions/upload-artifact"))
        .expect("the shard uploads its result");
    let download = merge_steps
        .iter()
        .find(|s| s.0.starts_with("actions/download-artifact"))
        .expect("the merge downloads the results");
    // download-artifact puts artifact NAME under PATH/NAME: the path the shard wrote.
    assert_eq!(
        format!("{}/{}", text(&download.2["path"]), text(&upload.2["name"])),
        text(&upload.2["path"])
    );
    let pattern = text(&download.2["pattern"]);
    let prefix = pattern.strip_suffix('*').expect("a name prefix pattern");
    assert!(text(&upload.2["name"]).starts_with(prefix));
}

#[test]
fn the_sharded_workflow_parses_and_its_steps_run_in_order_at_a_small_depth() {
    let source = std::fs::read_to_string(common::root().join(WORKFLOW)).unwrap();
    let doc = &YamlLoader::load_from_str(&source).expect("the workflow parses")[0];
    let jobs = get(doc, "jobs");
    let shard_job = get(jobs, "shard");
    let merge_job = get(jobs, "merge");
    assert_eq!(text(get(merge_job, "needs")), "shard");
    let mut env: BTreeMap<String, String> = get(doc, "env")
        .as_hash()
        .unwrap()
        .iter()
        .map(|(k, v)| (text(k), text(v)))
        .collect();
    let n: usize = env["SHARDS"].parse().unwrap();
    let matrix: Vec<usize> = get(get(get(shard_job, "strategy"), "matrix"), "shard")
        .as_vec()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap() as usize)
        .collect();
    assert_eq!(
        matrix,
        (1..=n).collect::<Vec<_>>(),
        "matrix and SHARDS agree"
    );
    assert!(env["DEPTH"].parse::<u16>().unwrap() >= 5, "the deep check");

    let shard_steps = steps(shard_job);
    let merge_steps = steps(merge_job);
    the_merge_downloads_what_the_shards_upload(&shard_steps, &merge_steps);

    // The run steps, in order, at depth 1, with this build's binary; the build steps are
    // what produced it.
    let dir = std::env::temp_dir().join(format!("sintfuzz-workflow-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    env.insert("SINTFUZZ".into(), env!("CARGO_BIN_EXE_sintfuzz").into());
    env.insert("DEPTH".into(), "1".into());
    let runs = |steps: &[(String, String, Yaml)]| -> Vec<String> {
        steps
            .iter()
            .filter(|s| !s.1.is_empty() && !s.1.starts_with("cargo build"))
            .map(|s| s.1.clone())
            .collect()
    };
    let shard_runs = runs(&shard_steps);
    assert!(!shard_runs.is_empty());
    for i in &matrix {
        for script in &shard_runs {
            let script = script.replace("${{ matrix.shard }}", &i.to_string());
            assert_eq!(run_step(&script, &dir, &env), 0, "shard {i}: {script}");
        }
    }
    for script in runs(&merge_steps) {
        assert_eq!(run_step(&script, &dir, &env), 0, "merge: {script}");
    }
    let log = std::fs::read_to_string(dir.join("merged.log")).unwrap();
    assert!(
        log.contains(&format!("merged {n} shard result(s)")),
        "{log}"
    );
    assert!(
        log.contains("result: clean: no violation of strict on proposed up to depth 1"),
        "{log}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
