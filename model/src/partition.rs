//! The partition: every VP's synics, APICs and run page, the device vector table and the
//! VMBus relay, driven one [`Op`] at a time. Revisions differ only through [`Policy`].

use crate::apic::{Apic, Request};
use crate::config::{Config, Isolation, VmbusEra, MAX_VPS};
use crate::defect::Defect;
use crate::hvdef::{
    msr, reg, HvStatus, MsrOutcome, Sint, Vtl, EVENT_FLAGS_PER_SINT, NUM_SINTS, VMBUS_SINT,
    VP_INDEX_DISABLE_INTERRUPT, VP_INDEX_SELF, VTL2_INTERCEPT_SINT, VTL2_VMBUS_SINT,
};
use crate::observe::{AssertSite, DropReason, Event, Observer, Path, UpdateCause};
use crate::op::{
    CloseChannel, GuestAck, HostAssert, HostDeviceInterrupt, HostOffer, HostPostMessage,
    HostSignalChannel, HostSignalSint, ModifyChannel, ModifyConnection, Op, OpenChannel,
    ProxyAssert, RdMsr, Retarget, RunVp, SetApic, SetVpRegister, UntrustedWrMsr, WrMsr,
};
use crate::revision::{DeviceVectors, Policy, Revision, SintAdmission, WrmsrTrigger};
use crate::runpage::RunPage;
use crate::synic::{Post, Signal, Synic};
use crate::vectors::VectorSet;

pub mod canonical;
mod check;
pub mod symmetry;

/// Relay channel slots (host offers) the model tracks.
pub const MAX_CHANNELS: usize = 4;
/// Devices whose MSI the guest can retarget.
pub const MAX_DEVICES: usize = 4;
/// The vector VTL2's kernel programs into its own SINTs (Linux's
/// `HYPERVISOR_CALLBACK_VECTOR`, used by `mshv_vtl_synic_enable_regs` for SINT0 and the
/// VMBus SINT7).
pub const VTL2_VECTOR: u8 = 0xf3;
/// VTL2's own SINTs, fixed by its kernel on every VP (`mshv_vtl_synic_enable_regs`):
/// SINT0 (intercepts, proxy interrupts) and SINT7 (host VMBus) with [`VTL2_VECTOR`], the
/// rest masked. Constant, so not part of a VP's state.
pub const VTL2_SINTS: [Sint; NUM_SINTS] = {
    let mut s = [Sint::RESET; NUM_SINTS];
    s[VTL2_INTERCEPT_SINT as usize] = Sint::unmasked(VTL2_VECTOR, false);
    s[VTL2_VMBUS_SINT as usize] = Sint::unmasked(VTL2_VECTOR, false);
    s
};
/// `WakeReason::UPDATE_PROXY_IRR_FILTER`; `wake_reasons` holds `reason << (32 * vtl)`.
const WAKE_UPDATE_PROXY_IRR_FILTER: u64 = 1;
/// `WakeReason::MESSAGE_QUEUES`.
const WAKE_MESSAGE_QUEUES: u64 = 2;

/// One VP.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Vp {
    /// Trusted synic per guest VTL (`cvm_state.hv[vtl].synic`).
    pub synic: [Synic; 2],
    /// The host's view of VTL0's synic: TDX's `untrusted_synic`, the SNP hypervisor's.
    /// Reset like any synic (every SINT masked); see `Config::guest_mirrors_sints`.
    pub untrusted: Synic,
    /// `UhVpInner::message_queues`: messages queued per guest VTL and SINT.
    pub queues: [[u8; NUM_SINTS]; 2],
    /// Guest APIC per guest VTL.
    pub apic: [Apic; 2],
    pub run: RunPage,
    /// `UhVpInner::wake_reasons`.
    pub wake_reasons: u64,
}

impl Vp {
    /// A VP at partition build: synics and APICs at reset, nothing queued, and the run
    /// page of a filtered (every vector blocked) or unfiltered revision.
    pub const fn reset(filtered: bool) -> Vp {
        Vp {
            synic: [Synic::RESET; 2],
            untrusted: Synic::RESET,
            queues: [[0; NUM_SINTS]; 2],
            apic: [Apic::BOOTED; 2],
            run: RunPage::new(filtered),
            wake_reasons: 0,
        }
    }
}

/// A relayed channel (`RelayChannelTask` state plus the server's view of the open).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Hash)]
pub struct Channel {
    pub offered: bool,
    pub open: bool,
    /// The guest's target VP; `u32::MAX` = no host→guest interrupt.
    pub target_vp: u32,
    pub event_flag: u16,
    /// `use_interrupt_relay`, read once at open (`RelayChannelTask::handle_open_channel`).
    pub interrupt_relay: bool,
}

/// Where the hypervisor sends a device's MSI after an accepted retarget.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DeviceRoute {
    pub vtl: Vtl,
    pub vector: u8,
    /// Bit n = VP n.
    pub targets: u8,
    /// #384: the hypervisor posts it to VTL2 of the one target VP, whose kernel feeds the
    /// original vector through that CPU's `proxy_irr_blocked` (`handle_single_proxy_intr`).
    pub redirected: bool,
}

/// Why an operation could not happen at all (no state changed).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Refusal {
    NoSuchVp,
    NotGuestVtl,
    Vtl1Disabled,
    NoRelay,
    NoSuchSlot,
    AlreadyOffered,
    NotOffered,
    AlreadyOpen,
    NotOpen,
    /// ModifyChannel to `u32::MAX`, or on a channel opened without interrupts.
    InterruptsDisabled,
    NoSuchDevice,
    NoRoute,
    /// A VTL2 assert already took the VM down: nothing runs any more.
    VmDown,
}

/// The result of one operation as its issuer sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OpResult {
    Done,
    Msr(MsrOutcome),
    Hv(HvStatus),
    Refused(Refusal),
    /// VTL2 hit `assert_eq!(vtl, Vtl0)`: VTL2 panics and the VM goes down. The operation
    /// stops at the assert, and every later one is `Refused(VmDown)`.
    Vtl2Assert,
}

/// The whole modeled system.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Partition {
    pub config: Config,
    pub revision: Revision,
    policy: Policy,
    pub vps: [Vp; MAX_VPS],
    /// `UhPartitionInner::device_vector_table` ("VTL0 only for now").
    pub device_vector_table: VectorSet,
    pub devices: [Option<DeviceRoute>; MAX_DEVICES],
    pub channels: [Channel; MAX_CHANNELS],
    /// `RelayTask`'s shared `use_interrupt_relay`.
    pub use_interrupt_relay: bool,
    /// How many VTL2 asserts the run reached: 0 or 1, since the first ends the VM.
    pub vtl2_asserts: u32,
}

impl Partition {
    pub fn new(config: Config, revision: Revision) -> Self {
        Self::with_policy(config, revision, revision.policy())
    }

    /// A partition of `revision` whose behaviour follows `policy` instead: one policy choice
    /// flipped, for root-cause signatures (`targets/src/signature.rs`).
    #[inline]
    pub fn with_policy(config: Config, revision: Revision, policy: Policy) -> Self {
        Self {
            config,
            revision,
            policy,
            // Copied from a constant, straight into place.
            vps: *Self::fresh_vps(policy.filter),
            device_vector_table: VectorSet::EMPTY,
            devices: [None; MAX_DEVICES],
            channels: [Channel::default(); MAX_CHANNELS],
            // `RelayTask::new` (`vm/devices/vmbus/vmbus_relay/src/lib.rs`) starts false; only
            // an InitiateContact with an interrupt page sets it (`RelayTask::handle_modify`).
            use_interrupt_relay: false,
            vtl2_asserts: 0,
        }
    }

