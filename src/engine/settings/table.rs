//! The settings table: the one truth for every separation knob. Its rows are the
//! command line's `--set NAME=VALUE` (with `--help`), the plugin's parameters (names,
//! units, ranges, lists), the editor's controls, and the rule for which changes need a
//! new engine. A knob is one row here and one field in its settings struct.

use std::fmt;

use super::*;

/// How a setting's value is written and read.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Kind {
    /// A real number in `[min, max]`.
    Float { min: f32, max: f32 },
    /// `on`/`off` (also `true`/`false`, `1`/`0`).
    Switch,
    /// A whole number in `[min, max]`.
    Integer { min: usize, max: usize },
    /// One of a list; the value is its index. `ids` are what `--set` takes and saved
    /// states hold, `labels` what a host and the editor show.
    Choice {
        ids: &'static [&'static str],
        labels: &'static [&'static str],
    },
    /// One of a list of numbers; the value is the number itself.
    Steps {
        values: &'static [f32],
        ids: &'static [&'static str],
        labels: &'static [&'static str],
    },
}

impl Kind {
    /// The list's stable ids and shown labels, for the kinds that are lists.
    pub fn list(self) -> Option<(&'static [&'static str], &'static [&'static str])> {
        match self {
            Kind::Choice { ids, labels } | Kind::Steps { ids, labels, .. } => Some((ids, labels)),
            _ => None,
        }
    }
}

/// When changing a setting needs a new engine.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Rebuild {
    /// Applied live.
    Never,
    /// Whenever it changes while one of these algorithms runs (any, when empty).
    When(&'static [Algorithm]),
    /// HPSS's harmonic width while the median is centred (its lookahead is half of it).
    WhenCentred,
    /// HPSS's separation factor, when the residual stem comes or goes.
    WhenResidualToggles,
}

impl Rebuild {
    /// Whether going from `from` to `to` in setting `spec` needs a new engine.
    fn needed(self, spec: &Spec, from: &Settings, to: &Settings) -> bool {
        let changed = (spec.get)(from) != (spec.get)(to);
        match self {
            Rebuild::Never => false,
            Rebuild::When(algorithms) => {
                changed && (algorithms.is_empty() || algorithms.contains(&from.algorithm))
            }
            Rebuild::WhenCentred => {
                changed && from.algorithm == Algorithm::Hpss && !from.hpss.low_latency
            }
            Rebuild::WhenResidualToggles => {
                from.algorithm == Algorithm::Hpss
                    && from.hpss.has_residual() != to.hpss.has_residual()
            }
        }
    }
}

/// One row of the settings table.
#[derive(Clone, Copy, Debug)]
pub struct Spec {
    /// Stable identifier: the `--set` name and the plugin's parameter id.
    pub id: &'static str,
    /// What the plugin and the editor call it.
    pub name: &'static str,
    /// As written after a number (`" ms"`); `--set` takes the value with or without it.
    pub unit: &'static str,
    pub kind: Kind,
    /// A control spends more of its travel on the low end (widths and times that matter
    /// most when small).
    pub skew: bool,
    /// Decimals shown.
    pub digits: usize,
    /// Whether the editor shows it for these settings (its algorithm, its mode).
    pub shown: fn(&Settings) -> bool,
    /// Whether changing it needs a new engine (buffers sized, latency set) rather than
    /// a live update: the one rule [`Settings::needs_rebuild`] reads.
    pub rebuilds: Rebuild,
    pub help: &'static str,
    /// Reads the value from settings (switches as 0/1, choices as their index).
    pub get: fn(&Settings) -> f32,
    /// Writes a value already known to be in range.
    pub set: fn(&mut Settings, f32),
}

/// A row's defaults, to be filled in with `..ROW`.
const ROW: Spec = Spec {
    id: "",
    name: "",
    unit: "",
    kind: Kind::Switch,
    skew: false,
    digits: 0,
    shown: |_| true,
    rebuilds: Rebuild::Never,
    help: "",
    get: |_| 0.0,
    set: |_, _| {},
};

