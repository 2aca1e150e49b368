//! The input format shared by every engine, `cargo test` and triage: a partition config
//! then up to [`MAX_OPS`] operations, decoded with the integer reads of `arbitrary`'s
//! `Unstructured` (`arbitrary = "=1.4.2"`: little-endian, zero-padded past the end; the
//! [`Reader`] does the same reads straight from the slice, and a test checks it against
//! `arbitrary`), and re-encoded by [`encode`].
//!
//! Every field is described once, by a function generic over [`Stream`]: the reader
//! fills it from the input, the writer emits the bytes the reader would consume. So
//! `decode(encode(s)) == s` holds by construction for every scenario `encode` accepts,
//! and a property test checks it.
//!
//! Format, version 2 (`FORMAT_VERSION`):
//! - byte 0: config flags — bit0 relay **off**, bit1 TDX (else SNP), bit2 TDX kernel
//!   offload, bit3 VTL1 enabled, bit4 pre-Win8 VMBus, bit5 #384 proxy interrupt
//!   redirection, bit6 the guest does **not** mirror its SINT writes to the host's synic.
//!   Zero is the common case: SNP, relay on, modern guest, no redirection, a mirroring
//!   (Linux) guest. Bit 7 is free for a new config axis.
//! - byte 1: VP count − 1 (mod 4).
//! - then per operation: a tag choosing one of the target's kinds ([`KindTable`]), then
//!   that kind's fields. Input ends the list; so does the 64th operation.
//!
//! # The tag rule (fixed: appending a kind never changes how a tag decodes)
//!
//! Each target has an append-only kind list `kinds` and a number `aliased`, frozen
//! forever when the target is created (for the three v1 targets: the v1 table lengths).
//! - A tag byte `t` in `0..=254` picks `kinds[t % aliased]`: only the first `aliased`
//!   kinds, so a kind appended later never shifts it.
//! - Tag [`ESCAPE`] (`0xff`) is followed by a byte `e` and picks `kinds[aliased + e]`:
//!   the slots of appended kinds. A slot with no kind yet is *reserved*: it ends the
//!   operation list, so adding a kind there can only make an old input decode to more
//!   operations after the ones it already had, never change one of them.
//! - [`encode`] writes each kind's shortest tag: `i` for `i < aliased`, else
//!   `[0xff, i - aliased]`.
//!
//! **Adding an operation kind** (the only allowed change): append it to the [`Kind`]
//! enum, give it a `code_kind` arm, and append it at the end of the `kinds` of each
//! target that should draw it (`targets/src/target.rs`). Never reorder or remove a kind,
//! never change `aliased`, never change an existing kind's fields. A new target gets
//! `aliased = kinds.len()` at its creation and the same rule afterwards.
//!
//! Fields read past the end of the input are zero, so a truncated input is still a
//! valid scenario. Canonical files (those [`encode`] writes, which is every checked-in
//! file) decode as they did in version 1: every v1 tag was `< aliased`. Version 1 raw
//! bytes differ from version 2 only where a tag byte was `0xff` (it used to alias
//! `kinds[255 % len]`).

use std::sync::OnceLock;

use sintfuzz_model::hvdef::{
    msr, reg, Sint, VMBUS_SINT, VP_INDEX_DISABLE_INTERRUPT, VP_INDEX_SELF,
};
use sintfuzz_model::op::{
    CloseChannel, GuestAck, HostAssert, HostDeviceInterrupt, HostOffer, HostPostMessage,
    HostSignalChannel, HostSignalSint, ModifyChannel, ModifyConnection, OpenChannel, RdMsr,
    Retarget, RunVp, SetApic, SetVpRegister, UntrustedWrMsr, WrMsr,
};
use sintfuzz_model::{
    Config, Isolation, Op, ProxyAssert, RetargetFlaws, VectorSet, VmbusEra, Vtl, MAX_CHANNELS,
    MAX_DEVICES, MAX_VPS,
};

/// Bumped when the meaning of some bytes changes. 2: tag `0xff` became [`ESCAPE`]
/// (canonical v1 files are unchanged). Bumped again only if a kind's fields ever had to
/// change (they must not).
pub const FORMAT_VERSION: u32 = 2;
/// The tag byte that introduces an appended kind's slot (see the module docs).
pub const ESCAPE: u8 = 0xff;
/// At most this many operations per input.
pub const MAX_OPS: usize = 64;
/// The widest canonical operation of the current tables: `HostAssertFull`, a 1-byte tag,
/// its VP and 256 bits (the round-trip tests check it). An appended kind's tag takes 2
/// bytes: raise this (and the engines' `max_len = 2200`) if one is wider than 32 bytes
/// of fields.
pub const MAX_OP_LEN: usize = 34;
/// The largest canonical encoding: config + 64 of the widest kind. Engines may use it as
/// `max_len`.
pub const MAX_CANONICAL_LEN: usize = 2 + MAX_OPS * MAX_OP_LEN;

/// `tag % d` for a byte `tag` and `1 <= d <= 255` by a multiply and a shift: the divisor
/// is fixed per input, so the decoder divides once per input instead of once per tag (the
/// tag modulus, and the VP count for VP fields: no division and no branch per field).
/// Exact for every byte (`m = 2^16 / d + 1` carries 16 >= 8 + log2(d) bits; a test checks
/// every pair).
#[derive(Clone, Copy, Debug)]
pub struct TagMod {
    d: u32,
    m: u32,
}

