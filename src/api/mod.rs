//! The API client: auth (API key, OAuth bearer with refresh), error decoding,
//! pagination as a stream, typed calls for every resource, one rate limit and
//! one concurrency limit shared by every clone, and the retry policy as a
//! pure function ([`retry::decide`]).

pub mod client;
pub mod error;
pub mod limit;
pub mod login;
pub mod oauth;
pub mod pagination;
pub mod resources;
pub mod retry;
pub mod secret;

pub use client::{check_secure, is_loopback, Client, ClientConfig, ClientStats, Credentials};
pub use error::ApiError;
pub use oauth::{TokenFile, TokenSource};
pub use pagination::{ListQuery, Page, PageBody};
pub use retry::{decide, Decision, Failure, RetryPolicy};
pub use secret::{ApiKey, Secret};
