//! Helpers the peer tests share.

use sintfuzz_targets::rng::SplitMix64;

/// Random bytes, most of them small or edge values so that actions hit in-range VPs and
/// the raw fields' edges (a SINT past 15, vector 0x130, ...).
pub fn edgy(rng: &mut SplitMix64) -> Vec<u8> {
    let len = 16 + (rng.next_u64() % 400) as usize;
    (0..len)
        .map(|_| match rng.next_u64() % 8 {
            0..=3 => (rng.next_u64() % 4) as u8,
            4 => [0x0f, 0x10, 0x2f, 0x30, 0x40, 0x80, 0xfe, 0xff][(rng.next_u64() % 8) as usize],
            _ => rng.next_u64() as u8,
        })
        .collect()
}
