//! The settings table: each setting's id (the `--set` name and the plugin's parameter
//! id), unit, range and help, and what reads and writes settings by id.

use std::fmt;

use super::*;

/// How a setting's value is written and read.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Kind {
    /// A real number in `[min, max]`.
    Float { min: f32, max: f32 },
    /// One of [`FFT_SIZES`].
    FftSize,
    /// `on`/`off` (also `true`/`false`, `1`/`0`).
    Switch,
    /// A whole number in `[min, max]`.
    Integer { min: usize, max: usize },
    /// One of a list of names; the value is its index.
    Choice(&'static [&'static str]),
    /// One of a list of numbers (held as the number itself).
    Steps(&'static [f32]),
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
    /// Whether going from `from` to `to` in setting `id` needs a new engine.
    fn needed(self, id: &str, from: &Settings, to: &Settings) -> bool {
        let changed = from.get(id) != to.get(id);
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
    pub unit: &'static str,
    pub kind: Kind,
    pub help: &'static str,
    /// Whether changing it needs a new engine (buffers sized, latency set) rather than
    /// a live update: the one rule [`Settings::needs_rebuild`] reads.
    pub rebuilds: Rebuild,
}

/// The settings table, shared by the command line and the plugin.
pub const SPECS: &[Spec] = &[
    Spec {
        id: "fft_size",
        unit: "samples",
        kind: Kind::FftSize,
        help: "STFT window length (hop = size / 4); 512, 1024, 2048, 4096 or 8192",
        rebuilds: Rebuild::When(&[]),
    },
    Spec {
        id: "harmonic_width",
        unit: "ms",
        kind: Kind::Float {
            min: 10.0,
            max: 1000.0,
        },
        help: "HPSS: length of the median across time (harmonic estimate)",
        rebuilds: Rebuild::WhenCentred,
    },
    Spec {
        id: "percussive_width",
        unit: "Hz",
        kind: Kind::Float {
            min: 20.0,
            max: 5000.0,
        },
        help: "HPSS: width of the median across frequency (percussive estimate)",
        rebuilds: Rebuild::Never,
    },
    Spec {
        id: "mask_power",
        unit: "",
        kind: Kind::Float {
            min: 0.5,
            max: 10.0,
        },
        help: "HPSS: exponent of the soft masks (2 = Wiener)",
        rebuilds: Rebuild::Never,
    },
    Spec {
        id: "separation",
        unit: "",
        kind: Kind::Float {
            min: 1.0,
            max: 10.0,
        },
        help: "HPSS: separation factor beta; above 1 adds a residual stem",
        rebuilds: Rebuild::WhenResidualToggles,
    },
    Spec {
        id: "low_latency",
        unit: "",
        kind: Kind::Switch,
        help: "HPSS: causal harmonic median, latency = window only",
        rebuilds: Rebuild::When(&[Algorithm::Hpss]),
    },
    Spec {
        id: "buffer_length",
        unit: "s",
        kind: Kind::Float {
            min: 3.0,
            max: 40.0,
        },
        help: "REPET, REPET-SIM: past audio the repeating model draws on (at least 3 x max_period)",
        rebuilds: Rebuild::When(&[Algorithm::Repet, Algorithm::RepetSim]),
    },
    Spec {
        id: "lookahead",
        unit: "s",
        kind: Kind::Float {
            min: 0.0,
            max: 10.0,
        },
        help: "REPET, REPET-SIM: audio ahead the model may also use; adds as much latency",
        rebuilds: Rebuild::When(&[Algorithm::Repet, Algorithm::RepetSim]),
    },
    Spec {
        id: "high_pass",
        unit: "Hz",
        kind: Kind::Float {
            min: 0.0,
            max: 1000.0,
        },
        help: "REPET, REPET-SIM: below this everything stays in the background",
        rebuilds: Rebuild::Never,
    },
    Spec {
        id: "min_period",
        unit: "s",
        kind: Kind::Float {
            min: 0.1,
            max: 10.0,
        },
        help: "REPET: shortest repeating period the tracker may pick",
        rebuilds: Rebuild::Never,
    },
    Spec {
        id: "max_period",
        unit: "s",
        kind: Kind::Float {
            min: 0.2,
            max: 13.0,
        },
        help: "REPET: longest repeating period the tracker may pick (at most buffer_length / 3)",
        rebuilds: Rebuild::Never,
    },
    Spec {
        id: "period_source",
        unit: "",
        kind: Kind::Choice(&PeriodSource::NAMES),
        help: "REPET: auto (beat spectrum), tempo (bars at the host's tempo) or manual",
        rebuilds: Rebuild::Never,
    },
    Spec {
        id: "period_bars",
        unit: "bars",
        kind: Kind::Steps(&PERIOD_BARS),
        help: "REPET with period_source=tempo: bars per period, 1, 2 or 4",
        rebuilds: Rebuild::Never,
    },
    Spec {
        id: "manual_period",
        unit: "ms",
        kind: Kind::Float {
            min: 100.0,
            max: 13000.0,
        },
        help: "REPET with period_source=manual: the period",
        rebuilds: Rebuild::Never,
    },
    Spec {
        id: "neighbours",
        unit: "",
        kind: Kind::Integer {
            min: 1,
            max: MAX_NEIGHBOURS,
        },
        help: "REPET-SIM: how many similar frames make the repeating model",
        rebuilds: Rebuild::Never,
    },
    Spec {
        id: "min_spacing",
        unit: "s",
        kind: Kind::Float {
            min: 0.0,
            max: 10.0,
        },
        help: "REPET-SIM: least time between chosen frames",
        rebuilds: Rebuild::Never,
    },
    Spec {
        id: "similarity_threshold",
        unit: "",
        kind: Kind::Float { min: 0.0, max: 1.0 },
        help: "REPET-SIM: least cosine similarity of a chosen frame",
        rebuilds: Rebuild::Never,
    },
    Spec {
        id: "patch_length",
        unit: "s",
        kind: Kind::Float {
            min: 2.0,
            max: 20.0,
        },
        help: "2DFT: length of the transformed patch; half of it is lookahead (latency)",
        rebuilds: Rebuild::When(&[Algorithm::Ft2d]),
    },
    Spec {
        id: "neighbourhood",
        unit: "Hz",
        kind: Kind::Float {
            min: 0.1,
            max: 10.0,
        },
        help: "2DFT: width of the peak filter along the modulation rate",
        rebuilds: Rebuild::When(&[Algorithm::Ft2d]),
    },
    Spec {
        id: "peak_threshold",
        unit: "",
        kind: Kind::Float { min: 0.0, max: 1.0 },
        help: "2DFT: peaks weaker than this share of the strongest are not repeating",
        rebuilds: Rebuild::Never,
    },
    Spec {
        id: "ft2d_high_pass",
        unit: "Hz",
        kind: Kind::Float {
            min: 0.0,
            max: 1000.0,
        },
        help: "2DFT: below this everything stays in the background",
        rebuilds: Rebuild::Never,
    },
    Spec {
        id: "nmf_components",
        unit: "",
        kind: Kind::Integer {
            min: 1,
            max: MAX_NMF_COMPONENTS,
        },
        help: "NMF: templates learned when a stem is taught",
        rebuilds: Rebuild::Never,
    },
    Spec {
        id: "nmf_free",
        unit: "",
        kind: Kind::Integer {
            min: 0,
            max: MAX_FREE_COMPONENTS,
        },
        help: "NMF: templates that follow the untaught stem as it plays",
        rebuilds: Rebuild::Never,
    },
    Spec {
        id: "nmf_iterations",
        unit: "",
        kind: Kind::Integer {
            min: 1,
            max: MAX_NMF_ITERATIONS,
        },
        help: "NMF: updates of the activations per frame (CPU against accuracy)",
        rebuilds: Rebuild::Never,
    },
    Spec {
        id: "nmf_taught",
        unit: "",
        kind: Kind::Choice(&Taught::NAMES),
        help: "NMF: which stem the taught templates describe, background or foreground",
        rebuilds: Rebuild::Never,
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
            Kind::Float { min, max } => format!("a number from {min} to {max} {}", self.unit)
                .trim_end()
                .to_string(),
            Kind::FftSize => format!("one of {FFT_SIZES:?}"),
            Kind::Switch => "on or off".to_string(),
            Kind::Integer { min, max } => format!("a whole number from {min} to {max}"),
            Kind::Choice(names) => format!("one of {}", names.join(", ")),
            Kind::Steps(steps) => format!("one of {steps:?}"),
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
            Kind::FftSize => {
                let n: usize = t.parse().map_err(|_| invalid())?;
                if FFT_SIZES.contains(&n) {
                    Ok(n as f32)
                } else {
                    Err(invalid())
                }
            }
            Kind::Integer { min, max } => {
                let n: usize = t.parse().map_err(|_| invalid())?;
                if (min..=max).contains(&n) {
                    Ok(n as f32)
                } else {
                    Err(invalid())
                }
            }
            Kind::Choice(names) => names
                .iter()
                .position(|n| n.eq_ignore_ascii_case(t))
                .map(|i| i as f32)
                .ok_or_else(invalid),
            Kind::Steps(steps) => {
                let v: f32 = t
                    .trim_end_matches(self.unit)
                    .trim()
                    .parse()
                    .map_err(|_| invalid())?;
                steps.iter().copied().find(|s| *s == v).ok_or_else(invalid)
            }
            Kind::Float { min, max } => {
                let v: f32 = t
                    .trim_end_matches(self.unit)
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
        self.set(spec.id, v);
        Ok(())
    }

    /// Sets a value already known to be in range (switches as 0/1).
    pub fn set(&mut self, id: &str, value: f32) {
        match id {
            "fft_size" => self.fft_size = value as usize,
            "harmonic_width" => self.hpss.harmonic_width_ms = value,
            "percussive_width" => self.hpss.percussive_width_hz = value,
            "mask_power" => self.hpss.mask_power = value,
            "separation" => self.hpss.separation = value,
            "low_latency" => self.hpss.low_latency = value >= 0.5,
            "buffer_length" => self.repet.buffer_s = value,
            "lookahead" => self.repet.lookahead_s = value,
            "high_pass" => self.repet.high_pass_hz = value,
            "min_period" => self.repet.min_period_s = value,
            "max_period" => self.repet.max_period_s = value,
            "period_source" => {
                self.repet.period_source = PeriodSource::ALL[(value as usize).min(2)]
            }
            "period_bars" => self.repet.period_bars = value,
            "manual_period" => self.repet.manual_period_ms = value,
            "neighbours" => self.repet.neighbours = value as usize,
            "min_spacing" => self.repet.min_spacing_s = value,
            "similarity_threshold" => self.repet.similarity_threshold = value,
            "patch_length" => self.ft2d.patch_s = value,
            "neighbourhood" => self.ft2d.neighbourhood_hz = value,
            "peak_threshold" => self.ft2d.threshold = value,
            "ft2d_high_pass" => self.ft2d.high_pass_hz = value,
            "nmf_components" => self.nmf.components = value as usize,
            "nmf_free" => self.nmf.free_components = value as usize,
            "nmf_iterations" => self.nmf.iterations = value as usize,
            "nmf_taught" => self.nmf.taught = Taught::ALL[(value as usize).min(1)],
            _ => debug_assert!(false, "no setting '{id}'"),
        }
    }

    /// The value of a setting, as [`Settings::set`] takes it.
    pub fn get(&self, id: &str) -> f32 {
        let (h, r) = (&self.hpss, &self.repet);
        match id {
            "fft_size" => self.fft_size as f32,
            "harmonic_width" => h.harmonic_width_ms,
            "percussive_width" => h.percussive_width_hz,
            "mask_power" => h.mask_power,
            "separation" => h.separation,
            "low_latency" => f32::from(u8::from(h.low_latency)),
            "buffer_length" => r.buffer_s,
            "lookahead" => r.lookahead_s,
            "high_pass" => r.high_pass_hz,
            "min_period" => r.min_period_s,
            "max_period" => r.max_period_s,
            "period_source" => r.period_source as usize as f32,
            "period_bars" => r.period_bars,
            "manual_period" => r.manual_period_ms,
            "neighbours" => r.neighbours as f32,
            "min_spacing" => r.min_spacing_s,
            "similarity_threshold" => r.similarity_threshold,
            "patch_length" => self.ft2d.patch_s,
            "neighbourhood" => self.ft2d.neighbourhood_hz,
            "peak_threshold" => self.ft2d.threshold,
            "ft2d_high_pass" => self.ft2d.high_pass_hz,
            "nmf_components" => self.nmf.components as f32,
            "nmf_free" => self.nmf.free_components as f32,
            "nmf_iterations" => self.nmf.iterations as f32,
            "nmf_taught" => self.nmf.taught as usize as f32,
            _ => panic!("no setting '{id}'"),
        }
    }

    /// Whether `other` needs a new engine (different latency or buffer sizes) rather
    /// than a live update: a change of algorithm, or of a setting the table marks.
    pub fn needs_rebuild(&self, other: &Settings) -> bool {
        self.algorithm != other.algorithm
            || SPECS
                .iter()
                .any(|spec| spec.rebuilds.needed(spec.id, self, other))
    }

    /// Number of stems the engine produces: 2, or 3 with a residual.
    pub fn stem_count(&self) -> usize {
        match self.algorithm {
            Algorithm::Hpss if self.hpss.has_residual() => 3,
            Algorithm::Hpss
            | Algorithm::Repet
            | Algorithm::RepetSim
            | Algorithm::Ft2d
            | Algorithm::Nmf => 2,
        }
    }
}
