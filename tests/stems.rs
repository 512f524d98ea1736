//! Stems: four stems (drums, bass, other, lead) from one cascade, scored against the
//! true stems, on a code-made band and on the corpus's `stems_*` items.

mod common;

use common::*;
use unweave::engine::stems::{BASS, DRUMS, LEAD, OTHER};
use unweave::engine::{Algorithm, Engine, MAX_STEMS, Settings};
use unweave::metrics::sdr;

const SR: f32 = 44_100.0;

fn stems() -> Settings {
    Settings {
        algorithm: Algorithm::Stems,
        ..Settings::default()
    }
}

/// The lead of a code-made band: random notes from `lowest_hz` over 1.6 octaves,
/// with these partials' amplitudes.
struct Lead {
    lowest_hz: f64,
    partials: &'static [f64],
}

/// A high, thin lead (a flute, a whistle): two partials from 440 Hz.
const HIGH: Lead = Lead {
    lowest_hz: 440.0,
    partials: &[1.0, 0.4],
};

/// A low voice, its twelve partials crowding the spectrum from 110 Hz: the case where
/// the broadband level around a partial is made of other partials.
const LOW_VOICE: Lead = Lead {
    lowest_hz: 110.0,
    partials: &[
        1.0, 0.5, 0.33, 0.25, 0.2, 0.17, 0.14, 0.125, 0.11, 0.1, 0.09, 0.083,
    ],
};

/// A mid voice: eight partials from 220 Hz.
const MID_VOICE: Lead = Lead {
    lowest_hz: 220.0,
    partials: &[1.0, 0.5, 0.33, 0.25, 0.2, 0.17, 0.14, 0.125],
};

// Two stems are written per sample, from one time.
#[allow(clippy::needless_range_loop)]
/// A band made in code, mono, `[drums, bass, other, lead]`: noise bursts every half
/// second; a bass line of four notes (41 to 98 Hz, three harmonics) repeating every
/// 4 s; a chord every 2 s (three notes around middle C, five harmonics each), the
/// pattern repeating; a lead of random notes that never repeats.
fn band(len: usize, seed: u64, lead: &Lead) -> [Vec<f32>; MAX_STEMS] {
    let mut rng = unweave::rng::XorShift::new(seed);
    let sr = SR as f64;
    let tau = std::f64::consts::TAU;
    let mut out: [Vec<f32>; MAX_STEMS] = std::array::from_fn(|_| vec![0.0; len]);
    let burst = (0.06 * sr) as usize;
    let noise = noise(burst, seed ^ 0x5eed);
    for start in (0..len).step_by((0.5 * sr) as usize) {
        for (k, n) in noise.iter().enumerate().take(len.saturating_sub(start)) {
            out[DRUMS][start + k] += 0.5 * n * (-(k as f64) / (0.012 * sr)).exp() as f32;
        }
    }
    let bass = [41.2, 55.0, 98.0, 73.4];
    let chords = [[261.6, 329.6, 392.0], [293.7, 349.2, 440.0]];
    for t in 0..len {
        let s = t as f64 / sr;
        let note = bass[(s as usize) % 4];
        let within = s.fract();
        let envelope = (within / 0.02).min(1.0) * (1.0 - within).min(0.1) * 10.0;
        out[BASS][t] = (0.3
            * envelope
            * (1..=3)
                .map(|h| (tau * note * h as f64 * s).sin() / h as f64)
                .sum::<f64>()) as f32;
        let chord = chords[((s / 2.0) as usize) % 2];
        out[OTHER][t] = (0.06
            * chord
                .iter()
                .flat_map(|f| (1..=5).map(move |h| (tau * f * h as f64 * s).sin() / h as f64))
                .sum::<f64>()) as f32;
    }
    let note_len = (0.3 * sr) as usize;
    let mut phase = 0.0f64;
    for start in (0..len).step_by(note_len) {
        let f = lead.lowest_hz * 3f64.powf(rng.uniform_f64());
        for k in 0..note_len.min(len - start) {
            let s = k as f64 / sr;
            let vibrato = 1.0 + 0.01 * (tau * 5.5 * s).sin();
            phase += tau * f * vibrato / sr;
            let envelope = (s / 0.02).min(1.0) * ((0.3 - s) / 0.03).clamp(0.0, 1.0);
            let tone: f64 = (lead.partials.iter().enumerate())
                .map(|(h, a)| a * ((h + 1) as f64 * phase).sin())
                .sum();
            out[LEAD][start + k] = (0.25 * envelope * tone) as f32;
        }
    }
    out
}