impl TagMod {
    pub fn new(d: usize) -> Self {
        let d = d as u32;
        Self {
            d,
            m: (1 << 16) / d + 1,
        }
    }

    #[inline(always)]
    pub fn of(self, tag: u8) -> usize {
        // Wrapping: neither overflows (`q <= tag / d`, checked for every pair by a test),
        // and the release profile's overflow checks would cost two branches per tag.
        let q = (tag as u32).wrapping_mul(self.m) >> 16;
        (tag as u32).wrapping_sub(q.wrapping_mul(self.d)) as usize
    }
}

/// A target's operation kinds under the fixed tag rule (module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KindTable {
    /// Append only.
    pub kinds: &'static [Kind],
    /// How many leading kinds plain tags alias (`tag % aliased`). Frozen forever.
    pub aliased: usize,
}

impl KindTable {
    /// The index of the kind a tag picks, reading the escape byte from `s` if needed;
    /// `None` for a reserved slot.
    fn read<S: Stream>(&self, s: &mut S, aliased: TagMod) -> Option<usize> {
        let mut tag = 0u8;
        s.u8(&mut tag);
        let index = if tag == ESCAPE {
            let mut slot = 0u8;
            s.u8(&mut slot);
            self.aliased + slot as usize
        } else {
            aliased.of(tag)
        };
        (index < self.kinds.len()).then_some(index)
    }

    /// The kind each plain tag picks, `kinds[tag % aliased]` (the entry of [`ESCAPE`] is
    /// unused): the fuzz loop's decoder finds a tag's kind with one load instead of a
    /// modulus and two loads ([`TargetKinds::kinds_by_tag`], evaluated at compile time; a test
    /// checks it against [`KindTable::read`] for every tag of every target).
    pub const fn kinds_by_tag(&self) -> [Kind; 256] {
        let mut out = [self.kinds[0]; 256];
        let mut tag = 0;
        while tag < ESCAPE as usize {
            out[tag] = self.kinds[tag % self.aliased];
            tag += 1;
        }
        out
    }

    /// Write the shortest tag of `kinds[index]`.
    fn write(&self, index: usize, out: &mut Vec<u8>) {
        if index < self.aliased {
            out.push(index as u8);
        } else {
            out.extend([ESCAPE, (index - self.aliased) as u8]);
        }
    }

    /// Whether the table obeys the rule: `1..=255` aliased kinds, at most 256 escaped.
    pub fn is_valid(&self) -> bool {
        (1..=ESCAPE as usize).contains(&self.aliased)
            && self.aliased <= self.kinds.len()
            && self.kinds.len() - self.aliased <= 256
    }
}

/// What the codec needs of a fuzz target: its kind table. `Target` (`target.rs`, the
/// layer above) implements it, so the codec, at the bottom, never names a target.
pub trait TargetKinds: Copy {
    /// The operation kinds the target draws from and how tags pick them.
    fn table(self) -> KindTable;
    /// The kind each plain tag picks ([`KindTable::kinds_by_tag`]), computed at compile
    /// time.
    fn kinds_by_tag(self) -> &'static [Kind; 256];
}

/// A decoded input: the partition config and the operations in order.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Scenario {
    pub config: Config,
    pub ops: Vec<Op>,
}

