//! Register numbers, bit layouts and status codes of the Hyper-V TLFS as OpenVMM defines
//! them (`vm/hv1/hvdef/src/lib.rs`). Only what the SINT → proxy-IRR path touches.

use bitfield_struct::bitfield;

/// A virtual trust level. VTL2 is OpenHCL itself; the guest VTLs are 0 and 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Vtl {
    Vtl0 = 0,
    Vtl1 = 1,
    Vtl2 = 2,
}

impl Vtl {
    /// The guest VTLs, in the order the model stores them.
    pub const GUEST: [Vtl; 2] = [Vtl::Vtl0, Vtl::Vtl1];

    #[inline]
    pub fn index(self) -> usize {
        self as usize
    }
}

impl core::fmt::Display for Vtl {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "vtl{}", *self as u8)
    }
}

/// `NUM_SINTS`.
pub const NUM_SINTS: usize = 16;
/// `VMBUS_SINT` (`vm/devices/vmbus/vmbus_core/src/lib.rs`): the guest-facing VMBus SINT.
pub const VMBUS_SINT: u8 = 2;
/// `VTL2_VMBUS_SINT_INDEX` (kernel `mshv_vtl_main.c`): VTL2's SINT for host VMBus events.
pub const VTL2_VMBUS_SINT: u8 = 7;
/// `HV_SYNIC_INTERCEPTION_SINT_INDEX`: VTL2's SINT0 carries proxy-interrupt messages.
pub const VTL2_INTERCEPT_SINT: u8 = 0;
/// Event flags per SINT in the SIEFP page (256 bytes × 8).
pub const EVENT_FLAGS_PER_SINT: u32 = 2048;

/// Synic MSRs (`vm/hv1/hvdef/src/lib.rs`, `HV_X64_MSR_*`).
pub mod msr {
    pub const SCONTROL: u32 = 0x4000_0080;
    pub const SVERSION: u32 = 0x4000_0081;
    pub const SIEFP: u32 = 0x4000_0082;
    pub const SIMP: u32 = 0x4000_0083;
    pub const EOM: u32 = 0x4000_0084;
    pub const SINT0: u32 = 0x4000_0090;
    pub const SINT15: u32 = 0x4000_009f;
    pub const STIMER0_CONFIG: u32 = 0x4000_00b0;
    pub const STIMER3_COUNT: u32 = 0x4000_00b7;

    /// The SINT index of a SINTn MSR.
    #[inline]
    pub fn sint_index(msr: u32) -> Option<u8> {
        (SINT0..=SINT15).contains(&msr).then(|| (msr - SINT0) as u8)
    }
}

/// Register names of HvGet/SetVpRegisters (`HvX64RegisterName` / `HvAllArchRegisterName`).
pub mod reg {
    pub const SINT0: u32 = 0x000a_0000;
    pub const SINT15: u32 = 0x000a_000f;
    pub const SCONTROL: u32 = 0x000a_0010;
    pub const SVERSION: u32 = 0x000a_0011;
    pub const SIEFP: u32 = 0x000a_0012;
    pub const SIMP: u32 = 0x000a_0013;
    pub const EOM: u32 = 0x000a_0014;
    /// `Stimer0Config..=Stimer3Count`, alternating config/count like the MSRs.
    pub const STIMER0_CONFIG: u32 = 0x000b_0000;
    pub const STIMER3_COUNT: u32 = 0x000b_0007;
    /// `VsmVina` (`HvAllArchRegisterName::VsmVina = 0x000D0005`): a synic register kept
    /// outside the MSR map; rejected for VTL0 targets and with reserved bits (>= 11) set.
    pub const VSM_VINA: u32 = 0x000d_0005;
    /// `VsmPartitionConfig` (`0x000D0007`): only for a VTL1 target.
    pub const VSM_PARTITION_CONFIG: u32 = 0x000d_0007;

