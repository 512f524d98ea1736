//! What NMF can only do offline: `unweave nmf` decomposes a whole file into
//! components, `unweave mosaic` plays one file's rhythm with another's sounds, and
//! `separate --algorithm nmf --teach FILE` learns the taught stem from a file.
//!
//! Both offline commands resynthesise with the mixture's phase (`--phase mixture`,
//! components then sum to the input) or with phase rebuilt by Griffin–Lim
//! (`--phase griffin-lim`), so the two can be compared by ear and by SDR.

use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::CliError;
use super::decode::AudioReader;
use super::wav::{BitDepth, StemWriter};
use crate::engine::Templates;
use crate::engine::nmf::{self, Beta, Init, Matrix};
use crate::engine::settings::FFT_SIZES;
use crate::engine::spectrogram::Spectrogram;

/// Where the phase of resynthesised spectrograms comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Phase {
    /// The analysed file's own phase (components sum to the input).
    Mixture,
    /// Rebuilt from the magnitude alone by Griffin–Lim iterations.
    GriffinLim,
}

/// Griffin–Lim iterations for `--phase griffin-lim`.
const GRIFFIN_LIM_ITERATIONS: usize = 64;
/// Most components `unweave nmf` makes.
const MAX_COMPONENTS: usize = 64;
/// Frames of the timbre file kept as mosaic templates (evenly spread beyond this).
const MAX_TIMBRE_FRAMES: usize = 1500;

fn parse_beta(text: &str) -> Result<Beta, String> {
    text.parse::<u32>()
        .ok()
        .and_then(Beta::from_value)
        .ok_or_else(|| format!("beta '{text}' is not 0, 1 or 2"))
}

fn parse_fft_size(text: &str) -> Result<usize, String> {
    text.parse::<usize>()
        .ok()
        .filter(|n| FFT_SIZES.contains(n))
        .ok_or_else(|| format!("FFT size '{text}' is not one of {FFT_SIZES:?}"))
}

fn parse_components(text: &str) -> Result<usize, String> {
    text.parse::<usize>()
        .ok()
        .filter(|n| (1..=MAX_COMPONENTS).contains(n))
        .ok_or_else(|| format!("'{text}' components: give 1 to {MAX_COMPONENTS}"))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum InitArg {
    /// Seeded random values.
    Random,
    /// Templates start as the frames SNPA picks (Gillis 2014).
    Snpa,
}

#[derive(clap::Args, Debug)]
pub struct NmfArgs {
    /// The file to decompose (WAV, FLAC, MP3, OGG); read whole into memory.
    pub input: PathBuf,
    /// Number of components.
    #[arg(short = 'k', long = "components", value_parser = parse_components)]
    pub components: usize,
    /// Folder for the component files (created if missing).
    #[arg(long, short, default_value = ".")]
    pub out_dir: PathBuf,
    /// The divergence minimised: 2 Euclidean, 1 Kullback-Leibler, 0 Itakura-Saito.
    #[arg(long, default_value = "1", value_parser = parse_beta)]
    pub beta: Beta,
    /// How the factorisation starts.
    #[arg(long, value_enum, default_value = "random")]
    pub init: InitArg,
    /// Multiplicative updates.
    #[arg(long, default_value = "200")]
    pub iterations: usize,
    #[command(flatten)]
    pub output: Resynthesis,
}

/// How the offline commands analyse and write.
#[derive(clap::Args, Debug)]
pub struct Resynthesis {
    /// STFT window length (hop = size / 4).
    #[arg(long, default_value = "2048", value_parser = parse_fft_size)]
    pub fft_size: usize,
    /// `mixture`: the analysed file's phase (for `mosaic`, the target's).
    #[arg(long, value_enum, default_value = "mixture")]
    pub phase: Phase,
    #[arg(long, value_enum, default_value = "32")]
    pub bit_depth: BitDepth,
}

#[derive(clap::Args, Debug)]
pub struct MosaicArgs {
    /// Whose sounds are played: its frames are the templates.
    #[arg(long)]
    pub timbre: PathBuf,
    /// Whose rhythm and shape is followed: its frames are explained by the templates.
    #[arg(long)]
    pub target: PathBuf,
    /// The mosaic to write.
    #[arg(long, short)]
    pub out: PathBuf,
    /// One template per frame (sparse coding with one atom) instead of a mixture of them.
    #[arg(long)]
    pub sparse: bool,
    /// Multiplicative updates of the activations (without `--sparse`).
    #[arg(long, default_value = "100")]
    pub iterations: usize,
    #[command(flatten)]
    pub output: Resynthesis,
}

/// Writes whole channels to `path` (through a temporary file, as every stem).
fn write(
    path: &Path,
    channels: &[Vec<f32>],
    sample_rate: u32,
    depth: BitDepth,
) -> Result<PathBuf, CliError> {
    let mut writer = StemWriter::create(path, channels.len(), sample_rate, depth)?;
    let len = channels.first().map_or(0, Vec::len);
    let mut interleaved = Vec::with_capacity(len * channels.len());
    for t in 0..len {
        interleaved.extend(channels.iter().map(|c| c[t]));
    }
    writer.write(&interleaved)?;
    writer.finish()
}

/// Resynthesises `gain` (one column per frame, applied to every channel's spectrum).
/// With the mixture's phase that is a mask; with Griffin–Lim only the magnitude of
/// the masked spectra is kept.
fn resynthesise(spectrogram: &Spectrogram, gain: &Matrix, phase: Phase) -> Vec<Vec<f32>> {
    match phase {
        Phase::Mixture => spectrogram.masked(gain),
        Phase::GriffinLim => {
            let magnitude: Vec<Vec<f32>> = spectrogram
                .spectra
                .iter()
                .map(|s| {
                    s.iter()
                        .zip(&gain.data)
                        .map(|(c, g)| c.norm() * g)
                        .collect()
                })
                .collect();
            spectrogram.griffin_lim(&magnitude, GRIFFIN_LIM_ITERATIONS, 0x61)
        }
    }
}

fn name_of(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "audio".into())
}

