//! Speed of the engine, stereo 44.1 kHz, one thread, 512-sample blocks.
//!
//! Throughput is in input samples per channel, so x-real-time = elements/s ÷ 44 100.
//! `stft_round_trip` is the floor every separator pays (see [`Nothing`]).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use unweave::engine::spectrogram::Spectrogram;
use unweave::engine::{Algorithm, Engine, Separator, Settings, Templates, nmf};

const SR: f32 = 44_100.0;
const SECONDS: usize = 10;
const BLOCK: usize = 512;

fn signal(len: usize, seed: u64) -> Vec<f32> {
    let mut s = seed | 1;
    (0..len)
        .map(|t| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            0.3 * (t as f32 * 0.031).sin() + 0.1 * ((s >> 40) as f32 / (1u64 << 24) as f32 - 0.5)
        })
        .collect()
}

/// No separation at all: everything stays in the background. Timing the engine with it
/// gives the floor every separator pays: FIFOs, window, forward FFT, magnitudes, the
/// foreground's inverse FFT and overlap-add, the dry path.
struct Nothing;
impl Separator for Nothing {
    fn lookahead(&self) -> usize {
        0
    }
    fn push(&mut self, _: &[f32], masks: &mut unweave::engine::Masks) {
        masks.get_mut(0).fill(0.0);
    }
    fn reset(&mut self) {}
}

fn run_engine(engine: &mut Engine, input: &[Vec<f32>]) -> f32 {
    let mut acc = 0.0;
    for start in (0..input[0].len()).step_by(BLOCK) {
        let end = (start + BLOCK).min(input[0].len());
        let block = [&input[0][start..end], &input[1][start..end]];
        engine.process(&block);
        acc += engine.stem(unweave::engine::Stem::Foreground, 0)[0];
    }
    acc
}

