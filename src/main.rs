//! The `ruledex` command line: parses arguments and dispatches to a verb.

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    cli::logger::init(args.global.verbose);
    match cli::run(args) {
        Ok(code) => code,
        Err(err) => {
            // A closed pipe (`ruledex show X | head`) is not an error.
            if err
                .downcast_ref::<std::io::Error>()
                .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
            {
                return ExitCode::SUCCESS;
            }
            eprintln!("ruledex: error: {err:#}");
            ExitCode::from(2)
        }
    }
}
