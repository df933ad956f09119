//! The `agent` binary: take over signals, parse, resolve settings, run the command on a
//! single-threaded runtime, and map the error to an exit code.

mod approve;
mod argv;
mod attach;
mod calls;
mod candidates;
mod choices;
mod cli;
mod commands;
mod completion;
mod config;
mod equip;
mod exit;
mod failure;
mod fields;
mod input;
mod interrupt;
mod locate;
mod mcp_pool;
mod notices;
mod output;
mod settings;
mod similar;
mod template;
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
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return fail(anyhow::Error::from(e).context("cannot start the runtime")),
    };
    let result = runtime.block_on(run());
    // Nothing left to wait for; don't let a blocking helper thread hold up the exit.
    runtime.shutdown_background();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) if exit::is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => fail(err),
    }
}

async fn run() -> anyhow::Result<()> {
    // Signals first: a Ctrl-C from the first instant ends the run as documented (130).
    let interrupts = interrupt::install()?;
    // Every child of this process is a tool agent started: what a tool leaves behind outside
    // its process group (setsid, a double fork) is adopted and killed when the call ends.
    agent::tool::contain_escapes();
    let args =
        argv::with_default_command(std::env::args_os().collect()).map_err(agent::Error::Usage)?;
    let cli = cli::Cli::try_parse_from(args)?;
    let env = locate::Env::process();
    let config_file = locate::config_file(cli.global.config.as_deref(), &env);
    let quiet = cli.global.quiet;
    let (verbose, color) = (cli.global.verbose, cli.global.color);
    let out = output::Output::new(quiet, verbose, color, &env);
    // Generating needs no settings: a broken config must not stop `generate man`.
    if let Some(action) = settings::generation(&cli.command) {
        return commands::generate(action);
    }
    let config = config::Config::load(&config_file, &env)?;
    let (settings, action) = settings::Settings::resolve(cli, &env, config, &config_file)?;
    let ctx = commands::Ctx::new(settings, out, interrupts);
    let result = commands::dispatch(&ctx, action).await;
    // The MCP servers this command started stop with it, whatever its outcome.
    mcp_pool::shutdown().await;
    result
}

/// Report the error on stderr in one line and give its exit code.
fn fail(err: anyhow::Error) -> ExitCode {
    if let Some(e) = err.downcast_ref::<clap::Error>() {
        // clap formats its own help, version and usage errors.
        let _ = e.print();
        return ExitCode::from(e.exit_code() as u8);
    }
    output::error_line(&exit::message(&err));
    ExitCode::from(exit::code(&err))
}
