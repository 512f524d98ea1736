//! `unweave eval`: how close an estimate is to its reference.

use std::path::PathBuf;

use super::CliError;
use super::decode::AudioReader;
use crate::metrics::{sdr, si_sdr};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The true stem.
    #[arg(long, short)]
    pub reference: PathBuf,
    /// The separated stem to score.
    #[arg(long, short)]
    pub estimate: PathBuf,
}

pub fn run(args: Args) -> Result<(), CliError> {
    let (reference, ref_rate) = AudioReader::open(&args.reference)?.read_all()?;
    let (estimate, est_rate) = AudioReader::open(&args.estimate)?.read_all()?;
    let mismatch = |what: String| CliError::Input {
        path: args.estimate.clone(),
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
    Ok(())
}
