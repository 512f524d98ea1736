//! The engine's invariants: complementary stems, truthful latency, block-size
//! independence, determinism, and agreement with an offline HPSS.

mod common;

use common::*;
use proptest::prelude::*;
use unweave::engine::{Algorithm, Engine, MAX_STEMS, MaskedFrame, Settings, Stem};

const SR: f32 = 44_100.0;

#[test]
fn stems_sum_to_the_input_delayed_by_the_latency() {
    let input = vec![noise(30_000, 1), noise(30_000, 2)];
    for settings in settings_matrix() {
        let mut engine = Engine::new(settings, SR, 2, 512).unwrap();
        let latency = engine.latency();
        let out = run_fixed(&mut engine, &input, 512, latency);
        let worst = reconstruction_error(&out, &input, latency);
        assert!(worst < 1e-5, "{settings:?}: max error {worst}");
        // And the split is real: no stem takes (nearly) everything.
        let all: f32 = input[0].iter().map(|x| x * x).sum();
        for stem in &out {
            let share = stem[0].iter().map(|x| x * x).sum::<f32>() / all;
            assert!(
                share < 0.95,
                "{settings:?}: one stem holds {share} of the energy"
            );
        }
    }
}

#[test]
fn residual_is_silent_without_separation_factor_and_present_with_it() {
    let (h, p) = tones_and_clicks(40_000, SR, 5_000);
    let mix: Vec<f32> = h.iter().zip(&p).map(|(a, b)| a + b).collect();
    let energy = |s: &Settings| {
        let mut e = Engine::new(*s, SR, 1, 256).unwrap();
        let out = run_fixed(&mut e, &[mix.clone()], 256, 0);
        out[2][0].iter().map(|x| x * x).sum::<f32>()
    };
    let mut s = Settings::default();
    assert_eq!(energy(&s), 0.0);
    s.hpss.separation = 3.0;
    assert!(energy(&s) > 1e-3);
}

#[test]
fn reported_latency_is_the_measured_delay_of_an_impulse() {
    for settings in settings_matrix() {
        let mut engine = Engine::new(settings, SR, 1, 4096).unwrap();
        let latency = engine.latency();
        let hop = engine.hop();
        let stems = settings.algorithm == Algorithm::Stems;
        let width = if stems {
            settings.stems.drums_width_ms
        } else {
            settings.hpss.harmonic_width_ms
        };
        let half = (unweave::engine::hpss::harmonic_frames(width, SR, hop) - 1) / 2;
        let median = if stems {
            // Drums lookahead in whole hops, at most the centred median's.
            let wanted = (settings.stems.drums_lookahead_ms * 1e-3 * SR / hop as f32).round();
            (wanted as usize).min(half) * hop
        } else if settings.hpss.low_latency {
            0
        } else {
            half * hop
        };
        // Stems adds REPET-SIM's lookahead, in whole hops.
        let lead = if stems {
            (settings.repet.lookahead_s * SR / hop as f32).round() as usize * hop
        } else {
            0
        };
        let expected = settings.fft_size + median + lead;
        assert_eq!(latency, expected, "{settings:?}");
        let mut input = vec![0.0; 3 * latency + 20_000];
        let at = 12_345;
        input[at] = 1.0;
        let out = run_fixed(&mut engine, &[input], 1000, 0);
        // A lone click is percussive: it leaves by the foreground, at the reported delay.
        // (With a separation factor part of it goes to the residual.)
        let fg: Vec<f32> = out[0][0]
            .iter()
            .zip(&out[2][0])
            .map(|(a, b)| a + b)
            .collect();
        let peak = (0..fg.len())
            .max_by(|&a, &b| fg[a].abs().total_cmp(&fg[b].abs()))
            .unwrap();
        assert_eq!(peak, at + latency, "{settings:?}");
        assert!(fg[peak] >= 0.49, "{settings:?}: click peak {}", fg[peak]);
    }
}

fn blocks_from(sizes: Vec<usize>) -> impl FnMut() -> usize {
    let mut i = 0;
    move || {
        i += 1;
        sizes[(i - 1) % sizes.len()]
    }
}

