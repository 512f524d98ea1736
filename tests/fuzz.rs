//! Fuzzing the two doors untrusted data comes through: the decoder (any bytes as a
//! file) and the engine (any settings, block pattern and samples).
//!
//! CI runs a few hundred cases per property. For a longer hunt:
//!
//! ```text
//! PROPTEST_CASES=20000 cargo test --release --test fuzz
//! ```
//!
//! Failing cases are shrunk and saved by proptest in `proptest-regressions/fuzz.txt`,
//! which is committed: every crasher found stays a regression test.

mod common;

use std::io::Write;

use proptest::prelude::*;
use unweave::cli::decode::{AudioReader, quiet_decoder_panics};
use unweave::engine::settings::{Kind, SPECS};
use unweave::engine::{Algorithm, Engine, INPUT_LIMIT, MAX_STEMS, Settings, sanitise};

/// Valid files to mutate: 16-bit and float WAVs, mono and stereo.
fn seeds() -> Vec<Vec<u8>> {
    let mut files = Vec::new();
    for (channels, bits) in [(1u16, 16u16), (2, 16), (2, 32), (1, 24)] {
        let spec = hound::WavSpec {
            channels,
            sample_rate: 44_100,
            bits_per_sample: bits,
            sample_format: if bits == 32 {
                hound::SampleFormat::Float
            } else {
                hound::SampleFormat::Int
            },
        };
        let mut bytes = std::io::Cursor::new(Vec::new());
        let mut w = hound::WavWriter::new(&mut bytes, spec).unwrap();
        for t in 0..3_000 {
            for _ in 0..channels {
                let x = (t as f32 * 0.05).sin() * 0.5;
                match bits {
                    32 => w.write_sample(x).unwrap(),
                    24 => w.write_sample((x * 8_388_607.0) as i32).unwrap(),
                    _ => w.write_sample((x * 32_767.0) as i16).unwrap(),
                }
            }
        }
        w.finalize().unwrap();
        files.push(bytes.into_inner());
    }
    files
}

/// Reads a file as the command line does, to the end or the first error.
fn read(bytes: &[u8]) -> Result<u64, String> {
    let mut file = tempfile::NamedTempFile::with_suffix(".wav").unwrap();
    file.write_all(bytes).unwrap();
    let mut reader = AudioReader::open(file.path()).map_err(|e| e.to_string())?;
    let channels = reader.channels;
    let mut frames = 0u64;
    while let Some(block) = reader.next_block().map_err(|e| e.to_string())? {
        assert_eq!(block.len() % channels, 0, "blocks hold whole frames");
        frames += (block.len() / channels) as u64;
        assert!(
            frames < 1 << 24,
            "a 30 kB file cannot hold this many frames"
        );
    }
    Ok(frames)
}

/// A setting's value anywhere in its range, from `u` in `[0, 1)`.
fn value_of(kind: Kind, u: f64) -> f32 {
    let pick = |n: usize| ((u * n as f64) as usize).min(n - 1);
    match kind {
        Kind::Float { min, max } => min + (max - min) * u as f32,
        Kind::Switch => pick(2) as f32,
        Kind::Integer { min, max } => (min + pick(max - min + 1)) as f32,
        Kind::Choice { ids, .. } => pick(ids.len()) as f32,
        Kind::Steps { values, .. } => values[pick(values.len())],
    }
}

fn bad_sample() -> impl Strategy<Value = f32> {
    prop_oneof![
        4 => -1.0f32..1.0,
        1 => Just(f32::NAN),
        1 => Just(f32::INFINITY),
        1 => Just(f32::NEG_INFINITY),
        1 => Just(1e-40f32),
        1 => Just(3e38f32),
        1 => Just(-1.0f32),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Any mutation of a valid WAV (bytes flipped anywhere, the header rewritten,
    /// the file cut short) is read or refused with an error; nothing panics and no
    /// header claim makes the reader allocate or loop without end.
    #[test]
    fn decoding_any_bytes_never_panics(
        seed in 0usize..4,
        flips in prop::collection::vec((0usize..30_000, any::<u8>()), 0..24),
        header in prop::collection::vec((0usize..64, any::<u8>()), 0..6),
        cut in prop::option::of(0usize..30_000),
    ) {
        quiet_decoder_panics();
        let mut bytes = seeds().swap_remove(seed);
        for (at, value) in flips.into_iter().chain(header) {
            let at = at % bytes.len();
            bytes[at] = value;
        }
        if let Some(cut) = cut {
            bytes.truncate(cut.min(bytes.len()));
        }
        let _ = read(&bytes);
    }

    /// Any algorithm, settings, sample rate, channel count, block pattern and samples (NaN, ±∞,
    /// denormals, 3e38): the stems stay finite, bounded and free of denormals, and add
    /// up to the sanitised input, delayed by the latency.
    #[test]
    fn the_engine_takes_any_settings_blocks_and_samples(
        algorithm in 0usize..Algorithm::ALL.len(),
        values in prop::collection::vec(0.0f64..1.0, SPECS.len()),
        channels in 1usize..3,
        // Odd rates scale the FFT and every length in frames (the clap-validator fuzzer
        // found a crash at one); up to 192 kHz keeps each case quick.
        rate in prop_oneof![
            3 => Just(44_100.0f32),
            1 => prop::sample::select(vec![8_000.0f32, 11_025.0, 22_050.0, 48_000.0, 96_000.0, 192_000.0]),
            1 => 8_000.0f32..192_000.0,
        ],
        blocks in prop::collection::vec(1usize..2_000, 1..8),
        samples in prop::collection::vec(bad_sample(), 1..4_000),
    ) {
        let mut settings = Settings { algorithm: Algorithm::ALL[algorithm], ..Settings::default() };
        for (spec, u) in SPECS.iter().zip(values) {
            settings.set(spec.id, value_of(spec.kind, u));
        }
        // Short buffers keep each case quick; any length is as safe.
        settings.repet.buffer_s = settings.repet.buffer_s.min(6.0);
        settings.ft2d.patch_s = settings.ft2d.patch_s.min(4.0);
        let mut engine = Engine::new(settings, rate, channels, 2_000).unwrap();
        let latency = engine.latency();
        let len = latency + 2 * settings.fft_size;
        let input: Vec<Vec<f32>> = (0..channels)
            .map(|c| (0..len).map(|t| samples[(t * (c + 1)) % samples.len()]).collect())
            .collect();
        let mut k = 0;
        let out = common::run_blocks(&mut engine, &input, &mut || { k += 1; blocks[k % blocks.len()] }, 0);
        for c in 0..channels {
            for t in 0..len {
                let stems: [f32; MAX_STEMS] = std::array::from_fn(|s| out[s][c][t]);
                prop_assert!(
                    stems.iter().all(|x| x.is_finite() && !x.is_subnormal() && x.abs() <= 4.0 * INPUT_LIMIT),
                    "stems {stems:?} at {t}");
                let delayed = if t >= latency { sanitise(input[c][t - latency]) } else { 0.0 };
                let sum: f32 = stems.iter().sum();
                prop_assert!((sum - delayed).abs() <= 1e-4 * (1.0 + delayed.abs()),
                    "stems add to {sum}, input was {delayed} at {t}");
            }
        }
    }
}
