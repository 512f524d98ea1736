//! `unweave separate`: files in, one WAV per stem out.

use std::path::{Path, PathBuf};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;

use super::decode::AudioReader;
use super::wav::{BitDepth, StemWriter};
use super::{CliError, parse_algorithm, settings_from, settings_help};
use crate::engine::{Algorithm, Engine, MaskedFrame, Settings, Synthesis, Templates};

/// Frames handed to the engine at once.
const BLOCK: usize = 4096;

#[derive(clap::Args, Debug)]
#[command(after_help = settings_help())]
pub struct Args {
    /// Audio files to separate (WAV, FLAC, MP3, OGG); the demo clip `assets/demo.wav` when none.
    pub inputs: Vec<PathBuf>,
    /// Separation algorithm: hpss, repet, repet-sim, 2dft, nmf (with --teach) or stems.
    #[arg(long, short, default_value = "hpss", value_parser = parse_algorithm)]
    pub algorithm: Algorithm,
    /// A setting as NAME=VALUE (repeatable); see below.
    #[arg(long = "set", value_name = "NAME=VALUE")]
    pub set: Vec<String>,
    /// Folder for the stems (created if missing).
    #[arg(long, short, default_value = ".")]
    pub out_dir: PathBuf,
    /// Files separated at once (default: one per core).
    #[arg(long, short)]
    pub jobs: Option<usize>,
    /// Sample format of the stems: 16 or 24-bit integer, 32-bit float.
    #[arg(long, value_enum, default_value = "32")]
    pub bit_depth: BitDepth,
    /// No progress bars.
    #[arg(long, short)]
    pub quiet: bool,
    /// NMF: a recording of the taught stem alone (the background, or with
    /// `--set nmf_taught=foreground` the lead), to learn its templates from.
    #[arg(long, value_name = "FILE")]
    pub teach: Option<PathBuf>,
    /// NMF: seconds of the --teach file to learn from (from its start).
    #[arg(long, default_value = "30", value_name = "SECONDS")]
    pub teach_seconds: f32,
}

pub fn run(mut args: Args) -> Result<(), CliError> {
    let settings = settings_from(args.algorithm, &args.set)?;
    let templates = match (&args.teach, settings.algorithm) {
        (Some(file), Algorithm::Nmf) => Some(super::nmf::teach(
            file,
            args.teach_seconds,
            settings.fft_size,
            settings.nmf.components,
        )?),
        (None, Algorithm::Nmf) => {
            return Err(CliError::Usage(
                "--algorithm nmf needs --teach FILE: a recording of the stem to teach (the background alone)".into(),
            ));
        }
        (Some(_), _) => {
            return Err(CliError::Usage("--teach is for --algorithm nmf".into()));
        }
        (None, _) => None,
    };
    if args.inputs.is_empty() {
        let demo = PathBuf::from("assets/demo.wav");
        if !demo.is_file() {
            return Err(CliError::Usage(
                "no input files given (and no assets/demo.wav here to try)".into(),
            ));
        }
        args.inputs.push(demo);
    }
    std::fs::create_dir_all(&args.out_dir).map_err(|e| CliError::Output {
        path: args.out_dir.clone(),
        reason: format!("cannot create the output folder: {e}"),
    })?;
    let mut seen = std::collections::HashMap::new();
    for input in &args.inputs {
        for (_, path) in stem_paths(input, &args.out_dir, &settings) {
            if let Some(other) = seen.insert(path.clone(), input) {
                return Err(CliError::Usage(format!(
                    "{} and {} would both write {}; separate them into different --out-dir folders",
                    other.display(),
                    input.display(),
                    path.display()
                )));
            }
        }
    }
    let bars = MultiProgress::with_draw_target(if args.quiet {
        ProgressDrawTarget::hidden()
    } else {
        ProgressDrawTarget::stderr()
    });
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.jobs.unwrap_or(0))
        .build()
        .map_err(|e| {
            CliError::Usage(format!("cannot start {} jobs: {e}", args.jobs.unwrap_or(0)))
        })?;
    let results: Vec<Result<Vec<PathBuf>, CliError>> = pool.install(|| {
        args.inputs
            .par_iter()
            .map(|input| {
                let bar = bars.add(ProgressBar::no_length());
                let result = separate_file(
                    input,
                    &args.out_dir,
                    &settings,
                    templates.as_ref(),
                    args.bit_depth,
                    &bar,
                );
                bar.finish_and_clear();
                result
            })
            .collect()
    });
    let mut failed = 0;
    for result in &results {
        match result {
            Ok(paths) => paths.iter().for_each(|p| println!("{}", p.display())),
            Err(e) => {
                // With one file, `main` says the error; with many, say each here.
                if results.len() > 1 {
                    eprintln!("unweave: {e}");
                }
                failed += 1;
            }
        }
    }
    match (failed, results.len()) {
        (0, _) => Ok(()),
        // One file: its own message said it all.
        (_, 1) => Err(results
            .into_iter()
            .next()
            .expect("one result")
            .expect_err("it failed")),
        (failed, total) => Err(CliError::Failed { failed, total }),
    }
}