const FFT_SIZE_VALUES: [f32; 5] = [512.0, 1024.0, 2048.0, 4096.0, 8192.0];
const FFT_SIZE_IDS: [&str; 5] = ["512", "1024", "2048", "4096", "8192"];
const PERIOD_BAR_IDS: [&str; 3] = ["1", "2", "4"];
const PERIOD_BAR_LABELS: [&str; 3] = ["1 bar", "2 bars", "4 bars"];

fn hpss(s: &Settings) -> bool {
    s.algorithm == Algorithm::Hpss
}
fn repet(s: &Settings) -> bool {
    s.algorithm == Algorithm::Repet
}
fn repet_auto(s: &Settings) -> bool {
    repet(s) && s.repet.period_source == PeriodSource::Auto
}
fn repet_sim(s: &Settings) -> bool {
    s.algorithm == Algorithm::RepetSim
}
fn rolling(s: &Settings) -> bool {
    s.algorithm.is_repet()
}
fn ft2d(s: &Settings) -> bool {
    s.algorithm == Algorithm::Ft2d
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
        shown: hpss,
        help: "HPSS: width of the median across frequency (percussive estimate)",
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
        shown: hpss,
        help: "HPSS: exponent of the soft masks (2 = Wiener)",
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
        shown: hpss,
        rebuilds: Rebuild::WhenResidualToggles,
        help: "HPSS: separation factor beta; above 1 adds a residual stem",
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
        shown: repet,
        help: "REPET: auto (beat spectrum), tempo (bars at the host's tempo) or manual",
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
        help: "REPET: shortest repeating period the tracker may pick",
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
        help: "REPET: longest repeating period the tracker may pick (at most buffer_length / 3)",
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
        shown: |s| repet(s) && s.repet.period_source == PeriodSource::HostTempo,
        help: "REPET with period_source=tempo: bars per period, 1, 2 or 4",
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
        shown: |s| repet(s) && s.repet.period_source == PeriodSource::Manual,
        help: "REPET with period_source=manual: the period",
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
        shown: repet_sim,
        help: "REPET-SIM: how many similar frames make the repeating model",
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
        shown: repet_sim,
        help: "REPET-SIM: least time between chosen frames",
        get: |s| s.repet.min_spacing_s,
        set: |s, v| s.repet.min_spacing_s = v,
        ..ROW
    },
    Spec {
        id: "similarity_threshold",
        name: "Similarity threshold",
        kind: Kind::Float { min: 0.0, max: 1.0 },
        digits: 2,
        shown: repet_sim,
        help: "REPET-SIM: least cosine similarity of a chosen frame",
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
        rebuilds: Rebuild::When(&[Algorithm::Repet, Algorithm::RepetSim]),
        help: "REPET, REPET-SIM: past audio the repeating model draws on (at least 3 x max_period)",
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
        rebuilds: Rebuild::When(&[Algorithm::Repet, Algorithm::RepetSim]),
        help: "REPET, REPET-SIM: audio ahead the model may also use; adds as much latency",
        get: |s| s.repet.lookahead_s,
        set: |s, v| s.repet.lookahead_s = v,
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
        help: "REPET, REPET-SIM: below this everything stays in the background",
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
];

/// The most similar frames REPET-SIM may combine.
pub const MAX_NEIGHBOURS: usize = 100;

/// Why a `NAME=VALUE` setting was refused.
#[derive(Debug, Clone, PartialEq)]
pub enum SettingError {
    Syntax(String),
    Unknown(String),
    Invalid {
        id: &'static str,
        value: String,
        expected: String,
    },
}

impl fmt::Display for SettingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SettingError::Syntax(s) => write!(f, "setting '{s}' is not of the form NAME=VALUE"),
            SettingError::Unknown(name) => {
                let ids: Vec<&str> = SPECS.iter().map(|s| s.id).collect();
                write!(f, "unknown setting '{name}' (known: {})", ids.join(", "))
            }
            SettingError::Invalid {
                id,
                value,
                expected,
            } => {
                write!(
                    f,
                    "setting {id}={value} is out of range: expected {expected}"
                )
            }
        }
    }
}

