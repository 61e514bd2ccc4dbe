//! The `cs-report` binary: parse the command line, run, map the outcome to
//! an exit code cron understands (0 ok, 1 a check failed, 2 could not run).

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // Printing into a closed pipe (`cs-report metrics | head`) should end the
    // process quietly, as other command-line tools do, not panic.
    // SAFETY: called first, before any thread exists; SIG_DFL is a valid handler.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = match cs_report::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return ExitCode::from(if err.use_stderr() { 2 } else { 0 });
        }
    };
    match cs_report::cli::execute(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("cs-report: error: {err}");
            ExitCode::from(err.exit_code() as u8)
        }
    }
}
