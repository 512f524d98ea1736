//! The settings table: the one truth for every separation knob. Its rows are the
//! command line's `--set NAME=VALUE` (with `--help`), the plugin's parameters (names,
//! units, ranges, lists), the editor's controls, and the rule for which changes need a
//! new engine. A knob is one row here and one field in its settings struct.

use super::spec::ROW;
use super::*;

const FFT_SIZE_VALUES: [f32; 5] = [512.0, 1024.0, 2048.0, 4096.0, 8192.0];
const FFT_SIZE_IDS: [&str; 5] = ["512", "1024", "2048", "4096", "8192"];
const PERIOD_BAR_IDS: [&str; 3] = ["1", "2", "4"];
const PERIOD_BAR_LABELS: [&str; 3] = ["1 bar", "2 bars", "4 bars"];

fn hpss(s: &Settings) -> bool {
    s.algorithm == Algorithm::Hpss
}
fn stems(s: &Settings) -> bool {
    s.algorithm == Algorithm::Stems
}
/// HPSS's knobs: HPSS's own, and the drums stage of Stems.
fn median_split(s: &Settings) -> bool {
    hpss(s) || stems(s)
}
/// REPET-SIM's knobs: REPET-SIM's own, and the lead stage of Stems.
fn similar_frames(s: &Settings) -> bool {
    repet_sim(s) || stems(s)
}
fn repet(s: &Settings) -> bool {
    s.algorithm == Algorithm::Repet
}
/// Where a period is tracked: REPET, and REPET-SIM's (or Stems' lead's) period model.
fn tracks_period(s: &Settings) -> bool {
    repet(s) || (similar_frames(s) && s.repet.period_model)
}
fn repet_auto(s: &Settings) -> bool {
    tracks_period(s) && s.repet.period_source == PeriodSource::Auto
}
fn repet_sim(s: &Settings) -> bool {
    s.algorithm == Algorithm::RepetSim
}
fn rolling(s: &Settings) -> bool {
    s.algorithm.is_repet() || stems(s)
}
fn ft2d(s: &Settings) -> bool {
    s.algorithm == Algorithm::Ft2d
}
/// Where a lead is what does not repeat: the repeating family and Stems' lead.
fn lead_by_repetition(s: &Settings) -> bool {
    rolling(s) || ft2d(s)
}
fn nmf(s: &Settings) -> bool {
    s.algorithm == Algorithm::Nmf
}

