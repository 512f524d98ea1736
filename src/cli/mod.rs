//! The `unweave` command line: the engine over files.

pub mod decode;
pub mod eval;
pub mod nmf;
pub mod separate;
pub mod wav;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::engine::{Algorithm, Settings, settings::SPECS};

/// What can go wrong, each said in one line.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{}: {reason}", path.display())]
    Input { path: PathBuf, reason: String },
    #[error("{}: {reason}", path.display())]
    Output { path: PathBuf, reason: String },
    #[error("{0}")]
    Usage(String),
    #[error("{failed} of {total} files were not separated")]
    Failed { failed: usize, total: usize },
}

#[derive(Parser, Debug)]
#[command(
    name = "unweave",
    version,
    about = "Separate music into stems: harmonic/percussive (HPSS), lead/repeating background (REPET, REPET-SIM, 2DFT), taught stems (NMF), drums/bass/other/lead (Stems)"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Separate files into stems (one WAV per stem, latency removed, same length as the input).
    Separate(separate::Args),
    /// Score an estimated stem against its reference: SDR (BSS Eval v3) and SI-SDR, in dB.
    Eval(eval::Args),
    /// Decompose a file into K NMF components: one WAV per component plus the reconstruction.
    Nmf(nmf::NmfArgs),
    /// Play the target's rhythm with the timbre file's sounds (NMF with fixed templates).
    Mosaic(nmf::MosaicArgs),
}

/// Parses `--algorithm`.
pub fn parse_algorithm(text: &str) -> Result<Algorithm, String> {
    Algorithm::parse(text).ok_or_else(|| {
        let names: Vec<&str> = Algorithm::ALL.iter().map(|a| a.name()).collect();
        format!("unknown algorithm '{text}' (known: {})", names.join(", "))
    })
}

/// Builds settings from `--algorithm` and the `--set NAME=VALUE` pairs.
pub fn settings_from(algorithm: Algorithm, pairs: &[String]) -> Result<Settings, CliError> {
    let mut settings = Settings {
        algorithm,
        ..Settings::default()
    };
    for pair in pairs {
        settings
            .set_from_str(pair)
            .map_err(|e| CliError::Usage(e.to_string()))?;
    }
    Ok(settings)
}

/// The help text listing every setting.
pub fn settings_help() -> String {
    let mut s = String::from("Settings for --set NAME=VALUE:\n");
    for spec in SPECS {
        s += &format!("  {:<18} {}\n", spec.id, spec.help);
    }
    s
}

/// Runs the command line; returns the process exit code.
pub fn main() -> std::process::ExitCode {
    decode::quiet_decoder_panics();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Separate(args) => separate::run(args),
        Command::Eval(args) => eval::run(args),
        Command::Nmf(args) => nmf::run_nmf(args),
        Command::Mosaic(args) => nmf::run_mosaic(args),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("unweave: {e}");
            match e {
                CliError::Usage(_) => std::process::ExitCode::from(2),
                _ => std::process::ExitCode::FAILURE,
            }
        }
    }
}
