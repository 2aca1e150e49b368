//! Step-by-step logging for reproducing a crash (`SINTFUZZ_LOG`): a [`StepHook`] that
//! logs every operation, event and result through `tracing`. Never in the fuzzing loop:
//! the engine entry point (`crate::engine`) turns it on only when reproducing.

use sintfuzz_model::{Event, Op, OpResult, Partition};

use crate::harness::StepHook;
use crate::oracle::Oracle;

pub const ENV_LOG: &str = "SINTFUZZ_LOG";

/// Logs every step through `tracing` (target `sintfuzz`), for `SINTFUZZ_LOG`.
pub struct TracingHook;

impl StepHook for TracingHook {
    fn op(&mut self, step: usize, op: &Op, _: &Partition) {
        tracing::info!(target: "sintfuzz", step, ?op, "op");
    }
    fn event(&mut self, event: &Event) {
        tracing::debug!(target: "sintfuzz", ?event, "event");
    }
    fn result(&mut self, step: usize, result: OpResult, _: &Partition, _: &Oracle) {
        tracing::debug!(target: "sintfuzz", step, ?result, "result");
    }
}

/// Install a `tracing` subscriber filtered by `SINTFUZZ_LOG` (stderr). Returns whether
/// logging is on. Only called when reproducing, never in the fuzzing loop.
pub fn init_tracing() -> bool {
    let Ok(filter) = std::env::var(ENV_LOG) else {
        return false;
    };
    let filter = tracing_subscriber::EnvFilter::try_new(&filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .without_time()
        .try_init();
    true
}
