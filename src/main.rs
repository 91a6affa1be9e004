//! The `facturare-etl` binary: parse, run, exit. All logic lives in the library.

use std::process::ExitCode;

fn main() -> ExitCode {
    facturare_etl::cli::main()
}
