use clap::Parser;

fn main() -> std::process::ExitCode {
    let mut cli = folio::cli::Cli::parse();
    // Before the runtime starts threads: the environment may only be changed while nothing else reads it.
    cli.take_passwords_from_env();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("folio: cannot start: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(folio::cli::run(cli));
    // A blocking task still running (an assembly cut off at the end of the grace period) does not hold the
    // process up: the runtime waits a moment for it, then the process exits.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    match outcome {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("folio: {}", folio_core::redact::text(&format!("{e:#}")));
            std::process::ExitCode::FAILURE
        }
    }
}