/// Defines [`Kind`] and its per-kind dispatch ([`Kind::specialize`]) from one list, so the
/// dispatch can never miss a kind.
macro_rules! kinds {
    ($(#[$attr:meta])* pub enum Kind { $($(#[$doc:meta])* $k:ident $(= $v:literal)?,)* }) => {
        $(#[$attr])*
        pub enum Kind {
            $($(#[$doc])* $k $(= $v)?,)*
        }

        impl Kind {
            /// [`decode_to`] with `self` a constant in each arm.
            #[inline(always)]
            fn specialize<K: OpSink>(
                self,
                s: &mut Reader<'_>,
                vps: TagMod,
                sink: &mut K,
            ) -> K::Out {
                match self {
                    $(Kind::$k => decode_to(Kind::$k, s, vps, sink),)*
                }
            }
        }
    };
}

kinds! {
    /// The operation encodings. Append only: a kind's number and fields never change.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
    pub enum Kind {
        /// `RunVp`.
        RunVp = 0,
        /// `WrMsr` of a SINT with a structured value (vector + masked/proxy/polling/auto-EOI).
        WrSint,
        /// `SetVpRegister` of a SINT on the VP itself, with a structured value.
        SetVpRegSint,
        /// `UntrustedWrMsr` of a SINT with a structured value.
        UntrustedSint,
        /// `WrMsr` of SCONTROL, enabled or disabled.
        WrScontrol,
        /// `Retarget`.
        Retarget,
        /// `SetApic`.
        SetApic,
        /// `GuestAck`.
        GuestAck,
        /// `HostOffer`.
        HostOffer,
        /// `OpenChannel`.
        OpenChannel,
        /// `CloseChannel`.
        CloseChannel,
        /// `ModifyChannel`.
        ModifyChannel,
        /// `ModifyConnection`.
        ModifyConnection,
        /// `HostSignalChannel`.
        HostSignalChannel,
        /// `HostSignalSint`.
        HostSignalSint,
        /// `HostDeviceInterrupt`.
        HostDeviceInterrupt,
        /// `HostAssert` single-vector form, any u32.
        HostAssertSingle,
        /// `HostAssert` multi-vector form, 32 vectors from a base.
        HostAssertWindow,
        /// `HostAssert` multi-vector form, all 256 bits.
        HostAssertFull,
        /// `WrMsr`, any MSR and value.
        WrMsrRaw,
        /// `RdMsr`, any MSR.
        RdMsr,
        /// `SetVpRegister`, every field free.
        SetVpRegRaw,
        /// `UntrustedWrMsr`, any MSR and value.
        UntrustedWrMsrRaw,
        /// `WrMsr` of VTL0's VMBus SINT (SINT2) with a structured value: the guest's most
        /// common SINT write, one kind instead of a 1-in-16 SINT field (action-mix tuning;
        /// canonical encodings still use `WrSint`, which comes first).
        WrVmbusSint,
        /// `HostPostMessage` to VTL0 SINT2 (the connection's messages).
        HostPostMessage,
        /// `HostPostMessage` to any VTL0 SINT (a reserved channel's or a custom target's).
        HostPostMessageSint,
        /// `HostPostMessage` to the raw SINT byte a guest named (a reserved channel's
        /// `target_sint as u8`, a multiclient InitiateContact's `TargetInfo::sint`): the
        /// server checks neither, so 16..=255 are reachable too.
        GuestMessageTarget,
    }
}

/// Reads nothing: every field keeps its value (zero for a fresh op).
struct Null;

impl Stream for Null {
    fn u8(&mut self, _: &mut u8) {}
    fn u16(&mut self, _: &mut u16) {}
    fn u32(&mut self, _: &mut u32) {}
    fn u64(&mut self, _: &mut u64) {}
}

impl Kind {
    /// The `Op` variant this kind decodes to, learnt once from `code_kind` itself, so
    /// that [`encode`] tries only the kinds that can reproduce an operation.
    fn variant(self) -> core::mem::Discriminant<Op> {
        static VARIANTS: [OnceLock<core::mem::Discriminant<Op>>; 256] =
            [const { OnceLock::new() }; 256];
        *VARIANTS[self as usize].get_or_init(|| {
            let mut op = Op::RunVp(RunVp { vp: 0 });
            code_kind(
                self,
                &mut Fields {
                    s: &mut Null,
                    vps: TagMod::new(1),
                },
                &mut op,
            );
            core::mem::discriminant(&op)
        })
    }
}

/// Field encodings, each written once for both directions (and for the mutator's
/// field-level changes, `crate::mutate`).
pub trait Stream {
    fn u8(&mut self, v: &mut u8);
    fn u16(&mut self, v: &mut u16);
    fn u32(&mut self, v: &mut u32);
    fn u64(&mut self, v: &mut u64);
}

/// Reads fields from the front of a slice as `arbitrary` 1.4.2 reads integers
/// (`Unstructured::fill_buffer`): little-endian, the bytes left, zeros past the end.
pub struct Reader<'a>(pub &'a [u8]);

impl Reader<'_> {
    #[inline(always)]
    fn take<const N: usize>(&mut self) -> [u8; N] {
        if let Some((head, rest)) = self.0.split_first_chunk::<N>() {
            self.0 = rest;
            return *head;
        }
        let mut buf = [0u8; N];
        buf[..self.0.len()].copy_from_slice(self.0);
        self.0 = &[];
        buf
    }
}

macro_rules! read_int {
    ($($name:ident: $t:ty),*) => {$(
        #[inline(always)]
        fn $name(&mut self, v: &mut $t) {
            *v = <$t>::from_le_bytes(self.take());
        }
    )*};
}

impl Stream for Reader<'_> {
    read_int!(u8: u8, u16: u16, u32: u32, u64: u64);
}

/// Writes the bytes [`Reader`] consumes: `arbitrary` reads integers little-endian.
pub struct Writer<'a>(pub &'a mut Vec<u8>);

macro_rules! write_int {
    ($($name:ident: $t:ty),*) => {$(
        fn $name(&mut self, v: &mut $t) {
            self.0.extend_from_slice(&v.to_le_bytes());
        }
    )*};
}

impl Stream for Writer<'_> {
    write_int!(u8: u8, u16: u16, u32: u32, u64: u64);
}

/// Field helpers; `vps` is the decoded VP count (as its modulus: VP fields are taken mod
/// it, so they are always valid).
struct Fields<'s, S: Stream> {
    s: &'s mut S,
    vps: TagMod,
}

const MSR_WINDOW: u32 = 0x4000_0080;

