//! Model panics caught quietly: a replay that panics inside the model (an arithmetic
//! panic, an index out of range) becomes an `Err` with its message and site instead of
//! a crash of `sintfuzz`. Shared by every folder, like `paths` and `args`.

use std::cell::Cell;
use std::sync::Once;

thread_local! {
    static QUIET: Cell<bool> = const { Cell::new(false) };
    /// `file:line` of the last panic caught quietly on this thread.
    static SITE: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
}

/// Where the last panic [`quietly`] caught on this thread happened (`file:line`), if it
/// said.
pub fn last_panic_site() -> Option<String> {
    SITE.with(|s| Some(s.borrow().clone()).filter(|s| !s.is_empty()))
}

/// Run `f`, turning a panic into `Err(message)` without printing it.
pub fn quietly<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !QUIET.with(Cell::get) {
                default(info);
            } else {
                let site = info
                    .location()
                    .map(|l| format!("{}:{}", l.file(), l.line()))
                    .unwrap_or_default();
                SITE.with(|s| *s.borrow_mut() = site);
            }
        }));
    });
    let was = QUIET.with(|q| q.replace(true));
    SITE.with(|s| s.borrow_mut().clear());
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    QUIET.with(|q| q.set(was));
    r.map_err(|p| {
        p.downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "panic without a message".into())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panicking_replay_is_caught_and_named() {
        assert_eq!(quietly(|| 7), Ok(7));
        let e = quietly(|| {
            let v: Vec<u8> = Vec::new();
            v[3]
        })
        .unwrap_err();
        assert!(e.contains("index out of bounds"), "{e}");
        let site = last_panic_site().expect("a site");
        assert!(site.starts_with("triage/src/panics.rs:"), "{site}");
    }
}
