//! A synic (`ProcessorSynic` in `vm/hv1/hv1_emulator/src/synic.rs`): the trusted one VTL2
//! emulates for each guest VTL of each VP, and the host's (untrusted) view of VTL0's,
//! which has the same registers (TDX keeps it in VTL2 as a second `GlobalSynic`; on SNP it
//! is the hypervisor's own).

use crate::hvdef::{msr, MsrOutcome, Scontrol, Sint, EVENT_FLAGS_PER_SINT, NUM_SINTS};

/// Guest-physical pages the model's guest has; an overlay GPN at or above this cannot be
/// locked, which upstream reports as `InvalidAccess` (#GP).
pub const GUEST_PAGES: u64 = 1 << 20;

/// One VP's synic for one guest VTL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Synic {
    /// SCONTROL, reserved bits kept. Reset value 1 (enabled).
    pub scontrol: Scontrol,
    pub siefp: u64,
    pub simp: u64,
    /// Raw SINT values, reserved bits kept.
    pub sints: [Sint; NUM_SINTS],
    /// The event flags of the SIEFP page, per SINT.
    pub flags: EventFlags,
    /// STIMER0..3 CONFIG/COUNT, stored raw (timers themselves are not modeled).
    pub stimers: [u64; 8],
    /// Bit n: SINTn's SIMP message slot holds a message the guest has not consumed.
    pub slots_busy: u16,
    /// Bit n: a sender waits for SINTn's slot (`request_sint_readiness`, `message_pending`).
    pub readiness: u16,
}

/// The SIEFP page's event flags (16 SINTs x `EVENT_FLAGS_PER_SINT` bits, the atomic bit
/// array `signal_event` sets), stored small: a run builds a fresh partition with 12 synics
/// for every input, and a dense 4 KiB page each made a partition 50 KB to zero and copy
/// (issue 12). Flags 0..64 of each SINT are a dense word; higher flags a sorted list. The
/// model only ever signals flag 0 (`UhEventPort`'s flag in interrupt-page mode), so the
/// list stays empty; it holds [`EventFlags::FAR`] outstanding flags, more than a fuzz input
/// (64 operations, one signal each) can set between two acknowledgements.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EventFlags {
    near: [u64; NUM_SINTS],
    /// `sint << 11 | flag` (flag < 2048) of the set flags >= 64, ascending; zero past
    /// `far_len`.
    far: [u16; EventFlags::FAR],
    far_len: u8,
}

/// Sparse, consistent with `Eq` (the far list is sorted and zero past its length): the
/// nonzero dense words, then the far flags.
impl core::hash::Hash for EventFlags {
    fn hash<H: core::hash::Hasher>(&self, h: &mut H) {
        let mut rest = crate::partition::canonical::mask(self.near.iter().map(|w| *w != 0));
        while rest != 0 {
            let i = rest.trailing_zeros() as usize;
            h.write_usize(i);
            h.write_u64(self.near[i]);
            rest &= rest - 1;
        }
        h.write_u8(0xff);
        for key in &self.far[..self.far_len as usize] {
            h.write_u16(*key);
        }
    }
}

impl Default for EventFlags {
    fn default() -> Self {
        Self::EMPTY
    }
}

impl EventFlags {
    pub const FAR: usize = 64;

    /// No flag set.
    pub const EMPTY: EventFlags = EventFlags {
        near: [0; NUM_SINTS],
        far: [0; Self::FAR],
        far_len: 0,
    };

    /// The far list's key of `flag` of `sint`, ordered as (sint, flag).
    #[inline]
    fn key(sint: u8, flag: u32) -> u16 {
        const { assert!(EVENT_FLAGS_PER_SINT <= 1 << 11 && NUM_SINTS <= 1 << 5) };
        (sint as u16) << 11 | flag as u16
    }

    /// Whether `flag` of `sint` is set (`sint < 16`, `flag < EVENT_FLAGS_PER_SINT`).
    #[inline]
    pub fn get(&self, sint: u8, flag: u32) -> bool {
        if flag < 64 {
            return self.near[sint as usize] & 1 << flag != 0;
        }
        let key = Self::key(sint, flag);
        self.far[..self.far_len as usize]
            .binary_search(&key)
            .is_ok()
    }

