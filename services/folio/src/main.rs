use clap::Parser;

fn main() -> std::process::ExitCode {
    let mut cli = folio::cli::Cli::parse();
    // Before the runtime starts threads: the environment may only be changed while nothing else reads it.
    cli.take_passwords_from_env();
    // Tesseract's library, where this process reads documents itself (`folio extract --in-process`), with one
    // OpenMP thread as in a parser process: OpenMP reads the limit when the library is loaded, and without it
    // OCR ran 2.6 times slower on two cores.
    if let Some((name, value)) =
        folio_extract::ocr_threads_to_set(std::env::var_os(folio_extract::OCR_THREADS_ENV.0).as_deref())
    {
        std::env::set_var(name, value);
    }
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
