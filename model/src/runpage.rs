//! The per-VP run page fields shared by VTL2 user space and the `mshv_vtl` kernel driver
//! (`hcl_run` in `openhcl/hcl/src/protocol.rs`), with the kernel's producer.

use crate::vectors::VectorSet;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RunPage {
    /// `scan_proxy_irr`: new bits present.
    pub scan_proxy_irr: bool,
    pub proxy_irr: VectorSet,
    /// Bit set = vector blocked.
    pub proxy_irr_blocked: VectorSet,
    /// `proxy_irr_exit_mask`: vectors left for user space (the TMR). The model has no
    /// level-triggered vectors, so it stays empty.
    pub proxy_irr_exit: VectorSet,
}

impl RunPage {
    /// `HclVp::new` (`openhcl/hcl/src/ioctl.rs`): all blocked on hardware-isolated
    /// partitions; with no filter (before #609) nothing is ever blocked.
    pub const fn new(filtered: bool) -> Self {
        Self {
            scan_proxy_irr: false,
            proxy_irr: VectorSet::EMPTY,
            proxy_irr_blocked: if filtered {
                VectorSet::ALL
            } else {
                VectorSet::EMPTY
            },
            proxy_irr_exit: VectorSet::EMPTY,
        }
    }

    /// `mshv_vtl_scan_proxy_interrupts` for one `HVMSG_X64_PROXY_INTERRUPT_INTERCEPT`:
    /// admits the unblocked bits, sets `scan_proxy_irr`, and returns the blocked bits,
    /// which are dropped for good (the message is EOM'd, nothing replays them).
    #[inline]
    pub fn kernel_assert(&mut self, asserted: VectorSet) -> VectorSet {
        let admitted = asserted.difference(self.proxy_irr_blocked);
        self.proxy_irr = self.proxy_irr.union(admitted);
        self.scan_proxy_irr = true;
        asserted.intersection(self.proxy_irr_blocked)
    }

    /// `ProcessorRunner::proxy_irr_vtl0`: `None` without `scan_proxy_irr`; else clears the
    /// flag, then swaps every word to zero and returns the snapshot.
    #[inline]
    pub fn take_proxy_irr(&mut self) -> Option<VectorSet> {
        if !self.scan_proxy_irr {
            return None;
        }
        self.scan_proxy_irr = false;
        Some(core::mem::take(&mut self.proxy_irr))
    }
}