    /// Set `flag` of `sint`; returns whether it was set already (the atomic
    /// test-and-set of `signal_event`).
    #[inline]
    pub fn test_and_set(&mut self, sint: u8, flag: u32) -> bool {
        debug_assert!((sint as usize) < NUM_SINTS && flag < EVENT_FLAGS_PER_SINT);
        if flag < 64 {
            let word = &mut self.near[sint as usize];
            let was = *word & 1 << flag != 0;
            *word |= 1 << flag;
            return was;
        }
        let key = Self::key(sint, flag);
        let len = self.far_len as usize;
        match self.far[..len].binary_search(&key) {
            Ok(_) => true,
            // Model limit: with `FAR` flags >= 64 already outstanding the flag is not
            // recorded (it reads as newly set: no coalescing), never a panic. A fuzz input
            // (64 operations) cannot reach it.
            Err(_) if len == Self::FAR => false,
            Err(at) => {
                self.far.copy_within(at..len, at + 1);
                self.far[at] = key;
                self.far_len += 1;
                false
            }
        }
    }
}

/// What `ProcessorSynic::post_message` decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Post {
    /// `sint >= 16`, masked or proxied: `InvalidSynicState`, the message is dropped.
    InvalidSynicState,
    /// The slot is busy: `ObjectInUse`, the sender keeps the message.
    ObjectInUse,
    /// Written to the slot; `interrupt` unless the SINT polls.
    Posted { interrupt: Option<(u8, bool)> },
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

impl Default for Synic {
    fn default() -> Self {
        Self::RESET
    }
}

impl Synic {
    /// The reset state: enabled, every SINT masked, no flag, message or timer. A constant,
    /// so a fresh partition is copied from it rather than built field by field.
    pub const RESET: Synic = Synic {
        scontrol: Scontrol::new().with_enabled(true),
        siefp: 0,
        simp: 0,
        sints: [Sint::RESET; NUM_SINTS],
        flags: EventFlags::EMPTY,
        stimers: [0; 8],
        slots_busy: 0,
        readiness: 0,
    };

    #[inline]
    pub fn enabled(&self) -> bool {
        self.scontrol.enabled()
    }

    /// `ProcessorSynic::write_msr` (reached through `ProcessorVtlHv::msr_write` in
    /// `vm/hv1/hv1_emulator/src/hv.rs` for `SCONTROL..=STIMER3_COUNT`).
    #[inline]
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
    #[inline]
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
    #[inline]
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
        if self.flags.test_and_set(sint, flag) {
            return Signal::AlreadySet;
        }
        if s.polling() {
            Signal::Polling
        } else {
            Signal::Interrupt {
                vector: s.vector(),
                auto_eoi: s.auto_eoi(),
            }
        }
    }

    /// The guest consumed every event flag and message (and wrote EOM).
    #[inline]
    pub fn clear_flags(&mut self) {
        self.flags = EventFlags::EMPTY;
        self.slots_busy = 0;
    }

    /// `proxied_sints()`: bit n when SINTn has the proxy bit, masked or not.
    #[inline]
    pub fn proxied_sints(&self) -> u16 {
        let mut m = 0;
        for (n, s) in self.sints.iter().enumerate() {
            m |= (s.proxy() as u16) << n;
        }
        m
    }

    /// SINTs whose `masked` bit is set.
    #[inline]
    pub fn masked_sints(&self) -> u16 {
        let mut m = 0;
        for (n, s) in self.sints.iter().enumerate() {
            m |= (s.masked() as u16) << n;
        }
        m
    }

    /// `ProcessorSynic::post_message` for the message at the head of SINT `sint`'s queue.
    /// `honour_proxy` is false for the SNP hypervisor's own synic, where the proxy bit
    /// means "deliver as a proxy interrupt", not "owned elsewhere".
    #[inline]
    pub fn post_message(&mut self, sint: u8, honour_proxy: bool) -> Post {
        let Some(s) = self.sints.get(sint as usize) else {
            return Post::InvalidSynicState;
        };
        if s.masked() || (honour_proxy && s.proxy()) {
            return Post::InvalidSynicState;
        }
        let bit = 1 << sint;
        if self.slots_busy & bit != 0 {
            // `check_sint_ready`: the sender is told when the slot frees.
            self.readiness |= bit;
            return Post::ObjectInUse;
        }
        self.slots_busy |= bit;
        Post::Posted {
            interrupt: (!s.polling()).then(|| (s.vector(), s.auto_eoi())),
        }
    }

    /// `scan`'s ready SINTs: readiness was requested and the slot is free now. Clears
    /// their readiness.
    #[inline]
    pub fn take_ready(&mut self) -> u16 {
        let ready = self.readiness & !self.slots_busy;
        self.readiness &= !ready;
        ready
    }
}
