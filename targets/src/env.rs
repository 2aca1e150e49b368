//! The engines' switch variables (`SINTFUZZ_KNOWN`, `SINTFUZZ_FEEDBACK`): each is unset
//! or one of a few words, read once per process; anything else is a one-line error and
//! exit code 2 before any input runs, never a silent default.

use std::env::VarError;

/// The value of variable `name` (as `std::env::var` gives it): `default` when unset, else
/// the word of `words` it names (surrounding whitespace ignored).
pub fn word<T: Copy>(
    name: &str,
    value: Result<String, VarError>,
    default: T,
    words: &[(&str, T)],
) -> Result<T, String> {
    match value {
        Err(VarError::NotPresent) => Ok(default),
        Err(VarError::NotUnicode(_)) => Err(format!("{name} is not valid UTF-8")),
        Ok(v) => {
            let v = v.trim();
            words
                .iter()
                .find(|(w, _)| *w == v)
                .map(|&(_, t)| t)
                .ok_or_else(|| {
                    let expected: Vec<&str> = words.iter().map(|(w, _)| *w).collect();
                    format!(
                        "{name}: unknown value '{v}' (expected {})",
                        expected.join(" or ")
                    )
                })
        }
    }
}

/// `r`'s value, or the end of the process: its error on one line, exit code 2.
pub fn or_exit<T>(r: Result<T, String>) -> T {
    r.unwrap_or_else(|e| {
        eprintln!("sintfuzz: {e}");
        std::process::exit(2)
    })
}