    /// Every VP at partition build (`Vp::reset`), as a constant: a fresh partition is
    /// built for every input, so its VPs are copied from here rather than built.
    fn fresh_vps(filtered: bool) -> &'static [Vp; MAX_VPS] {
        const FILTERED: [Vp; MAX_VPS] = [Vp::reset(true); MAX_VPS];
        const UNFILTERED: [Vp; MAX_VPS] = [Vp::reset(false); MAX_VPS];
        if filtered {
            &FILTERED
        } else {
            &UNFILTERED
        }
    }

    /// Make this partition equal to `Partition::with_policy(config, revision, policy)`
    /// in place, copying only the VPs its last run can have changed: those below its
    /// config's VP count, since every operation on another VP is refused (`vp_index`) and
    /// changes nothing. The fuzz loop reuses one partition this way (a fresh one was 7 KB
    /// to copy per input, most of it VPs the config does not have). VPs past the count
    /// are at reset already, unless the fresh VPs' filter state differs: then all are
    /// copied.
    #[inline]
    pub fn reset(&mut self, config: Config, revision: Revision, policy: Policy) {
        let dirty = if self.policy.filter == policy.filter {
            self.config.vps()
        } else {
            MAX_VPS
        };
        self.vps[..dirty].copy_from_slice(&Self::fresh_vps(policy.filter)[..dirty]);
        let Partition {
            config: c,
            revision: r,
            policy: p,
            vps: _,
            device_vector_table,
            devices,
            channels,
            use_interrupt_relay,
            vtl2_asserts,
        } = self;
        // The partition-wide state as `with_policy` builds it.
        *c = config;
        *r = revision;
        *p = policy;
        *device_vector_table = VectorSet::EMPTY;
        *devices = [None; MAX_DEVICES];
        *channels = [Channel::default(); MAX_CHANNELS];
        *use_interrupt_relay = false;
        *vtl2_asserts = 0;
    }

    pub fn policy(&self) -> Policy {
        self.policy
    }

    /// Whether a VTL2 assert took the VM down. `assert_eq!(vtl, Vtl0)` in
    /// `UhProcessor::update_proxy_irr_filter` (`openhcl/virt_mshv_vtl/src/processor/mod.rs`)
    /// panics VTL2, which is fatal to the whole VM: no later operation can happen.
    pub fn halted(&self) -> bool {
        self.vtl2_asserts != 0
    }

    /// Apply one operation. After a VTL2 assert every operation is `Refused(VmDown)`,
    /// with no state change and no event. Always inlined: the fuzz loop calls it once per
    /// operation kind with a known variant (`Kind::specialize` in `sintfuzz-targets`), so
    /// this match folds away.
    #[inline(always)]
    pub fn apply(&mut self, op: &Op, obs: &mut impl Observer) -> OpResult {
        if self.halted() {
            return OpResult::Refused(Refusal::VmDown);
        }
        let r = match *op {
            Op::WrMsr(WrMsr {
                vp,
                vtl,
                msr,
                value,
            }) => self.wrmsr(vp, vtl, msr, value, obs),
            Op::RdMsr(RdMsr { vp, vtl, msr }) => self.rdmsr(vp, vtl, msr),
            Op::SetVpRegister(r) => self.set_vp_register(&r, obs),
            Op::UntrustedWrMsr(UntrustedWrMsr { vp, msr, value }) => {
                self.untrusted_wrmsr(vp, msr, value)
            }
            Op::Retarget(r) => self.retarget(&r, obs),
            Op::SetApic(a) => self.set_apic(&a),
            Op::GuestAck(GuestAck { vp, vtl }) => self.guest_ack(vp, vtl),
            Op::OpenChannel(OpenChannel {
                slot,
                target_vp,
                event_flag,
            }) => self.open_channel(slot, target_vp, event_flag),
            Op::CloseChannel(CloseChannel { slot }) => self.close_channel(slot),
            Op::ModifyChannel(ModifyChannel { slot, target_vp }) => {
                self.modify_channel(slot, target_vp)
            }
            Op::ModifyConnection(ModifyConnection { use_interrupt_page }) => {
                self.modify_connection(use_interrupt_page)
            }
            Op::HostOffer(HostOffer { slot }) => self.host_offer(slot),
            Op::HostSignalChannel(HostSignalChannel { slot }) => {
                self.host_signal_channel(slot, obs)
            }
            Op::HostSignalSint(HostSignalSint { vp, sint }) => self
                .vp_index(vp)
                .map(|i| self.host_signal_sint(i, sint % NUM_SINTS as u8, None, obs)),
            Op::HostDeviceInterrupt(HostDeviceInterrupt { device, pick }) => {
                self.host_device_interrupt(device, pick, obs)
            }
            Op::HostAssert(HostAssert { vp, assert }) => self.host_assert(vp, assert, obs),
            Op::RunVp(RunVp { vp }) => self.vp_index(vp).map(|i| self.run_vp(i, obs)),
            Op::HostPostMessage(HostPostMessage { vp, sint }) => {
                self.host_post_message(vp, sint, obs)
            }
        };
        r.unwrap_or_else(OpResult::Refused)
    }

    /// The guest's untrusted-synic write: TDX `write_tdvmcall_msr` / the SNP hypervisor
    /// behind the GHCB; the guest sees no status here.
    #[inline(always)]
    fn untrusted_wrmsr(&mut self, vp: u8, msr: u32, value: u64) -> Result<OpResult, Refusal> {
        let i = self.vp_index(vp)?;
        let _ = self.vps[i].untrusted.write_msr(msr, value);
        Ok(OpResult::Done)
    }

    /// `LocalApic::set_apic_base` (`vmm_core/virt_support_apic/src/lib.rs`): clearing the
    /// global enable runs `reset_registers` (IRR, ISR, TMR, auto-EOI and SVR reset), and a
    /// disabled APIC's registers cannot be written: no software enable without the
    /// hardware one.
    #[inline(always)]
    fn set_apic(&mut self, a: &SetApic) -> Result<OpResult, Refusal> {
        let (i, v) = self.guest(a.vp, a.vtl)?;
        let apic = &mut self.vps[i].apic[v];
        if apic.hw_enabled && !a.hw_enabled {
            apic.irr = VectorSet::EMPTY;
            apic.auto_eoi = VectorSet::EMPTY;
        }
        apic.hw_enabled = a.hw_enabled;
        apic.sw_enabled = a.sw_enabled && a.hw_enabled;
        Ok(OpResult::Done)
    }

    /// The guest acknowledges its pending interrupts and event flags.
    #[inline(always)]
    fn guest_ack(&mut self, vp: u8, vtl: Vtl) -> Result<OpResult, Refusal> {
        let (i, v) = self.guest(vp, vtl)?;
        let vp = &mut self.vps[i];
        vp.apic[v].irr = VectorSet::EMPTY;
        vp.apic[v].auto_eoi = VectorSet::EMPTY;
        vp.synic[v].clear_flags();
        if v == 0 {
            vp.untrusted.clear_flags();
        }
        Ok(OpResult::Done)
    }

    /// Client `Close` RPC, errors ignored; the relay drops its InterruptRelay.
    #[inline(always)]
    fn close_channel(&mut self, slot: u8) -> Result<OpResult, Refusal> {
        let c = self.channel(slot, true)?;
        self.channels[c].open = false;
        Ok(OpResult::Done)
    }

    /// `RelayTask::handle_modify`; the server accepts an interrupt page only for pre-Win8
    /// versions, so a modern guest always ends up `false`.
    #[inline(always)]
    fn modify_connection(&mut self, use_interrupt_page: bool) -> Result<OpResult, Refusal> {
        self.relay()?;
        self.use_interrupt_relay = use_interrupt_page && self.config.era == VmbusEra::PreWin8;
        Ok(OpResult::Done)
    }

    /// A (malicious) host asserts proxy-IRR bits on a VP.
    #[inline(always)]
    fn host_assert(
        &mut self,
        vp: u8,
        assert: ProxyAssert,
        obs: &mut impl Observer,
    ) -> Result<OpResult, Refusal> {
        let i = self.vp_index(vp)?;
        let bits = match assert {
            ProxyAssert::Multi(bits) => bits,
            // The kernel masks the single-vector form to 8 bits.
            ProxyAssert::Single(v) => VectorSet::single((v & 0xff) as u8),
        };
        self.proxy_interrupt(i, bits, obs);
        Ok(OpResult::Done)
    }

    /// The host's VMBus server posts a message to VTL0 SINT `sint` of `vp`: SINT2 for the
    /// connection's messages, any SINT the guest named for a reserved channel or a custom
    /// target (`ServerTaskInner::send_message`, `vm/devices/vmbus/vmbus_server/src/lib.rs`,
    /// through `DirectGuestMessagePort::poll_post_message`, `vmm_core/virt/src/synic.rs`,
    /// to `UhPartitionInner::post_message`). A VP that does not exist is refused
    /// ("invalid vp target for post_message"). The server checks no guest-named SINT
    /// (`handle_open_reserved_channel` / `handle_close_reserved_channel` take
    /// `target_sint as u8`, `handle_initiate_contact` a multiclient `TargetInfo::sint`,
    /// `vm/devices/vmbus/vmbus_server/src/channels.rs`), so one ≥ 16 reaches
    /// `MessageQueues::enqueue_message`, whose `queues[sint as usize]` panics VTL2.
    /// `Policy::message_sint_check` (proposed) rejects it in the server: nothing posted.
    #[inline(always)]
    fn host_post_message(
        &mut self,
        vp: u8,
        sint: u8,
        obs: &mut impl Observer,
    ) -> Result<OpResult, Refusal> {
        let i = self.vp_index(vp)?;
        if sint as usize >= NUM_SINTS {
            if self.policy.message_sint_check {
                return Ok(OpResult::Done);
            }
            let _ = self.vtl2_assert(i, Vtl::Vtl0, AssertSite::MessageQueueIndex, obs);
            return Ok(OpResult::Vtl2Assert);
        }
        self.post_message(i, Vtl::Vtl0, sint);
        Ok(OpResult::Done)
    }

    // ----- validation helpers -----

    #[inline]
    fn vp_index(&self, vp: u8) -> Result<usize, Refusal> {
        if (vp as usize) < self.config.vps() {
            Ok(vp as usize)
        } else {
            Err(Refusal::NoSuchVp)
        }
    }

    /// A guest action by `vtl` on `vp`: the VP exists and the VTL is a running guest VTL.
    #[inline]
    fn guest(&self, vp: u8, vtl: Vtl) -> Result<(usize, usize), Refusal> {
        let i = self.vp_index(vp)?;
        match vtl {
            Vtl::Vtl0 => Ok((i, 0)),
            Vtl::Vtl1 if self.config.vtl1_enabled => Ok((i, 1)),
            Vtl::Vtl1 => Err(Refusal::Vtl1Disabled),
            Vtl::Vtl2 => Err(Refusal::NotGuestVtl),
        }
    }

    fn relay(&self) -> Result<(), Refusal> {
        if self.config.vmbus_relay {
            Ok(())
        } else {
            Err(Refusal::NoRelay)
        }
    }

    fn channel(&self, slot: u8, must_be_open: bool) -> Result<usize, Refusal> {
        self.relay()?;
        let c = slot as usize;
        if c >= MAX_CHANNELS {
            return Err(Refusal::NoSuchSlot);
        }
        if must_be_open && !self.channels[c].open {
            return Err(Refusal::NotOpen);
        }
        Ok(c)
    }

    // ----- the filter -----

    /// `UhProcessor::update_proxy_irr_filter(vtl)` (`openhcl/virt_mshv_vtl/src/processor/mod.rs`):
    /// asserts VTL0 (#775), rebuilds the allowed set from scratch and stores its complement
    /// in `proxy_irr_blocked` (`update_proxy_irr_filter_vtl0` in `openhcl/hcl/src/ioctl.rs`).
    fn update_proxy_irr_filter(
        &mut self,
        vp: usize,
        vtl: Vtl,
        cause: UpdateCause,
        site: AssertSite,
        obs: &mut impl Observer,
    ) -> Result<(), ()> {
        if vtl != Vtl::Vtl0 {
            return self.vtl2_assert(vp, vtl, site, obs);
        }
        let blocked = self.allowed(vp).complement();
        self.vps[vp].run.proxy_irr_blocked = blocked;
        obs.event(Event::FilterUpdated {
            vp: vp as u8,
            blocked,
            cause,
        });
        Ok(())
    }

    /// The allowed set the current revision computes for `vp` from its VTL0 SINTs and the
    /// device vectors. Polling, auto-EOI and SIMP/SIEFP never matter.
    fn allowed(&self, vp: usize) -> VectorSet {
        let allowed = self.sint_allowed(vp).union(self.device_allowed(vp));
        if self.policy.block_reserved {
            allowed.difference(VectorSet::RESERVED)
        } else {
            allowed
        }
    }

    /// Which rules of the current policy admit `vector` on `vp` now: (its VTL0 SINTs, the
    /// device vectors). For labelling a violation (`targets/src/signature.rs`) only: the
    /// filter is what the last recompute stored, which may be older.
    pub fn admitted_by(&self, vp: usize, vector: u8) -> (bool, bool) {
        let vp = vp.min(MAX_VPS - 1);
        if self.policy.block_reserved && VectorSet::RESERVED.contains(vector) {
            return (false, false);
        }
        (
            self.sint_allowed(vp).contains(vector),
            self.device_allowed(vp).contains(vector),
        )
    }

    /// The VTL0 IRR of `vp` (empty for no such VP): APIC state the guest reads itself,
    /// what the oracle settles its expectations against (`targets/src/harness.rs`). The
    /// model keeps no ISR: a guest ack (`GuestAck`) accepts and EOIs everything at once.
    #[inline(always)]
    pub fn guest_irr(&self, vp: u8) -> VectorSet {
        self.vps
            .get(vp as usize)
            .map_or(VectorSet::EMPTY, |v| v.apic[0].irr)
    }

    /// The SINT part of [`Partition::allowed`].
    fn sint_allowed(&self, vp: usize) -> VectorSet {
        let p = self.policy;
        let synic = &self.vps[vp].synic[0];
        let mut allowed = VectorSet::EMPTY;
        if p.scontrol_gates_sints && !synic.enabled() {
            return allowed;
        }
        // Bit n: the relay admits SINTn whatever its proxy bit.
        let relay = self.config.vmbus_relay as u16;
        let relay_admits = match p.admission {
            SintAdmission::ProxyOnly => 0,
            SintAdmission::ProxyOrRelay => relay.wrapping_neg(),
            SintAdmission::ProxyOrRelayVmbusSint => relay << VMBUS_SINT,
        };
        let masked_admitted = p.has(Defect::MaskedSintAdmitted);
        // Which SINTs admit, without a branch per SINT (that is the input's choice), as a
        // mask in a register; then only the admitted SINTs' vectors go into the set.
        let mut admitted = 0u16;
        for (n, s) in synic.sints.iter().enumerate() {
            let admits = s.proxy() | ((relay_admits >> n) & 1 != 0);
            admitted |= ((admits & (!s.masked() | masked_admitted)) as u16) << n;
        }
        while admitted != 0 {
            allowed.insert(synic.sints[admitted.trailing_zeros() as usize].vector());
            admitted &= admitted - 1;
        }
        allowed
    }

    /// The device part of [`Partition::allowed`].
    fn device_allowed(&self, vp: usize) -> VectorSet {
        let p = self.policy;
        match p.device_vectors {
            // `fill_device_vectors`: the whole partition-wide table, every VP.
            DeviceVectors::StickyTable => self.device_vector_table,
            DeviceVectors::PerDevice => {
                let mut d = VectorSet::EMPTY;
                for r in self.devices.iter().flatten() {
                    let targets = if p.has(Defect::DeviceFirstTargetSkipped) {
                        r.targets & r.targets.wrapping_sub(1)
                    } else {
                        r.targets
                    };
                    if r.vtl == Vtl::Vtl0 && targets & (1 << vp) != 0 {
                        d.insert(r.vector);
                    }
                }
                d
            }
        }
    }

    /// A VTL2 panic site was reached (`site`): VTL2 panics, the VM is down (`halted`).
    fn vtl2_assert(
        &mut self,
        vp: usize,
        vtl: Vtl,
        site: AssertSite,
        obs: &mut impl Observer,
    ) -> Result<(), ()> {
        self.vtl2_asserts += 1;
        obs.event(Event::Vtl2Assert {
            vp: vp as u8,
            vtl,
            site,
        });
        Err(())
    }

    /// `UhVpInner::wake` with `UPDATE_PROXY_IRR_FILTER`: OR the reason in; the VP handles
    /// it when it next runs.
    fn wake(&mut self, vp: usize, vtl: Vtl, obs: &mut impl Observer) {
        let bit = WAKE_UPDATE_PROXY_IRR_FILTER << (32 * vtl.index());
        if self.vps[vp].wake_reasons & bit == 0 {
            self.vps[vp].wake_reasons |= bit;
            obs.event(Event::WakeQueued { vp: vp as u8, vtl });
        }
    }

    /// Mirror a successful VTL0 synic write to the host's synic when the guest does so
    /// (`Config::guest_mirrors_sints`). Linux's `hv_set_msr` writes the GHCB/TDVMCALL copy
    /// first, and sets the proxy bit only in the paravisor's copy, so the host's SINT has
    /// the value without it. Upstream VTL2 never copies it itself (`write_msr_cvm`).
    #[inline(always)]
    fn mirror(&mut self, vp: usize, n: u32, value: u64) {
        if self.config.guest_mirrors_sints {
            let value = match msr::sint_index(n) {
                Some(_) => value & !Sint::PROXY,
                None => value,
            };
            let _ = self.vps[vp].untrusted.write_msr(n, value);
        }
    }

    // ----- guest register paths -----

    /// WRMSR: `UhProcessor::write_msr_cvm` → `hv.msr_write`, then the filter trigger.
    /// Inlined into each operation kind's step, where the MSR is mostly a constant (a
    /// SINT, SCONTROL) and the register match folds.
    #[inline(always)]
    fn wrmsr(
        &mut self,
        vp: u8,
        vtl: Vtl,
        n: u32,
        value: u64,
        obs: &mut impl Observer,
    ) -> Result<OpResult, Refusal> {
        let (i, v) = self.guest(vp, vtl)?;
        let sint = msr::sint_index(n);
        let old = sint.map(|s| self.vps[i].synic[v].sints[s as usize]);
        let result = self.vps[i].synic[v].write_msr(n, value);
        if vtl == Vtl::Vtl0 && matches!(result, MsrOutcome::Ok(_)) {
            self.mirror(i, n, value);
        }
        if result == MsrOutcome::Unknown || !self.policy.filter {
            return Ok(OpResult::Msr(result));
        }
        let p = self.policy;
        let recompute = match old {
            Some(old) => {
                let triggered = match p.wrmsr_trigger {
                    // #609: `irr_filter_update = old.proxy || new.proxy`.
                    WrmsrTrigger::OldOrNewProxy => old.proxy() || Sint::from_bits(value).proxy(),
                    // #1207: every SINT write.
                    WrmsrTrigger::Always => true,
                };
                triggered && (!p.wrmsr_vtl0_only || vtl == Vtl::Vtl0)
            }
            // Proposed: SCONTROL gates the SINTs, so its writes recompute as well.
            None => p.sync_every_path && n == msr::SCONTROL && vtl == Vtl::Vtl0,
        } && !(p.has(Defect::Sint2WrmsrStale) && sint == Some(VMBUS_SINT));
        if recompute
            && self
                .update_proxy_irr_filter(i, vtl, UpdateCause::WrMsr, AssertSite::WrMsr, obs)
                .is_err()
        {
            return Ok(OpResult::Vtl2Assert);
        }
        Ok(OpResult::Msr(result))
    }

    fn rdmsr(&self, vp: u8, vtl: Vtl, n: u32) -> Result<OpResult, Refusal> {
        let (i, v) = self.guest(vp, vtl)?;
        Ok(OpResult::Msr(self.vps[i].synic[v].read_msr(n)))
    }

    /// HvCallSetVpRegisters: `set_vp_registers` / `validate_register_access` in
    /// `openhcl/virt_mshv_vtl/src/processor/hardware_cvm/mod.rs`, then `synic.write_reg`.
    /// Inlined like `wrmsr`: a SINT write's access checks and name fold.
    #[inline(always)]
    fn set_vp_register(
        &mut self,
        r: &SetVpRegister,
        obs: &mut impl Observer,
    ) -> Result<OpResult, Refusal> {
        let SetVpRegister {
            vp,
            caller_vtl,
            target_vtl,
            name,
            value,
            ..
        } = *r;
        let (i, _) = self.guest(vp, caller_vtl)?;
        let status = |s| Ok(OpResult::Hv(s));
        if let Err(e) = set_vp_register_access(r) {
            return status(e);
        }
        let n = match set_vp_register_msr(name, target_vtl, value) {
            Ok(n) => n,
            Err(e) => return status(e),
        };
        let t = target_vtl.index();
        match self.vps[i].synic[t].write_msr(n, value) {
            MsrOutcome::Gp => return status(HvStatus::InvalidParameter),
            MsrOutcome::Unknown => return status(HvStatus::UnknownRegisterName),
            MsrOutcome::Ok(_) => {}
        }
        if caller_vtl == Vtl::Vtl0 && target_vtl == Vtl::Vtl0 {
            // A guest that mirrors its SINTs does it for this path too.
            self.mirror(i, n, value);
        }
        // Upstream never recomputes here: the filter stays stale. Proposed does, for the
        // VTL0 registers the filter reads.
        let p = self.policy;
        if p.filter
            && p.sync_every_path
            && target_vtl == Vtl::Vtl0
            && (msr::sint_index(n).is_some() || n == msr::SCONTROL)
        {
            let _ = self.update_proxy_irr_filter(
                i,
                Vtl::Vtl0,
                UpdateCause::SetVpRegister,
                AssertSite::WrMsr,
                obs,
            );
        }
        status(HvStatus::Success)
    }

    // ----- device interrupts -----

    /// HvCallRetargetDeviceInterrupt: input checks (`vm/hv1/hv1_hypercall/src/imp.rs`), then
    /// `retarget_physical_interrupt` (`hardware_cvm/mod.rs`), no VTL gate upstream.
    fn retarget(&mut self, r: &Retarget, obs: &mut impl Observer) -> Result<OpResult, Refusal> {
        let Retarget {
            vp,
            vtl,
            device,
            vector,
            flaws,
            ..
        } = *r;
        let (i, _) = self.guest(vp, vtl)?;
        let d = device as usize;
        if d >= MAX_DEVICES {
            return Err(Refusal::NoSuchDevice);
        }
        if flaws.any() {
            return Ok(OpResult::Hv(HvStatus::InvalidParameter));
        }
        let p = self.policy;
        let touches_filter = p.filter && !(p.retarget_vtl0_only && vtl != Vtl::Vtl0);
        if touches_filter
            && !p.retarget_sync
            && self
                .request_proxy_irr_filter_update(i, vtl, vector, obs)
                .is_err()
        {
            return Ok(OpResult::Vtl2Assert);
        }
        let route = self.hypervisor_route(r);
        if route.is_some() {
            self.devices[d] = route;
        }
        if p.filter && p.retarget_sync {
            self.sync_filters_after_retarget(obs);
        }
        // `retarget_interrupt` (`hardware_cvm/mod.rs`) returns `hv_result.or(virtual_result)`.
        // ASSUMPTION: the model's devices are physical (hypervisor-owned); no VPCI software
        // device has their id, so `retarget_virtual_interrupt` (`processor/mod.rs`) gets
        // `ok_or(HvError::InvalidDeviceId)` from `ApicSoftwareDevices::retarget_interrupt`
        // (`vmm_core/virt/src/x86/apic_software_device.rs`): a rejected call answers
        // `InvalidDeviceId`, whatever the hypervisor said.
        let physical = if route.is_some() {
            Ok(())
        } else {
            Err(HvStatus::InvalidParameter)
        };
        let virtual_result = Err(HvStatus::InvalidDeviceId);
        Ok(OpResult::Hv(match physical.or(virtual_result) {
            Ok(()) => HvStatus::Success,
            Err(e) => e,
        }))
    }

    /// `request_proxy_irr_filter_update` (`openhcl/virt_mshv_vtl/src/lib.rs`): the table
    /// bit is set from the truncated u32 before, and regardless of, the hypervisor's
    /// answer, and every *other* VP is woken; the caller updates at once, with the
    /// intercepted VTL. `Err`: that update hit a VTL2 assert.
    fn request_proxy_irr_filter_update(
        &mut self,
        i: usize,
        vtl: Vtl,
        vector: u32,
        obs: &mut impl Observer,
    ) -> Result<(), ()> {
        if self.policy.device_vectors == DeviceVectors::StickyTable {
            self.device_vector_table.insert(vector as u8);
        }
        for other in 0..self.config.vps() {
            if other != i {
                self.wake(other, vtl, obs);
            }
        }
        self.update_proxy_irr_filter(i, vtl, UpdateCause::Retarget, AssertSite::Retarget, obs)
    }

    /// The route the hypervisor keeps for a retarget it accepts (`None`: it refuses).
    ///
    /// #384 `try_proxy_interrupt_redirection` (`hardware_cvm/mod.rs`): not for multicast;
    /// the interrupt is mapped to a VTL2 vector on the *first* target VP only, and the
    /// hypervisor is asked for that VP alone. Any error falls back to the normal path.
    /// ASSUMPTION: mapping fails for a vector above 0xff (VTL2 maps the guest vector).
    /// Only VTL0 callers: at head a VTL1 caller panics VTL2 before this point, and
    /// `unfiltered` predates #384. Otherwise `hcl.retarget_device_interrupt`: the
    /// hypervisor gets the untruncated vector and checks it and the processor set.
    fn hypervisor_route(&self, r: &Retarget) -> Option<DeviceRoute> {
        let Retarget {
            vtl,
            vector,
            targets,
            flaws,
            ..
        } = *r;
        let first = targets.trailing_zeros() as usize;
        let redirected = self.config.proxy_redirect
            && vtl == Vtl::Vtl0
            && !flaws.multicast
            && targets != 0
            && first < self.config.vps()
            && vector <= 0xff;
        let vps_mask = (1u16 << self.config.vps()) - 1;
        let accepted =
            redirected || (vector <= 0xff && targets != 0 && (targets as u16) & !vps_mask == 0);
        accepted.then_some(DeviceRoute {
            vtl,
            vector: vector as u8,
            targets: if redirected { 1 << first } else { targets },
            redirected,
        })
    }

    /// Proposed: every VP's VTL0 filter follows the accepted routes before the hypercall
    /// returns (no wake window), whichever VTL asked.
    fn sync_filters_after_retarget(&mut self, obs: &mut impl Observer) {
        for v in 0..self.config.vps() {
            let _ = self.update_proxy_irr_filter(
                v,
                Vtl::Vtl0,
                UpdateCause::Retarget,
                AssertSite::Retarget,
                obs,
            );
        }
    }

    // ----- VMBus relay (`vm/devices/vmbus/vmbus_relay/src/lib.rs`) -----

    /// `RelayTask::handle_offer`: a duplicate host channel ID is an error.
    fn host_offer(&mut self, slot: u8) -> Result<OpResult, Refusal> {
        let c = self.channel(slot, false)?;
        if self.channels[c].offered {
            return Err(Refusal::AlreadyOffered);
        }
        self.channels[c].offered = true;
        Ok(OpResult::Done)
    }

    /// Server `handle_open_channel` → relay `handle_open_channel`, which reads
    /// `use_interrupt_relay` once.
    fn open_channel(
        &mut self,
        slot: u8,
        target_vp: u32,
        event_flag: u16,
    ) -> Result<OpResult, Refusal> {
        let c = self.channel(slot, false)?;
        let ch = &mut self.channels[c];
        if !ch.offered {
            return Err(Refusal::NotOffered);
        }
        if ch.open {
            return Err(Refusal::AlreadyOpen);
        }
        *ch = Channel {
            offered: true,
            open: true,
            target_vp,
            event_flag,
            interrupt_relay: self.use_interrupt_relay,
        };
        Ok(OpResult::Done)
    }

    /// ModifyChannel: the server rejects `u32::MAX` and interrupt-less channels, else
    /// retargets; the filter is never touched.
    fn modify_channel(&mut self, slot: u8, target_vp: u32) -> Result<OpResult, Refusal> {
        let c = self.channel(slot, true)?;
        let ch = &mut self.channels[c];
        if target_vp == VP_INDEX_DISABLE_INTERRUPT || ch.target_vp == VP_INDEX_DISABLE_INTERRUPT {
            return Err(Refusal::InterruptsDisabled);
        }
        ch.target_vp = target_vp;
        Ok(OpResult::Done)
    }

    /// A host signal on a relayed channel, by the path chosen at open (§3.5).
    fn host_signal_channel(
        &mut self,
        slot: u8,
        obs: &mut impl Observer,
    ) -> Result<OpResult, Refusal> {
        let c = self.channel(slot, true)?;
        let ch = self.channels[c];
        if ch.interrupt_relay {
            // Host → VTL2 SINT7 → `InterruptRelay` → `interrupt.deliver()` → the trusted
            // synic. In interrupt-page mode the guest event port is VP 0, flag 0, even when
            // the guest asked for no interrupt (`ServerTaskInner::open_channel` in
            // `vm/devices/vmbus/vmbus_server/src/lib.rs`: `channel_bitmap` wins).
            self.deliver_trusted(0, VMBUS_SINT, 0, obs);
        } else if ch.target_vp == VP_INDEX_DISABLE_INTERRUPT {
            return Err(Refusal::InterruptsDisabled);
        } else if (ch.target_vp as usize) < self.config.vps() {
            // Modern: the host signals VTL0 SINT2 on the guest's target VP directly, with the
            // channel's event flag, which reaches VTL2 as a proxy interrupt (#1162).
            self.host_signal_sint(
                ch.target_vp as usize,
                VMBUS_SINT,
                Some(ch.event_flag as u32),
                obs,
            );
        }
        Ok(OpResult::Done)
    }

    /// The trusted synic path (`UhEventPort` → `signal_event`); a proxied SINT falls back
    /// to the host (`signal_event_direct` / the untrusted synic).
    fn deliver_trusted(&mut self, vp: usize, sint: u8, flag: u32, obs: &mut impl Observer) {
        let s = self.vps[vp].synic[0].sints[sint as usize];
        let dropped = |reason| Event::Dropped {
            vp: vp as u8,
            vtl: Vtl::Vtl0,
            vector: s.vector(),
            reason,
            path: None,
        };
        match self.vps[vp].synic[0].signal_event(sint, flag) {
            // `UhEventPort::interrupt` (`openhcl/virt_mshv_vtl/src/lib.rs`) on `SintProxied`:
            // TDX signals its untrusted synic, which interrupts the APIC itself (no proxy
            // IRR, no filter); SNP has none and uses `signal_event_direct`.
            Signal::Proxied if self.config.isolation == Isolation::Tdx => {
                let u = self.vps[vp].untrusted.sints[sint as usize];
                let dropped = |reason| Event::Dropped {
                    vp: vp as u8,
                    vtl: Vtl::Vtl0,
                    vector: u.vector(),
                    reason,
                    path: Some(Path::UntrustedSynic),
                };
                match self.vps[vp].untrusted.signal_event(sint, flag) {
                    // Proxied there too: the error is ignored (`.ok()`).
                    Signal::Proxied | Signal::Refused => {
                        obs.event(dropped(DropReason::SynicRefused))
                    }
                    Signal::AlreadySet => obs.event(dropped(DropReason::FlagAlreadySet)),
                    Signal::Polling => obs.event(dropped(DropReason::Polling)),
                    Signal::Interrupt { vector, auto_eoi } => {
                        let r = self.vps[vp].apic[0].request_interrupt(vector, auto_eoi);
                        self.report(vp, Vtl::Vtl0, vector, Path::UntrustedSynic, r, obs);
                    }
                }
            }
            Signal::Proxied => {
                self.host_signal_sint(vp, sint, Some(flag), obs);
            }
            Signal::Refused => obs.event(dropped(DropReason::SynicRefused)),
            Signal::AlreadySet => obs.event(dropped(DropReason::FlagAlreadySet)),
            Signal::Polling => obs.event(dropped(DropReason::Polling)),
            Signal::Interrupt { vector, auto_eoi } => {
                let r = self.vps[vp].apic[0].request_interrupt(vector, auto_eoi);
                self.report(vp, Vtl::Vtl0, vector, Path::TrustedSynic, r, obs);
            }
        }
    }

    /// The hypervisor signals VTL0 SINT `sint` on `vp` with the host's view of it; on a
    /// CVM that arrives in VTL2 as a proxy interrupt. An event signal (`flag`: a channel's
    /// event flag) coalesces on the host side as `GlobalSynic::signal_event` does
    /// (`vm/hv1/hv1_emulator/src/synic.rs`, the hypervisor's semantics): it sets the flag
    /// in the guest's event-flag page and raises the interrupt only when the flag goes from
    /// 0 to 1. The guest clears its flags when it scans them (`GuestAck`), so after a lost
    /// interrupt the flag stays set and later signals on that flag raise nothing: the
    /// channel is hung until the guest scans for another reason.
    fn host_signal_sint(
        &mut self,
        vp: usize,
        sint: u8,
        flag: Option<u32>,
        obs: &mut impl Observer,
    ) -> OpResult {
        // The host's own SINT state (`Config::guest_mirrors_sints`). ASSUMPTION: the
        // hypervisor's SCONTROL and SIEFP enable are not looked at, and a flag beyond the
        // page (>= 2048) raises without coalescing (as before issue 20).
        let s = self.vps[vp].untrusted.sints[sint as usize];
        let dropped = |reason| Event::Dropped {
            vp: vp as u8,
            vtl: Vtl::Vtl0,
            vector: s.vector(),
            reason,
            path: None,
        };
        if s.masked() {
            obs.event(dropped(DropReason::HostSuppressed));
        } else if flag.is_some_and(|f| {
            f < EVENT_FLAGS_PER_SINT && self.vps[vp].untrusted.flags.test_and_set(sint, f)
        }) {
            obs.event(dropped(DropReason::FlagAlreadySet));
        } else {
            self.proxy_interrupt(vp, VectorSet::single(s.vector()), obs);
        }
        OpResult::Done
    }

    fn host_device_interrupt(
        &mut self,
        device: u8,
        pick: u8,
        obs: &mut impl Observer,
    ) -> Result<OpResult, Refusal> {
        let route = self
            .devices
            .get(device as usize)
            .ok_or(Refusal::NoSuchDevice)?
            .ok_or(Refusal::NoRoute)?;
        let n = pick as u32 % route.targets.count_ones();
        let vp = (0..8)
            .filter(|b| route.targets & (1 << b) != 0)
            .nth(n as usize);
        let vp = vp.ok_or(Refusal::NoRoute)? as usize;
        if route.vtl == Vtl::Vtl0 || route.redirected {
            self.proxy_interrupt(vp, VectorSet::single(route.vector), obs);
        } else {
            // VTL1 has no proxy IRR (§2.5); the hypervisor delivers it itself.
            let r = self.vps[vp].apic[1].request_interrupt(route.vector, false);
            self.report(vp, Vtl::Vtl1, route.vector, Path::Hypervisor, r, obs);
        }
        Ok(OpResult::Done)
    }

    /// `HVMSG_X64_PROXY_INTERRUPT_INTERCEPT` on VTL2 SINT0 of `vp`, handled by the kernel
    /// ISR on that CPU at once (`mshv_vtl_scan_proxy_interrupts`).
    fn proxy_interrupt(&mut self, vp: usize, bits: VectorSet, obs: &mut impl Observer) {
        obs.event(Event::ProxyAsserted { vp: vp as u8, bits });
        let blocked = self.vps[vp].run.kernel_assert(bits);
        if !blocked.is_empty() {
            obs.event(Event::Blocked {
                vp: vp as u8,
                vectors: blocked,
            });
        }
    }

    // ----- synic messages (`message_queues`, `openhcl/virt_mshv_vtl/src/processor/mod.rs`) -----

    /// `UhVpInner::post_message` (from `Synic::post_message` on `UhPartitionInner`): queue
    /// it; a SINT's first pending message wakes the VP with `MESSAGE_QUEUES`.
    fn post_message(&mut self, vp: usize, vtl: Vtl, sint: u8) {
        let q = &mut self.vps[vp].queues[vtl.index()][sint as usize];
        let newly_pending = *q == 0;
        *q = q.saturating_add(1);
        if newly_pending {
            self.vps[vp].wake_reasons |= WAKE_MESSAGE_QUEUES << (32 * vtl.index());
        }
    }

    fn pending_sints(&self, vp: usize, vtl: Vtl) -> u16 {
        let mut m = 0;
        for (n, &q) in self.vps[vp].queues[vtl.index()].iter().enumerate() {
            m |= ((q != 0) as u16) << n;
        }
        m
    }

    /// `UhProcessor::request_sint_notifications`: readiness in the VTL's trusted synic for
    /// its non-proxied SINTs; for proxied ones `assert_eq!(vtl, Vtl0)`, then the host's
    /// synic (`request_untrusted_sint_readiness`: TDX untrusted synic, SNP
    /// `DeliverabilityNotifications`).
    fn request_sint_notifications(
        &mut self,
        vp: usize,
        vtl: Vtl,
        sints: u16,
        obs: &mut impl Observer,
    ) -> Result<(), ()> {
        if sints == 0 {
            return Ok(());
        }
        let synic = &mut self.vps[vp].synic[vtl.index()];
        let proxied = synic.proxied_sints();
        synic.readiness |= sints & !proxied;
        if sints & proxied != 0 {
            if vtl != Vtl::Vtl0 {
                return self.vtl2_assert(vp, vtl, AssertSite::SintNotifications, obs);
            }
            self.vps[vp].untrusted.readiness |= sints & proxied;
        }
        Ok(())
    }

    /// `handle_wake`'s `MESSAGE_QUEUES` branch: drop the messages of masked SINTs, ask to
    /// be told when the others can be posted.
    fn handle_message_queues(
        &mut self,
        vp: usize,
        vtl: Vtl,
        obs: &mut impl Observer,
    ) -> Result<(), ()> {
        let pending = self.pending_sints(vp, vtl);
        if pending == 0 {
            return Ok(());
        }
        let masked = self.vps[vp].synic[vtl.index()].masked_sints() & pending;
        for n in 0..NUM_SINTS {
            if masked & (1 << n) != 0 {
                self.vps[vp].queues[vtl.index()][n] = 0;
            }
        }
        self.request_sint_notifications(vp, vtl, pending & !masked, obs)
    }

    /// `deliver_synic_messages` (`hardware_cvm/mod.rs`) for the ready `sints`: a proxied
    /// SINT's messages go to the host's synic (TDX untrusted synic, SNP
    /// `post_message_direct`), the others to the trusted synic; `ObjectInUse` keeps a
    /// message queued, any other error drops it. Still-pending SINTs ask for readiness.
    fn deliver_synic_messages(
        &mut self,
        vp: usize,
        vtl: Vtl,
        sints: u16,
        obs: &mut impl Observer,
    ) -> Result<(), ()> {
        let v = vtl.index();
        let proxied = self.vps[vp].synic[v].proxied_sints();
        let tdx = self.config.isolation == Isolation::Tdx;
        for sint in 0..NUM_SINTS as u8 {
            if sints & (1 << sint) == 0 {
                continue;
            }
            while self.vps[vp].queues[v][sint as usize] != 0 {
                let to_host = proxied & (1 << sint) != 0;
                let post = if to_host {
                    self.vps[vp].untrusted.post_message(sint, tdx)
                } else {
                    self.vps[vp].synic[v].post_message(sint, true)
                };
                match post {
                    Post::ObjectInUse => break,
                    Post::InvalidSynicState => {}
                    Post::Posted { interrupt: None } => {}
                    Post::Posted {
                        interrupt: Some((vector, auto_eoi)),
                    } => {
                        if to_host && !tdx {
                            // The SNP hypervisor's SINT interrupt reaches VTL2 as a proxy
                            // interrupt.
                            self.proxy_interrupt(vp, VectorSet::single(vector), obs);
                        } else {
                            let path = if to_host {
                                Path::UntrustedSynic
                            } else {
                                Path::TrustedSynic
                            };
                            let r = self.vps[vp].apic[v].request_interrupt(vector, auto_eoi);
                            self.report(vp, vtl, vector, path, r, obs);
                        }
                    }
                }
                self.vps[vp].queues[v][sint as usize] -= 1;
            }
        }
        let pending = self.pending_sints(vp, vtl);
        self.request_sint_notifications(vp, vtl, pending, obs)
    }

    /// `update_synic`'s message half: the host's synic for VTL0 first, then each guest
    /// VTL's trusted synic (`cvm_process_interrupts`).
    fn scan_synics(&mut self, vp: usize, obs: &mut impl Observer) -> Result<(), ()> {
        let ready = self.vps[vp].untrusted.take_ready();
        if ready != 0 {
            self.deliver_synic_messages(vp, Vtl::Vtl0, ready, obs)?;
        }
        for vtl in [Vtl::Vtl1, Vtl::Vtl0] {
            let ready = self.vps[vp].synic[vtl.index()].take_ready();
            if ready != 0 {
                self.deliver_synic_messages(vp, vtl, ready, obs)?;
            }
        }
        Ok(())
    }

    // ----- the VP loop -----

    /// One pass of the VP's run loop: `handle_wake` (VTL1 reasons before VTL0), then
    /// `cvm_process_interrupts` delivers ready synic messages and polls the proxy IRR into
    /// VTL0 (VTL1 has none).
    fn run_vp(&mut self, vp: usize, obs: &mut impl Observer) -> OpResult {
        let reasons = core::mem::take(&mut self.vps[vp].wake_reasons);
        for vtl in [Vtl::Vtl1, Vtl::Vtl0] {
            let has = |reason: u64| reasons & (reason << (32 * vtl.index())) != 0;
            // A panic ends the VP loop (and the VM): nothing after it runs.
            if has(WAKE_MESSAGE_QUEUES) && self.handle_message_queues(vp, vtl, obs).is_err() {
                return OpResult::Vtl2Assert;
            }
            if has(WAKE_UPDATE_PROXY_IRR_FILTER)
                && self
                    .update_proxy_irr_filter(vp, vtl, UpdateCause::Wake, AssertSite::Wake, obs)
                    .is_err()
            {
                return OpResult::Vtl2Assert;
            }
        }
        // `cvm_process_interrupts`: `update_synic` (messages) before the APIC poll.
        if self.scan_synics(vp, obs).is_err() {
            return OpResult::Vtl2Assert;
        }
        let Some(snapshot) = self.vps[vp].run.take_proxy_irr() else {
            return OpResult::Done;
        };
        // `offload_intr_inject` is set for a VTL0 entry only while `can_offload_irr()`
        // holds: APIC offloaded and software-enabled (`TdxBacked::run_vp` in
        // `openhcl/virt_mshv_vtl/src/processor/tdx/mod.rs`, `LocalApic::can_offload_irr` in
        // `vmm_core/virt_support_apic/src/lib.rs`). Otherwise the kernel leaves the bits to
        // the user-space poll below.
        if self.config.kernel_offload() && self.vps[vp].apic[0].sw_enabled {
            // `mshv_tdx_pull_proxy_irr`: before VTL0 entry, straight into the vAPIC IRR,
            // vectors 0..=15 included. (The exit mask is empty: no level vectors.)
            for vector in snapshot.iter() {
                let r = self.vps[vp].apic[0].offload_or(vector);
                self.report(vp, Vtl::Vtl0, vector, Path::ProxyOffload, r, obs);
            }
            return OpResult::Done;
        }
        // `poll_apic_core` (`openhcl/virt_mshv_vtl/src/processor/hardware_cvm/apic.rs`) →
        // `LocalApic::request_fixed_interrupts`: dropped unless hardware- and
        // software-enabled, vectors 0..=15 cleared.
        let enabled = self.vps[vp].apic[0].enabled();
        if enabled && self.policy.has(Defect::PollOverwritesIrr) {
            // Injected (test-only): the snapshot replaces the IRR instead of joining it.
            self.vps[vp].apic[0].irr = VectorSet::EMPTY;
        }
        for vector in snapshot.iter() {
            let r = if !enabled {
                Request::Disabled
            } else if vector < 16 {
                Request::Reserved
            } else {
                self.vps[vp].apic[0].request_fixed(vector)
            };
            self.report(vp, Vtl::Vtl0, vector, Path::ProxyUser, r, obs);
        }
        OpResult::Done
    }

    fn report(
        &self,
        vp: usize,
        vtl: Vtl,
        vector: u8,
        path: Path,
        r: Request,
        obs: &mut impl Observer,
    ) {
        let vp = vp as u8;
        obs.event(match r {
            Request::Pending { coalesced } => Event::Delivered {
                vp,
                vtl,
                vector,
                path,
                coalesced,
            },
            Request::Reserved => Event::Dropped {
                vp,
                vtl,
                vector,
                reason: DropReason::ReservedVector,
                path: Some(path),
            },
            Request::Disabled => Event::Dropped {
                vp,
                vtl,
                vector,
                reason: DropReason::ApicDisabled,
                path: Some(path),
            },
        });
    }
}

