//! photon-fleet, the command line: arguments (`cli`, `vc_cli`, `esxi_cli`), one thin
//! module per command (`cmd`) calling the library crates, text for people (`text`),
//! progress bars (`progress`), and one exit-code decision (`output`).
#![forbid(unsafe_code)]

mod cli;
mod cmd;
mod esxi_cli;
mod output;
mod progress;
mod remedy;
mod ssh_login;
mod text;
mod up_cli;
mod vc_cli;
mod vcenter;

use clap::{CommandFactory, Parser};
use cli::{Cli, Command};
use std::process::ExitCode;

fn run(ctx: &output::Context, command: &Command) -> anyhow::Result<()> {
    match command {
        Command::BuildOva(a) => cmd::build::run(ctx, a),
        Command::Kickstart(a) => cmd::kickstart::run(ctx, a),
        Command::Try(a) => cmd::trial::run_try(ctx, a),
        Command::Disk(cli::DiskCommand::DemoBase(a)) => cmd::disk::demo_base(ctx, a),
        Command::Disk(cli::DiskCommand::Convert(a)) => cmd::convert::run(ctx, a),
        Command::Up(a) => cmd::up::run(ctx, a),
        Command::Status(a) => cmd::up::status(ctx, a),
        Command::Deploy(a) => cmd::deploy::run(ctx, a),
        Command::Vc(vc_cli::VcCommand::Thumbprint { url }) => cmd::deploy::thumbprint(ctx, url),
        Command::SshInstall(a) => cmd::esxi::install(ctx, a),
        Command::SshUninstall(a) => cmd::esxi::uninstall(ctx, a),
        Command::Esxi(esxi_cli::EsxiCommand::Status(a)) => cmd::esxi::status(ctx, a),
        Command::Inspect(a) => cmd::inspect::run(ctx, a),
        Command::Ova(cli::OvaCommand::Pack(a)) => cmd::pack::run(ctx, a),
        Command::Vib(v) => cmd::vib::run(ctx, v),
        Command::Lock(cli::LockCommand::Create {
            plugin,
            vib,
            output,
            force,
        }) => cmd::lock::create(ctx, plugin, vib, output, *force),
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(*shell, &mut Cli::command(), "photon-fleet", &mut script);
            let mut out = std::io::stdout().lock();
            std::io::Write::write_all(&mut out, &script)?;
            Ok(std::io::Write::flush(&mut out)?)
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Ctrl-C / SIGTERM: what the run registered (temporary files, an import lease) is
    // undone, one line says so, and the exit code is 130 / 143.
    let _ = plumbing::interrupt::install(|what, undone| {
        format!("photon-fleet: {what}: {undone} unfinished step(s) undone (partial files removed, an import in progress aborted and its VM removed)")
    });
    let ctx = output::Context::new(cli.json, cli.quiet);
    match run(&ctx, &cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        // The reader of our output went away (`| head`): a normal end, as for ripgrep.
        Err(e) if output::is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            let line = match remedy::remedy(&e) {
                Some(what) => format!("{}; {what}", output::one_line(&e)),
                None => output::one_line(&e),
            };
            eprintln!("photon-fleet: error: {line}");
            ExitCode::from(output::exit_code(&e))
        }
    }
}
