//! Defects injected on purpose into copies of `proposed`, for the tests of grouping
//! (`targets/tests/injected.rs`) and of the oracle: each is one deliberate bug (in the
//! filter code, or for [`Defect::PollOverwritesIrr`] in the proxy IRR's consumer) that no
//! policy choice of `proposed` removes, so its violations have no fix in their
//! root-cause signature. The revisions that carry them exist only with the cargo feature
//! `inject` (off by default), so no production binary can reach them; without it
//! [`Policy::has`] is constant `false` and every check of it folds away.

use crate::revision::Policy;

/// One injected defect.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Defect {
    /// The SINT rule ignores the mask bit: a masked proxy (or relayed SINT2) SINT's
    /// vector is admitted (a leak).
    MaskedSintAdmitted,
    /// A WRMSR of the VMBus SINT (SINT2) never recomputes the filter (its vector is lost
    /// when set, and stays admitted when withdrawn).
    Sint2WrmsrStale,
    /// A device route's vector is admitted on its target VPs but the lowest (lost there:
    /// every interrupt of a single-VP route).
    DeviceFirstTargetSkipped,
    /// Not in the filter but in the consumer: the user-space poll stores the proxy IRR
    /// snapshot over the VTL0 IRR instead of OR-ing it in, so a vector already pending
    /// (and already reported delivered) is lost from the guest's IRR without an ack.
    PollOverwritesIrr,
}

impl Policy {
    /// Whether this policy carries the injected defect `d`.
    #[inline(always)]
    pub const fn has(self, d: Defect) -> bool {
        #[cfg(feature = "inject")]
        {
            matches!(self.defect, Some(x) if x as u8 == d as u8)
        }
        #[cfg(not(feature = "inject"))]
        {
            let _ = d;
            false
        }
    }
}
