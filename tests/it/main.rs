//! The integration tests: one binary. Every test gets its own temp dir and
//! talks HTTP over loopback to the real emulator on a port bound to 0.

mod support;

mod cases;
mod cli;
mod client;
mod emulator;
mod export;
mod mapping;
mod ops;
mod read;
mod roundtrip;
mod upload;
mod validate;
