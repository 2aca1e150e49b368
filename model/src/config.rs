//! The partition configuration, fixed for the life of a run like the real partition's.

/// Maximum VPs the model builds (the fuzz targets pick 1..=4).
pub const MAX_VPS: usize = 4;

/// Hardware isolation of the confidential VM.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Isolation {
    Tdx,
    Snp,
}

/// The guest's VMBus protocol era (§3.4–3.5 of the semantics reference).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum VmbusEra {
    /// Win8+ protocol: no interrupt page, host signals arrive as proxy interrupts.
    Modern,
    /// Pre-Win8 protocol: the guest supplies an interrupt page at InitiateContact, so the
    /// relay re-signals through VTL2 SINT7 and the trusted synic.
    PreWin8,
}

/// Fixed per run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Config {
    /// 1..=MAX_VPS; out-of-range values are clamped by [`Config::vps`].
    pub vp_count: u8,
    pub isolation: Isolation,
    /// `UhPartitionInner.vmbus_relay`: set at partition build from
    /// `vmbus_redirection_enabled && !hide_isolation` (`openhcl/underhill_core/src/worker.rs`),
    /// immutable afterwards.
    pub vmbus_relay: bool,
    /// TDX APIC offload (`LocalApic::is_offloaded`): while VTL0's APIC is also
    /// software-enabled, `offload_flags.offload_intr_inject` is set and the kernel moves
    /// proxy IRR bits straight into the VTL0 virtual APIC (`mshv_tdx_pull_proxy_irr`).
    /// Ignored on SNP.
    pub tdx_offload: bool,
    /// Whether VTL1 is enabled; without it every VTL1 action fails as the hypervisor would.
    pub vtl1_enabled: bool,
    pub era: VmbusEra,
    /// #384 proxy interrupt redirection: the hypervisor reports
    /// `proxy_interrupt_redirect_available` and OpenHCL did not disable it
    /// (`UhPartition` build in `openhcl/virt_mshv_vtl/src/lib.rs`). A redirected device
    /// interrupt goes only to the first target VP (`try_proxy_interrupt_redirection`).
    pub proxy_redirect: bool,
    /// The guest writes each of its VTL0 SINT and SCONTROL values to the host's synic as
    /// well (GHCB on SNP, TDVMCALL on TDX), as Linux's `hv_set_msr` does for a paravisor
    /// CVM. Without it the host's synic keeps its own state, masked at reset: upstream
    /// never copies trusted values to the hypervisor (`UhProcessor::write_msr_cvm`).
    pub guest_mirrors_sints: bool,
}

impl Config {
    /// Effective VP count, clamped to 1..=MAX_VPS.
    #[inline]
    pub fn vps(&self) -> usize {
        (self.vp_count as usize).clamp(1, MAX_VPS)
    }

    /// Whether the TDX APIC offload is on; the kernel consumes proxy IRR only while the
    /// APIC is also software-enabled (see `Partition`'s VP loop).
    #[inline]
    pub fn kernel_offload(&self) -> bool {
        self.isolation == Isolation::Tdx && self.tdx_offload
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            vp_count: 1,
            isolation: Isolation::Snp,
            vmbus_relay: true,
            tdx_offload: false,
            vtl1_enabled: false,
            era: VmbusEra::Modern,
            proxy_redirect: false,
            guest_mirrors_sints: true,
        }
    }
}
