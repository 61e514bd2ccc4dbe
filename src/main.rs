//! The `cs-report` binary: parse the command line, run, map the outcome to
//! an exit code cron understands (0 ok, 1 a check failed, 2 could not run,
//! 75 not ready: try later).

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
        Err(err) if err.use_stderr() => {
            // A usage error: as every error, in log lines cron can read.
            cs_report::log::flush(Some(&format!("{} (exit 2)", err.render().to_string().trim_start_matches("error: "))));
            return ExitCode::from(2);
        }
        Err(err) => {
            // --help and --version.
            let _ = err.print();
            return ExitCode::SUCCESS;
        }
    };
    match cs_report::cli::execute(cli) {
        Ok(()) => {
            cs_report::log::flush(None);
            ExitCode::SUCCESS
        }
        Err(err) => {
            // First line: what happened and the exit code, for cron's mail.
            cs_report::log::flush(Some(&format!("{err} (exit {})", err.exit_code())));
            ExitCode::from(err.exit_code() as u8)
        }
    }
}