/// The stem file names for `input`: `<name>.<stem>.wav`.
/// Each with its place in output order.
pub fn stem_paths(input: &Path, out_dir: &Path, settings: &Settings) -> Vec<(usize, PathBuf)> {
    let name = input
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "audio".into());
    let names = settings.algorithm.stem_names();
    names[..settings.stem_count()]
        .iter()
        .enumerate()
        .map(|(stem, file)| (stem, out_dir.join(format!("{name}.{file}.wav"))))
        .collect()
}

/// Separates one file, streaming: memory does not grow with the file's length.
pub fn separate_file(
    input: &Path,
    out_dir: &Path,
    settings: &Settings,
    templates: Option<&Templates>,
    depth: BitDepth,
    bar: &ProgressBar,
) -> Result<Vec<PathBuf>, CliError> {
    let reader = AudioReader::open(input)?;
    let channels = reader.channels;
    let mut engine =
        Engine::new(*settings, reader.sample_rate as f32, channels, BLOCK).map_err(|e| {
            CliError::Input {
                path: input.to_path_buf(),
                reason: e.to_string(),
            }
        })?;
    if let Some(t) = templates {
        let mapped = t.for_analysis(reader.sample_rate as f32, settings.fft_size);
        if engine.set_templates(Box::new(mapped)).is_err() {
            unreachable!("templates mapped to this engine's analysis fit it");
        }
    }
    // The separator's work that depends on the input alone (REPET-SIM's period model)
    // runs on a thread of its own, fed the same blocks.
    let ahead = engine.split_off();
    let targets = stem_paths(input, out_dir, settings);
    let writers = targets
        .iter()
        .map(|(stem, path)| {
            StemWriter::create(path, channels, reader.sample_rate, depth).map(|w| (*stem, w))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(frames) = reader.frames {
        bar.set_length(frames);
        bar.set_style(
            ProgressStyle::with_template("{msg:20!} {bar:30} {percent:>3}% {eta}")
                .expect("valid template"),
        );
        bar.set_message(
            input
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        );
    }

    // Four stages on their own threads, so that decoding, synthesis and writing overlap
    // the analysis instead of adding to it (on a 60 s stereo file decoding and writing
    // were a third of HPSS's wall time, and the inverse FFTs an eighth of Stems'): the
    // reader decodes ahead, the engine analyses and masks here, the synthesis turns the
    // masked frames into stems behind it, the writer writes behind that. Where the
    // separator has a part that depends on the input alone, it runs alongside the
    // analysis. Bounded queues keep memory flat.
    std::thread::scope(|scope| {
        let (decoded_tx, decoded_rx) = std::sync::mpsc::sync_channel(QUEUE);
        let (analysed_tx, analysed_rx) = std::sync::mpsc::sync_channel(QUEUE);
        let (separated_tx, separated_rx) = std::sync::mpsc::sync_channel(QUEUE);
        let (recycled_tx, recycled_rx) = std::sync::mpsc::channel();
        let decoder = scope.spawn(move || decode_ahead(reader, decoded_tx));
        let stems: Vec<usize> = writers.iter().map(|(stem, _)| *stem).collect();
        let writer = scope.spawn(move || write_behind(writers, channels, separated_rx));
        let (ahead_tx, ahead_rx) = std::sync::mpsc::sync_channel(QUEUE);
        let alongside = ahead.map(|ahead| scope.spawn(move || analyse_alongside(ahead, ahead_rx)));
        let synthesis = engine.synthesis();
        let synthesiser = scope.spawn(move || {
            synthesise_behind(synthesis, &stems, analysed_rx, separated_tx, recycled_tx)
        });
        let separated = separate_stream(
            &mut engine,
            channels,
            decoded_rx,
            alongside.is_some().then_some(ahead_tx),
            analysed_tx,
            recycled_rx,
            bar,
        );
        // Every queue is closed now (each stage owned its ends): no thread can be left
        // waiting.
        let decoded = decoder.join().expect("the decoding thread does not panic");
        if let Some(alongside) = alongside {
            alongside
                .join()
                .expect("the thread alongside does not panic");
        }
        synthesiser
            .join()
            .expect("the synthesis thread does not panic");
        let written = writer.join().expect("the writing thread does not panic");
        // A writer that stopped on an error is the cause of the engine's stop.
        let paths = written?;
        separated?;
        decoded?;
        Ok(paths)
    })
}

/// Blocks of decoded samples in flight between the stages.
const QUEUE: usize = 8;

/// Decodes `reader` into `queue` until the end, an error (sent on), or the queue closes.
fn decode_ahead(
    mut reader: AudioReader,
    queue: std::sync::mpsc::SyncSender<Result<Vec<f32>, CliError>>,
) -> Result<(), CliError> {
    loop {
        let block = match reader.next_block() {
            Ok(Some(b)) => Ok(b.to_vec()),
            Ok(None) => return Ok(()),
            Err(e) => Err(e),
        };
        let failed = block.is_err();
        if queue.send(block).is_err() || failed {
            return Ok(());
        }
    }
}

/// Writes each block from `queue` (every stem's interleaved frames, one stem after the
/// other, in the order of `writers`) and, at `None`, the end of the stream, finishes
/// the files. Stops at the first error, which closes the queue and so stops the
/// engine. A queue closed before its end (the input failed) leaves no file: the
/// writers are dropped unfinished, which removes what they wrote.
fn write_behind(
    mut writers: Vec<(usize, StemWriter)>,
    channels: usize,
    queue: std::sync::mpsc::Receiver<Option<Vec<f32>>>,
) -> Result<Vec<PathBuf>, CliError> {
    for block in queue {
        let Some(block) = block else {
            return writers.into_iter().map(|(_, w)| w.finish()).collect();
        };
        let per_stem = block.len() / writers.len().max(1);
        debug_assert_eq!(per_stem % channels, 0);
        for ((_, writer), samples) in writers.iter_mut().zip(block.chunks_exact(per_stem.max(1))) {
            writer.write(samples)?;
        }
    }
    Ok(Vec::new())
}

/// Runs the part of the separator split off the engine ([`Engine::split_off`]) over
/// the blocks the engine gets, until they end.
fn analyse_alongside(mut ahead: Engine, blocks: std::sync::mpsc::Receiver<Vec<Vec<f32>>>) {
    for block in blocks {
        ahead.analyse(&block, &mut |_, _, _| {});
    }
}

/// One engine block, analysed: its input, the frames masked in it, and how many of its
/// first samples are still the latency, to drop.
struct Analysed {
    input: Vec<Vec<f32>>,
    frames: Vec<MaskedFrame>,
    skip: usize,
}

/// Runs the engine's analysis over the decoded blocks, then over its latency of
/// silence, and sends each block on with its masked frames, then `None` for the end.
/// Each block goes to `alongside` first, where the part split off the engine runs.
#[allow(clippy::too_many_arguments)]
fn separate_stream(
    engine: &mut Engine,
    channels: usize,
    decoded: std::sync::mpsc::Receiver<Result<Vec<f32>, CliError>>,
    alongside: Option<std::sync::mpsc::SyncSender<Vec<Vec<f32>>>>,
    analysed: std::sync::mpsc::SyncSender<Option<Analysed>>,
    recycled: std::sync::mpsc::Receiver<MaskedFrame>,
    bar: &ProgressBar,
) -> Result<(), CliError> {
    let latency = engine.latency();
    // Output frames still to drop (the latency) at the start.
    let mut skip = latency;
    let mut pending: Vec<f32> = Vec::new();
    let mut input_frames = 0u64;
    let mut flushing = latency;
    let mut decoded = decoded.into_iter();
    let mut behind = std::collections::VecDeque::new();
    // Analyses a block and sends it on; false once the writer has stopped (on an error,
    // which it reports).
    let mut analyse_block = |input: Vec<Vec<f32>>| -> bool {
        let frames = input[0].len();
        let mut masked = Vec::new();
        engine.analyse(&input, &mut |spectra, at, masks| {
            masked.push(match recycled.try_recv() {
                Ok(mut frame) => {
                    frame.copy_from(spectra, at, masks);
                    frame
                }
                Err(_) => MaskedFrame::copy_of(spectra, at, masks),
            });
        });
        let keep_from = skip.min(frames);
        skip -= keep_from;
        let block = Analysed {
            input,
            frames: masked,
            skip: keep_from,
        };
        if analysed.send(Some(block)).is_err() {
            return false;
        }
        input_frames += (frames - keep_from) as u64;
        bar.set_position(input_frames);
        true
    };
    let head_start = if alongside.is_some() { HEAD_START } else { 0 };
    // Analyses the blocks waiting until `keep` are left; false as `analyse_block`.
    let mut analyse_behind = |behind: &mut std::collections::VecDeque<_>, keep: usize| {
        while behind.len() > keep
            && let Some(input) = behind.pop_front()
        {
            if !analyse_block(input) {
                return false;
            }
        }
        true
    };
    loop {
        let at_end = match decoded.next() {
            Some(b) => {
                pending.extend_from_slice(&b?);
                false
            }
            None => true,
        };
        // Feed whole engine blocks from `pending`; at the end, the rest, then `latency` of silence.
        loop {
            let available = pending.len() / channels;
            let frames = if available >= BLOCK || (at_end && available > 0) {
                available.min(BLOCK)
            } else if at_end && flushing > 0 {
                let n = flushing.min(BLOCK);
                flushing -= n;
                pending.resize(n * channels, 0.0);
                n
            } else {
                break;
            };
            let mut input = vec![vec![0.0f32; frames]; channels];
            for (f, frame) in pending[..frames * channels]
                .chunks_exact(channels)
                .enumerate()
            {
                for (c, s) in frame.iter().enumerate() {
                    input[c][f] = *s;
                }
            }
            pending.drain(..frames * channels);
            // The part alongside gets each block a few blocks before the engine, so
            // that its results wait for the engine rather than the engine for them.
            if let Some(alongside) = &alongside {
                // It stops only by panicking, which the engine's wait for it reports.
                let _ = alongside.send(input.clone());
            }
            behind.push_back(input);
            if !analyse_behind(&mut behind, head_start) {
                return Ok(());
            }
        }
        if at_end {
            if !analyse_behind(&mut behind, 0) {
                return Ok(());
            }
            // Closed already if the writer stopped on an error; it reports it.
            let _ = analysed.send(None);
            return Ok(());
        }
    }
}

/// Blocks the part split off the engine gets ahead of the engine.
const HEAD_START: usize = 12;

/// Turns each analysed block into the stems and sends them on (every stem's
/// interleaved frames, one stem after the other, in the order of `stems`), the latency
/// dropped from their start; `None` at the end. The frames go back for reuse.
fn synthesise_behind(
    mut synthesis: Synthesis,
    stems: &[usize],
    analysed: std::sync::mpsc::Receiver<Option<Analysed>>,
    separated: std::sync::mpsc::SyncSender<Option<Vec<f32>>>,
    recycled: std::sync::mpsc::Sender<MaskedFrame>,
) {
    for block in analysed {
        let Some(block) = block else {
            let _ = separated.send(None);
            return;
        };
        synthesis.process(&block.input, &mut block.frames.iter());
        let channels = block.input.len();
        let kept = block.input[0].len() - block.skip;
        let mut out = vec![0.0f32; stems.len() * kept * channels];
        for (&stem, out) in stems
            .iter()
            .zip(out.chunks_exact_mut((kept * channels).max(1)))
        {
            for c in 0..channels {
                for (f, s) in synthesis.stem(stem, c)[block.skip..].iter().enumerate() {
                    out[f * channels + c] = *s;
                }
            }
        }
        if kept > 0 && separated.send(Some(out)).is_err() {
            // The writer stopped on an error; it reports it. Dropping `analysed`
            // stops the engine.
            return;
        }
        for frame in block.frames {
            let _ = recycled.send(frame);
        }
    }
}