/// The settings table, in the order hosts list the parameters and the editor shows them.
pub const SPECS: &[Spec] = &[
    Spec {
        id: "fft_size",
        name: "FFT size",
        unit: " samples",
        kind: Kind::Steps {
            values: &FFT_SIZE_VALUES,
            ids: &FFT_SIZE_IDS,
            labels: &FFT_SIZE_IDS,
        },
        shown: |_| true,
        rebuilds: Rebuild::When(&[]),
        help: "STFT window length (hop = size / 4); 512, 1024, 2048, 4096 or 8192",
        get: |s| s.fft_size as f32,
        set: |s, v| s.fft_size = v as usize,
        ..ROW
    },
    Spec {
        id: "harmonic_width",
        name: "Harmonic width",
        unit: " ms",
        kind: Kind::Float {
            min: 10.0,
            max: MAX_HARMONIC_WIDTH_MS,
        },
        skew: true,
        shown: hpss,
        rebuilds: Rebuild::WhenCentred,
        help: "HPSS: length of the median across time (harmonic estimate)",
        get: |s| s.hpss.harmonic_width_ms,
        set: |s, v| s.hpss.harmonic_width_ms = v,
        ..ROW
    },
    Spec {
        id: "percussive_width",
        name: "Percussive width",
        unit: " Hz",
        kind: Kind::Float {
            min: 20.0,
            max: 5000.0,
        },
        skew: true,
        shown: median_split,
        help: "HPSS, Stems (drums): width of the median across frequency (percussive estimate)",
        get: |s| s.hpss.percussive_width_hz,
        set: |s, v| s.hpss.percussive_width_hz = v,
        ..ROW
    },
    Spec {
        id: "mask_power",
        name: "Mask power",
        kind: Kind::Float {
            min: 0.5,
            max: 10.0,
        },
        digits: 2,
        shown: median_split,
        help: "HPSS, Stems (drums): exponent of the soft masks (2 = Wiener)",
        get: |s| s.hpss.mask_power,
        set: |s, v| s.hpss.mask_power = v,
        ..ROW
    },
    Spec {
        id: "separation",
        name: "Separation factor",
        kind: Kind::Float {
            min: 1.0,
            max: 10.0,
        },
        skew: true,
        digits: 2,
        shown: median_split,
        rebuilds: Rebuild::WhenResidualToggles,
        help: "HPSS, Stems (drums): separation factor beta; above 1 adds a residual stem (Stems: to other)",
        get: |s| s.hpss.separation,
        set: |s, v| s.hpss.separation = v,
        ..ROW
    },
    Spec {
        id: "low_latency",
        name: "Low latency",
        kind: Kind::Switch,
        shown: hpss,
        rebuilds: Rebuild::When(&[Algorithm::Hpss]),
        help: "HPSS: causal harmonic median, latency = window only",
        get: |s| f32::from(u8::from(s.hpss.low_latency)),
        set: |s, v| s.hpss.low_latency = v >= 0.5,
        ..ROW
    },
    Spec {
        id: "period_source",
        name: "Period source",
        kind: Kind::Choice {
            ids: &PeriodSource::NAMES,
            labels: &["Auto", "Host tempo", "Manual"],
        },
        shown: tracks_period,
        help: "REPET (and the period model of REPET-SIM, Stems): auto (beat spectrum), tempo (bars at the host's tempo) or manual",
        get: |s| s.repet.period_source as usize as f32,
        set: |s, v| s.repet.period_source = PeriodSource::ALL[(v as usize).min(2)],
        ..ROW
    },
    Spec {
        id: "min_period",
        name: "Min period",
        unit: " s",
        kind: Kind::Float {
            min: 0.1,
            max: 10.0,
        },
        skew: true,
        digits: 2,
        shown: repet_auto,
        help: "REPET (and period models): shortest repeating period the tracker may pick",
        get: |s| s.repet.min_period_s,
        set: |s, v| s.repet.min_period_s = v,
        ..ROW
    },
    Spec {
        id: "max_period",
        name: "Max period",
        unit: " s",
        kind: Kind::Float {
            min: 0.2,
            max: 13.0,
        },
        skew: true,
        digits: 2,
        shown: repet_auto,
        help: "REPET (and period models): longest repeating period the tracker may pick (at most buffer_length / 3)",
        get: |s| s.repet.max_period_s,
        set: |s, v| s.repet.max_period_s = v,
        ..ROW
    },
    Spec {
        id: "period_bars",
        name: "Period bars",
        unit: " bars",
        kind: Kind::Steps {
            values: &PERIOD_BARS,
            ids: &PERIOD_BAR_IDS,
            labels: &PERIOD_BAR_LABELS,
        },
        shown: |s| tracks_period(s) && s.repet.period_source == PeriodSource::HostTempo,
        help: "REPET (and period models) with period_source=tempo: bars per period, 1, 2 or 4",
        get: |s| s.repet.period_bars,
        set: |s, v| s.repet.period_bars = v,
        ..ROW
    },
    Spec {
        id: "manual_period",
        name: "Manual period",
        unit: " ms",
        kind: Kind::Float {
            min: 100.0,
            max: 13000.0,
        },
        skew: true,
        shown: |s| tracks_period(s) && s.repet.period_source == PeriodSource::Manual,
        help: "REPET (and period models) with period_source=manual: the period",
        get: |s| s.repet.manual_period_ms,
        set: |s, v| s.repet.manual_period_ms = v,
        ..ROW
    },
    Spec {
        id: "neighbours",
        name: "Neighbours",
        kind: Kind::Integer {
            min: 1,
            max: MAX_NEIGHBOURS,
        },
        shown: similar_frames,
        help: "REPET-SIM, Stems (lead): how many similar frames make the repeating model",
        get: |s| s.repet.neighbours as f32,
        set: |s, v| s.repet.neighbours = v as usize,
        ..ROW
    },
    Spec {
        id: "min_spacing",
        name: "Min spacing",
        unit: " s",
        kind: Kind::Float {
            min: 0.0,
            max: 10.0,
        },
        digits: 2,
        shown: similar_frames,
        help: "REPET-SIM, Stems (lead): least time between chosen frames",
        get: |s| s.repet.min_spacing_s,
        set: |s, v| s.repet.min_spacing_s = v,
        ..ROW
    },
    Spec {
        id: "similarity_threshold",
        name: "Similarity threshold",
        kind: Kind::Float { min: 0.0, max: 1.0 },
        digits: 2,
        shown: similar_frames,
        help: "REPET-SIM, Stems (lead): least cosine similarity of a chosen frame",
        get: |s| s.repet.similarity_threshold,
        set: |s, v| s.repet.similarity_threshold = v,
        ..ROW
    },
    Spec {
        id: "buffer_length",
        name: "Buffer length",
        unit: " s",
        kind: Kind::Float {
            min: 3.0,
            max: 40.0,
        },
        digits: 1,
        shown: rolling,
        rebuilds: Rebuild::When(&[Algorithm::Repet, Algorithm::RepetSim, Algorithm::Stems]),
        help: "REPET, REPET-SIM, Stems: past audio the repeating model draws on (at least 3 x max_period)",
        get: |s| s.repet.buffer_s,
        set: |s, v| s.repet.buffer_s = v,
        ..ROW
    },
    Spec {
        id: "lookahead",
        name: "Lookahead",
        unit: " s",
        kind: Kind::Float {
            min: 0.0,
            max: 10.0,
        },
        digits: 2,
        shown: rolling,
        rebuilds: Rebuild::When(&[Algorithm::Repet, Algorithm::RepetSim, Algorithm::Stems]),
        help: "REPET, REPET-SIM, Stems: audio ahead the model may also use; adds as much latency",
        get: |s| s.repet.lookahead_s,
        set: |s, v| s.repet.lookahead_s = v,
        ..ROW
    },
    Spec {
        id: "period_model",
        name: "Period model",
        kind: Kind::Switch,
        shown: similar_frames,
        help: "REPET-SIM, Stems (lead): also model each frame from its repetitions one, two, ... periods away (REPET's model, with its period settings) and use the mean of the two models; off, similar frames alone (cheaper, for music with no steady period)",
        get: |s| f32::from(u8::from(s.repet.period_model)),
        set: |s, v| s.repet.period_model = v >= 0.5,
        ..ROW
    },
    Spec {
        id: "pitched_lead",
        name: "Pitched lead",
        kind: Kind::Switch,
        shown: lead_by_repetition,
        help: "REPET, REPET-SIM, 2DFT, Stems: the lead keeps only what stands above the broadband level (its partials); drum hits that do not repeat stay in the background",
        get: |s| f32::from(u8::from(s.repet.pitched_lead)),
        set: |s, v| s.repet.pitched_lead = v >= 0.5,
        ..ROW
    },
    Spec {
        id: "high_pass",
        name: "High-pass",
        unit: " Hz",
        kind: Kind::Float {
            min: 0.0,
            max: 1000.0,
        },
        skew: true,
        shown: rolling,
        help: "REPET, REPET-SIM, Stems: below this everything stays in the background",
        get: |s| s.repet.high_pass_hz,
        set: |s, v| s.repet.high_pass_hz = v,
        ..ROW
    },
    Spec {
        id: "patch_length",
        name: "Patch length",
        unit: " s",
        kind: Kind::Float {
            min: 2.0,
            max: 20.0,
        },
        digits: 1,
        shown: ft2d,
        rebuilds: Rebuild::When(&[Algorithm::Ft2d]),
        help: "2DFT: length of the transformed patch; half of it is lookahead (latency)",
        get: |s| s.ft2d.patch_s,
        set: |s, v| s.ft2d.patch_s = v,
        ..ROW
    },
    Spec {
        id: "neighbourhood",
        name: "Neighbourhood",
        unit: " Hz",
        kind: Kind::Float {
            min: 0.1,
            max: 10.0,
        },
        skew: true,
        digits: 2,
        shown: ft2d,
        rebuilds: Rebuild::When(&[Algorithm::Ft2d]),
        help: "2DFT: width of the peak filter along the modulation rate",
        get: |s| s.ft2d.neighbourhood_hz,
        set: |s, v| s.ft2d.neighbourhood_hz = v,
    },
    Spec {
        id: "peak_threshold",
        name: "Peak threshold",
        kind: Kind::Float { min: 0.0, max: 1.0 },
        digits: 2,
        shown: ft2d,
        help: "2DFT: peaks weaker than this share of the strongest are not repeating",
        get: |s| s.ft2d.threshold,
        set: |s, v| s.ft2d.threshold = v,
        ..ROW
    },
    Spec {
        id: "ft2d_high_pass",
        name: "2DFT high-pass",
        unit: " Hz",
        kind: Kind::Float {
            min: 0.0,
            max: 1000.0,
        },
        skew: true,
        shown: ft2d,
        help: "2DFT: below this everything stays in the background",
        get: |s| s.ft2d.high_pass_hz,
        set: |s, v| s.ft2d.high_pass_hz = v,
        ..ROW
    },
    Spec {
        id: "nmf_taught",
        name: "Taught stem",
        kind: Kind::Choice {
            ids: &Taught::NAMES,
            labels: &["Background", "Foreground"],
        },
        shown: nmf,
        help: "NMF: which stem the taught templates describe, background or foreground",
        get: |s| s.nmf.taught as usize as f32,
        set: |s, v| s.nmf.taught = Taught::ALL[(v as usize).min(1)],
        ..ROW
    },
    Spec {
        id: "nmf_components",
        name: "Templates",
        kind: Kind::Integer {
            min: 1,
            max: MAX_NMF_COMPONENTS,
        },
        shown: nmf,
        help: "NMF: templates learned when a stem is taught",
        get: |s| s.nmf.components as f32,
        set: |s, v| s.nmf.components = v as usize,
        ..ROW
    },
    Spec {
        id: "nmf_free",
        name: "Free templates",
        kind: Kind::Integer {
            min: 0,
            max: MAX_FREE_COMPONENTS,
        },
        shown: nmf,
        help: "NMF: templates that follow the untaught stem as it plays",
        get: |s| s.nmf.free_components as f32,
        set: |s, v| s.nmf.free_components = v as usize,
        ..ROW
    },
    Spec {
        id: "nmf_iterations",
        name: "Iterations",
        kind: Kind::Integer {
            min: 1,
            max: MAX_NMF_ITERATIONS,
        },
        shown: nmf,
        help: "NMF: updates of the activations per frame (CPU against accuracy)",
        get: |s| s.nmf.iterations as f32,
        set: |s, v| s.nmf.iterations = v as usize,
        ..ROW
    },
    Spec {
        id: "bass_crossover",
        name: "Bass crossover",
        unit: " Hz",
        kind: Kind::Float {
            min: 40.0,
            max: 500.0,
        },
        skew: true,
        shown: stems,
        help: "Stems: the band's low part up to this is bass, above twice this other",
        get: |s| s.stems.bass_hz,
        set: |s, v| s.stems.bass_hz = v,
        ..ROW
    },
    Spec {
        id: "drums_width",
        name: "Drums width",
        unit: " ms",
        kind: Kind::Float {
            min: 10.0,
            max: MAX_HARMONIC_WIDTH_MS,
        },
        skew: true,
        shown: stems,
        rebuilds: Rebuild::WhenCentred,
        help: "Stems: length of the drums stage's median across time; what lasts longer is not drums",
        get: |s| s.stems.drums_width_ms,
        set: |s, v| s.stems.drums_width_ms = v,
        ..ROW
    },
    Spec {
        id: "drums_lookahead",
        name: "Drums lookahead",
        unit: " ms",
        kind: Kind::Float {
            min: 0.0,
            max: MAX_HARMONIC_WIDTH_MS / 2.0,
        },
        skew: true,
        shown: stems,
        rebuilds: Rebuild::When(&[Algorithm::Stems]),
        help: "Stems: how far ahead the drums' time median reaches (up to half the drums width); as much latency, for bouncing",
        get: |s| s.stems.drums_lookahead_ms,
        set: |s, v| s.stems.drums_lookahead_ms = v,
        ..ROW
    },
];

/// The most similar frames REPET-SIM may combine.
pub const MAX_NEIGHBOURS: usize = 100;
