//! The worst single `process` call at small blocks: with a 64-sample block a call
//! either only moves samples or also carries a whole frame's work (FFTs, medians,
//! masks), and that call must fit well inside the block's duration.
//!
//! `cargo bench --bench worst_block [-- NAME…]` prints, per setting (or those whose names
//! hold one of the NAMEs), the worst, the 99.9th percentile and the median call over 60 s
//! of stereo 44.1 kHz audio, and the worst as a share of the block. With `WORST_DETAIL`
//! set it first prints the twelve slowest calls and where in the audio each fell: a
//! worst call that recurs at the same place is the separator's, one that does not is
//! the machine's.

use std::time::{Duration, Instant};
use unweave::engine::spectrogram::Spectrogram;
use unweave::engine::{Algorithm, Engine, Settings, Templates};

const SR: f32 = 44_100.0;
const BLOCK: usize = 64;

fn main() {
    // Under `cargo test --benches` run a token amount, as a smoke test.
    let quick = std::env::args().any(|a| a == "--test" || a == "--list");
    // `cargo bench --bench worst_block -- repet` measures the settings whose names hold
    // `repet` only.
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let seconds = if quick { 1 } else { 60 };
    let len = seconds * SR as usize;
    let mut s = 0x1234_5678_9abc_def1u64;
    let mut noise = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 40) as f32 / (1u64 << 24) as f32 - 0.5
    };
    // A one-second loop under noise: REPET finds a period and fills its model with
    // repetitions, its costly case.
    let cycle: Vec<f32> = (0..SR as usize).map(|_| noise()).collect();
    let input: Vec<f32> = (0..len)
        .map(|t| 0.3 * (t as f32 * 0.031).sin() + 0.2 * cycle[t % cycle.len()] + 0.05 * noise())
        .collect();
    let block_time = Duration::from_secs_f64(BLOCK as f64 / f64::from(SR));
    for (name, settings) in [
        ("hpss_defaults", Settings::default()),
        (
            "hpss_fft_8192",
            Settings {
                fft_size: 8192,
                ..Settings::default()
            },
        ),
        ("hpss_residual", {
            let mut s = Settings::default();
            s.hpss.separation = 2.0;
            s
        }),
        (
            "repet_defaults",
            Settings {
                algorithm: Algorithm::Repet,
                ..Settings::default()
            },
        ),
        (
            "repet_sim_defaults",
            Settings {
                algorithm: Algorithm::RepetSim,
                ..Settings::default()
            },
        ),
        ("repet_sim_fft_512", {
            Settings {
                algorithm: Algorithm::RepetSim,
                fft_size: 512,
                ..Settings::default()
            }
        }),
        (
            "ft2d_defaults",
            Settings {
                algorithm: Algorithm::Ft2d,
                ..Settings::default()
            },
        ),
        ("ft2d_fft_512", {
            Settings {
                algorithm: Algorithm::Ft2d,
                fft_size: 512,
                ..Settings::default()
            }
        }),
        (
            "stems_defaults",
            Settings {
                algorithm: Algorithm::Stems,
                ..Settings::default()
            },
        ),
        ("stems_drums_lookahead", {
            let mut s = Settings {
                algorithm: Algorithm::Stems,
                ..Settings::default()
            };
            s.stems.drums_lookahead_ms = 180.0;
            s
        }),
        (
            "nmf_defaults",
            Settings {
                algorithm: Algorithm::Nmf,
                ..Settings::default()
            },
        ),
        ("nmf_fft_8192_50_iterations_16_free", {
            let mut s = Settings {
                algorithm: Algorithm::Nmf,
                fft_size: 8192,
                ..Settings::default()
            };
            s.nmf.iterations = 50;
            s.nmf.free_components = 16;
            s.nmf.components = 32;
            s
        }),
    ] {
        if !filters.is_empty() && !filters.iter().any(|f| name.contains(f.as_str())) {
            continue;
        }
        let mut engine = Engine::new(settings, SR, 2, BLOCK).unwrap();
        if settings.algorithm == Algorithm::Nmf {
            // Taught on the first three seconds: NMF's work is per template.
            let teach = [&input[..(3 * SR as usize).min(len)]];
            let frames = Spectrogram::analyse(&teach, settings.fft_size).magnitude();
            let templates =
                Templates::learn(&frames, SR, settings.fft_size, settings.nmf.components).unwrap();
            assert!(engine.set_templates(Box::new(templates)).is_ok());
        }
        let mut times = Vec::with_capacity(len / BLOCK);
        for start in (0..len).step_by(BLOCK) {
            let end = (start + BLOCK).min(len);
            let block = [&input[start..end], &input[start..end]];
            let t0 = Instant::now();
            engine.process(&block);
            times.push(t0.elapsed());
            std::hint::black_box(engine.stem(unweave::engine::Stem::Foreground, 0));
        }
        if std::env::var_os("WORST_DETAIL").is_some() {
            let mut at: Vec<(Duration, usize)> = times.iter().copied().zip(0..).collect();
            at.sort();
            for (t, i) in at.iter().rev().take(12) {
                println!(
                    "  {:>7.1} µs at {:.3} s",
                    t.as_secs_f64() * 1e6,
                    (i * BLOCK) as f64 / f64::from(SR)
                );
            }
        }
        times.sort();
        let worst = *times.last().unwrap();
        let median = times[times.len() / 2];
        let p999 = times[times.len() * 999 / 1000];
        println!(
            "{name:<16} worst {:>7.1} µs  99.9 % {:>6.1} µs  median {:>4.1} µs  worst = {:>4.1} % of a {BLOCK}-sample block ({:.0} µs)",
            worst.as_secs_f64() * 1e6,
            p999.as_secs_f64() * 1e6,
            median.as_secs_f64() * 1e6,
            100.0 * worst.as_secs_f64() / block_time.as_secs_f64(),
            block_time.as_secs_f64() * 1e6
        );
    }
}