fn read(path: &Path) -> Result<(Vec<Vec<f32>>, u32), CliError> {
    let (channels, rate) = AudioReader::open(path)?.read_all()?;
    if channels.first().is_none_or(Vec::is_empty) {
        return Err(CliError::Input {
            path: path.to_path_buf(),
            reason: "holds no audio".into(),
        });
    }
    Ok((channels, rate))
}

fn views(channels: &[Vec<f32>]) -> Vec<&[f32]> {
    channels.iter().map(Vec::as_slice).collect()
}

/// The gain that turns the linked magnitude `v` into `target`, bin by bin: applied to
/// every channel's spectrum, it shares `target` among the channels as `v` was shared.
fn gain_towards(target: &Matrix, v: &Matrix) -> Matrix {
    Matrix {
        data: target
            .data
            .iter()
            .zip(&v.data)
            .map(|(&m, &x)| if x > 0.0 { m / x } else { 0.0 })
            .collect(),
        ..target.clone()
    }
}

/// The spectral centroid (in bins) of a template: components are numbered low to high.
fn centroid(column: &[f32]) -> f32 {
    let mass: f32 = column.iter().sum();
    column
        .iter()
        .enumerate()
        .map(|(i, x)| i as f32 * x)
        .sum::<f32>()
        / mass.max(1e-30)
}

/// `unweave nmf`.
pub fn run_nmf(args: NmfArgs) -> Result<(), CliError> {
    let (channels, rate) = read(&args.input)?;
    std::fs::create_dir_all(&args.out_dir).map_err(|e| CliError::Output {
        path: args.out_dir.clone(),
        reason: format!("cannot create the output folder: {e}"),
    })?;
    let spectrogram = Spectrogram::analyse(&views(&channels), args.output.fft_size);
    let v = spectrogram.magnitude();
    let f = nmf::factorise(
        &v,
        &nmf::Options {
            components: args.components,
            beta: args.beta,
            iterations: args.iterations,
            init: match args.init {
                InitArg::Random => Init::Random,
                InitArg::Snpa => Init::Snpa,
            },
            seed: 0x5eed,
        },
    );
    let mut order: Vec<usize> = (0..f.w.cols).collect();
    order.sort_by(|&a, &b| centroid(f.w.column(a)).total_cmp(&centroid(f.w.column(b))));

    let mut model = Matrix::zeros(v.rows, v.cols);
    nmf::product(&f.w, false, &f.h, false, &mut model);
    let name = name_of(&args.input);
    // Griffin–Lim makes resynthesis the slow part: one component per core.
    let components: Vec<Vec<Vec<f32>>> = order
        .par_iter()
        .map(|&k| {
            // Wiener mask: this component's share of the model, so that the components
            // sum to the input.
            let mut component = Matrix::zeros(v.rows, v.cols);
            for j in 0..v.cols {
                let h = f.h.column(j)[k];
                for ((g, &w), &m) in component
                    .column_mut(j)
                    .iter_mut()
                    .zip(f.w.column(k))
                    .zip(model.column(j))
                {
                    *g = if m > 0.0 {
                        w * h / m
                    } else {
                        1.0 / f.w.cols as f32
                    };
                }
            }
            resynthesise(&spectrogram, &component, args.output.phase)
        })
        .collect();
    let mut written = Vec::new();
    for (number, audio) in components.iter().enumerate() {
        let path = args
            .out_dir
            .join(format!("{name}.component-{:02}.wav", number + 1));
        written.push(write(&path, audio, rate, args.output.bit_depth)?);
    }
    // The reconstruction: the model W·H itself, as each channel's share of it.
    let reconstruction_gain = gain_towards(&model, &v);
    let reconstruction = resynthesise(&spectrogram, &reconstruction_gain, args.output.phase);
    let path = args.out_dir.join(format!("{name}.reconstruction.wav"));
    written.push(write(&path, &reconstruction, rate, args.output.bit_depth)?);
    for path in &written {
        println!("{}", path.display());
    }
    let error: f64 = channels
        .iter()
        .zip(&reconstruction)
        .flat_map(|(a, b)| a.iter().zip(b).map(|(x, y)| f64::from(x - y).powi(2)))
        .sum();
    let energy: f64 = channels
        .iter()
        .flatten()
        .map(|&x| f64::from(x).powi(2))
        .sum();
    eprintln!(
        "{}: {} components, {}, objective {:.4e} -> {:.4e}, reconstruction SNR {:.2} dB",
        args.input.display(),
        args.components,
        args.beta,
        f.objective.first().copied().unwrap_or(0.0),
        f.objective.last().copied().unwrap_or(0.0),
        10.0 * (energy / error.max(1e-30)).log10()
    );
    Ok(())
}

