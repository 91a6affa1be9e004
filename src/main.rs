//! The `facturare-etl` binary: parse, run, exit. All logic lives in the library.

use std::process::ExitCode;

/// mimalloc: mapping allocates many small strings, often freed on another
/// thread; it cut the CPU time of read + map by about a sixth (benches/read.rs).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    facturare_etl::cli::main()
}
