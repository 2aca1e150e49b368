//! `sintfuzz-model`: a deterministic model of OpenHCL's path from the guest's SINT
//! registers through the per-VP proxy-IRR filter to VTL0's APIC, in each upstream revision
//! (`unfiltered`, `proxy-bit`, `relay-aware`, `head`) and sintfuzz's `proposed` fix.
//!
//! The reference is `shared/openvmm-semantics.md`; every behaviour cites the upstream
//! location it mirrors. The model is pure: no I/O, clocks, threads, hashing or allocation
//! per operation, and it never panics. A VTL2 assertion is an [`OpResult`] and an
//! [`Event`], not a Rust panic.

pub mod apic;
pub mod config;
pub mod defect;
pub mod hvdef;
pub mod observe;
pub mod op;
pub mod partition;
pub mod revision;
pub mod runpage;
pub mod synic;
pub mod vectors;

pub use config::{Config, Isolation, VmbusEra, MAX_VPS};
pub use defect::Defect;
pub use hvdef::{HvStatus, MsrOutcome, Scontrol, Sint, Vtl};
pub use observe::{AssertSite, DropReason, Event, Observer, Path, UpdateCause};
pub use op::{Op, ProxyAssert, RetargetFlaws};
pub use partition::{
    Channel, DeviceRoute, OpResult, Partition, Refusal, MAX_CHANNELS, MAX_DEVICES, VTL2_VECTOR,
};
pub use revision::{Choice, Policy, Revision, UnknownRevision};
pub use vectors::VectorSet;
