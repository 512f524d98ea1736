//! Supervised NMF in real time on the corpus's looping items: taught on the first
//! seconds of the true background stem, it must beat the unprocessed mixture by at
//! least 3 dB SDR on both stems (issue #6).
//!
//! Defaults (no free templates) and with 8 free templates. `NMF_GRID="16:0:10,…"` (templates : free : iterations) scores other settings.

mod common;

use common::*;
use unweave::engine::spectrogram::Spectrogram;
use unweave::engine::{Algorithm, Engine, Settings, Stem, Taught, Templates};
use unweave::metrics::sdr;

/// Seconds of the true background the separator is taught on.
const TEACH_SECONDS: f32 = 5.0;

/// (background, foreground) SDR of the mixture itself and of the NMF stems, per channel mean.
fn score_item(item: &std::path::Path, settings: Settings) -> ((f64, f64), (f64, f64)) {
    let (mix, rate) = read_wav(&item.join("mix.wav"));
    let (background, _) = read_wav(&item.join("background.wav"));
    let (foreground, _) = read_wav(&item.join("foreground.wav"));
    let teach_len = (TEACH_SECONDS * rate as f32) as usize;
    let teach: Vec<&[f32]> = background.iter().map(|c| &c[..teach_len]).collect();
    let frames = Spectrogram::analyse(&teach, settings.fft_size).magnitude();
    let templates = Templates::learn(
        &frames,
        rate as f32,
        settings.fft_size,
        settings.nmf.components,
    )
    .expect("the background teaches");

    let mut engine = Engine::new(settings, rate as f32, mix.len(), 4096).unwrap();
    assert!(engine.set_templates(Box::new(templates)).unwrap().is_none());
    let latency = engine.latency();
    let out = run_fixed(&mut engine, &mix, 4096, latency);
    let n = mix.len() as f64;
    let mut scores = ((0.0, 0.0), (0.0, 0.0));
    for c in 0..mix.len() {
        scores.0.0 += sdr(&background[c], &mix[c]) / n;
        scores.0.1 += sdr(&foreground[c], &mix[c]) / n;
        scores.1.0 += sdr(
            &background[c],
            &out[Stem::Background as usize][c][latency..],
        ) / n;
        scores.1.1 += sdr(
            &foreground[c],
            &out[Stem::Foreground as usize][c][latency..],
        ) / n;
    }
    scores
}

#[test]
fn supervised_nmf_beats_the_mixture_by_3_db_on_both_stems() {
    let Some(corpus) = corpus() else { return };
    let grid: Vec<(usize, usize, usize)> = std::env::var("NMF_GRID")
        .ok()
        .map(|g| {
            g.split(',')
                .map(|t| {
                    let v: Vec<usize> = t.split(':').map(|x| x.parse().unwrap()).collect();
                    (v[0], v[1], v[2])
                })
                .collect()
        })
        .unwrap_or(vec![(16, 0, 10), (16, 8, 10)]);
    let mut report = String::new();
    let mut failures = Vec::new();
    for (components, free, iterations) in grid {
        let mut settings = Settings {
            algorithm: Algorithm::Nmf,
            ..Settings::default()
        };
        settings.nmf.components = components;
        settings.nmf.free_components = free;
        settings.nmf.iterations = iterations;
        report += &format!("NMF {components} taught, {free} free, {iterations} iterations:\n");
        for item in REPET_ITEMS {
            let ((mb, mf), (b, f)) = score_item(&corpus.join(item), settings);
            report += &format!(
                "  {item}: background {b:.2} (mix {mb:.2}, +{:.2})  foreground {f:.2} (mix {mf:.2}, +{:.2})\n",
                b - mb,
                f - mf
            );
            if b < mb + 3.0 || f < mf + 3.0 {
                failures.push(format!("{item} {components}/{free}/{iterations}"));
            }
        }
    }
    eprintln!("{report}");
    assert!(
        failures.is_empty(),
        "not 3 dB above the mixture: {failures:?}\n{report}"
    );
}

const SR: f32 = 44_100.0;

