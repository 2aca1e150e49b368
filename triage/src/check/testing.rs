//! Helpers for the check module's tests: a state's canonical bytes and a seeded
//! pseudo-random choice.

use std::hash::{Hash, Hasher};

use sintfuzz_targets::Machine;

/// The canonical state's bytes, exactly (no hash collision can hide a difference).
#[derive(Default)]
struct Bytes(Vec<u8>);

impl Hasher for Bytes {
    fn write(&mut self, b: &[u8]) {
        self.0.extend_from_slice(b);
    }
    fn finish(&self) -> u64 {
        0
    }
}

/// `m`'s canonical bytes (`Machine`'s `Hash`).
pub fn canonical(m: &Machine) -> Vec<u8> {
    let mut b = Bytes::default();
    m.hash(&mut b);
    b.0
}

/// A xorshift generator from `seed`: each call gives a number below its argument.
pub fn chooser(mut seed: u64) -> impl FnMut(usize) -> usize {
    move |n| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n as u64) as usize
    }
}
