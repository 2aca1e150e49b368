//! The SIEFP event flags (`synic::EventFlags`): the same set semantics as the dense
//! 16 x 2048-bit page `GlobalSynic::signal_event` sets atomically, checked against a
//! plain set of (SINT, flag) pairs.

use std::collections::BTreeSet;

use sintfuzz_model::hvdef::{Sint, EVENT_FLAGS_PER_SINT, NUM_SINTS};
use sintfuzz_model::synic::{EventFlags, Signal, Synic};

/// splitmix64, fixed seed.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

#[test]
fn event_flags_are_a_set_of_sint_flag_pairs() {
    let mut rng = Rng(9);
    let mut far_seen = 0;
    for _ in 0..200 {
        let mut flags = EventFlags::default();
        let mut reference = BTreeSet::new();
        for _ in 0..60 {
            let sint = (rng.next() % NUM_SINTS as u64) as u8;
            // Half near the bottom (dense words), half anywhere in the page.
            let flag = if rng.next() & 1 == 0 {
                (rng.next() % 70) as u32
            } else {
                (rng.next() % EVENT_FLAGS_PER_SINT as u64) as u32
            };
            far_seen += (flag >= 64) as u32;
            assert_eq!(
                flags.test_and_set(sint, flag),
                !reference.insert((sint, flag))
            );
            for &(s, f) in &reference {
                assert!(flags.get(s, f));
            }
            let (s, f) = ((rng.next() % 16) as u8, (rng.next() % 2048) as u32);
            assert_eq!(flags.get(s, f), reference.contains(&(s, f)));
        }
        // The same set reached in another order is the same value.
        let mut again = EventFlags::default();
        for &(s, f) in reference.iter().rev() {
            again.test_and_set(s, f);
        }
        assert_eq!(again, flags);
    }
    assert!(far_seen > 1000, "{far_seen}");
}

#[test]
fn signal_event_sets_each_flag_once_until_cleared() {
    let mut synic = Synic::default();
    synic.sints[2] = Sint::unmasked(0x30, false);
    let interrupt = Signal::Interrupt {
        vector: 0x30,
        auto_eoi: false,
    };
    for flag in [0, 63, 64, 2047] {
        assert_eq!(synic.signal_event(2, flag), interrupt, "flag {flag}");
        assert_eq!(
            synic.signal_event(2, flag),
            Signal::AlreadySet,
            "flag {flag}"
        );
    }
    assert_eq!(synic.signal_event(2, 2048), Signal::Refused);
    synic.clear_flags();
    assert_eq!(synic.signal_event(2, 2047), interrupt);
}
