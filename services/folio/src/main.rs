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
    match runtime.block_on(folio::cli::run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("folio: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
