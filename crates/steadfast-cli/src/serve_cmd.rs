//! `steadfast serve` and `steadfast config example`: the settings layered (defaults, the file,
//! the environment, the flags) and handed to the server.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Subcommand};
use steadfast_app::Database;
use steadfast_server::{Layer, Settings};

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The address and port to listen on (default 127.0.0.1:8080; anything but loopback needs
    /// TLS). Overrides `listen` in the settings file and STEADFAST_LISTEN.
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// The settings file (default: steadfast.toml in the working directory, if there is one).
    #[arg(long)]
    config: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print a commented settings file with every key at its default (opens no ledger).
    Example,
}

/// The settings `args` ask for: the defaults under the file, the environment and the flags.
fn settings(args: &ServeArgs) -> Result<Settings> {
    let file = match &args.config {
        Some(path) => Layer::from_file(path, true)?,
        None => Layer::from_file(std::path::Path::new("steadfast.toml"), false)?,
    };
    let environment = Layer::from_environment(|name| std::env::var(name).ok())?;
    let flags = Layer {
        listen: args.listen,
        ..Layer::default()
    };
    Ok(Settings::default().with(file).with(environment).with(flags))
}

pub fn serve(database: Database, args: &ServeArgs) -> Result<()> {
    Ok(steadfast_server::run(database, settings(args)?)?)
}

pub fn config(command: &ConfigCommand) -> Result<()> {
    match command {
        ConfigCommand::Example => {
            print!("{}", steadfast_server::settings::EXAMPLE);
            Ok(())
        }
    }
}
