//! Helpers shared by the integration tests: signals made in code, running the
//! engine with any block pattern, and finding the corpus.
#![allow(dead_code)]

use std::path::PathBuf;
use unweave::engine::{Engine, Settings, Stem};

/// Deterministic white noise in [-1, 1).
pub fn noise(len: usize, seed: u64) -> Vec<f32> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

/// Sustained tones plus a click every `click_every` samples.
pub fn tones_and_clicks(len: usize, sample_rate: f32, click_every: usize) -> (Vec<f32>, Vec<f32>) {
    let harmonic: Vec<f32> = (0..len)
        .map(|t| {
            let t = t as f32 / sample_rate;
            0.2 * (2.0 * std::f32::consts::PI * 220.0 * t).sin()
                + 0.15 * (2.0 * std::f32::consts::PI * 330.0 * t).sin()
                + 0.1 * (2.0 * std::f32::consts::PI * 1100.0 * t).sin()
        })
        .collect();
    let mut percussive = vec![0.0; len];
    let burst = noise(256, 7);
    for start in (click_every / 2..len).step_by(click_every) {
        for (k, b) in burst.iter().enumerate() {
            if start + k < len {
                // A short decaying noise burst: broadband, brief.
                percussive[start + k] = 0.8 * b * (-(k as f32) / 40.0).exp();
            }
        }
    }
    (harmonic, percussive)
}

/// The three stems of a whole signal, `[stem][channel][sample]`, with the latency
/// left in (the output is as long as the input plus `tail`).
pub fn run_blocks(
    engine: &mut Engine,
    input: &[Vec<f32>],
    blocks: &mut dyn FnMut() -> usize,
    tail: usize,
) -> [Vec<Vec<f32>>; 3] {
    let channels = input.len();
    let len = input[0].len() + tail;
    let padded: Vec<Vec<f32>> = input
        .iter()
        .map(|c| {
            let mut c = c.clone();
            c.resize(len, 0.0);
            c
        })
        .collect();
    let mut out: [Vec<Vec<f32>>; 3] =
        std::array::from_fn(|_| vec![Vec::with_capacity(len); channels]);
    let mut pos = 0;
    while pos < len {
        let n = blocks().clamp(1, engine.max_block()).min(len - pos);
        let block: Vec<&[f32]> = padded.iter().map(|c| &c[pos..pos + n]).collect();
        engine.process(&block);
        for stem in Stem::ALL {
            for c in 0..channels {
                out[stem as usize][c].extend_from_slice(engine.stem(stem, c));
            }
        }
        pos += n;
    }
    out
}

pub fn run_fixed(
    engine: &mut Engine,
    input: &[Vec<f32>],
    block: usize,
    tail: usize,
) -> [Vec<Vec<f32>>; 3] {
    run_blocks(engine, input, &mut || block, tail)
}

/// The corpus folder: `$UNWEAVE_CORPUS`, else `../shared/corpus` beside the checkout.
/// Missing, it says so loudly; under CI (`CI=true`) it is an error.
pub fn corpus() -> Option<PathBuf> {
    let dir = std::env::var_os("UNWEAVE_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus"));
    if dir.join("manifest.json").is_file() {
        return Some(dir);
    }
    let msg = format!(
        "\n!!!!!!!! CORPUS NOT FOUND at {} — quality tests NOT RUN. Set UNWEAVE_CORPUS. !!!!!!!!\n",
        dir.display()
    );
    // `cargo xtask test` (the test command, as CI runs it) requires the corpus.
    if std::env::var_os("UNWEAVE_REQUIRE_CORPUS").is_some()
        || std::env::var("CI").is_ok_and(|v| v == "true")
    {
        panic!("{msg}");
    }
    eprintln!("{msg}");
    None
}

/// Reads a WAV as `[channel][sample]` floats.
pub fn read_wav(path: &std::path::Path) -> (Vec<Vec<f32>>, u32) {
    let mut reader =
        hound::WavReader::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let spec = reader.spec();
    let channels = spec.channels as usize;
    let samples: Vec<f32> = match spec.sample_format {
        hound::SampleFormat::Float => reader.samples::<f32>().map(|s| s.unwrap()).collect(),
        hound::SampleFormat::Int => {
            let scale = 1.0 / (1u64 << (spec.bits_per_sample - 1)) as f32;
            reader
                .samples::<i32>()
                .map(|s| s.unwrap() as f32 * scale)
                .collect()
        }
    };
    let mut out = vec![Vec::with_capacity(samples.len() / channels); channels];
    for frame in samples.chunks(channels) {
        for (c, s) in frame.iter().enumerate() {
            out[c].push(*s);
        }
    }
    (out, spec.sample_rate)
}

pub fn settings_matrix() -> Vec<Settings> {
    let mut all = Vec::new();
    for fft_size in [512, 2048, 8192] {
        for low_latency in [false, true] {
            for separation in [1.0, 2.0] {
                for harmonic_width_ms in [50.0, 200.0] {
                    let mut s = Settings {
                        fft_size,
                        ..Settings::default()
                    };
                    s.hpss.low_latency = low_latency;
                    s.hpss.separation = separation;
                    s.hpss.harmonic_width_ms = harmonic_width_ms;
                    all.push(s);
                }
            }
        }
    }
    all
}
