//! Lines a campaign prints while its live display (`progress`) may be running: above the
//! display when there is one, so no stale copy of it is left behind. Below both the runner
//! (which prints) and the display (which registers itself here), so neither calls the
//! other's way.

use std::sync::Mutex;

use indicatif::MultiProgress;

/// The display on the terminal while one is running, so that [`say`] prints above it.
static ACTIVE: Mutex<Option<MultiProgress>> = Mutex::new(None);

/// Print one line to stderr; above the live display when one is running (a plain
/// `eprintln!` would leave a stale copy of the display behind it).
pub fn say(line: &str) {
    match ACTIVE.lock().expect("not poisoned").as_ref() {
        Some(m) => {
            let _ = m.println(line);
        }
        None => eprintln!("{line}"),
    }
}

/// The live display lines go above from now on (`None`: none, print plainly).
pub fn show_above(display: Option<MultiProgress>) {
    *ACTIVE.lock().expect("not poisoned") = display;
}