fn benches(c: &mut Criterion) {
    let len = SECONDS * SR as usize;
    let input = vec![signal(len, 1), signal(len, 2)];
    let mut group = c.benchmark_group("stereo_44k1_10s");
    group.throughput(Throughput::Elements(len as u64));
    group.sample_size(10);
    let mut floor = Engine::with_separator(Box::new(Nothing), 2048, SR, 2, BLOCK).unwrap();
    group.bench_function("stft_round_trip_2048", |b| {
        b.iter(|| {
            floor.reset();
            black_box(run_engine(&mut floor, &input))
        })
    });
    for (name, settings) in [
        ("hpss_defaults", Settings::default()),
        ("hpss_low_latency", {
            let mut s = Settings::default();
            s.hpss.low_latency = true;
            s
        }),
        ("hpss_200ms", {
            let mut s = Settings::default();
            s.hpss.harmonic_width_ms = 200.0;
            s
        }),
        ("hpss_residual", {
            let mut s = Settings::default();
            s.hpss.separation = 2.0;
            s
        }),
    ] {
        let mut engine = Engine::new(settings, SR, 2, BLOCK).unwrap();
        group.bench_function(name, |b| {
            b.iter(|| {
                engine.reset();
                black_box(run_engine(&mut engine, &input))
            })
        });
    }
    // Denormal and near-silent input must cost what music costs (denormals are
    // flushed at the input; nothing inside may create them from tiny values).
    for (name, scale) in [
        ("hpss_denormal_input", 1e-39f32),
        ("hpss_quiet_input", 1e-9),
    ] {
        let quiet: Vec<Vec<f32>> = input
            .iter()
            .map(|c| c.iter().map(|x| x * scale).collect())
            .collect();
        let mut engine = Engine::new(Settings::default(), SR, 2, BLOCK).unwrap();
        group.bench_function(name, |b| {
            b.iter(|| {
                engine.reset();
                black_box(run_engine(&mut engine, &quiet))
            })
        });
    }
    // What the open editor costs: spectrogram columns, meters, beat-spectrum copies
    // (the queue is drained every second of audio, as an editor painting would).
    {
        use ringbuf::traits::Consumer;
        use unweave::feed::{Feed, Publisher};
        let (feed, producer, mut columns) = Feed::new();
        let mut publisher = Publisher::new(
            feed.clone(),
            producer,
            nice_plug_egui::RepaintNotifier::new(),
        );
        let mut engine = Engine::new(Settings::default(), SR, 2, BLOCK).unwrap();
        publisher.activate(&engine, SR);
        publisher.set_open(true);
        group.bench_function("hpss_defaults_editor_open", |b| {
            b.iter(|| {
                engine.reset();
                let mut acc = 0.0;
                for start in (0..len).step_by(BLOCK) {
                    let end = (start + BLOCK).min(len);
                    let block = [&input[0][start..end], &input[1][start..end]];
                    engine.process_observed(&block, &mut publisher);
                    publisher.block(&engine, &block);
                    acc += engine.stem(unweave::engine::Stem::Foreground, 0)[0];
                    if start % (SR as usize) < BLOCK {
                        columns.clear();
                        feed.take_meters();
                    }
                }
                black_box(acc)
            })
        });
    }
    // The rolling-buffer separators, timed on a full 24 s buffer (primed once, then the
    // stream goes on), over a 1 s loop with noise on top: 24 repetitions in the buffer,
    // near the most the repeating model takes, so this is their costly case.
    let looped: Vec<Vec<f32>> = (0..2)
        .map(|c| {
            let cycle = signal(SR as usize, 10 + c);
            let extra = signal(len * 4, 20 + c);
            (0..len * 4)
                .map(|t| cycle[t % cycle.len()] + 0.3 * extra[t])
                .collect()
        })
        .collect();
    for (name, algorithm) in [
        ("repet_defaults", Algorithm::Repet),
        ("repet_sim_defaults", Algorithm::RepetSim),
        ("ft2d_defaults", Algorithm::Ft2d),
        ("stems_defaults", Algorithm::Stems),
    ] {
        let settings = Settings {
            algorithm,
            ..Settings::default()
        };
        let mut engine = Engine::new(settings, SR, 2, BLOCK).unwrap();
        let prime: Vec<Vec<f32>> = looped.iter().map(|c| c[..3 * len].to_vec()).collect();
        run_engine(&mut engine, &prime);
        let timed: Vec<Vec<f32>> = looped.iter().map(|c| c[3 * len..].to_vec()).collect();
        group.bench_function(name, |b| {
            b.iter(|| black_box(run_engine(&mut engine, &timed)))
        });
    }
    // Supervised NMF, taught on three seconds of the input (16 templates), at its
    // defaults and with more work per frame.
    let teach: Vec<&[f32]> = input.iter().map(|c| &c[..3 * SR as usize]).collect();
    for (name, iterations, free) in [("nmf_defaults", 10, 0), ("nmf_30_iterations_8_free", 30, 8)] {
        let mut settings = Settings {
            algorithm: Algorithm::Nmf,
            ..Settings::default()
        };
        settings.nmf.iterations = iterations;
        settings.nmf.free_components = free;
        let frames = Spectrogram::analyse(&teach, settings.fft_size).magnitude();
        let templates = Templates::learn(&frames, SR, settings.fft_size, 16).unwrap();
        let mut engine = Engine::new(settings, SR, 2, BLOCK).unwrap();
        assert!(engine.set_templates(Box::new(templates)).is_ok());
        group.bench_function(name, |b| {
            b.iter(|| black_box(run_engine(&mut engine, &input)))
        });
    }
    group.finish();

    // Off the audio thread: what Learn costs the background thread (5 s at FFT 2048,
    // 16 templates), and `unweave nmf` on 10 s (8 components, 100 KL iterations).
    let mut offline = c.benchmark_group("offline");
    offline.sample_size(10);
    let five: Vec<&[f32]> = input.iter().map(|c| &c[..5 * SR as usize]).collect();
    let frames = Spectrogram::analyse(&five, 2048).magnitude();
    offline.bench_function("learn_5s_16_templates", |b| {
        b.iter(|| black_box(Templates::learn(&frames, SR, 2048, 16).unwrap()))
    });
    let all: Vec<&[f32]> = input.iter().map(Vec::as_slice).collect();
    let v = Spectrogram::analyse(&all, 2048).magnitude();
    offline.bench_function("factorise_10s_8_components_100_iterations", |b| {
        b.iter(|| {
            black_box(nmf::factorise(
                &v,
                &nmf::Options {
                    components: 8,
                    iterations: 100,
                    ..nmf::Options::default()
                },
            ))
        })
    });
    offline.finish();
}

criterion_group!(engine, benches);
criterion_main!(engine);
