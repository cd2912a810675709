//! photon-fleet: the command line.

mod bake;
mod cli;
mod cmd;
mod esxi_cli;
mod fleet;
mod govc_options;
mod output;
mod profile;
mod progress;
mod vc_cli;

use clap::{CommandFactory, Parser};
use cli::{Cli, Command};
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let ctx = output::Context::new(cli.json, cli.quiet);
    let result = match &cli.command {
        Command::BuildOva(a) => cmd::build::run(&ctx, a),
        Command::Kickstart(a) => cmd::kickstart::run(&ctx, a),
        Command::Disk(cli::DiskCommand::DemoBase(a)) => cmd::demo_base::run(&ctx, a),
        Command::Deploy(a) => cmd::deploy::run(&ctx, a),
        Command::Vc(vc_cli::VcCommand::Thumbprint { url }) => cmd::deploy::thumbprint(&ctx, url),
        Command::SshInstall(a) => cmd::esxi::install(&ctx, a),
        Command::SshUninstall(a) => cmd::esxi::uninstall(&ctx, a),
        Command::Esxi(esxi_cli::EsxiCommand::Status(a)) => cmd::esxi::status(&ctx, a),
        Command::Inspect(a) => cmd::inspect::run(&ctx, a),
        Command::Disk(cli::DiskCommand::Convert(a)) => cmd::convert::run(&ctx, a),
        Command::Ova(cli::OvaCommand::Pack(a)) => cmd::pack::run(&ctx, a),
        Command::Vib(cli::VibCommand::Compose(a)) => cmd::vdvs::compose(&ctx, a),
        Command::Vib(cli::VibCommand::Repack {
            input,
            output,
            force,
        }) => cmd::vdvs::repack(&ctx, input, output, *force),
        Command::Vib(cli::VibCommand::Bundle {
            vib,
            output,
            bulletin,
            force,
        }) => cmd::vdvs::bundle(&ctx, vib, output, bulletin.as_deref(), *force),
        Command::Lock(cli::LockCommand::Create {
            plugin,
            vib,
            output,
            force,
        }) => cmd::vdvs::create_lock(&ctx, plugin, vib, output, *force),
        Command::Completions { shell } => {
            clap_complete::generate(
                *shell,
                &mut Cli::command(),
                "photon-fleet",
                &mut std::io::stdout(),
            );
            Ok(())
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("photon-fleet: error: {}", output::one_line(&e));
            ExitCode::from(output::exit_code(&e))
        }
    }
}
