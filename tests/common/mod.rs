//! Helpers shared by the integration tests: signals made in code, running the
//! engine with any block pattern, and finding the corpus.
#![allow(dead_code)]

pub mod clap;

use std::path::PathBuf;
use unweave::engine::{Algorithm, Engine, MAX_STEMS, Settings, Stem};

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

/// Every stem of a whole signal, `[stem][channel][sample]` in output order (the ones
/// the settings leave silent are silence), with the latency left in (the output is as
/// long as the input plus `tail`).
pub fn run_blocks(
    engine: &mut Engine,
    input: &[Vec<f32>],
    blocks: &mut dyn FnMut() -> usize,
    tail: usize,
) -> [Vec<Vec<f32>>; MAX_STEMS] {
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
    let mut out: [Vec<Vec<f32>>; MAX_STEMS] =
        std::array::from_fn(|_| vec![Vec::with_capacity(len); channels]);
    let mut pos = 0;
    while pos < len {
        let n = blocks().clamp(1, engine.max_block()).min(len - pos);
        let block: Vec<&[f32]> = padded.iter().map(|c| &c[pos..pos + n]).collect();
        engine.process(&block);
        for (stem, out) in out.iter_mut().enumerate() {
            for (c, out) in out.iter_mut().enumerate().take(channels) {
                out.extend_from_slice(engine.stem(stem, c));
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
) -> [Vec<Vec<f32>>; MAX_STEMS] {
    run_blocks(engine, input, &mut || block, tail)
}

/// The plugin library this `cargo test` run built: beside the test binary, in
/// target/<profile>/deps (target/<profile>/libunweave.so may be an older build). It
/// has debug assertions and, with `assert_process_allocs`, aborts on any allocation
/// in `process`.
pub fn built_library() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let lib = exe.parent().unwrap().join(format!(
        "{}unweave{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    ));
    assert!(lib.is_file(), "{} was not built", lib.display());
    lib
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
    // Stems: causal and with both stages' lookahead, with and without HPSS's residual.
    for (fft_size, drums_lookahead_ms, separation, lookahead_s) in [
        (512, 0.0, 1.0, 0.0),
        (2048, 60.0, 2.0, 0.25),
        (4096, 500.0, 1.0, 0.0),
        (8192, 0.0, 1.0, 0.5),
    ] {
        let mut s = Settings {
            algorithm: Algorithm::Stems,
            fft_size,
            ..Settings::default()
        };
        s.stems.drums_lookahead_ms = drums_lookahead_ms;
        s.hpss.separation = separation;
        s.repet.lookahead_s = lookahead_s;
        s.repet.buffer_s = 4.0;
        all.push(s);
    }
    all
}

/// A loop that repeats every `period` seconds exactly (fractional samples included:
/// every event is placed in continuous time), and a lead over it that never repeats.
/// Returns `(loop, lead)`, mono, `len` samples at `sample_rate`.
pub fn loop_and_lead(len: usize, sample_rate: f32, period: f64, seed: u64) -> (Vec<f32>, Vec<f32>) {
    let sr = sample_rate as f64;
    let mut s = seed | 1;
    let mut rand = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 11) as f64 / (1u64 << 53) as f64
    };
    // Events of one cycle: (onset in the cycle, frequency or 0 for a noise hit, decay, level).
    let events: Vec<(f64, f64, f64, f64)> = (0..12)
        .map(|i| {
            let onset = rand() * period;
            if i % 3 == 0 {
                (onset, 0.0, 0.03 + 0.05 * rand(), 0.5)
            } else {
                let semitone = (rand() * 24.0).floor();
                (
                    onset,
                    110.0 * 2f64.powf(semitone / 12.0),
                    0.15 + 0.3 * rand(),
                    0.3,
                )
            }
        })
        .collect();
    let mut background = vec![0.0f32; len];
    let cycles = (len as f64 / sr / period).ceil() as usize + 1;
    for k in 0..cycles {
        for (e, &(onset, freq, decay, level)) in events.iter().enumerate() {
            let start = onset + k as f64 * period;
            let first = (start * sr).ceil() as usize;
            let last = (((start + 6.0 * decay) * sr) as usize).min(len);
            for (t, b) in background.iter_mut().enumerate().take(last).skip(first) {
                let u = t as f64 / sr - start;
                let env = level * (-u / decay).exp();
                let x = if freq > 0.0 {
                    (2.0 * std::f64::consts::PI * freq * u).sin()
                        + 0.5 * (4.0 * std::f64::consts::PI * freq * u).sin()
                } else {
                    // Noise that is a function of the time since the onset, so every
                    // repetition of the hit is the same hit.
                    let n = ((u * sr) as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ e as u64;
                    let n = n.wrapping_mul(0xBF58_476D_1CE4_E5B9);
                    (n >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
                };
                *b += (env * x) as f32;
            }
        }
    }
    // The lead: notes of random pitch and length, none ever coming back.
    let mut lead = vec![0.0f32; len];
    let mut t0 = 0.0;
    while t0 < len as f64 / sr {
        let dur = 0.15 + 0.4 * rand();
        let freq = 300.0 * 2f64.powf(rand() * 2.0);
        let first = (t0 * sr) as usize;
        let last = (((t0 + dur) * sr) as usize).min(len);
        for (t, l) in lead.iter_mut().enumerate().take(last).skip(first) {
            let u = t as f64 / sr - t0;
            let env = (u / 0.01).min(1.0) * ((t0 + dur - t as f64 / sr) / 0.02).min(1.0);
            let vibrato = 0.003 * (2.0 * std::f64::consts::PI * 5.0 * u).sin();
            *l = (0.25 * env * (2.0 * std::f64::consts::PI * freq * u * (1.0 + vibrato)).sin())
                as f32;
        }
        t0 += dur + 0.05 * rand();
    }
    (background, lead)
}

/// Settings of the rolling-buffer separators (REPET, REPET-SIM, 2DFT) the invariant
/// tests run through.
pub fn repet_matrix() -> Vec<Settings> {
    use unweave::engine::{Algorithm, PeriodSource};
    let mut all = Vec::new();
    for algorithm in [Algorithm::Repet, Algorithm::RepetSim] {
        for fft_size in [512, 2048, 8192] {
            for (lookahead_s, source) in [
                (0.0, PeriodSource::Auto),
                (0.4, PeriodSource::Auto),
                (0.0, PeriodSource::Manual),
            ] {
                let mut s = Settings {
                    algorithm,
                    fft_size,
                    ..Settings::default()
                };
                s.repet.buffer_s = 6.0;
                s.repet.max_period_s = 2.0;
                s.repet.lookahead_s = lookahead_s;
                s.repet.period_source = source;
                s.repet.manual_period_ms = 700.0;
                all.push(s);
            }
        }
    }
    // 2DFT with a short patch, and its peak threshold both off and on.
    for fft_size in [512, 2048, 8192] {
        for threshold in [0.0, 0.3] {
            let mut s = Settings {
                algorithm: Algorithm::Ft2d,
                fft_size,
                ..Settings::default()
            };
            s.ft2d.patch_s = 3.0;
            s.ft2d.threshold = threshold;
            all.push(s);
        }
    }
    all
}

/// The largest difference between the sum of the stems and the input delayed by
/// `latency` (zero before it).
pub fn reconstruction_error(
    out: &[Vec<Vec<f32>>; MAX_STEMS],
    input: &[Vec<f32>],
    latency: usize,
) -> f32 {
    let mut worst = 0.0f32;
    for c in 0..input.len() {
        for t in 0..out[0][c].len() {
            let sum: f32 = out.iter().map(|stem| stem[c][t]).sum();
            let expected = if t >= latency {
                input[c][t - latency]
            } else {
                0.0
            };
            worst = worst.max((sum - expected).abs());
        }
    }
    worst
}

/// The corpus items with a repeating background and a lead.
pub const REPET_ITEMS: [&str; 2] = ["repet_dev_01_organ", "repet_dev_02_sax"];

/// Mean over channels of (background, foreground) SDR with the latency removed.
pub fn score(item: &std::path::Path, settings: Settings) -> (f64, f64) {
    let (mix, rate) = read_wav(&item.join("mix.wav"));
    let (background, _) = read_wav(&item.join("background.wav"));
    let (foreground, _) = read_wav(&item.join("foreground.wav"));
    let mut engine = Engine::new(settings, rate as f32, mix.len(), 4096).unwrap();
    let latency = engine.latency();
    let out = run_fixed(&mut engine, &mix, 4096, latency);
    let channels = mix.len() as f64;
    let (mut b, mut f) = (0.0, 0.0);
    for c in 0..mix.len() {
        b += unweave::metrics::sdr(
            &background[c],
            &out[Stem::Background as usize][c][latency..],
        );
        f += unweave::metrics::sdr(
            &foreground[c],
            &out[Stem::Foreground as usize][c][latency..],
        );
    }
    (b / channels, f / channels)
}

/// Median over the items (two items: their mean), as ANCHORS.md reports families.
pub fn family(corpus: &std::path::Path, settings: Settings, report: &mut String) -> (f64, f64) {
    let scores: Vec<(f64, f64)> = REPET_ITEMS
        .iter()
        .map(|i| score(&corpus.join(i), settings))
        .collect();
    for (item, (b, f)) in REPET_ITEMS.iter().zip(&scores) {
        *report += &format!("  {item}: background {b:.2}  foreground {f:.2}\n");
    }
    let n = scores.len() as f64;
    (
        scores.iter().map(|s| s.0).sum::<f64>() / n,
        scores.iter().map(|s| s.1).sum::<f64>() / n,
    )
}

/// Teaches an NMF engine templates learned from `signal` (its own analysis).
pub fn teach(engine: &mut Engine, signal: &[&[f32]]) {
    let settings = *engine.settings();
    let frames =
        unweave::engine::spectrogram::Spectrogram::analyse(signal, settings.fft_size).magnitude();
    let templates = unweave::engine::Templates::learn(
        &frames,
        engine.sample_rate(),
        settings.fft_size,
        settings.nmf.components,
    )
    .expect("the signal teaches");
    assert!(engine.set_templates(Box::new(templates)).is_ok());
}

/// A band whose parts repeat at different periods: drums every `bar`, chords every two
/// bars, bass every four, so the whole mix repeats every `4 · bar`; and, apart, a lead
/// that never comes back (that of [`loop_and_lead`]).
pub fn layered_loop(len: usize, sample_rate: f32, bar: f64, seed: u64) -> (Vec<f32>, Vec<f32>) {
    use std::f64::consts::PI;
    let sr = sample_rate as f64;
    let mut band = vec![0.0f32; len];
    // Noise that is a function of the time since the onset and the hit, so every
    // repetition of a hit is the same hit.
    let hit_noise = |u: f64, hit: u64| {
        let n = ((u * sr) as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ hit;
        let n = n.wrapping_mul(0xBF58_476D_1CE4_E5B9);
        (n >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
    };
    let mut add = |start: f64, seconds: f64, f: &dyn Fn(f64) -> f64| {
        let first = (start * sr).ceil().max(0.0) as usize;
        let last = (((start + seconds) * sr) as usize).min(len);
        for (t, b) in band.iter_mut().enumerate().take(last).skip(first) {
            *b += f(t as f64 / sr - start) as f32;
        }
    };
    let bars = (len as f64 / sr / bar).ceil() as usize + 1;
    let beat = bar / 4.0;
    // Chords (two, a bar each) and bass notes (four, a bar each), in semitones above A2.
    let chords = [[12.0, 16.0, 19.0], [10.0, 14.0, 17.0]];
    let bass = [0.0, 5.0, 7.0, 3.0];
    let hz = |semitone: f64| 110.0 * 2f64.powf(semitone / 12.0);
    for k in 0..bars {
        let t0 = k as f64 * bar;
        for b in 0..4 {
            let onset = t0 + b as f64 * beat;
            if b % 2 == 0 {
                add(onset, 0.3, &|u| {
                    0.5 * (-u / 0.08).exp()
                        * (2.0 * PI * (50.0 + 40.0 * (-u / 0.03).exp()) * u).sin()
                });
            } else {
                add(onset, 0.2, &|u| 0.3 * (-u / 0.05).exp() * hit_noise(u, 1));
            }
            add(onset + beat / 2.0, 0.06, &|u| {
                0.12 * (-u / 0.015).exp() * hit_noise(u, 2)
            });
        }
        let chord = chords[k % 2];
        add(t0, bar, &|u| {
            let env = (u / 0.02).min(1.0) * ((bar - u) / 0.05).clamp(0.0, 1.0);
            chord
                .iter()
                .map(|&s| {
                    0.08 * env * ((2.0 * PI * hz(s) * u).sin() + 0.4 * (4.0 * PI * hz(s) * u).sin())
                })
                .sum()
        });
        let note = hz(bass[k % 4] - 12.0);
        add(t0, bar, &|u| {
            let env = (u / 0.01).min(1.0) * (-u / (0.8 * bar)).exp();
            0.3 * env * ((2.0 * PI * note * u).sin() + 0.3 * (4.0 * PI * note * u).sin())
        });
    }
    let (_, lead) = loop_and_lead(len, sample_rate, bar, seed);
    (band, lead)
}

/// `x` through a Schroeder reverberator (four feedback combs in parallel, two
/// all-passes after) whose tail falls 60 dB in `rt60` seconds, mixed half wet.
pub fn reverb(x: &[f32], sample_rate: f32, rt60: f32) -> Vec<f32> {
    let combs = [0.0297, 0.0371, 0.0411, 0.0437].map(|s: f32| (s * sample_rate) as usize);
    let mut wet = vec![0.0f32; x.len()];
    for delay in combs {
        // A comb's loop gain for a 60 dB fall in rt60 seconds.
        let g = 10f32.powf(-3.0 * delay as f32 / sample_rate / rt60);
        let mut y = vec![0.0f32; x.len()];
        for t in 0..x.len() {
            y[t] = x[t] + if t >= delay { g * y[t - delay] } else { 0.0 };
            wet[t] += 0.25 * y[t];
        }
    }
    for seconds in [0.005, 0.0017] {
        let (delay, g) = ((seconds * sample_rate) as usize, 0.7f32);
        // y[t] = −g·x[t] + x[t − d] + g·y[t − d], in place: `wet` holds y behind t.
        let input = wet.clone();
        for t in delay..x.len() {
            wet[t] = -g * input[t] + input[t - delay] + g * wet[t - delay];
        }
        for w in wet.iter_mut().take(delay) {
            *w *= -g;
        }
    }
    let scale = 0.5 * rms(x) / rms(&wet).max(1e-12);
    x.iter().zip(&wet).map(|(d, w)| d + scale * w).collect()
}

fn rms(x: &[f32]) -> f32 {
    (x.iter().map(|v| v * v).sum::<f32>() / x.len().max(1) as f32).sqrt()
}
