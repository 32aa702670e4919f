//! The ModelArts client: no terminal in here.
pub mod actions;
pub mod burst;
pub mod client;
pub mod error;
pub mod model;
pub mod order;
pub mod query;
pub mod ratelimit;
pub mod sign;
pub mod sweep;

pub use client::{Auth, Client, ClientOptions, Listing, RetryPolicy};
pub use error::{ApiError, ErrorClass, ErrorKind};
pub use model::{Notebook, NotebookPage, Status};
pub use query::{ListQuery, PageSize, WorkspaceParam};
