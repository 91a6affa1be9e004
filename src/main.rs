//! The `facturare-etl` binary: parse, run, exit. All logic lives in the library.

use std::process::ExitCode;

/// mimalloc (see [`facturare_etl::alloc`]).
#[global_allocator]
static GLOBAL: facturare_etl::alloc::Mi = facturare_etl::alloc::Mi;

fn main() -> ExitCode {
    facturare_etl::cli::main()
}
