//! A 256-bit set of interrupt vectors, the shape of every IRR-like bitmap in the path
//! (`proxy_irr`, `proxy_irr_blocked`, the device vector table, an APIC IRR).

use core::fmt;

/// 256 bits, one per x86 interrupt vector, stored as eight `u32` words like the run page
/// (`hcl_run` in `openhcl/hcl/src/protocol.rs`).
#[derive(Clone, Copy, PartialEq, Eq, Default, PartialOrd, Ord)]
pub struct VectorSet(pub [u32; 8]);

/// Sparse, consistent with `Eq`: `sintfuzz check`'s canonical state holds about 25 sets,
/// most of them empty or full (a filtered run page blocks every vector at reset), and
/// hashing their 32 bytes each was over a third of what it fingerprints. A byte with a bit
/// per nonzero word, a byte with a bit per full word, then the other nonzero words.
impl core::hash::Hash for VectorSet {
    #[inline]
    fn hash<H: core::hash::Hasher>(&self, h: &mut H) {
        let (mut nonzero, mut full) = (0u16, 0u16);
        for (i, w) in self.0.iter().enumerate() {
            nonzero |= u16::from(*w != 0) << i;
            full |= u16::from(*w == u32::MAX) << i;
        }
        h.write_u16(nonzero | full << 8);
        let mut rest = nonzero & !full;
        while rest != 0 {
            h.write_u32(self.0[rest.trailing_zeros() as usize]);
            rest &= rest - 1;
        }
    }
}

impl VectorSet {
    pub const EMPTY: Self = Self([0; 8]);
    pub const ALL: Self = Self([u32::MAX; 8]);
    /// Vectors 0..=15: exceptions, never valid for a fixed interrupt.
    pub const RESERVED: Self = Self([0xffff, 0, 0, 0, 0, 0, 0, 0]);

    #[inline]
    pub const fn single(vector: u8) -> Self {
        let mut s = Self::EMPTY;
        s.0[(vector / 32) as usize] = 1 << (vector % 32);
        s
    }

    #[inline]
    pub fn contains(&self, vector: u8) -> bool {
        self.0[(vector / 32) as usize] & (1 << (vector % 32)) != 0
    }

    #[inline]
    pub fn insert(&mut self, vector: u8) {
        self.0[(vector / 32) as usize] |= 1 << (vector % 32);
    }

    /// [`VectorSet::insert`] when `cond`, without a branch.
    #[inline]
    pub fn insert_if(&mut self, vector: u8, cond: bool) {
        self.0[(vector / 32) as usize] |= (cond as u32) << (vector % 32);
    }

    #[inline]
    pub fn remove(&mut self, vector: u8) {
        self.0[(vector / 32) as usize] &= !(1 << (vector % 32));
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.0 == [0; 8]
    }

    #[inline]
    pub fn union(self, other: Self) -> Self {
        self.zip(other, |a, b| a | b)
    }

    #[inline]
    pub fn intersection(self, other: Self) -> Self {
        self.zip(other, |a, b| a & b)
    }

    #[inline]
    pub fn difference(self, other: Self) -> Self {
        self.zip(other, |a, b| a & !b)
    }

    #[inline]
    pub fn complement(self) -> Self {
        self.zip(Self::EMPTY, |a, _| !a)
    }

    #[inline]
    pub fn len(&self) -> u32 {
        self.0.iter().map(|w| w.count_ones()).sum()
    }

    /// The lowest vector in the set.
    #[inline]
    pub fn first(&self) -> Option<u8> {
        self.iter().next()
    }

    /// Vectors in ascending order; no allocation. Word by word, lowest set bit first, so
    /// a sparse set costs its bits, not 256 probes.
    #[inline]
    pub fn iter(&self) -> Iter {
        Iter {
            words: self.0,
            word: 0,
        }
    }

    #[inline(always)]
    fn zip(self, other: Self, f: impl Fn(u32, u32) -> u32) -> Self {
        let mut out = [0; 8];
        for (i, w) in out.iter_mut().enumerate() {
            *w = f(self.0[i], other.0[i]);
        }
        Self(out)
    }
}

/// [`VectorSet::iter`]: the vectors of a copy of the set, ascending.
#[derive(Clone, Debug)]
pub struct Iter {
    words: [u32; 8],
    /// The word being drained; its bits already returned are cleared in `words`.
    word: usize,
}

impl Iterator for Iter {
    type Item = u8;

    #[inline]
    fn next(&mut self) -> Option<u8> {
        while self.word < 8 {
            let w = self.words[self.word];
            if w != 0 {
                self.words[self.word] = w & (w - 1);
                return Some((self.word as u32 * 32 + w.trailing_zeros()) as u8);
            }
            self.word += 1;
        }
        None
    }
}

