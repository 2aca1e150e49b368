//! A fixed-seed generator (splitmix64) for the seeded tests and benchmarks that feed the
//! targets random bytes, and for the op-level mutator (`mutate`). Never used in the
//! target path.

pub struct SplitMix64(pub u64);

impl SplitMix64 {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next_u64() as u8).collect()
    }

    /// A random input of 16..416 bytes: a few dozen operations.
    pub fn input(&mut self) -> Vec<u8> {
        let len = 16 + (self.next_u64() % 400) as usize;
        self.bytes(len)
    }
}
