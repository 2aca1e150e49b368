//! What the model lets an oracle (or a person reading `sintfuzz explain`) observe. Events
//! are small `Copy` values handed to an [`Observer`] as they happen, so the hot path never
//! allocates; `()` ignores them.

use crate::hvdef::Vtl;
use crate::vectors::VectorSet;

/// How a vector reached a guest APIC.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Path {
    /// Proxy IRR polled by VTL2 user space (`poll_apic_core`).
    ProxyUser,
    /// Proxy IRR moved by the TDX kernel offload (`mshv_tdx_pull_proxy_irr`).
    ProxyOffload,
    /// The trusted synic (`GlobalSynic::signal_event` → `synic_interrupt`).
    TrustedSynic,
    /// TDX: the untrusted synic VTL2 keeps for the host, which interrupts the APIC itself
    /// (`UhEventPort::interrupt` on `SintProxied`, `deliver_synic_messages`); no proxy IRR.
    UntrustedSynic,
    /// Delivered by the hypervisor outside the proxy path (VTL1 device routes).
    Hypervisor,
}

impl Path {
    #[inline]
    pub fn is_proxy(self) -> bool {
        matches!(self, Path::ProxyUser | Path::ProxyOffload)
    }
}

/// Why a vector did not arrive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DropReason {
    /// The kernel found it in `proxy_irr_blocked`: dropped for good. Reported as a set
    /// ([`Event::Blocked`]), never in a `Dropped` event.
    Blocked,
    /// The VTL0 APIC was disabled when user space polled: the snapshot is discarded.
    ApicDisabled,
    /// User space clears vectors 0..=15 (`request_fixed_interrupts`), and
    /// `request_interrupt` drops them.
    ReservedVector,
    /// The hypervisor did not signal: the host's view of the SINT is masked, or the VP
    /// does not exist.
    HostSuppressed,
    /// `signal_event` returned `Ok(false)`: SCONTROL disabled, SINT masked or bad flag.
    SynicRefused,
    /// `signal_event` found the event flag already set: coalesced, no new interrupt.
    FlagAlreadySet,
    /// The SINT is in polling mode: flag set, no interrupt requested.
    Polling,
}

/// Why a VP's filter was recomputed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UpdateCause {
    WrMsr,
    SetVpRegister,
    Retarget,
    Wake,
}

/// The VTL2 panic sites: the `assert_eq!(vtl, Vtl0)`s of `update_proxy_irr_filter` and
/// `request_sint_notifications`, and the message queues' index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AssertSite {
    /// Reached from `write_msr_cvm` (a VTL1 SINT WRMSR).
    WrMsr,
    /// Reached from `retarget_physical_interrupt` on the caller.
    Retarget,
    /// Reached from `handle_wake` with a VTL1 `UPDATE_PROXY_IRR_FILTER` reason.
    Wake,
    /// `request_sint_notifications`' own `assert_eq!(vtl, Vtl0)`, for queued messages on a
    /// SINT the VTL marked proxied (`openhcl/virt_mshv_vtl/src/processor/mod.rs`).
    SintNotifications,
    /// `MessageQueues::enqueue_message` (`vm/hv1/hv1_emulator/src/message_queues.rs`)
    /// indexes its `[VecDeque; NUM_SINTS]` with a guest-named SINT ≥ 16: index out of
    /// bounds.
    MessageQueueIndex,
}

impl AssertSite {
    /// What VTL2 hit, for reports.
    pub const fn what(self) -> &'static str {
        match self {
            AssertSite::MessageQueueIndex => {
                "VTL2 panicked: a message to a guest-named SINT >= 16 indexed MessageQueues' 16 queues out of bounds"
            }
            AssertSite::SintNotifications => {
                "VTL2 reached assert_eq!(vtl, Vtl0) in request_sint_notifications"
            }
            _ => "VTL2 reached assert_eq!(vtl, Vtl0) in update_proxy_irr_filter",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Event {
    /// A vector was made pending in a guest APIC (`coalesced`: it already was).
    Delivered {
        vp: u8,
        vtl: Vtl,
        vector: u8,
        path: Path,
        coalesced: bool,
    },
    /// A vector aimed at `vtl` of `vp` was dropped.
    Dropped {
        vp: u8,
        vtl: Vtl,
        vector: u8,
        reason: DropReason,
        /// The path it was on when dropped; `None` before it had one (kernel block,
        /// hypervisor or synic refusal).
        path: Option<Path>,
    },
    /// The proxy-interrupt message reached the kernel with these bits (after `& 0xff`).
    ProxyAsserted { vp: u8, bits: VectorSet },
    /// Of the bits of the `ProxyAsserted` just before it, those the kernel found in
    /// `proxy_irr_blocked` of `vp`: each is dropped for good, aimed at VTL0 and on no path
    /// yet, exactly as a `Dropped { reason: Blocked }` of each vector would say. One event
    /// per message (never empty), so a 256-bit assert costs one event, not 256.
    Blocked { vp: u8, vectors: VectorSet },
    /// `proxy_irr_blocked` of `vp` was rewritten.
    FilterUpdated {
        vp: u8,
        blocked: VectorSet,
        cause: UpdateCause,
    },
    /// An `UPDATE_PROXY_IRR_FILTER` wake for `vtl` was queued on `vp`.
    WakeQueued { vp: u8, vtl: Vtl },
    /// VTL2 hit `assert_eq!(vtl, Vtl0)`: in the real system, a VTL2 panic.
    Vtl2Assert { vp: u8, vtl: Vtl, site: AssertSite },
}

impl Event {
    /// Each vector this event drops, as `(vp, vtl, vector, reason, path)`: a `Dropped`
    /// itself, a `Blocked` set vector by vector (ascending). For readers of events (tests,
    /// reports), not the hot path.
    pub fn drops(&self) -> impl Iterator<Item = (u8, Vtl, u8, DropReason, Option<Path>)> {
        let (vp, vtl, vectors, reason, path) = match *self {
            Event::Dropped {
                vp,
                vtl,
                vector,
                reason,
                path,
            } => (vp, vtl, VectorSet::single(vector), reason, path),
            Event::Blocked { vp, vectors } => (vp, Vtl::Vtl0, vectors, DropReason::Blocked, None),
            // Nothing dropped.
            _ => (0, Vtl::Vtl0, VectorSet::EMPTY, DropReason::Blocked, None),
        };
        vectors.iter().map(move |v| (vp, vtl, v, reason, path))
    }
}

/// Receives the model's events.
pub trait Observer {
    fn event(&mut self, event: Event);
}

impl Observer for () {
    #[inline(always)]
    fn event(&mut self, _: Event) {}
}

impl Observer for Vec<Event> {
    fn event(&mut self, event: Event) {
        self.push(event);
    }
}

impl<O: Observer + ?Sized> Observer for &mut O {
    #[inline(always)]
    fn event(&mut self, event: Event) {
        (**self).event(event)
    }
}