impl<S: Stream> Fields<'_, S> {
    fn byte(&mut self, v: &mut u8) {
        self.s.u8(v)
    }
    fn modulo(&mut self, v: &mut u8, n: u8) {
        self.s.u8(v);
        *v %= n;
    }
    fn vp(&mut self, v: &mut u8) {
        self.s.u8(v);
        *v = self.vps.of(*v) as u8;
    }
    fn bool(&mut self, v: &mut bool) {
        let mut b = *v as u8;
        self.s.u8(&mut b);
        *v = b & 1 != 0;
    }
    fn vtl(&mut self, v: &mut Vtl) {
        let mut b = *v as u8;
        self.s.u8(&mut b);
        *v = if b & 1 == 0 { Vtl::Vtl0 } else { Vtl::Vtl1 };
    }
    /// A SINT value as vector + flags (bit0 masked, bit1 proxy, bit2 polling, bit3
    /// auto-EOI); values with other bits set are not representable here.
    fn sint_value(&mut self, value: &mut u64) {
        let s = Sint::from_bits(*value);
        let mut vector = s.vector();
        let mut flags = s.masked() as u8
            | (s.proxy() as u8) << 1
            | (s.polling() as u8) << 2
            | (s.auto_eoi() as u8) << 3;
        self.s.u8(&mut vector);
        self.s.u8(&mut flags);
        *value = vector as u64
            | if flags & 1 != 0 { Sint::MASKED } else { 0 }
            | if flags & 2 != 0 { Sint::PROXY } else { 0 }
            | if flags & 4 != 0 { Sint::POLLING } else { 0 }
            | if flags & 8 != 0 { Sint::AUTO_EOI } else { 0 };
    }
    /// `0xff` = no interrupt (`u32::MAX`), `0xf0..=0xfe` = that (absent) VP, else mod VPs.
    fn target_vp(&mut self, t: &mut u32) {
        let mut b = match *t {
            VP_INDEX_DISABLE_INTERRUPT => 0xff,
            t if t < 0x100 => t as u8,
            _ => 0,
        };
        self.s.u8(&mut b);
        *t = match b {
            0xff => VP_INDEX_DISABLE_INTERRUPT,
            0xf0..=0xfe => b as u32,
            _ => self.vps.of(b) as u32,
        };
    }
    /// A selector below 0x80 names `0x4000_0080 + sel` (the synic window); otherwise a
    /// raw u32 follows.
    fn msr(&mut self, m: &mut u32) {
        let mut sel = match m.wrapping_sub(MSR_WINDOW) {
            off if off < 0x80 => off as u8,
            _ => 0x80,
        };
        self.s.u8(&mut sel);
        if sel < 0x80 {
            *m = MSR_WINDOW + sel as u32;
        } else {
            self.s.u32(m);
        }
    }
    /// `0xfe` = `HV_VP_INDEX_SELF`, `0xff` = raw u32 follows, else that index.
    fn vp_index(&mut self, v: &mut u32) {
        let mut b = match *v {
            VP_INDEX_SELF => 0xfe,
            v if v < 0xfe => v as u8,
            _ => 0xff,
        };
        self.s.u8(&mut b);
        *v = match b {
            0xfe => VP_INDEX_SELF,
            0xff => {
                self.s.u32(v);
                *v
            }
            b => b as u32,
        };
    }
    /// Below 0x15: the synic names `0x000a_0000 + sel`; 0x15: `0x000d_0007`
    /// (`VsmPartitionConfig`; the selector always decoded to this name, which the model
    /// once took for `VsmVina`); else raw u32.
    fn reg_name(&mut self, n: &mut u32) {
        let mut sel = match *n {
            reg::SINT0..=reg::EOM => (*n - reg::SINT0) as u8,
            reg::VSM_PARTITION_CONFIG => 0x15,
            _ => 0x16,
        };
        self.s.u8(&mut sel);
        *n = match sel {
            0..=0x14 => reg::SINT0 + sel as u32,
            0x15 => reg::VSM_PARTITION_CONFIG,
            _ => {
                self.s.u32(n);
                *n
            }
        };
    }
    /// 32 vectors from `base` (bits past 255 are dropped).
    fn window(&mut self, set: &mut VectorSet) {
        let mut base = set.first().unwrap_or(0);
        let mut mask = 0u32;
        for v in set.iter() {
            if v - base < 32 {
                mask |= 1 << (v - base);
            }
        }
        self.s.u8(&mut base);
        self.s.u32(&mut mask);
        let mut out = VectorSet::EMPTY;
        for i in 0..32u32 {
            if mask & (1 << i) != 0 && base as u32 + i < 256 {
                out.insert((base as u32 + i) as u8);
            }
        }
        *set = out;
    }
    fn full_set(&mut self, set: &mut VectorSet) {
        for w in set.0.iter_mut() {
            self.s.u32(w);
        }
    }
}

fn sint_msr(m: u32) -> u8 {
    msr::sint_index(m).unwrap_or(0)
}

fn sint_reg(n: u32) -> u8 {
    match n {
        reg::SINT0..=reg::SINT15 => (n - reg::SINT0) as u8,
        _ => 0,
    }
}