impl fmt::Debug for VectorSet {
    /// The compact `Display` form: traces of 256-bit sets stay one short line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for VectorSet {
    /// Compact ranges, e.g. `{0x10-0x1f,0x30}`; `all` and `none` for the extremes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if *self == Self::ALL {
            return f.write_str("all");
        }
        if self.is_empty() {
            return f.write_str("none");
        }
        f.write_str("{")?;
        let mut first = true;
        let mut v = 0u16;
        while v < 256 {
            if self.contains(v as u8) {
                let start = v;
                while v + 1 < 256 && self.contains((v + 1) as u8) {
                    v += 1;
                }
                if !first {
                    f.write_str(",")?;
                }
                first = false;
                if start == v {
                    write!(f, "{start:#04x}")?;
                } else {
                    write!(f, "{start:#04x}-{v:#04x}")?;
                }
            }
            v += 1;
        }
        f.write_str("}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bytes `Hash` writes.
    #[derive(Default)]
    struct Bytes(Vec<u8>);

    impl core::hash::Hasher for Bytes {
        fn write(&mut self, b: &[u8]) {
            self.0.extend_from_slice(b);
        }
        fn finish(&self) -> u64 {
            0
        }
    }

    fn bytes(s: VectorSet) -> Vec<u8> {
        let mut b = Bytes::default();
        core::hash::Hash::hash(&s, &mut b);
        b.0
    }

    /// The sparse `Hash` tells sets apart exactly as `Eq` does: on sets with empty, full
    /// and partial words in every position, equal bytes iff equal sets.
    #[test]
    fn the_sparse_hash_separates_exactly_the_unequal_sets() {
        let words = [0, u32::MAX, 1, 0x8000_0000, 0xffff_fffe];
        let mut sets = vec![VectorSet::EMPTY, VectorSet::ALL, VectorSet::RESERVED];
        for i in 0..8 {
            for &w in &words {
                for &rest in &[0, u32::MAX] {
                    let mut s = VectorSet([rest; 8]);
                    s.0[i] = w;
                    sets.push(s);
                    s.0[(i + 3) % 8] = 5;
                    sets.push(s);
                }
            }
        }
        let mut pairs = 0;
        for a in &sets {
            for b in &sets {
                assert_eq!(a == b, bytes(*a) == bytes(*b), "{a:?} {b:?}");
                pairs += usize::from(a != b);
            }
        }
        assert!(pairs > 1000, "{pairs}");
        // Empty and full sets take two bytes, not 32.
        assert_eq!(bytes(VectorSet::EMPTY).len(), 2);
        assert_eq!(bytes(VectorSet::ALL).len(), 2);
    }

    #[test]
    fn set_operations() {
        let mut s = VectorSet::EMPTY;
        s.insert(0);
        s.insert(31);
        s.insert(32);
        s.insert(255);
        assert_eq!(s.len(), 4);
        assert!(s.contains(255) && s.contains(32) && !s.contains(33));
        s.remove(31);
        assert_eq!(s.iter().collect::<Vec<_>>(), vec![0, 32, 255]);
        assert_eq!(s.complement().len(), 253);
        assert_eq!(
            VectorSet::ALL.difference(VectorSet::RESERVED).first(),
            Some(16)
        );
        assert_eq!(
            VectorSet::single(0x30)
                .union(VectorSet::single(0x31))
                .to_string(),
            "{0x30-0x31}"
        );
    }

    /// The word-by-word iterator yields exactly the members, ascending, and `first` the
    /// lowest: every single vector, the extremes, and pseudo-random sets.
    #[test]
    fn iter_yields_the_members_in_order() {
        let probe = |s: VectorSet| {
            let want: Vec<u8> = (0..=255u8).filter(|&v| s.contains(v)).collect();
            assert_eq!(s.iter().collect::<Vec<_>>(), want, "{s}");
            assert_eq!(s.first(), want.first().copied(), "{s}");
            assert_eq!(s.iter().count() as u32, s.len());
        };
        for v in 0..=255u8 {
            probe(VectorSet::single(v));
            probe(VectorSet::ALL.difference(VectorSet::single(v)));
        }
        probe(VectorSet::EMPTY);
        probe(VectorSet::ALL);
        probe(VectorSet::RESERVED);
        let mut x = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..500 {
            let mut s = VectorSet::EMPTY;
            for w in s.0.iter_mut() {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                *w = (x as u32) & (x >> 32) as u32;
            }
            probe(s);
        }
    }
}