    /// `ProcessorSynic::reg_to_msr` in `vm/hv1/hv1_emulator/src/synic.rs` maps names to
    /// MSRs.
    #[inline]
    pub fn to_msr(name: u32) -> Option<u32> {
        match name {
            SINT0..=SINT15 => Some(super::msr::SINT0 + (name - SINT0)),
            STIMER0_CONFIG..=STIMER3_COUNT => {
                Some(super::msr::STIMER0_CONFIG + (name - STIMER0_CONFIG))
            }
            SCONTROL => Some(super::msr::SCONTROL),
            SVERSION => Some(super::msr::SVERSION),
            SIEFP => Some(super::msr::SIEFP),
            SIMP => Some(super::msr::SIMP),
            EOM => Some(super::msr::EOM),
            _ => None,
        }
    }
}

/// `HV_VP_INDEX_SELF`.
pub const VP_INDEX_SELF: u32 = 0xffff_fffe;
/// `HV_PARTITION_ID_SELF`.
pub const PARTITION_ID_SELF: u64 = u64::MAX;
/// `VP_INDEX_DISABLE_INTERRUPT`: an OpenChannel target VP meaning "no host→guest interrupt".
pub const VP_INDEX_DISABLE_INTERRUPT: u32 = u32::MAX;

/// `HvSynicSint` (`vm/hv1/hvdef/src/lib.rs`), the same `bitfield-struct` layout. Every
/// bit pattern is legal and kept: `set_sint` stores the raw u64, reserved bits included.
#[bitfield(u64)]
#[derive(PartialEq, Eq, Hash)]
pub struct Sint {
    pub vector: u8,
    _reserved1: u8,
    pub masked: bool,
    pub auto_eoi: bool,
    pub polling: bool,
    _reserved2: bool,
    pub proxy: bool,
    #[bits(43)]
    _reserved3: u64,
}

impl Sint {
    /// Raw bit masks of the flags, for building register values.
    pub const MASKED: u64 = Self::new().with_masked(true).into_bits();
    pub const AUTO_EOI: u64 = Self::new().with_auto_eoi(true).into_bits();
    pub const POLLING: u64 = Self::new().with_polling(true).into_bits();
    pub const PROXY: u64 = Self::new().with_proxy(true).into_bits();
    /// Reset value of every SINT: masked, vector 0.
    pub const RESET: Sint = Self::new().with_masked(true);

    /// Unmasked with the given vector and flags; a convenience for tests and seeds.
    pub const fn unmasked(vector: u8, proxy: bool) -> Sint {
        Self::new().with_vector(vector).with_proxy(proxy)
    }
}

/// `HvSynicScontrol` (`vm/hv1/hvdef/src/lib.rs`): bit 0 enables the synic; the rest is
/// reserved and kept raw (`ProcessorSynic::write_msr` stores the value unchecked).
#[bitfield(u64)]
#[derive(PartialEq, Eq, Hash)]
pub struct Scontrol {
    pub enabled: bool,
    #[bits(63)]
    _reserved: u64,
}

/// Hypercall status codes the modeled paths return (`HvError` in hvdef).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HvStatus {
    Success,
    InvalidParameter,
    AccessDenied,
    InvalidVpIndex,
    UnknownRegisterName,
    InvalidRegisterValue,
    /// `HvError::InvalidDeviceId`: the software-device path's answer for a device id it
    /// does not own (`vmm_core/virt/src/x86/apic_software_device.rs`
    /// `ApicSoftwareDevices::retarget_interrupt`).
    InvalidDeviceId,
}

/// How a guest MSR access ended, as the guest sees it on a CVM (SNP `handle_msr_access`,
/// TDX `VmxExitBasic::MSR_WRITE/READ`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MsrOutcome {
    /// Write accepted, or read with this value.
    Ok(u64),
    /// `MsrError::InvalidAccess`: #GP injected.
    Gp,
    /// `MsrError::Unknown`: write dropped, read returns 0, only logged.
    Unknown,
}