/// Each stem's SDR over `range` (samples, latency removed), in output order, and
/// what the mixture scores as each stem's estimate.
fn scores(
    truth: &[Vec<f32>; MAX_STEMS],
    settings: Settings,
    range: std::ops::Range<usize>,
) -> ([f64; MAX_STEMS], [f64; MAX_STEMS]) {
    let len = truth[0].len();
    let mix: Vec<f32> = (0..len).map(|t| truth.iter().map(|s| s[t]).sum()).collect();
    let mut engine = Engine::new(settings, SR, 1, 1024).unwrap();
    let latency = engine.latency();
    let out = run_fixed(&mut engine, std::slice::from_ref(&mix), 1024, latency);
    let got = std::array::from_fn(|s| {
        let estimate = &out[s][0][latency..];
        sdr(&truth[s][range.clone()], &estimate[range.clone()])
    });
    let mixture = std::array::from_fn(|s| sdr(&truth[s][range.clone()], &mix[range.clone()]));
    (got, mixture)
}

#[test]
fn a_code_made_band_comes_apart_into_its_four_stems() {
    let len = (14.0 * SR) as usize;
    let truth = band(len, 11, &HIGH);
    // From 4 s on: REPET-SIM has heard the band repeat.
    let range = (4.0 * SR) as usize..len;
    for (name, settings) in [
        ("causal", stems()),
        ("with lookahead", {
            let mut s = stems();
            s.stems.drums_lookahead_ms = 180.0;
            s.repet.lookahead_s = 2.0;
            s
        }),
    ] {
        let (got, mixture) = scores(&truth, settings, range.clone());
        println!("{name}: stems {got:.2?}, mixture {mixture:.2?}");
        for s in 0..MAX_STEMS {
            assert!(
                got[s] >= mixture[s] + 3.0,
                "{name}: stem {s} {:.2} dB, the mixture {:.2} dB",
                got[s],
                mixture[s]
            );
        }
    }
}

/// REPET-SIM's foreground by similar frames alone (Pitched lead and Period model off:
/// REPET-SIM as issue #17 found it, one cue), the two-stem view of the lead, scored like
/// [`scores`]. REPET-SIM at its defaults now has both, and gives the lead Stems gives.
fn repet_sim_foreground(
    mix: &[Vec<f32>],
    truth: &[Vec<f32>],
    range: std::ops::Range<usize>,
) -> f64 {
    let mut settings = Settings {
        algorithm: Algorithm::RepetSim,
        ..Settings::default()
    };
    settings.repet.pitched_lead = false;
    settings.repet.period_model = false;
    let mut engine = Engine::new(settings, SR, mix.len(), 1024).unwrap();
    let latency = engine.latency();
    let out = run_fixed(&mut engine, mix, 1024, latency);
    (0..mix.len())
        .map(|c| {
            sdr(
                &truth[c][range.clone()],
                &out[0][c][latency..][range.clone()],
            )
        })
        .sum::<f64>()
        / mix.len() as f64
}