/// Run `kind`'s fields through `f`, starting from `op` (the reader passes any op and
/// gets the decoded one back; the writer passes the op to encode and learns whether
/// this kind reproduces it exactly).
///
/// Long: a table, one arm per kind, so it is as long as the list of kinds: each kind's bytes
/// are described in this one place, and it stays one `match` so that a constant `kind`
/// (each arm of `Kind::specialize`) folds it to that kind's fields.
#[inline(always)]
fn code_kind<S: Stream>(kind: Kind, f: &mut Fields<'_, S>, op: &mut Op) {
    use Vtl::Vtl0;
    *op = match (kind, *op) {
        (Kind::RunVp, op) => {
            let mut vp = if let Op::RunVp(RunVp { vp }) = op {
                vp
            } else {
                0
            };
            f.vp(&mut vp);
            Op::RunVp(RunVp { vp })
        }
        (Kind::WrSint, op) => {
            let (mut vp, mut vtl, mut sint, mut value) = match op {
                Op::WrMsr(WrMsr {
                    vp,
                    vtl,
                    msr,
                    value,
                }) => (vp, vtl, sint_msr(msr), value),
                _ => (0, Vtl0, 0, 0),
            };
            f.vp(&mut vp);
            f.vtl(&mut vtl);
            f.modulo(&mut sint, 16);
            f.sint_value(&mut value);
            Op::WrMsr(WrMsr {
                vp,
                vtl,
                msr: msr::SINT0 + sint as u32,
                value,
            })
        }
        (Kind::SetVpRegSint, op) => {
            let (mut vp, mut caller, mut target, mut sint, mut value) = match op {
                Op::SetVpRegister(SetVpRegister {
                    vp,
                    caller_vtl,
                    target_vtl,
                    name,
                    value,
                    ..
                }) => (vp, caller_vtl, target_vtl, sint_reg(name), value),
                _ => (0, Vtl0, Vtl0, 0, 0),
            };
            f.vp(&mut vp);
            f.vtl(&mut caller);
            f.vtl(&mut target);
            f.modulo(&mut sint, 16);
            f.sint_value(&mut value);
            Op::SetVpRegister(SetVpRegister {
                vp,
                caller_vtl: caller,
                target_vtl: target,
                partition_self: true,
                vp_index: VP_INDEX_SELF,
                name: reg::SINT0 + sint as u32,
                value,
            })
        }
        (Kind::UntrustedSint, op) => {
            let (mut vp, mut sint, mut value) = match op {
                Op::UntrustedWrMsr(UntrustedWrMsr { vp, msr, value }) => (vp, sint_msr(msr), value),
                _ => (0, 0, 0),
            };
            f.vp(&mut vp);
            f.modulo(&mut sint, 16);
            f.sint_value(&mut value);
            Op::UntrustedWrMsr(UntrustedWrMsr {
                vp,
                msr: msr::SINT0 + sint as u32,
                value,
            })
        }
        (Kind::WrScontrol, op) => {
            let (mut vp, mut vtl, mut on) = match op {
                Op::WrMsr(WrMsr { vp, vtl, value, .. }) => (vp, vtl, value == 1),
                _ => (0, Vtl0, true),
            };
            f.vp(&mut vp);
            f.vtl(&mut vtl);
            f.bool(&mut on);
            Op::WrMsr(WrMsr {
                vp,
                vtl,
                msr: msr::SCONTROL,
                value: on as u64,
            })
        }
        (Kind::Retarget, op) => {
            let (mut vp, mut vtl, mut device, mut vector, mut targets, flaws) = match op {
                Op::Retarget(Retarget {
                    vp,
                    vtl,
                    device,
                    vector,
                    targets,
                    flaws,
                }) => (vp, vtl, device, vector, targets, flaws),
                _ => (0, Vtl0, 0, 0, 0, RetargetFlaws::default()),
            };
            let mut wide = vector.min(0x1_0000) as u16;
            // Bit 3 (multicast) was ignored before #384 redirection was modeled.
            let mut bits = flaws.reserved_flags as u8
                | (flaws.bad_processor_set as u8) << 1
                | (flaws.not_msi as u8) << 2
                | (flaws.multicast as u8) << 3;
            f.vp(&mut vp);
            f.vtl(&mut vtl);
            f.modulo(&mut device, MAX_DEVICES as u8);
            f.s.u16(&mut wide);
            f.byte(&mut targets);
            f.byte(&mut bits);
            vector = wide as u32;
            Op::Retarget(Retarget {
                vp,
                vtl,
                device,
                vector,
                targets,
                flaws: RetargetFlaws {
                    reserved_flags: bits & 1 != 0,
                    bad_processor_set: bits & 2 != 0,
                    not_msi: bits & 4 != 0,
                    multicast: bits & 8 != 0,
                },
            })
        }
        (Kind::SetApic, op) => {
            let (mut vp, mut vtl, mut hw, mut sw) = match op {
                Op::SetApic(SetApic {
                    vp,
                    vtl,
                    hw_enabled,
                    sw_enabled,
                }) => (vp, vtl, hw_enabled, sw_enabled),
                _ => (0, Vtl0, false, false),
            };
            let mut bits = hw as u8 | (sw as u8) << 1;
            f.vp(&mut vp);
            f.vtl(&mut vtl);
            f.byte(&mut bits);
            (hw, sw) = (bits & 1 != 0, bits & 2 != 0);
            Op::SetApic(SetApic {
                vp,
                vtl,
                hw_enabled: hw,
                sw_enabled: sw,
            })
        }
        (Kind::GuestAck, op) => {
            let (mut vp, mut vtl) = match op {
                Op::GuestAck(GuestAck { vp, vtl }) => (vp, vtl),
                _ => (0, Vtl0),
            };
            f.vp(&mut vp);
            f.vtl(&mut vtl);
            Op::GuestAck(GuestAck { vp, vtl })
        }
        // The operations whose one field is a channel slot.
        (Kind::HostOffer | Kind::CloseChannel | Kind::HostSignalChannel, op) => {
            let mut slot = match op {
                Op::HostOffer(HostOffer { slot })
                | Op::CloseChannel(CloseChannel { slot })
                | Op::HostSignalChannel(HostSignalChannel { slot }) => slot,
                _ => 0,
            };
            f.modulo(&mut slot, MAX_CHANNELS as u8);
            match kind {
                Kind::HostOffer => Op::HostOffer(HostOffer { slot }),
                Kind::CloseChannel => Op::CloseChannel(CloseChannel { slot }),
                _ => Op::HostSignalChannel(HostSignalChannel { slot }),
            }
        }
        (Kind::OpenChannel, op) => {
            let (mut slot, mut target_vp, mut event_flag) = match op {
                Op::OpenChannel(OpenChannel {
                    slot,
                    target_vp,
                    event_flag,
                }) => (slot, target_vp, event_flag),
                _ => (0, 0, 0),
            };
            f.modulo(&mut slot, MAX_CHANNELS as u8);
            f.target_vp(&mut target_vp);
            f.s.u16(&mut event_flag);
            Op::OpenChannel(OpenChannel {
                slot,
                target_vp,
                event_flag,
            })
        }
        (Kind::ModifyChannel, op) => {
            let (mut slot, mut target_vp) = match op {
                Op::ModifyChannel(ModifyChannel { slot, target_vp }) => (slot, target_vp),
                _ => (0, 0),
            };
            f.modulo(&mut slot, MAX_CHANNELS as u8);
            f.target_vp(&mut target_vp);
            Op::ModifyChannel(ModifyChannel { slot, target_vp })
        }
        (Kind::ModifyConnection, op) => {
            let mut page = matches!(
                op,
                Op::ModifyConnection(ModifyConnection {
                    use_interrupt_page: true
                })
            );
            f.bool(&mut page);
            Op::ModifyConnection(ModifyConnection {
                use_interrupt_page: page,
            })
        }
        (Kind::HostSignalSint, op) => {
            let (mut vp, mut sint) = match op {
                Op::HostSignalSint(HostSignalSint { vp, sint }) => (vp, sint),
                _ => (0, 0),
            };
            f.vp(&mut vp);
            f.modulo(&mut sint, 16);
            Op::HostSignalSint(HostSignalSint { vp, sint })
        }
        (Kind::HostDeviceInterrupt, op) => {
            let (mut device, mut pick) = match op {
                Op::HostDeviceInterrupt(HostDeviceInterrupt { device, pick }) => (device, pick),
                _ => (0, 0),
            };
            f.modulo(&mut device, MAX_DEVICES as u8);
            f.byte(&mut pick);
            Op::HostDeviceInterrupt(HostDeviceInterrupt { device, pick })
        }
        (Kind::HostAssertSingle, op) => {
            let (mut vp, mut v) = match op {
                Op::HostAssert(HostAssert {
                    vp,
                    assert: ProxyAssert::Single(v),
                }) => (vp, v),
                _ => (0, 0),
            };
            f.vp(&mut vp);
            f.s.u32(&mut v);
            Op::HostAssert(HostAssert {
                vp,
                assert: ProxyAssert::Single(v),
            })
        }
        (Kind::HostAssertWindow | Kind::HostAssertFull, op) => {
            let (mut vp, mut set) = match op {
                Op::HostAssert(HostAssert {
                    vp,
                    assert: ProxyAssert::Multi(set),
                }) => (vp, set),
                _ => (0, VectorSet::EMPTY),
            };
            f.vp(&mut vp);
            if kind == Kind::HostAssertWindow {
                f.window(&mut set);
            } else {
                f.full_set(&mut set);
            }
            Op::HostAssert(HostAssert {
                vp,
                assert: ProxyAssert::Multi(set),
            })
        }
        (Kind::WrMsrRaw, op) => {
            let (mut vp, mut vtl, mut m, mut value) = match op {
                Op::WrMsr(WrMsr {
                    vp,
                    vtl,
                    msr,
                    value,
                }) => (vp, vtl, msr, value),
                _ => (0, Vtl0, 0, 0),
            };
            f.vp(&mut vp);
            f.vtl(&mut vtl);
            f.msr(&mut m);
            f.s.u64(&mut value);
            Op::WrMsr(WrMsr {
                vp,
                vtl,
                msr: m,
                value,
            })
        }
        (Kind::RdMsr, op) => {
            let (mut vp, mut vtl, mut m) = match op {
                Op::RdMsr(RdMsr { vp, vtl, msr }) => (vp, vtl, msr),
                _ => (0, Vtl0, 0),
            };
            f.vp(&mut vp);
            f.vtl(&mut vtl);
            f.msr(&mut m);
            Op::RdMsr(RdMsr { vp, vtl, msr: m })
        }
        (Kind::SetVpRegRaw, op) => {
            let mut r = match op {
                Op::SetVpRegister(r) => r,
                _ => SetVpRegister {
                    vp: 0,
                    caller_vtl: Vtl0,
                    target_vtl: Vtl0,
                    partition_self: true,
                    vp_index: VP_INDEX_SELF,
                    name: 0,
                    value: 0,
                },
            };
            // Target VTL 2 is representable here (it is always AccessDenied).
            let mut t = r.target_vtl as u8;
            f.vp(&mut r.vp);
            f.vtl(&mut r.caller_vtl);
            f.modulo(&mut t, 3);
            // Stored inverted so that zero bytes mean the common, valid call.
            let mut other_partition = !r.partition_self;
            f.bool(&mut other_partition);
            r.partition_self = !other_partition;
            f.vp_index(&mut r.vp_index);
            f.reg_name(&mut r.name);
            f.s.u64(&mut r.value);
            r.target_vtl = [Vtl::Vtl0, Vtl::Vtl1, Vtl::Vtl2][t as usize];
            Op::SetVpRegister(r)
        }
        (Kind::WrVmbusSint, op) => {
            // Only a VTL0 SINT2 write comes back equal, so the writer skips anything else.
            let (mut vp, mut value) = match op {
                Op::WrMsr(WrMsr { vp, value, .. }) => (vp, value),
                _ => (0, 0),
            };
            f.vp(&mut vp);
            f.sint_value(&mut value);
            Op::WrMsr(WrMsr {
                vp,
                vtl: Vtl0,
                msr: msr::SINT0 + VMBUS_SINT as u32,
                value,
            })
        }
        (Kind::HostPostMessage, op) => {
            let mut vp = match op {
                Op::HostPostMessage(HostPostMessage { vp, .. }) => vp,
                _ => 0,
            };
            f.vp(&mut vp);
            Op::HostPostMessage(HostPostMessage {
                vp,
                sint: VMBUS_SINT,
            })
        }
        (Kind::HostPostMessageSint, op) => {
            let (mut vp, mut sint) = match op {
                Op::HostPostMessage(HostPostMessage { vp, sint }) => (vp, sint),
                _ => (0, 0),
            };
            f.vp(&mut vp);
            f.modulo(&mut sint, 16);
            Op::HostPostMessage(HostPostMessage { vp, sint })
        }
        (Kind::GuestMessageTarget, op) => {
            let (mut vp, mut sint) = match op {
                Op::HostPostMessage(HostPostMessage { vp, sint }) => (vp, sint),
                _ => (0, 0),
            };
            f.vp(&mut vp);
            f.byte(&mut sint);
            Op::HostPostMessage(HostPostMessage { vp, sint })
        }
        (Kind::UntrustedWrMsrRaw, op) => {
            let (mut vp, mut m, mut value) = match op {
                Op::UntrustedWrMsr(UntrustedWrMsr { vp, msr, value }) => (vp, msr, value),
                _ => (0, 0, 0),
            };
            f.vp(&mut vp);
            f.msr(&mut m);
            f.s.u64(&mut value);
            Op::UntrustedWrMsr(UntrustedWrMsr { vp, msr: m, value })
        }
    };
}

