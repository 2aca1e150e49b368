//! A guest local APIC, reduced to what interrupt delivery needs
//! (`vmm_core/virt_support_apic/src/lib.rs`).

use crate::vectors::VectorSet;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Apic {
    /// APIC base MSR enable.
    pub hw_enabled: bool,
    /// SVR software enable.
    pub sw_enabled: bool,
    /// Pending fixed interrupts.
    pub irr: VectorSet,
    /// Vectors to be auto-EOI'd (trusted-synic deliveries with `auto_eoi`).
    pub auto_eoi: VectorSet,
}

impl Apic {
    /// A booted guest's APIC: enabled, nothing pending.
    pub const BOOTED: Apic = Apic {
        hw_enabled: true,
        sw_enabled: true,
        irr: VectorSet::EMPTY,
        auto_eoi: VectorSet::EMPTY,
    };
}

impl Default for Apic {
    /// [`Apic::BOOTED`].
    fn default() -> Self {
        Self::BOOTED
    }
}

/// What happened to one requested vector.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Request {
    Pending { coalesced: bool },
    Reserved,
    Disabled,
}

impl Apic {
    #[inline]
    pub fn enabled(&self) -> bool {
        self.hw_enabled && self.sw_enabled
    }

    /// `SharedState::request_interrupt` (the trusted synic's `synic_interrupt`): drops any
    /// vector outside 16..=255 and anything while software-disabled; records auto-EOI.
    #[inline]
    pub fn request_interrupt(&mut self, vector: u8, auto_eoi: bool) -> Request {
        if vector < 16 {
            return Request::Reserved;
        }
        if !self.sw_enabled {
            return Request::Disabled;
        }
        let coalesced = self.irr.contains(vector);
        self.irr.insert(vector);
        if auto_eoi {
            self.auto_eoi.insert(vector);
        } else {
            self.auto_eoi.remove(vector);
        }
        Request::Pending { coalesced }
    }

    /// One vector of `LocalApic::request_fixed_interrupts` (proxy IRR from user space),
    /// after the caller checked `enabled()` and cleared 0..=15: edge, never auto-EOI.
    #[inline]
    pub fn request_fixed(&mut self, vector: u8) -> Request {
        let coalesced = self.irr.contains(vector);
        self.irr.insert(vector);
        self.auto_eoi.remove(vector);
        Request::Pending { coalesced }
    }

    /// The TDX kernel offload ORs straight into the virtual-APIC IRR: no 0..=15 mask
    /// (`mshv_tdx_pull_proxy_irr`). The caller checked `can_offload_irr()` (software
    /// enable); the hardware enable is not looked at.
    #[inline]
    pub fn offload_or(&mut self, vector: u8) -> Request {
        let coalesced = self.irr.contains(vector);
        self.irr.insert(vector);
        Request::Pending { coalesced }
    }
}
