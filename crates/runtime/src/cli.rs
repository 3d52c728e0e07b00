//! The `run` subcommand every service binary has: `--config FILE`, or the file named by the
//! service's environment variable.

use std::marker::PhantomData;
use std::path::PathBuf;

use clap::{Arg, ArgMatches, Args, Command, FromArgMatches, value_parser};

use crate::config::ServiceConfig;

/// The arguments of `run` for a service configured by `C`.
#[derive(Debug, Clone)]
pub struct RunArgs<C> {
    /// The TOML configuration file.
    pub config: PathBuf,
    service: PhantomData<fn() -> C>,
}

impl<C> RunArgs<C> {
    pub fn new(config: PathBuf) -> Self {
        Self {
            config,
            service: PhantomData,
        }
    }
}

const CONFIG_ID: &str = "config";

impl<C: ServiceConfig> FromArgMatches for RunArgs<C> {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        // Clap enforces `required(true)` before this runs; an absent value is its own error.
        let config = matches
            .get_one::<PathBuf>(CONFIG_ID)
            .cloned()
            .ok_or_else(|| {
                clap::Error::raw(
                    clap::error::ErrorKind::MissingRequiredArgument,
                    "--config is required",
                )
            })?;
        Ok(Self::new(config))
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        if let Some(config) = matches.get_one::<PathBuf>(CONFIG_ID) {
            self.config = config.clone();
        }
        Ok(())
    }
}

impl<C: ServiceConfig> Args for RunArgs<C> {
    fn augment_args(command: Command) -> Command {
        let sample = C::NAME.trim_start_matches("warden-");
        command.arg(
            Arg::new(CONFIG_ID)
                .long(CONFIG_ID)
                .value_name("CONFIG")
                .env(C::FILE_ENV)
                .required(true)
                .value_parser(value_parser!(PathBuf))
                .help(format!(
                    "TOML configuration (see config/{sample}.toml); every key can be overridden \
                     with {}<SECTION>__<KEY>, e.g. {}DATABASE__URL",
                    C::ENV_PREFIX,
                    C::ENV_PREFIX
                )),
        )
    }

    fn augment_args_for_update(command: Command) -> Command {
        Self::augment_args(command)
    }
}
