//! What a row of the settings table is, and how a `NAME=VALUE` pair is read
//! through the table ([`super::SPECS`] holds the rows).

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
    /// HPSS's harmonic width while the median is centred (its lookahead is half of it),
    /// in HPSS or in Stems' drums stage.
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
                changed
                    && match from.algorithm {
                        Algorithm::Hpss => !from.hpss.low_latency,
                        Algorithm::Stems => from.stems.drums_lookahead_ms > 0.0,
                        _ => false,
                    }
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
pub(super) const ROW: Spec = Spec {
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

    /// Number of stems the engine produces: 2, 3 with HPSS's residual, 4 for Stems.
    pub fn stem_count(&self) -> usize {
        match self.algorithm {
            Algorithm::Hpss if !self.hpss.has_residual() => 2,
            algorithm => algorithm.most_stems(),
        }
    }
}