fn code_config<S: Stream>(s: &mut S, c: &mut Config) {
    let mut flags = (!c.vmbus_relay) as u8
        | ((c.isolation == Isolation::Tdx) as u8) << 1
        | (c.tdx_offload as u8) << 2
        | (c.vtl1_enabled as u8) << 3
        | ((c.era == VmbusEra::PreWin8) as u8) << 4
        | (c.proxy_redirect as u8) << 5
        | (!c.guest_mirrors_sints as u8) << 6;
    let mut vps = c.vp_count.wrapping_sub(1);
    s.u8(&mut flags);
    s.u8(&mut vps);
    *c = Config {
        vp_count: vps % MAX_VPS as u8 + 1,
        isolation: if flags & 2 != 0 {
            Isolation::Tdx
        } else {
            Isolation::Snp
        },
        vmbus_relay: flags & 1 == 0,
        tdx_offload: flags & 4 != 0,
        vtl1_enabled: flags & 8 != 0,
        era: if flags & 16 != 0 {
            VmbusEra::PreWin8
        } else {
            VmbusEra::Modern
        },
        proxy_redirect: flags & 32 != 0,
        guest_mirrors_sints: flags & 64 == 0,
    };
}

/// Decodes inputs one operation at a time, so the fuzz loop needs no `Vec`.
pub struct Decoder<'a> {
    u: Reader<'a>,
    table: KindTable,
    /// The target's [`KindTable::kinds_by_tag`] (none for an explicit table).
    by_tag: Option<&'static [Kind; 256]>,
    aliased: TagMod,
    /// `config.vps()`, as the modulus of VP fields.
    vps: TagMod,
    pub config: Config,
    decoded: usize,
}

