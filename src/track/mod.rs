//! What nbwatch knows about the instances it watches, with no view and no I/O:
//! each instance as seen across polls, each source's sweeps and polling state,
//! the whole records held, the status trend.

pub mod feeds;
pub mod key;
pub mod poll;
pub mod records;
pub mod row;
pub mod tracked;
pub mod trend;

pub use key::{InstanceKey, SourceId};
