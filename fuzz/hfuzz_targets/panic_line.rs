//! Shared by the honggfuzz wrappers. honggfuzz-rs replaces the panic hook with a bare
//! `abort()`, so a violation would leave no `sintfuzz violation: <id>: ...` line on
//! stderr. [`install`] chains a hook that prints the panic message first, then its
//! location, and then hands over to honggfuzz's hook, which aborts so that honggfuzz
//! records the crash. The output is visible with honggfuzz's `-Q` (`--keep_output`).

use std::sync::Once;

/// Installs the printing hook once; later calls are one atomic load.
pub fn install() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let next = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let payload = info.payload();
            let message = payload
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| payload.downcast_ref::<&str>().copied())
                .unwrap_or("(panic payload is not a string)");
            eprintln!("{message}");
            if let Some(location) = info.location() {
                eprintln!("  at {location}");
            }
            next(info);
        }));
    });
}