impl<'a> Decoder<'a> {
    pub fn new(target: impl TargetKinds, data: &'a [u8]) -> Self {
        Self {
            by_tag: Some(target.kinds_by_tag()),
            ..Self::with_table(target.table(), data)
        }
    }

    /// Decode with an explicit kind table (the format tests simulate appended kinds).
    pub fn with_table(table: KindTable, data: &'a [u8]) -> Self {
        let mut u = Reader(data);
        let mut config = Config::default();
        code_config(&mut u, &mut config);
        Self {
            u,
            table,
            by_tag: None,
            aliased: TagMod::new(table.aliased),
            vps: TagMod::new(config.vps()),
            config,
            decoded: 0,
        }
    }
}

/// What the fuzz loop does with each decoded operation ([`Decoder::next_to`]).
pub trait OpSink {
    type Out;
    /// Called once per operation, with the operation where the decoder built it.
    fn op(&mut self, op: &Op) -> Self::Out;
}

/// Decode one operation of the constant `kind` and hand it to `sink`. Inlined into each
/// arm of [`Kind::specialize`], so that `code_kind` folds to that kind's fields and the
/// sink (the model's and the oracle's step, inlined too) sees a known `Op` variant: one
/// dispatch per operation instead of one in the decoder, the model and the oracle each.
#[inline(always)]
fn decode_to<K: OpSink>(kind: Kind, s: &mut Reader<'_>, vps: TagMod, sink: &mut K) -> K::Out {
    // From a fixed starting value, so that `code_kind`'s reads of the previous fields
    // (only the writer needs them) fold away.
    let mut op = Op::RunVp(RunVp { vp: 0 });
    code_kind(kind, &mut Fields { s, vps }, &mut op);
    sink.op(&op)
}

/// Hands the operation back with the index of its kind ([`Decoder::next_indexed`]).
struct Collect(usize);

impl OpSink for Collect {
    type Out = (usize, Op);
    fn op(&mut self, op: &Op) -> (usize, Op) {
        (self.0, *op)
    }
}

