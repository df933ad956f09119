//! The `agent` binary: parse, run on a single-threaded runtime, map the error to an exit code.

mod cli;
mod commands;
mod completion;
mod equip;
mod exit;
mod fields;
mod output;
mod settings;
mod transcript;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // Before anything touches stdout: a TAB in the shell runs us with AGENT_COMPLETE set.
    completion::handle_env();
    // A file-size limit (`ulimit -f`) should fail a save with EFBIG, reported like a full disk,
    // not kill the process mid-turn.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
    let cli = cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("agent: error: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let result = runtime.block_on(commands::dispatch(cli));
    // Nothing left to wait for; don't let a blocking helper thread hold up the exit.
    runtime.shutdown_background();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) if exit::is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("agent: error: {}", exit::message(&err));
            ExitCode::from(exit::code(&err))
        }
    }
}