#[test]
fn output_does_not_depend_on_block_size() {
    let input = vec![noise(50_000, 3), noise(50_000, 4)];
    for settings in settings_matrix().into_iter().step_by(3) {
        let reference = run_fixed(
            &mut Engine::new(settings, SR, 2, 4096).unwrap(),
            &input,
            4096,
            0,
        );
        for block in [1, 64, 333, 512] {
            let out = run_fixed(
                &mut Engine::new(settings, SR, 2, 4096).unwrap(),
                &input,
                block,
                0,
            );
            assert!(out == reference, "{settings:?}: block {block} differs");
        }
        let mixed = noise(200, 9)
            .iter()
            .map(|x| ((x.abs() * 4096.0) as usize).max(1))
            .collect();
        let out = run_blocks(
            &mut Engine::new(settings, SR, 2, 4096).unwrap(),
            &input,
            &mut blocks_from(mixed),
            0,
        );
        assert!(out == reference, "{settings:?}: random block sizes differ");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn any_block_pattern_gives_the_same_bits(sizes in prop::collection::vec(1usize..3000, 1..40)) {
        let input = vec![noise(20_000, 5)];
        let settings = Settings::default();
        let reference = run_fixed(&mut Engine::new(settings, SR, 1, 4096).unwrap(), &input, 4096, 0);
        let out = run_blocks(&mut Engine::new(settings, SR, 1, 4096).unwrap(), &input, &mut blocks_from(sizes), 0);
        prop_assert!(out == reference);
    }
}

/// The command line's pipeline: the analysis here, the synthesis on a thread of its
/// own from copies of the frames, block by block. The stems are the bits of
/// `Engine::process`.
#[test]
fn synthesis_on_another_thread_gives_the_same_bits() {
    let input = vec![noise(50_000, 13), noise(50_000, 14)];
    for settings in settings_matrix() {
        let reference = run_fixed(
            &mut Engine::new(settings, SR, 2, 4096).unwrap(),
            &input,
            777,
            0,
        );
        let mut engine = Engine::new(settings, SR, 2, 4096).unwrap();
        let mut synthesis = engine.synthesis();
        let (tx, rx) = std::sync::mpsc::channel::<(Vec<Vec<f32>>, Vec<MaskedFrame>)>();
        let out = std::thread::scope(|scope| {
            let behind = scope.spawn(move || {
                let mut out: Vec<Vec<Vec<f32>>> = vec![vec![Vec::new(); 2]; MAX_STEMS];
                for (block, frames) in rx {
                    synthesis.process(&block, &mut frames.iter());
                    for (stem, out) in out.iter_mut().enumerate() {
                        for (c, out) in out.iter_mut().enumerate() {
                            out.extend_from_slice(synthesis.stem(stem, c));
                        }
                    }
                }
                out
            });
            for start in (0..input[0].len()).step_by(777) {
                let block: Vec<Vec<f32>> = input
                    .iter()
                    .map(|c| c[start..(start + 777).min(c.len())].to_vec())
                    .collect();
                let mut frames = Vec::new();
                engine.analyse(&block, &mut |spectra, at, masks| {
                    frames.push(MaskedFrame::copy_of(spectra, at, masks));
                });
                tx.send((block, frames)).unwrap();
            }
            drop(tx);
            behind.join().unwrap()
        });
        for (stem, (out, reference)) in out.iter().zip(&reference).enumerate() {
            assert!(out == reference, "{settings:?}: stem {stem} differs");
        }
    }
}

/// The command line runs the work that depends on the input alone (REPET-SIM's period
/// model, in REPET-SIM and in Stems; 2DFT's odd patches) on a thread of its own, split
/// off the engine: fed the same blocks there, it leaves the stems the same bits as one
/// engine's.
#[test]
fn a_part_split_off_to_another_thread_leaves_the_same_bits() {
    let (band, lead) = loop_and_lead(9 * SR as usize, SR, 1.3, 5);
    let input = vec![
        band.iter()
            .zip(&lead)
            .map(|(b, l)| b + l)
            .collect::<Vec<f32>>(),
        band.iter().zip(&lead).map(|(b, l)| b + 0.5 * l).collect(),
    ];
    let mut split = 0;
    for (algorithm, fft_size, lookahead_s, period_model) in [
        (Algorithm::RepetSim, 2048, 0.0, true),
        (Algorithm::RepetSim, 1024, 0.7, true),
        (Algorithm::RepetSim, 2048, 0.0, false),
        (Algorithm::Stems, 2048, 0.0, true),
        (Algorithm::Stems, 4096, 0.4, true),
        (Algorithm::Repet, 2048, 0.0, true),
        (Algorithm::Hpss, 2048, 0.0, true),
        (Algorithm::Ft2d, 2048, 0.0, true),
        (Algorithm::Ft2d, 1024, 0.0, true),
    ] {
        let mut settings = Settings {
            algorithm,
            fft_size,
            ..Settings::default()
        };
        settings.repet.lookahead_s = lookahead_s;
        settings.repet.period_model = period_model;
        // Short patches, for more of them to share between the halves.
        settings.ft2d.patch_s = if fft_size == 1024 { 2.0 } else { 4.0 };
        let one = |settings| {
            run_fixed(
                &mut Engine::new(settings, SR, 2, 4096).unwrap(),
                &input,
                777,
                0,
            )
        };
        let reference = one(settings);
        let mut engine = Engine::new(settings, SR, 2, 4096).unwrap();
        let Some(mut alongside) = engine.split_off() else {
            let splits = algorithm == Algorithm::Ft2d
                || period_model && matches!(algorithm, Algorithm::RepetSim | Algorithm::Stems);
            assert!(!splits, "{settings:?} has a period model to split off");
            continue;
        };
        assert!(engine.split_off().is_none(), "split off twice");
        split += 1;
        let out = std::thread::scope(|scope| {
            let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<Vec<f32>>>(4);
            scope.spawn(move || {
                for block in rx {
                    alongside.analyse(&block, &mut |_, _, _| {});
                }
            });
            let mut out: [Vec<Vec<f32>>; MAX_STEMS] = std::array::from_fn(|_| vec![Vec::new(); 2]);
            for start in (0..input[0].len()).step_by(777) {
                let block: Vec<Vec<f32>> = input
                    .iter()
                    .map(|c| c[start..(start + 777).min(c.len())].to_vec())
                    .collect();
                tx.send(block.clone()).unwrap();
                engine.process(&block);
                for (stem, out) in out.iter_mut().enumerate() {
                    for (c, out) in out.iter_mut().enumerate() {
                        out.extend_from_slice(engine.stem(stem, c));
                    }
                }
            }
            out
        });
        for (stem, (out, reference)) in out.iter().zip(&reference).enumerate() {
            assert!(out == reference, "{settings:?}: stem {stem} differs");
        }
        // 2DFT's odd patches are all the half's: a stem from the even ones alone would
        // differ. REPET-SIM's period model was at work: without it the stems differ.
        if algorithm == Algorithm::Ft2d {
            continue;
        }
        settings.repet.period_model = false;
        assert!(
            one(settings) != reference,
            "{settings:?}: no period model heard"
        );
    }
    assert_eq!(split, 6);
}

#[test]
fn same_input_same_bits_and_reset_starts_afresh() {
    let input = vec![noise(40_000, 6), noise(40_000, 7)];
    let mut engine = Engine::new(Settings::default(), SR, 2, 512).unwrap();
    let first = run_fixed(&mut engine, &input, 512, 0);
    engine.reset();
    let again = run_fixed(&mut engine, &input, 512, 0);
    let fresh = run_fixed(
        &mut Engine::new(Settings::default(), SR, 2, 512).unwrap(),
        &input,
        512,
        0,
    );
    assert!(first == again && first == fresh);
}

#[test]
fn no_stem_ever_carries_a_denormal() {
    // Tones and clicks over noise that decays from full scale to −280 dBFS over 3 s:
    // quiet bins under small masks (the steepest mask power makes them tiny), the
    // products that fall below f32's normal range.
    let len = 4 * SR as usize;
    let n = noise(len, 91);
    let (h, p) = tones_and_clicks(len, SR, 5_000);
    let input: Vec<f32> = (0..len)
        .map(|t| h[t] + p[t] + n[t] * 10f32.powf(-14.0 * (t as f32 / (3.0 * SR)).min(1.0)))
        .collect();
    let steep = settings_matrix().into_iter().map(|mut s| {
        s.hpss.mask_power = 10.0;
        s
    });
    for settings in settings_matrix().into_iter().chain(steep) {
        let mut engine = Engine::new(settings, SR, 1, 4096).unwrap();
        let out = run_fixed(&mut engine, std::slice::from_ref(&input), 512, 0);
        for (s, stem) in out.iter().enumerate().take(engine.stem_count()) {
            let bad = stem[0].iter().position(|x| x.is_subnormal());
            assert!(
                bad.is_none(),
                "{settings:?}: stem {s} has a denormal at {bad:?}"
            );
        }
    }
}

#[test]
fn bad_samples_never_reach_the_output() {
    let mut input = noise(60_000, 8);
    input[10_000] = f32::NAN;
    input[10_001] = f32::INFINITY;
    input[10_002] = f32::NEG_INFINITY;
    input[20_000] = 1e30;
    for x in &mut input[30_000..31_000] {
        *x = 1e-40;
    }
    let mut engine = Engine::new(Settings::default(), SR, 1, 512).unwrap();
    let out = run_fixed(&mut engine, &[input], 512, 0);
    for stem in &out {
        assert!(
            stem[0]
                .iter()
                .all(|x| x.is_finite() && x.abs() <= 4.0 * unweave::engine::INPUT_LIMIT)
        );
    }
}

/// Offline, whole-spectrogram HPSS with centred medians and the same masks,
/// computed the plain way (a sort per bin per frame), as the reference.
fn offline_hpss_foreground(
    input: &[f32],
    fft_size: usize,
    width_frames: usize,
    width_bins: usize,
) -> Vec<f32> {
    use realfft::RealFftPlanner;
    let hop = fft_size / 4;
    let bins = fft_size / 2 + 1;
    let window = unweave::engine::stft::hann(fft_size);
    let mut planner = RealFftPlanner::<f32>::new();
    let fwd = planner.plan_fft_forward(fft_size);
    let inv = planner.plan_fft_inverse(fft_size);
    // Frame k ends at (k + 1) · hop, as in the engine (frames before 0 are silence).
    let frames = input.len() / hop;
    let sample = |t: isize| {
        if t < 0 || t as usize >= input.len() {
            0.0
        } else {
            input[t as usize]
        }
    };
    let mut spectra = Vec::new();
    let mut mags = Vec::new();
    for k in 0..frames {
        let start = ((k + 1) * hop) as isize - fft_size as isize;
        let mut t: Vec<f32> = (0..fft_size)
            .map(|j| sample(start + j as isize) * window[j])
            .collect();
        let mut s = fwd.make_output_vec();
        fwd.process(&mut t, &mut s).unwrap();
        mags.push(s.iter().map(|x| x.norm_sqr().sqrt()).collect::<Vec<f32>>());
        spectra.push(s);
    }
    let median = |mut v: Vec<f32>| {
        v.sort_by(f32::total_cmp);
        v[v.len() / 2]
    };
    let (ht, hf) = ((width_frames - 1) / 2, (width_bins - 1) / 2);
    let mut out = vec![0.0; input.len() + fft_size];
    let gain = 1.0 / (1.5 * fft_size as f32);
    for k in 0..frames {
        let mut spec = spectra[k].clone();
        for f in 0..bins {
            let h = median(
                (0..width_frames)
                    .map(|i| {
                        let n = k as isize + i as isize - ht as isize;
                        if n < 0 || n as usize >= frames {
                            0.0
                        } else {
                            mags[n as usize][f]
                        }
                    })
                    .collect(),
            );
            let p = median(
                (0..width_bins)
                    .map(|i| {
                        mags[k][unweave::engine::median::reflect(
                            f as isize + i as isize - hf as isize,
                            bins,
                        )]
                    })
                    .collect(),
            );
            let z = h.max(p);
            let m = if z < 1.175_494_4e-38 {
                0.5
            } else {
                let (a, b) = ((p / z).powi(2), (h / z).powi(2));
                a / (a + b)
            };
            spec[f] *= m;
        }
        spec[0].im = 0.0;
        spec[bins - 1].im = 0.0;
        let mut t = inv.make_output_vec();
        inv.process(&mut spec, &mut t).unwrap();
        let start = (k + 1) * hop;
        for j in 0..fft_size {
            if start + j >= fft_size {
                out[start + j - fft_size] += t[j] * window[j] * gain;
            }
        }
    }
    out.truncate(input.len());
    out
}

#[test]
fn streaming_hpss_equals_offline_centred_hpss() {
    let (h, p) = tones_and_clicks(80_000, SR, 7_000);
    let mix: Vec<f32> = h
        .iter()
        .zip(&p)
        .zip(noise(80_000, 11))
        .map(|((a, b), n)| a + b + 0.01 * n)
        .collect();
    for fft_size in [1024, 2048] {
        let settings = Settings {
            fft_size,
            ..Settings::default()
        };
        let mut engine = Engine::new(settings, SR, 1, 1024).unwrap();
        let latency = engine.latency();
        let out = run_fixed(&mut engine, &[mix.clone()], 1024, latency);
        let streamed = &out[Stem::Foreground as usize][0][latency..];
        let hop = fft_size / 4;
        let frames =
            unweave::engine::hpss::harmonic_frames(settings.hpss.harmonic_width_ms, SR, hop);
        let bins =
            unweave::engine::hpss::percussive_bins(settings.hpss.percussive_width_hz, SR, fft_size);
        let offline = offline_hpss_foreground(&mix, fft_size, frames, bins);
        // Away from the end (where the offline medians see the signal stop).
        let edge = fft_size + frames * hop;
        let worst = (0..mix.len() - edge)
            .map(|t| (streamed[t] - offline[t]).abs())
            .fold(0.0, f32::max);
        assert!(
            worst < 1e-5,
            "fft {fft_size}: streaming and offline differ by {worst}"
        );
        let energy: f32 = offline.iter().map(|x| x * x).sum();
        assert!(energy > 1.0, "the reference foreground is not trivial");
    }
}

/// Separation quality on a mixture made here: steady tones plus short noise bursts,
/// each scored against its own true part. The unseparated mix scores about 0 dB on
/// each (the parts are about equally loud), a separator that does not work no better.
#[test]
fn tones_and_bursts_come_apart() {
    let len = 5 * 44_100;
    let (tones, bursts) = tones_and_clicks(len, SR, 11_025);
    let mix: Vec<f32> = tones.iter().zip(&bursts).map(|(a, b)| a + b).collect();
    let floor_h = unweave::metrics::sdr(&tones, &mix);
    let floor_p = unweave::metrics::sdr(&bursts, &mix);
    for settings in [Settings::default(), {
        let mut s = Settings::default();
        s.hpss.low_latency = true;
        s
    }] {
        let mut engine = Engine::new(settings, SR, 1, 512).unwrap();
        let latency = engine.latency();
        let out = run_fixed(&mut engine, &[mix.clone()], 512, latency);
        let h = unweave::metrics::sdr(&tones, &out[Stem::Background as usize][0][latency..]);
        let p = unweave::metrics::sdr(&bursts, &out[Stem::Foreground as usize][0][latency..]);
        eprintln!(
            "{settings:?}: harmonic {h:.1} dB (mix {floor_h:.1}), percussive {p:.1} dB (mix {floor_p:.1})"
        );
        if settings.hpss.low_latency {
            // A causal median sees a new tone only once half its window holds it: the
            // first ~180 ms of the tones go to the percussive stem. The bursts still
            // leave the mix far behind.
            assert!(p > floor_p + 8.0, "percussive stem {p:.1} dB");
            assert!(h > 12.0, "harmonic stem {h:.1} dB");
        } else {
            assert!(h > floor_h + 10.0, "harmonic stem {h:.1} dB");
            assert!(p > floor_p + 20.0 && p > 10.0, "percussive stem {p:.1} dB");
        }
    }
}

/// Bad samples are neutralised before any history buffer: two seconds after they end,
/// every stem is again what a clean run of the same music gives. Loud but legal input
/// (full-scale square waves, DC) stays finite and bounded.
#[test]
fn bad_input_leaves_no_trace_two_seconds_later() {
    let len = 6 * 44_100;
    let (h, p) = tones_and_clicks(len, SR, 9_000);
    let clean: Vec<f32> = h.iter().zip(&p).map(|(a, b)| a + b).collect();
    let (start, end) = (44_100, 44_100 + 4_410);
    type Corrupt = fn(usize) -> f32;
    let cases: [(&str, Corrupt); 5] = [
        ("NaN", |_| f32::NAN),
        ("+inf", |_| f32::INFINITY),
        ("-inf", |_| f32::NEG_INFINITY),
        ("denormal", |t| if t % 2 == 0 { 1e-40 } else { -1e-42 }),
        ("huge spike", |t| if t % 1000 == 0 { 1e30 } else { 0.0 }),
    ];
    let settings = Settings::default();
    let mut engine = Engine::new(settings, SR, 1, 512).unwrap();
    let latency = engine.latency();
    let reference = run_fixed(&mut engine, &[clean.clone()], 512, 0);
    let settle = end + 2 * 44_100 + latency;
    for (name, corrupt) in cases {
        let mut bad = clean.clone();
        for (t, x) in bad[start..end].iter_mut().enumerate() {
            *x = corrupt(t);
        }
        let mut engine = Engine::new(settings, SR, 1, 512).unwrap();
        let out = run_fixed(&mut engine, &[bad], 512, 0);
        for (stem, reference) in out.iter().zip(&reference) {
            assert!(
                stem[0]
                    .iter()
                    .all(|x| x.is_finite() && x.abs() <= 4.0 * unweave::engine::INPUT_LIMIT),
                "{name}"
            );
            let worst = (settle..len)
                .map(|t| (stem[0][t] - reference[0][t]).abs())
                .fold(0.0, f32::max);
            assert!(
                worst < 1e-6,
                "{name}: stems still differ from a clean run 2 s later ({worst})"
            );
        }
    }
    for (name, signal) in [
        (
            "square",
            (0..len)
                .map(|t| if (t / 50) % 2 == 0 { 1.0 } else { -1.0 })
                .collect::<Vec<f32>>(),
        ),
        ("DC", vec![0.9; len]),
        ("silence", vec![0.0; len]),
    ] {
        let mut engine = Engine::new(settings, SR, 1, 512).unwrap();
        let out = run_fixed(&mut engine, &[signal], 512, 0);
        for stem in &out {
            assert!(
                stem[0].iter().all(|x| x.is_finite() && x.abs() < 4.0),
                "{name}"
            );
        }
    }
}

/// For every algorithm at its defaults: bad samples (NaN, ±∞, denormals, huge spikes)
/// and loud legal input (full-scale square, DC) leave every stem finite and bounded,
/// and once the bad samples have passed through the latency the stems again add up
/// to the input exactly: the main output at default settings nulls against the
/// delayed input within two seconds (here: at once). REPET's 24 s buffer holds the
/// bad stretch as silence, so its stems differ from a clean run's for a while; their
/// sum does not.
#[test]
fn every_algorithm_nulls_against_the_input_right_after_bad_samples() {
    use unweave::engine::Algorithm;
    let len = 8 * 44_100;
    let (h, p) = tones_and_clicks(len, SR, 9_000);
    let (band, lead) = loop_and_lead(len, SR, 1.3, 5);
    let music: Vec<f32> = (0..len).map(|t| h[t] + p[t] + band[t] + lead[t]).collect();
    let (start, end) = (2 * 44_100, 2 * 44_100 + 4_410);
    type Corrupt = fn(usize) -> f32;
    let cases: [(&str, Corrupt); 7] = [
        ("NaN", |_| f32::NAN),
        ("+inf", |_| f32::INFINITY),
        ("-inf", |_| f32::NEG_INFINITY),
        ("denormal", |t| if t % 2 == 0 { 1e-40 } else { -1e-42 }),
        ("huge spike", |t| if t == 7 { 1e30 } else { 0.0 }),
        ("full-scale square", |t| {
            if (t / 50) % 2 == 0 { 1.0 } else { -1.0 }
        }),
        ("DC", |_| 1.0),
    ];
    for algorithm in Algorithm::ALL {
        let settings = Settings {
            algorithm,
            ..Settings::default()
        };
        for (name, corrupt) in cases {
            let mut bad = music.clone();
            for (t, x) in bad[start..end].iter_mut().enumerate() {
                *x = corrupt(t);
            }
            let mut engine = Engine::new(settings, SR, 1, 512).unwrap();
            if algorithm == Algorithm::Nmf {
                // Taught on the first two seconds, so that NMF really splits frames.
                teach(&mut engine, &[&music[..start]]);
            }
            let latency = engine.latency();
            let out = run_fixed(&mut engine, &[bad.clone()], 512, 0);
            for stem in &out {
                assert!(
                    stem[0]
                        .iter()
                        .all(|x| x.is_finite() && x.abs() <= 4.0 * unweave::engine::INPUT_LIMIT),
                    "{algorithm:?}, {name}: a stem left its bounds"
                );
            }
            let worst = (end + latency..len)
                .map(|t| (out.iter().map(|s| s[0][t]).sum::<f32>() - bad[t - latency]).abs())
                .fold(0.0, f32::max);
            assert!(
                worst < 1e-5,
                "{algorithm:?}, {name}: the stems miss the input by {worst} after the bad samples"
            );
        }
    }
}

/// Hosts may ask for any rate (validators try 1 kHz to 1536 kHz, fractional ones too):
/// every algorithm builds, keeps its window's length in time by scaling the FFT, stays
/// finite and still sums to the input.
#[test]
fn any_sample_rate_a_host_may_ask_for() {
    use unweave::engine::Algorithm;
    for rate in [
        1_000.0,
        1_234.5678,
        1_883.57,
        5_425.16,
        7_529.7,
        768_000.0,
        1_536_000.0,
    ] {
        for algorithm in Algorithm::ALL {
            let settings = Settings {
                algorithm,
                ..Settings::default()
            };
            let mut engine = Engine::new(settings, rate, 2, 1024)
                .unwrap_or_else(|e| panic!("{algorithm:?} at {rate} Hz: {e}"));
            // The window lasts as long as the chosen size does somewhere in 8 … 384 kHz.
            let window_s = engine.fft_size() as f32 / rate;
            let (shortest, longest) = (
                settings.fft_size as f32 / 384_000.0,
                settings.fft_size as f32 / 8_000.0,
            );
            assert!(
                window_s >= shortest * 0.999 && window_s <= longest * 1.001,
                "{algorithm:?} at {rate} Hz: a {window_s} s window"
            );
            let len = ((rate * 0.4) as usize).max(engine.latency() + 2048);
            let input = vec![noise(len, 3), noise(len, 4)];
            let latency = engine.latency();
            let out = run_fixed(&mut engine, &input, 1024, latency);
            assert!(
                out.iter().flatten().flatten().all(|x| x.is_finite()),
                "{algorithm:?} at {rate} Hz: not finite"
            );
            let worst = reconstruction_error(&out, &input, latency);
            assert!(worst < 1e-4, "{algorithm:?} at {rate} Hz: error {worst}");
        }
    }
}