impl Decoder<'_> {
    /// The next operation and the index of the kind (in the table) that decoded it.
    pub(crate) fn next_indexed(&mut self) -> Option<(usize, Op)> {
        let index = self.next_index()?;
        self.decode_index(index, &mut Collect(index))
    }

    /// Decode the next operation and hand it to `sink` (the fuzz loop's form: the
    /// operation is built where the step reads it, and the step is specialized per kind);
    /// `None` at the end of the list.
    #[inline(always)]
    pub fn next_to<K: OpSink>(&mut self, sink: &mut K) -> Option<K::Out> {
        let kind = match (self.by_tag, self.u.0.split_first()) {
            // A plain tag: its kind in one load (the common case).
            (Some(by_tag), Some((&tag, rest))) if tag != ESCAPE && self.decoded < MAX_OPS => {
                self.u.0 = rest;
                self.decoded += 1;
                by_tag[tag as usize]
            }
            // The end, an escaped or reserved slot, or an explicit table.
            _ => self.table.kinds[self.next_index()?],
        };
        Some(kind.specialize(&mut self.u, self.vps, sink))
    }

    /// The table index of the next operation's kind, or `None` at the end of the list.
    #[inline(always)]
    fn next_index(&mut self) -> Option<usize> {
        if self.decoded == MAX_OPS || self.u.0.is_empty() {
            return None;
        }
        let Some(index) = self.table.read(&mut self.u, self.aliased) else {
            // A reserved slot ends the list (module docs).
            self.decoded = MAX_OPS;
            return None;
        };
        self.decoded += 1;
        Some(index)
    }

    #[inline(always)]
    fn decode_index<K: OpSink>(&mut self, index: usize, sink: &mut K) -> Option<K::Out> {
        Some(self.table.kinds[index].specialize(&mut self.u, self.vps, sink))
    }
}

impl Iterator for Decoder<'_> {
    type Item = Op;

    fn next(&mut self) -> Option<Op> {
        self.next_indexed().map(|(_, op)| op)
    }
}

/// Run `op` through the fields of `kind` with any stream (the mutator's field tweaks and
/// random fills): the result is what the reader would decode from those field values.
pub(crate) fn recode<S: Stream>(kind: Kind, s: &mut S, vps: u8, op: &mut Op) {
    let vps = TagMod::new(vps as usize);
    code_kind(kind, &mut Fields { s, vps }, op)
}

/// [`recode`] for the config.
pub(crate) fn recode_config<S: Stream>(s: &mut S, config: &mut Config) {
    code_config(s, config)
}

/// Decode a whole input. Total: every byte string gives a scenario.
pub fn decode(target: impl TargetKinds, data: &[u8]) -> Scenario {
    decode_with(target.table(), data)
}

/// [`decode`] with an explicit kind table.
pub fn decode_with(table: KindTable, data: &[u8]) -> Scenario {
    let mut d = Decoder::with_table(table, data);
    let ops = d.by_ref().collect();
    Scenario {
        config: d.config,
        ops,
    }
}

/// Why a scenario has no encoding for a target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EncodeError {
    TooManyOps(usize),
    /// Operation `index` fits none of the target's kinds exactly.
    Unrepresentable {
        index: usize,
        op: Op,
    },
    /// `vp_count` outside 1..=MAX_VPS.
    BadConfig,
}

impl core::fmt::Display for EncodeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            EncodeError::TooManyOps(n) => write!(f, "{n} operations (at most {MAX_OPS})"),
            EncodeError::Unrepresentable { index, op } => {
                write!(
                    f,
                    "operation {index} ({op:?}) has no encoding in this target"
                )
            }
            EncodeError::BadConfig => write!(f, "vp_count must be 1..={MAX_VPS}"),
        }
    }
}

impl std::error::Error for EncodeError {}

/// The bytes that decode to `s` in `target`: for each operation, the first kind of the
/// target that reproduces it exactly.
pub fn encode(target: impl TargetKinds, s: &Scenario) -> Result<Vec<u8>, EncodeError> {
    encode_with(target.table(), s)
}

/// [`encode`] with an explicit kind table.
pub fn encode_with(table: KindTable, s: &Scenario) -> Result<Vec<u8>, EncodeError> {
    encode_prefix(table, s, usize::MAX).map(|(bytes, _)| bytes)
}

/// The canonical encoding of the config and of as many leading operations of `s` as fit
/// in `max_len` bytes, and how many that is.
pub(crate) fn encode_prefix(
    table: KindTable,
    s: &Scenario,
    max_len: usize,
) -> Result<(Vec<u8>, usize), EncodeError> {
    if s.ops.len() > MAX_OPS {
        return Err(EncodeError::TooManyOps(s.ops.len()));
    }
    if !(1..=MAX_VPS as u8).contains(&s.config.vp_count) {
        return Err(EncodeError::BadConfig);
    }
    let mut out = Vec::new();
    let mut config = s.config;
    code_config(&mut Writer(&mut out), &mut config);
    let vps = TagMod::new(s.config.vps());
    'ops: for (index, op) in s.ops.iter().enumerate() {
        for (slot, &kind) in table.kinds.iter().enumerate() {
            if kind.variant() != core::mem::discriminant(op) {
                continue;
            }
            let mark = out.len();
            table.write(slot, &mut out);
            let mut copy = *op;
            code_kind(
                kind,
                &mut Fields {
                    s: &mut Writer(&mut out),
                    vps,
                },
                &mut copy,
            );
            if copy == *op {
                if out.len() > max_len {
                    out.truncate(mark);
                    return Ok((out, index));
                }
                continue 'ops;
            }
            out.truncate(mark);
        }
        return Err(EncodeError::Unrepresentable { index, op: *op });
    }
    Ok((out, s.ops.len()))
}
