//! `unweave eval`: how close estimates are to their references, pair by pair.
//!
//! BSS Eval v3's SDR of an estimate depends on its own reference only (the target is
//! its projection on that reference; interference and artefacts are what is left), so
//! scoring four stems pair by pair gives what `bss_eval_sources` gives with all four
//! true stems as the reference set.

use std::path::{Path, PathBuf};

use super::CliError;
use super::decode::AudioReader;
use crate::metrics::{sdr, si_sdr};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The true stem; give several, each with its `--estimate`, to score a set of
    /// stems at once (e.g. the four of `-a stems`).
    #[arg(long, short, required = true)]
    pub reference: Vec<PathBuf>,
    /// The separated stem to score, one per `--reference`, in the same order.
    #[arg(long, short, required = true)]
    pub estimate: Vec<PathBuf>,
}

pub fn run(args: Args) -> Result<(), CliError> {
    if args.reference.len() != args.estimate.len() {
        return Err(CliError::Usage(format!(
            "{} references and {} estimates: give one --estimate per --reference",
            args.reference.len(),
            args.estimate.len()
        )));
    }
    let several = args.reference.len() > 1;
    let mut means = Vec::new();
    for (reference, estimate) in args.reference.iter().zip(&args.estimate) {
        if several {
            println!("{}", estimate.display());
        }
        means.push(score(reference, estimate)?);
    }
    if several {
        println!("stem  SDR dB  SI-SDR dB  (mean of the channels)");
        for (k, (a, b)) in means.iter().enumerate() {
            println!(
                "{:>4} {a:>7.2} {b:>10.2}  {}",
                k + 1,
                args.estimate[k].display()
            );
        }
    }
    Ok(())
}

/// Prints one pair's scores per channel; returns their means (SDR, SI-SDR).
fn score(reference: &Path, estimate_path: &Path) -> Result<(f64, f64), CliError> {
    let (reference, ref_rate) = AudioReader::open(reference)?.read_all()?;
    let (estimate, est_rate) = AudioReader::open(estimate_path)?.read_all()?;
    let mismatch = |what: String| CliError::Input {
        path: estimate_path.to_path_buf(),
        reason: what,
    };
    if ref_rate != est_rate {
        return Err(mismatch(format!(
            "sample rate {est_rate} Hz differs from the reference's {ref_rate} Hz"
        )));
    }
    if reference.len() != estimate.len() {
        return Err(mismatch(format!(
            "{} channels, the reference has {}",
            estimate.len(),
            reference.len()
        )));
    }
    if reference[0].len() != estimate[0].len() {
        return Err(mismatch(format!(
            "{} frames long, the reference {}",
            estimate[0].len(),
            reference[0].len()
        )));
    }
    let mut sum = (0.0, 0.0);
    println!("channel  SDR dB  SI-SDR dB");
    for (c, (r, e)) in reference.iter().zip(&estimate).enumerate() {
        let (a, b) = (sdr(r, e), si_sdr(r, e));
        println!("{c:>7} {a:>7.2} {b:>10.2}");
        sum = (sum.0 + a, sum.1 + b);
    }
    let n = reference.len() as f64;
    println!("   mean {:>7.2} {:>10.2}", sum.0 / n, sum.1 / n);
    Ok((sum.0 / n, sum.1 / n))
}
