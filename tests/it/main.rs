//! The integration tests: one binary. Every test gets its own temp dir and
//! talks HTTP over loopback to the real emulator on a port bound to 0.

mod support;

mod cli;
mod client;
mod corpus;
mod emulator;
mod export;
mod mapping;
mod read;
mod sources;
mod upload;
mod validate;
