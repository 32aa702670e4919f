//! The ModelArts client: no terminal in here.
pub mod actions;
pub mod burst;
pub mod client;
pub mod error;
pub mod listing;
pub mod model;
pub mod multipass;
pub mod order;
pub mod query;
pub mod ratelimit;
pub mod sign;
pub mod sweep;

pub use client::{Auth, Client, ClientOptions, RetryPolicy};
pub use error::{ApiError, ErrorClass, ErrorKind};
pub use listing::Listing;
pub use model::{Notebook, NotebookPage, Status};
pub use query::{ListQuery, PageSize, WorkspaceParam};