/// Stems' lead is what does not repeat *and* is pitched: against the one cue of
/// repetition (drum hits that do not repeat frame for frame join that foreground), at
/// least 1 dB better where the lead's partials stand apart, and no more than 0.5 dB
/// worse where a low voice's crowd together.
#[test]
fn the_lead_beats_repet_sims_foreground() {
    let len = (14.0 * SR) as usize;
    let range = (4.0 * SR) as usize..len;
    for (name, lead, gain) in [
        ("high lead", &HIGH, 1.0),
        ("mid voice", &MID_VOICE, 1.0),
        ("low voice", &LOW_VOICE, -0.5),
    ] {
        let truth = band(len, 12, lead);
        let mix: Vec<f32> = (0..len).map(|t| truth.iter().map(|s| s[t]).sum()).collect();
        let (got, _) = scores(&truth, stems(), range.clone());
        let foreground = repet_sim_foreground(
            std::slice::from_ref(&mix),
            std::slice::from_ref(&truth[LEAD]),
            range.clone(),
        );
        println!(
            "{name}: lead {:.2} dB, REPET-SIM's foreground by similar frames alone {foreground:.2}",
            got[LEAD]
        );
        assert!(
            got[LEAD] >= foreground + gain,
            "{name}: lead {:.2} dB, REPET-SIM's foreground by similar frames alone {foreground:.2} dB",
            got[LEAD]
        );
    }
}

#[test]
fn the_corpus_bands_come_apart_into_four_stems() {
    let Some(corpus) = corpus() else { return };
    // The mixture as each stem's estimate (ANCHORS.md), per item.
    let items = [
        ("stems_dev_01_popband", [-4.31, -8.77, -8.70, -0.02]),
        ("stems_dev_02_reverb_shuffle", [-3.10, -8.39, -8.83, -0.68]),
    ];
    let names = ["drums", "bass", "other", "lead"];
    for (item, mixture) in items {
        let dir = corpus.join(item);
        let (mix, rate) = read_wav(&dir.join("mix.wav"));
        assert_eq!(rate as f32, SR);
        let mut engine = Engine::new(stems(), SR, mix.len(), 1024).unwrap();
        let latency = engine.latency();
        let out = run_fixed(&mut engine, &mix, 1024, latency);
        let mut got = [0.0; MAX_STEMS];
        for (s, name) in names.iter().enumerate() {
            let (truth, _) = read_wav(&dir.join(format!("{name}.wav")));
            got[s] = (0..mix.len())
                .map(|c| sdr(&truth[c], &out[s][c][latency..]))
                .sum::<f64>()
                / mix.len() as f64;
        }
        let (lead, _) = read_wav(&dir.join("lead.wav"));
        let foreground = repet_sim_foreground(&mix, &lead, 0..mix[0].len());
        println!(
            "{item}: {got:.2?} (mixture {mixture:?}), REPET-SIM's foreground by similar frames alone {foreground:.2}"
        );
        assert!(
            got[LEAD] >= foreground + 1.0,
            "{item}: lead {:.2} dB, not 1 dB above REPET-SIM's foreground by similar frames alone {foreground:.2}",
            got[LEAD]
        );
        for s in 0..MAX_STEMS {
            assert!(
                got[s] >= mixture[s] + 2.0,
                "{item}: {} {:.2} dB, not 2 dB above the mixture's {:.2}",
                names[s],
                got[s],
                mixture[s]
            );
        }
    }
}

/// Not run by default: scores the code-made band (three seeds, from 4 s) with the
/// settings in `UNWEAVE_SET` (`name=value,name=value`) over Stems' defaults, to check
/// that a change holds beyond the corpus. `UNWEAVE_SET=harmonic_width=150 cargo test
/// --test stems -- --ignored --nocapture`.
#[test]
#[ignore]
fn band_scores_with_settings_from_the_environment() {
    let mut settings = stems();
    for pair in std::env::var("UNWEAVE_SET").unwrap_or_default().split(',') {
        if !pair.is_empty() {
            settings.set_from_str(pair).unwrap();
        }
    }
    let len = (14.0 * SR) as usize;
    for seed in [11, 12, 13] {
        let truth = band(len, seed, &HIGH);
        let (got, mixture) = scores(&truth, settings, (4.0 * SR) as usize..len);
        println!("seed {seed}: stems {got:.2?}, mixture {mixture:.2?}");
    }
}