/// The access checks of HvCallSetVpRegisters before the register: this partition, the
/// caller's own VP, a target VTL no higher than the caller's. `Err`: the call ends with
/// that status.
fn set_vp_register_access(r: &SetVpRegister) -> Result<(), HvStatus> {
    if !r.partition_self {
        return Err(HvStatus::AccessDenied);
    }
    if r.vp_index != VP_INDEX_SELF && r.vp_index != r.vp as u32 {
        return Err(HvStatus::InvalidVpIndex);
    }
    if r.target_vtl > r.caller_vtl {
        return Err(HvStatus::AccessDenied);
    }
    Ok(())
}

/// The synic MSR a register name of HvCallSetVpRegisters writes: `validate_register_access`,
/// `validate_set_vp_register_value`, then the register match of `set_vp_register`
/// (`hardware_cvm/mod.rs`); synic names go to `ProcessorSynic::write_reg`
/// (`vm/hv1/hv1_emulator/src/synic.rs`). `Err`: the call ends with that status (the VSM
/// registers end it, successful or not, without touching the synic).
fn set_vp_register_msr(name: u32, target_vtl: Vtl, value: u64) -> Result<u32, HvStatus> {
    Ok(match name {
        reg::VSM_VINA => {
            // VTL0 targets rejected; `write_reg` rejects reserved bits (11 and up).
            return Err(if target_vtl == Vtl::Vtl0 || value >> 11 != 0 {
                HvStatus::InvalidParameter
            } else {
                HvStatus::Success
            });
        }
        reg::VSM_PARTITION_CONFIG => {
            // Only for a VTL1 target (so a VTL1 caller, which needs no AccessVsm
            // privilege). `set_vsm_partition_config` then allows only the low 7 bits
            // and needs read+write in the default protection mask. ASSUMPTION: VTL1 is
            // enabled and the remaining protection checks pass; no filter state changes.
            return Err(if target_vtl != Vtl::Vtl1 {
                HvStatus::InvalidParameter
            } else if value & !0x7f != 0 || (value >> 1) & 0b11 != 0b11 {
                HvStatus::InvalidRegisterValue
            } else {
                HvStatus::Success
            });
        }
        // Not a register `set_vp_register` handles: "unsupported register".
        // ASSUMPTION: the model's raw names are none of the architectural registers
        // (those have their own access rules, off the filter path).
        _ => match reg::to_msr(name) {
            Some(n) => n,
            None => return Err(HvStatus::InvalidParameter),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `request_sint_notifications`' `assert_eq!(vtl, Vtl0)` is modeled: a VTL1 queue with a
    /// VTL1-proxied SINT reaches it (no operation fills a VTL1 queue; see
    /// `tests/fidelity.rs`).
    #[test]
    fn a_vtl1_message_on_a_vtl1_proxied_sint_would_hit_the_notification_assert() {
        let mut p = Partition::new(
            Config {
                vtl1_enabled: true,
                ..Config::default()
            },
            Revision::Head,
        );
        p.vps[0].synic[1].sints[2] = Sint::unmasked(0x60, true);
        p.post_message(0, Vtl::Vtl1, 2);
        let mut ev = Vec::new();
        assert_eq!(p.run_vp(0, &mut ev), OpResult::Vtl2Assert);
        assert!(ev.contains(&Event::Vtl2Assert {
            vp: 0,
            vtl: Vtl::Vtl1,
            site: AssertSite::SintNotifications
        }));
        // The same message on VTL0 goes to the host's synic.
        let mut q = Partition::new(Config::default(), Revision::Head);
        q.vps[0].synic[0].sints[2] = Sint::unmasked(0x60, true);
        q.post_message(0, Vtl::Vtl0, 2);
        assert_eq!(q.run_vp(0, &mut Vec::new()), OpResult::Done);
    }

    /// A guest-named message SINT ≥ 16 panics VTL2 in `MessageQueues::enqueue_message` on
    /// every upstream revision; `proposed`'s server check posts nothing.
    #[test]
    fn a_message_to_sint_16_panics_vtl2_unless_the_server_checks_it() {
        let op = Op::HostPostMessage(HostPostMessage { vp: 0, sint: 16 });
        for r in [Revision::Unfiltered, Revision::ProxyBit, Revision::Head] {
            let mut p = Partition::new(Config::default(), r);
            let mut ev = Vec::new();
            assert_eq!(p.apply(&op, &mut ev), OpResult::Vtl2Assert, "{r}");
            assert_eq!(
                ev,
                [Event::Vtl2Assert {
                    vp: 0,
                    vtl: Vtl::Vtl0,
                    site: AssertSite::MessageQueueIndex
                }]
            );
        }
        let mut p = Partition::new(Config::default(), Revision::Proposed);
        let mut ev = Vec::new();
        assert_eq!(p.apply(&op, &mut ev), OpResult::Done);
        assert!(ev.is_empty());
        assert_eq!(p.pending_sints(0, Vtl::Vtl0), 0);
        // SINT 15 is a queue like any other.
        let last = Op::HostPostMessage(HostPostMessage { vp: 0, sint: 15 });
        assert_eq!(p.apply(&last, &mut ev), OpResult::Done);
        assert_eq!(p.pending_sints(0, Vtl::Vtl0), 1 << 15);
    }
}
