//! **findings/** owns what is done with one violation or crash file: replay it with model
//! panics caught (`triage`), minimize it keeping its root cause (`minimize`), separating coincident values until one
//! root cause is left (`separate`), bucket it by
//! signature against the known list (`bucket`), explain it step by step (`explain`), write
//! a known finding's upstream report (`finding`), and count the oracle's skips over a
//! corpus (`skips`); and the subcommands on them, from parsed arguments to output
//! (`commands`: repro, explain, minimize, bucket, promote, seed, report). It may call `engine/` and the targets (and the peer harnesses'
//! decoders, to replay a peer's crash file); never `cli/`, `campaign/`, `bench/` or
//! `check/`.

pub mod bucket;
pub mod commands;
pub mod explain;
pub mod finding;
pub mod minimize;
pub mod separate;
pub mod skips;
pub mod triage;
