//! Export against the emulator over loopback: the library ([`lib`]) with a
//! real client, and the binary end to end ([`cli`]).

mod cli;
mod lib;
mod seed;