impl std::error::Error for SettingError {}

impl Spec {
    pub fn find(id: &str) -> Option<&'static Spec> {
        SPECS.iter().find(|s| s.id == id)
    }

    fn expected(&self) -> String {
        match self.kind {
            Kind::Float { min, max } => format!("a number from {min} to {max}{}", self.unit),
            Kind::Switch => "on or off".to_string(),
            Kind::Integer { min, max } => format!("a whole number from {min} to {max}"),
            Kind::Choice { ids, .. } | Kind::Steps { ids, .. } => {
                format!("one of {}", ids.join(", "))
            }
        }
    }

    /// Parses `text` into the value this setting holds (switches as 0/1).
    pub fn parse(&self, text: &str) -> Result<f32, SettingError> {
        let invalid = || SettingError::Invalid {
            id: self.id,
            value: text.to_string(),
            expected: self.expected(),
        };
        let t = text.trim();
        match self.kind {
            Kind::Switch => match t.to_ascii_lowercase().as_str() {
                "on" | "true" | "1" | "yes" => Ok(1.0),
                "off" | "false" | "0" | "no" => Ok(0.0),
                _ => Err(invalid()),
            },
            Kind::Integer { min, max } => {
                let n: usize = t.parse().map_err(|_| invalid())?;
                if (min..=max).contains(&n) {
                    Ok(n as f32)
                } else {
                    Err(invalid())
                }
            }
            Kind::Choice { ids, .. } => ids
                .iter()
                .position(|n| n.eq_ignore_ascii_case(t))
                .map(|i| i as f32)
                .ok_or_else(invalid),
            Kind::Steps { values, .. } => {
                let v: f32 = t
                    .trim_end_matches(self.unit.trim())
                    .trim()
                    .parse()
                    .map_err(|_| invalid())?;
                values.iter().copied().find(|s| *s == v).ok_or_else(invalid)
            }
            Kind::Float { min, max } => {
                let v: f32 = t
                    .trim_end_matches(self.unit.trim())
                    .trim()
                    .parse()
                    .map_err(|_| invalid())?;
                if v.is_finite() && (min..=max).contains(&v) {
                    Ok(v)
                } else {
                    Err(invalid())
                }
            }
        }
    }
}

impl Settings {
    /// Applies one `NAME=VALUE` pair, as given on the command line.
    pub fn set_from_str(&mut self, pair: &str) -> Result<(), SettingError> {
        let (name, value) = pair
            .split_once('=')
            .ok_or_else(|| SettingError::Syntax(pair.to_string()))?;
        let spec = Spec::find(name.trim())
            .ok_or_else(|| SettingError::Unknown(name.trim().to_string()))?;
        let v = spec.parse(value)?;
        (spec.set)(self, v);
        Ok(())
    }

    /// Sets a value already known to be in range (switches as 0/1).
    pub fn set(&mut self, id: &str, value: f32) {
        match Spec::find(id) {
            Some(spec) => (spec.set)(self, value),
            None => debug_assert!(false, "no setting '{id}'"),
        }
    }

    /// The value of a setting, as [`Settings::set`] takes it.
    pub fn get(&self, id: &str) -> f32 {
        let spec = Spec::find(id).unwrap_or_else(|| panic!("no setting '{id}'"));
        (spec.get)(self)
    }

    /// Whether `other` needs a new engine (different latency or buffer sizes) rather
    /// than a live update: a change of algorithm, or of a setting the table marks.
    pub fn needs_rebuild(&self, other: &Settings) -> bool {
        self.algorithm != other.algorithm
            || SPECS
                .iter()
                .any(|spec| spec.rebuilds.needed(spec, self, other))
    }

    /// Number of stems the engine produces: 2, or 3 with a residual.
    pub fn stem_count(&self) -> usize {
        if self.algorithm == Algorithm::Hpss && self.hpss.has_residual() {
            3
        } else {
            2
        }
    }
}
