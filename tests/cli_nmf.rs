//! The offline NMF commands as a user runs them: `nmf`, `mosaic`, `separate --teach`.

mod common;

use std::path::Path;
use std::process::{Command, Output};

fn unweave(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_unweave"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn write_float(path: &Path, channels: &[Vec<f32>], rate: u32) {
    let spec = hound::WavSpec {
        channels: channels.len() as u16,
        sample_rate: rate,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for t in 0..channels[0].len() {
        for c in channels {
            w.write_sample(c[t]).unwrap();
        }
    }
    w.finalize().unwrap();
}

/// A harmonic tone of `f0` with `partials`, sounding where `on(t)` holds.
fn tone(len: usize, rate: f32, f0: f32, partials: usize, on: impl Fn(f32) -> bool) -> Vec<f32> {
    (0..len)
        .map(|i| {
            let t = i as f32 / rate;
            if !on(t) {
                return 0.0;
            }
            (1..=partials)
                .map(|k| (std::f32::consts::TAU * f0 * k as f32 * t).sin() * 0.2 / k as f32)
                .sum()
        })
        .collect()
}

/// Mean magnitude spectrum of a signal.
fn mean_spectrum(signal: &[f32]) -> Vec<f32> {
    let m = unweave::engine::spectrogram::Spectrogram::analyse(&[signal], 2048).magnitude();
    (0..m.rows)
        .map(|i| m.columns().map(|c| c[i]).sum::<f32>() / m.cols as f32)
        .collect()
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let norm = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot / (norm(a) * norm(b))
}

#[test]
fn nmf_decomposes_a_file_into_components_that_sum_to_it() {
    let dir = tempfile::tempdir().unwrap();
    let rate = 22_050;
    let len = 3 * rate as usize;
    let low = tone(len, rate as f32, 220.0, 6, |t| t < 1.5 || t > 2.25);
    let high = tone(len, rate as f32, 1250.0, 3, |t| t > 0.75);
    let mix: Vec<f32> = low.iter().zip(&high).map(|(a, b)| a + b).collect();
    let right: Vec<f32> = mix.iter().map(|x| 0.5 * x).collect();
    write_float(
        &dir.path().join("in-tones.wav"),
        &[mix.clone(), right],
        rate,
    );
    for beta in ["0", "1", "2"] {
        for init in ["random", "snpa"] {
            let out = format!("out-{beta}-{init}");
            let o = unweave(
                &[
                    "nmf",
                    "in-tones.wav",
                    "-k",
                    "2",
                    "--beta",
                    beta,
                    "--init",
                    init,
                    "-o",
                    &out,
                ],
                dir.path(),
            );
            assert!(o.status.success(), "{}", stderr(&o));
            let out = dir.path().join(out);
            let (a, _) = common::read_wav(&out.join("in-tones.component-01.wav"));
            let (b, _) = common::read_wav(&out.join("in-tones.component-02.wav"));
            let (r, _) = common::read_wav(&out.join("in-tones.reconstruction.wav"));
            assert_eq!((a[0].len(), r[0].len()), (len, len));
            let worst = (0..len)
                .map(|t| (a[0][t] + b[0][t] - mix[t]).abs())
                .fold(0.0, f32::max);
            assert!(
                worst < 1e-4,
                "beta {beta}, {init}: components miss the input by {worst}"
            );
            // Numbered low to high: the first is the low tone, the second the high one.
            let (sdr_low, sdr_high) = (
                unweave::metrics::sdr(&low, &a[0]),
                unweave::metrics::sdr(&high, &b[0]),
            );
            let sdr_model = unweave::metrics::sdr(&mix, &r[0]);
            eprintln!(
                "beta {beta}, {init}: low {sdr_low:.1} dB, high {sdr_high:.1} dB, reconstruction {sdr_model:.1} dB"
            );
            // Itakura-Saito weighs quiet bins as loud ones: its model overshoots
            // between the partials, so only its masks are held to the mark.
            let model_floor = if beta == "0" { f64::NEG_INFINITY } else { 10.0 };
            assert!(
                sdr_low > 10.0 && sdr_high > 10.0 && sdr_model > model_floor,
                "beta {beta}, {init}: low {sdr_low:.1}, high {sdr_high:.1}, reconstruction {sdr_model:.1}"
            );
        }
    }
    // Griffin–Lim rebuilds the phase: a different waveform, the same magnitudes.
    let o = unweave(
        &[
            "nmf",
            "in-tones.wav",
            "-k",
            "2",
            "--phase",
            "griffin-lim",
            "-o",
            "gl",
        ],
        dir.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let (gl, _) = common::read_wav(&dir.path().join("gl/in-tones.component-02.wav"));
    let (mixture_phase, _) =
        common::read_wav(&dir.path().join("out-1-random/in-tones.component-02.wav"));
    let (m_gl, m_mix) = (mean_spectrum(&gl[0]), mean_spectrum(&mixture_phase[0]));
    assert!(
        cosine(&m_gl, &m_mix) > 0.95,
        "Griffin-Lim changed the spectrum: {}",
        cosine(&m_gl, &m_mix)
    );
    assert!(
        unweave::metrics::sdr(&mixture_phase[0], &gl[0]) < 10.0,
        "the phase was not rebuilt"
    );

    let o = unweave(&["nmf", "in-tones.wav", "-k", "0"], dir.path());
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let o = unweave(
        &["nmf", "in-tones.wav", "-k", "2", "--beta", "3"],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

/// Onset strength: the positive change of energy from hop to hop.
fn onset_envelope(signal: &[f32]) -> Vec<f32> {
    let energy: Vec<f32> = signal
        .chunks(256)
        .map(|c| c.iter().map(|x| x * x).sum::<f32>().sqrt())
        .collect();
    energy.windows(2).map(|w| (w[1] - w[0]).max(0.0)).collect()
}

fn correlation(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let mean = |v: &[f32]| v[..n].iter().sum::<f32>() / n as f32;
    let (ma, mb) = (mean(a), mean(b));
    let cov: f32 = (0..n).map(|i| (a[i] - ma) * (b[i] - mb)).sum();
    let var = |v: &[f32], m: f32| (0..n).map(|i| (v[i] - m).powi(2)).sum::<f32>().sqrt();
    cov / (var(a, ma) * var(b, mb))
}

#[test]
fn mosaic_follows_the_targets_rhythm_with_the_timbres_sounds() {
    let dir = tempfile::tempdir().unwrap();
    let rate = 22_050;
    let len = 3 * rate as usize;
    // Timbre: a sustained organ-like tone sliding through three pitches.
    let timbre: Vec<f32> = (0..len)
        .map(|i| {
            let t = i as f32 / rate as f32;
            let f0 = [196.0, 247.0, 294.0][(t * 1.5) as usize % 3];
            (1..=8)
                .map(|k| (std::f32::consts::TAU * f0 * k as f32 * t).sin() * 0.15 / k as f32)
                .sum()
        })
        .collect();
    // Target: an irregular rhythm of short noise bursts.
    let hits = [0.1, 0.35, 0.5, 0.9, 1.2, 1.3, 1.7, 2.2, 2.35, 2.8];
    let burst = common::noise(len, 3);
    let target: Vec<f32> = (0..len)
        .map(|i| {
            let t = i as f32 / rate as f32;
            hits.iter()
                .filter(|&&h| t >= h)
                .map(|&h| 0.5 * burst[i] * (-(t - h) / 0.03).exp())
                .sum()
        })
        .collect();
    write_float(&dir.path().join("in-timbre.wav"), &[timbre.clone()], rate);
    write_float(&dir.path().join("in-target.wav"), &[target.clone()], rate);
    for sparse in [false, true] {
        let out = format!("mosaic-{sparse}.wav");
        let mut args = vec![
            "mosaic",
            "--timbre",
            "in-timbre.wav",
            "--target",
            "in-target.wav",
            "--out",
            &out,
        ];
        if sparse {
            args.push("--sparse");
        }
        let o = unweave(&args, dir.path());
        assert!(o.status.success(), "{}", stderr(&o));
        let (mosaic, _) = common::read_wav(&dir.path().join(&out));
        assert_eq!(mosaic[0].len(), len);
        let rhythm = correlation(&onset_envelope(&target), &onset_envelope(&mosaic[0]));
        // The timbre's sounds: energy in the bins where the timbre has its partials.
        let partials: Vec<bool> = {
            let m = mean_spectrum(&timbre);
            let peak = m.iter().fold(0.0f32, |a, &b| a.max(b));
            m.iter().map(|&x| x > 0.01 * peak).collect()
        };
        let share = |signal: &[f32]| {
            let m = mean_spectrum(signal);
            let inside: f32 = m
                .iter()
                .zip(&partials)
                .filter(|p| *p.1)
                .map(|p| p.0 * p.0)
                .sum();
            inside / m.iter().map(|x| x * x).sum::<f32>()
        };
        let (mosaic_share, target_share) = (share(&mosaic[0]), share(&target));
        eprintln!(
            "sparse {sparse}: onset correlation {rhythm:.2}; energy on the timbre's partials {mosaic_share:.2} (the target's {target_share:.2})"
        );
        assert!(rhythm > 0.6, "sparse {sparse}: onset correlation {rhythm}");
        assert!(
            mosaic_share > 0.5 && mosaic_share > 3.0 * target_share,
            "sparse {sparse}: energy on the timbre's partials {mosaic_share}, the target's {target_share}"
        );
    }
}

#[test]
fn separate_with_nmf_learns_the_taught_stem_from_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let rate = 44_100;
    let len = 4 * rate as usize;
    let chord: Vec<f32> = tone(len, rate as f32, 110.0, 8, |_| true)
        .iter()
        .zip(tone(len, rate as f32, 164.8, 6, |_| true))
        .map(|(a, b)| a + b)
        .collect();
    let notes = [587.3, 740.0, 659.3, 880.0];
    let melody: Vec<f32> = (0..len)
        .map(|i| {
            let t = i as f32 / rate as f32;
            let f0 = notes[(t * 4.0) as usize % notes.len()];
            (1..=4)
                .map(|k| (std::f32::consts::TAU * f0 * k as f32 * t).sin() * 0.15 / k as f32)
                .sum()
        })
        .collect();
    let mix: Vec<f32> = chord.iter().zip(&melody).map(|(a, b)| a + b).collect();
    write_float(
        &dir.path().join("in-chord.wav"),
        &[chord[..2 * rate as usize].to_vec()],
        rate,
    );
    write_float(&dir.path().join("in-mix.wav"), &[mix.clone()], rate);
    let o = unweave(
        &[
            "separate",
            "-a",
            "nmf",
            "--teach",
            "in-chord.wav",
            "in-mix.wav",
            "-q",
        ],
        dir.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let (fg, _) = common::read_wav(&dir.path().join("in-mix.foreground.wav"));
    let (bg, _) = common::read_wav(&dir.path().join("in-mix.background.wav"));
    let skip = rate as usize / 2;
    let (sdr_fg, sdr_bg) = (
        unweave::metrics::sdr(&melody[skip..], &fg[0][skip..]),
        unweave::metrics::sdr(&chord[skip..], &bg[0][skip..]),
    );
    let (mix_fg, mix_bg) = (
        unweave::metrics::sdr(&melody[skip..], &mix[skip..]),
        unweave::metrics::sdr(&chord[skip..], &mix[skip..]),
    );
    eprintln!("melody {sdr_fg:.2} dB (mix {mix_fg:.2}), chord {sdr_bg:.2} dB (mix {mix_bg:.2})");
    assert!(sdr_fg > mix_fg + 6.0 && sdr_bg > mix_bg + 6.0);

    let o = unweave(&["separate", "-a", "nmf", "in-mix.wav"], dir.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--teach"), "{}", stderr(&o));
    let o = unweave(
        &[
            "separate",
            "-a",
            "nmf",
            "--teach",
            "nothing.wav",
            "in-mix.wav",
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("nothing.wav"), "{}", stderr(&o));
}
