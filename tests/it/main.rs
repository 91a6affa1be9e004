//! The integration tests: one binary. Every test gets its own temp dir and
//! talks HTTP over loopback to the real emulator on a port bound to 0.

mod support;

mod cases;
mod cli;
mod client;
mod corpus;
mod customers;
mod diagnoses;
mod emulator;
mod export;
mod install;
mod malformed;
mod mapping;
mod ops;
mod passes;
mod profiles;
mod read;
mod roundtrip;
mod sources;
mod update_customers;
mod upload;
mod validate;
mod verify;