/// `unweave mosaic`.
pub fn run_mosaic(args: MosaicArgs) -> Result<(), CliError> {
    let (timbre, timbre_rate) = read(&args.timbre)?;
    let (target, rate) = read(&args.target)?;
    if timbre_rate != rate {
        return Err(CliError::Input {
            path: args.timbre.clone(),
            reason: format!("sample rate {timbre_rate} Hz differs from the target's {rate} Hz"),
        });
    }
    let sounds = Spectrogram::analyse(&views(&timbre), args.output.fft_size).magnitude();
    // Templates are the timbre's audible frames, each of unit length, as in Driedger's
    // mosaicing; a long file is thinned evenly.
    let peak = sounds.data.iter().fold(0.0f32, |m, &x| m.max(x));
    let audible: Vec<&[f32]> = sounds
        .columns()
        .filter(|c| c.iter().any(|&x| x > peak * 1e-3))
        .collect();
    if audible.is_empty() {
        return Err(CliError::Input {
            path: args.timbre.clone(),
            reason: "is silent: it has no sounds to play".into(),
        });
    }
    let step = audible.len().div_ceil(MAX_TIMBRE_FRAMES);
    let mut w = Matrix::from_columns(sounds.rows, audible.into_iter().step_by(step));
    for k in 0..w.cols {
        let column = w.column_mut(k);
        let norm = column.iter().map(|x| x * x).sum::<f32>().sqrt();
        column.iter_mut().for_each(|x| *x /= norm.max(1e-30));
    }

    let spectrogram = Spectrogram::analyse(&views(&target), args.output.fft_size);
    let v = spectrogram.magnitude();
    let h = if args.sparse {
        nmf::sparse_activations(&v, &w)
    } else {
        nmf::activations(&v, &w, Beta::Euclidean, args.iterations)
    };
    let mut mosaic = Matrix::zeros(v.rows, v.cols);
    nmf::product(&w, false, &h, false, &mut mosaic);
    // The mosaic's magnitude, shared among the target's channels as the target's was.
    let gain = gain_towards(&mosaic, &v);
    let audio = resynthesise(&spectrogram, &gain, args.output.phase);
    if let Some(dir) = args.out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| CliError::Output {
            path: dir.to_path_buf(),
            reason: format!("cannot create the output folder: {e}"),
        })?;
    }
    let path = write(&args.out, &audio, rate, args.output.bit_depth)?;
    println!("{}", path.display());
    Ok(())
}

/// Templates of the stem in `path` (its first `seconds`), for `separate --algorithm nmf`.
pub fn teach(
    path: &Path,
    seconds: f32,
    fft_size: usize,
    components: usize,
) -> Result<Templates, CliError> {
    let (mut channels, rate) = read(path)?;
    let keep = (seconds * rate as f32) as usize;
    channels.iter_mut().for_each(|c| c.truncate(keep));
    let frames = Spectrogram::analyse(&views(&channels), fft_size).magnitude();
    Templates::learn(&frames, rate as f32, fft_size, components).map_err(|e| CliError::Input {
        path: path.to_path_buf(),
        reason: format!("teaches nothing: {e}"),
    })
}