/// A sustained chord (background) and a melody of other notes (lead), mono.
fn chord_and_melody(len: usize) -> (Vec<f32>, Vec<f32>) {
    let tone = |t: f32, f0: f32, partials: usize| -> f32 {
        (1..=partials)
            .map(|k| (std::f32::consts::TAU * f0 * k as f32 * t).sin() / k as f32)
            .sum()
    };
    let notes = [587.3, 740.0, 659.3, 880.0, 523.3];
    let chord = (0..len)
        .map(|i| {
            let t = i as f32 / SR;
            0.15 * (tone(t, 110.0, 8) + tone(t, 164.8, 6)) * (1.0 + 0.3 * (1.7 * t).sin())
        })
        .collect();
    let melody = (0..len)
        .map(|i| {
            let t = i as f32 / SR;
            0.12 * tone(t, notes[(t * 4.0) as usize % notes.len()], 4)
                + 0.01 * noise(1, i as u64)[0]
        })
        .collect();
    (chord, melody)
}

fn nmf(fft_size: usize, free_components: usize, taught: Taught) -> Settings {
    let mut s = Settings {
        algorithm: Algorithm::Nmf,
        fft_size,
        ..Settings::default()
    };
    s.nmf.free_components = free_components;
    s.nmf.taught = taught;
    s
}

#[test]
fn stems_sum_to_the_delayed_input_bit_identically_for_any_block_size() {
    let len = 3 * SR as usize;
    let (chord, melody) = chord_and_melody(len);
    let input = vec![
        chord
            .iter()
            .zip(&melody)
            .map(|(a, b)| a + b)
            .collect::<Vec<f32>>(),
        chord
            .iter()
            .zip(&melody)
            .map(|(a, b)| a - 0.5 * b)
            .collect(),
    ];
    for fft_size in [512, 2048, 8192] {
        for free in [0, 8] {
            for taught in [Taught::Background, Taught::Foreground] {
                let settings = nmf(fft_size, free, taught);
                let engine = || {
                    let mut e = Engine::new(settings, SR, 2, 4096).unwrap();
                    teach(&mut e, &[&chord[..SR as usize]]);
                    e
                };
                let mut reference_engine = engine();
                let latency = reference_engine.latency();
                assert_eq!(
                    latency,
                    fft_size + fft_size / 4,
                    "NMF solves a frame over the next hop"
                );
                let reference = run_fixed(&mut reference_engine, &input, 4096, latency);
                let error = reconstruction_error(&reference, &input, latency);
                assert!(
                    error < 1e-5,
                    "{settings:?}: stems miss the input by {error}"
                );
                let fg: f32 = reference[0][0].iter().map(|x| x * x).sum();
                assert!(fg > 1.0, "{settings:?}: nothing was separated");
                for block in [1, 64, 333] {
                    let out = run_fixed(&mut engine(), &input, block, latency);
                    assert!(
                        out == reference,
                        "{settings:?}: block {block} changes the output"
                    );
                }
            }
        }
    }
}

#[test]
fn either_stem_can_be_taught() {
    let len = 6 * SR as usize;
    let (chord, melody) = chord_and_melody(len);
    let mix: Vec<f32> = chord.iter().zip(&melody).map(|(a, b)| a + b).collect();
    let play = 2 * SR as usize;
    for (taught, teacher) in [(Taught::Background, &chord), (Taught::Foreground, &melody)] {
        for free in [0, 8] {
            let settings = nmf(2048, free, taught);
            let mut engine = Engine::new(settings, SR, 1, 4096).unwrap();
            teach(&mut engine, &[&teacher[..play]]);
            let latency = engine.latency();
            let out = run_fixed(&mut engine, &[mix.clone()], 4096, latency);
            let fg = sdr(
                &melody[play..],
                &out[Stem::Foreground as usize][0][play + latency..],
            );
            let bg = sdr(
                &chord[play..],
                &out[Stem::Background as usize][0][play + latency..],
            );
            let (fg_mix, bg_mix) = (
                sdr(&melody[play..], &mix[play..]),
                sdr(&chord[play..], &mix[play..]),
            );
            eprintln!(
                "taught {taught:?}, {free} free: melody {fg:.2} dB (mix {fg_mix:.2}), chord {bg:.2} dB (mix {bg_mix:.2})"
            );
            assert!(
                fg > fg_mix + 4.0 && bg > bg_mix + 4.0,
                "taught {taught:?}, {free} free: melody {fg:.2} (mix {fg_mix:.2}), chord {bg:.2} (mix {bg_mix:.2})"
            );
        }
    }
}
