//! The trusted synic VTL2 emulates for each guest VTL of each VP (`ProcessorSynic` in
//! `vm/hv1/hv1_emulator/src/synic.rs`), and the untrusted one the host sees.

use crate::hvdef::{msr, MsrOutcome, Scontrol, Sint, EVENT_FLAGS_PER_SINT, NUM_SINTS};

/// Guest-physical pages the model's guest has; an overlay GPN at or above this cannot be
/// locked, which upstream reports as `InvalidAccess` (#GP).
pub const GUEST_PAGES: u64 = 1 << 20;

/// One VP's trusted synic for one guest VTL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TrustedSynic {
    /// SCONTROL, reserved bits kept. Reset value 1 (enabled).
    pub scontrol: Scontrol,
    pub siefp: u64,
    pub simp: u64,
    /// Raw SINT values, reserved bits kept.
    pub sints: [Sint; NUM_SINTS],
    /// The event flags of the SIEFP page, per SINT.
    pub flags: [[u64; (EVENT_FLAGS_PER_SINT / 64) as usize]; NUM_SINTS],
    /// STIMER0..3 CONFIG/COUNT, stored raw (timers themselves are not modeled).
    pub stimers: [u64; 8],
}

/// What `GlobalSynic::signal_event` decided, in its order of checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    /// Unknown VP, `sint >= 16`, `flag >= 2048`, SCONTROL disabled or SINT masked:
    /// `Ok(false)`.
    Refused,
    /// The SINT has the proxy bit: `Err(SintProxied)`, even when masked.
    Proxied,
    /// The flag was already set: `Ok(false)`.
    AlreadySet,
    /// Flag set; `polling` asks for no interrupt.
    Polling,
    /// Flag set; interrupt `vector` with `auto_eoi` requested.
    Interrupt { vector: u8, auto_eoi: bool },
}

impl Default for TrustedSynic {
    fn default() -> Self {
        Self {
            scontrol: Scontrol::new().with_enabled(true),
            siefp: 0,
            simp: 0,
            sints: [Sint::RESET; NUM_SINTS],
            flags: [[0; 32]; NUM_SINTS],
            stimers: [0; 8],
        }
    }
}

impl TrustedSynic {
    pub fn enabled(&self) -> bool {
        self.scontrol.enabled()
    }

    /// `ProcessorSynic::write_msr` (reached through `ProcessorVtlHv::msr_write` in
    /// `vm/hv1/hv1_emulator/src/hv.rs` for `SCONTROL..=STIMER3_COUNT`).
    pub fn write_msr(&mut self, n: u32, value: u64) -> MsrOutcome {
        match n {
            // SCONTROL: raw store, never fails.
            msr::SCONTROL => self.scontrol = Scontrol::from_bits(value),
            // SVERSION: the only read-only synic register.
            msr::SVERSION => return MsrOutcome::Gp,
            // SIEFP/SIMP: the overlay must be lockable, else InvalidAccess and unchanged.
            msr::SIEFP | msr::SIMP => {
                if value & 1 != 0 && value >> 12 >= GUEST_PAGES {
                    return MsrOutcome::Gp;
                }
                if n == msr::SIEFP {
                    self.siefp = value;
                } else {
                    self.simp = value;
                }
            }
            // EOM: ignored.
            msr::EOM => {}
            // SINTn: `set_sint` stores the raw u64, no validation.
            msr::SINT0..=msr::SINT15 => {
                self.sints[(n - msr::SINT0) as usize] = Sint::from_bits(value)
            }
            msr::STIMER0_CONFIG..=msr::STIMER3_COUNT => {
                self.stimers[(n - msr::STIMER0_CONFIG) as usize] = value
            }
            // The holes 0x85..=0x8f, 0xa0..=0xaf, and anything outside the synic range.
            _ => return MsrOutcome::Unknown,
        }
        MsrOutcome::Ok(value)
    }

    /// `ProcessorSynic::read_msr`.
    pub fn read_msr(&self, n: u32) -> MsrOutcome {
        MsrOutcome::Ok(match n {
            msr::SCONTROL => self.scontrol.into_bits(),
            msr::SVERSION => 1,
            msr::SIEFP => self.siefp,
            msr::SIMP => self.simp,
            msr::EOM => 0,
            msr::SINT0..=msr::SINT15 => self.sints[(n - msr::SINT0) as usize].into_bits(),
            msr::STIMER0_CONFIG..=msr::STIMER3_COUNT => {
                self.stimers[(n - msr::STIMER0_CONFIG) as usize]
            }
            _ => return MsrOutcome::Unknown,
        })
    }

    /// `GlobalSynic::signal_event` for this VP: the checks in upstream order, then the
    /// atomic flag set.
    pub fn signal_event(&mut self, sint: u8, flag: u32) -> Signal {
        if sint as usize >= NUM_SINTS || flag >= EVENT_FLAGS_PER_SINT {
            return Signal::Refused;
        }
        let s = self.sints[sint as usize];
        if s.proxy() {
            return Signal::Proxied;
        }
        if !self.enabled() || s.masked() {
            return Signal::Refused;
        }
        let word = &mut self.flags[sint as usize][(flag / 64) as usize];
        let bit = 1u64 << (flag % 64);
        if *word & bit != 0 {
            return Signal::AlreadySet;
        }
        *word |= bit;
        if s.polling() {
            Signal::Polling
        } else {
            Signal::Interrupt {
                vector: s.vector(),
                auto_eoi: s.auto_eoi(),
            }
        }
    }

    /// The guest consumed every event flag.
    pub fn clear_flags(&mut self) {
        self.flags = [[0; 32]; NUM_SINTS];
    }
}

/// The host's view of a VP's VTL0 SINTs: TDX `untrusted_synic` (mirrored to the
/// hypervisor by `write_tdvmcall_msr`) or the SNP hypervisor's synic behind the GHCB.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct UntrustedSynic {
    /// `None` until the guest writes that SINT through the untrusted path.
    pub sints: [Option<Sint>; NUM_SINTS],
}

impl UntrustedSynic {
    /// A TDVMCALL/GHCB MSR write. Only SINTs matter to the host's signalling.
    pub fn write_msr(&mut self, n: u32, value: u64) {
        if let Some(i) = msr::sint_index(n) {
            self.sints[i as usize] = Some(Sint::from_bits(value));
        }
    }

    /// The SINT the host signals with. Until the guest gives the host a value of its own,
    /// the host uses the one VTL0 programmed in the trusted synic: a relayed channel's
    /// proxy interrupt carries the VTL0 VMBus SINT's vector (#1162), and TDX mirrors SINT
    /// values to the hypervisor. **[infer]**: the oracle skips cases where the two differ.
    pub fn host_view(&self, sint: u8, trusted: &TrustedSynic) -> Sint {
        self.sints[sint as usize].unwrap_or(trusted.sints[sint as usize])
    }
}
