//! Every user-facing setting of the engine, in the units a musician thinks in
//! (milliseconds, hertz), with one table of names and ranges that the command
//! line (`--set NAME=VALUE`) and the plugin's parameters both use.

use std::fmt;

/// Which separator runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Algorithm {
    /// Median-filter harmonic/percussive separation (FitzGerald 2010, Driedger 2014).
    #[default]
    Hpss,
}

impl Algorithm {
    pub const ALL: [Algorithm; 1] = [Algorithm::Hpss];

    /// The name shown to users and accepted by `--algorithm` (case-insensitive).
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Hpss => "HPSS",
        }
    }

    /// Stem names in output order: foreground, background, then residual when there is one.
    pub fn stem_names(self) -> [&'static str; 3] {
        match self {
            Algorithm::Hpss => ["percussive", "harmonic", "residual"],
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|a| a.name().eq_ignore_ascii_case(text.trim()))
    }
}

/// FFT sizes the engine supports; the hop is always a quarter of the size.
pub const FFT_SIZES: [usize; 5] = [512, 1024, 2048, 4096, 8192];

/// Settings of the median-filter HPSS separator.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HpssSettings {
    /// Length of the median across time that estimates the harmonic part.
    pub harmonic_width_ms: f32,
    /// Width of the median across frequency that estimates the percussive part.
    pub percussive_width_hz: f32,
    /// Exponent of the soft (Wiener) masks: 1 magnitude ratio, 2 power ratio, large values tend to binary.
    pub mask_power: f32,
    /// Driedger's separation factor β (librosa's margin): above 1 a component must dominate the
    /// other by this factor, and what neither claims goes to the residual stem.
    pub separation: f32,
    /// Causal harmonic median (past frames only): latency is the window alone.
    pub low_latency: bool,
}

impl Default for HpssSettings {
    fn default() -> Self {
        Self {
            harmonic_width_ms: 360.0,
            percussive_width_hz: 500.0,
            mask_power: 2.0,
            separation: 1.0,
            low_latency: false,
        }
    }
}

impl HpssSettings {
    pub fn has_residual(&self) -> bool {
        self.separation > 1.0
    }
}

/// All settings of one engine.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Settings {
    pub algorithm: Algorithm,
    pub fft_size: usize,
    pub hpss: HpssSettings,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            algorithm: Algorithm::Hpss,
            fft_size: 2048,
            hpss: HpssSettings::default(),
        }
    }
}

/// How a setting's value is written and read.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Kind {
    /// A real number in `[min, max]`.
    Float { min: f32, max: f32 },
    /// One of [`FFT_SIZES`].
    FftSize,
    /// `on`/`off` (also `true`/`false`, `1`/`0`).
    Switch,
}

/// One row of the settings table.
#[derive(Clone, Copy, Debug)]
pub struct Spec {
    /// Stable identifier: the `--set` name and the plugin's parameter id.
    pub id: &'static str,
    pub unit: &'static str,
    pub kind: Kind,
    pub help: &'static str,
    /// Changing it changes the latency, so a running plugin applies it at its next activation.
    pub changes_latency: bool,
}

/// The settings table, shared by the command line and the plugin.
pub const SPECS: &[Spec] = &[
    Spec {
        id: "fft_size",
        unit: "samples",
        kind: Kind::FftSize,
        help: "STFT window length (hop = size / 4); 512, 1024, 2048, 4096 or 8192",
        changes_latency: true,
    },
    Spec {
        id: "harmonic_width",
        unit: "ms",
        kind: Kind::Float {
            min: 10.0,
            max: 1000.0,
        },
        help: "HPSS: length of the median across time (harmonic estimate)",
        changes_latency: true,
    },
    Spec {
        id: "percussive_width",
        unit: "Hz",
        kind: Kind::Float {
            min: 20.0,
            max: 5000.0,
        },
        help: "HPSS: width of the median across frequency (percussive estimate)",
        changes_latency: false,
    },
    Spec {
        id: "mask_power",
        unit: "",
        kind: Kind::Float {
            min: 0.5,
            max: 10.0,
        },
        help: "HPSS: exponent of the soft masks (2 = Wiener)",
        changes_latency: false,
    },
    Spec {
        id: "separation",
        unit: "",
        kind: Kind::Float {
            min: 1.0,
            max: 10.0,
        },
        help: "HPSS: separation factor beta; above 1 adds a residual stem",
        changes_latency: false,
    },
    Spec {
        id: "low_latency",
        unit: "",
        kind: Kind::Switch,
        help: "HPSS: causal harmonic median, latency = window only",
        changes_latency: true,
    },
];

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
            _ => debug_assert!(false, "no setting '{id}'"),
        }
    }

    /// Whether `other` needs a new engine (different latency or buffer sizes) rather than a live update.
    pub fn needs_rebuild(&self, other: &Settings) -> bool {
        self.algorithm != other.algorithm
            || self.fft_size != other.fft_size
            || self.hpss.low_latency != other.hpss.low_latency
            || self.hpss.harmonic_width_ms != other.hpss.harmonic_width_ms && !self.hpss.low_latency
            || self.hpss.has_residual() != other.hpss.has_residual()
    }

    /// Number of stems the engine produces: 2, or 3 with a residual.
    pub fn stem_count(&self) -> usize {
        match self.algorithm {
            Algorithm::Hpss if self.hpss.has_residual() => 3,
            Algorithm::Hpss => 2,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_refuses() {
        let mut s = Settings::default();
        s.set_from_str("harmonic_width=350").unwrap();
        s.set_from_str("fft_size=4096").unwrap();
        s.set_from_str("low_latency=on").unwrap();
        s.set_from_str("percussive_width=700Hz").unwrap();
        assert_eq!(s.hpss.harmonic_width_ms, 350.0);
        assert_eq!(s.hpss.percussive_width_hz, 700.0);
        assert_eq!(s.fft_size, 4096);
        assert!(s.hpss.low_latency);
        assert!(matches!(
            s.set_from_str("fft_size=1000"),
            Err(SettingError::Invalid { .. })
        ));
        assert!(matches!(
            s.set_from_str("mask_power=nan"),
            Err(SettingError::Invalid { .. })
        ));
        assert!(matches!(
            s.set_from_str("separation=0.5"),
            Err(SettingError::Invalid { .. })
        ));
        assert!(matches!(
            s.set_from_str("wobble=1"),
            Err(SettingError::Unknown(_))
        ));
        assert!(matches!(
            s.set_from_str("wobble"),
            Err(SettingError::Syntax(_))
        ));
        assert_eq!(Algorithm::parse("hpss"), Some(Algorithm::Hpss));
    }

    #[test]
    fn defaults_lie_in_their_ranges() {
        let d = Settings::default();
        let value = |id: &str| match id {
            "fft_size" => d.fft_size as f32,
            "harmonic_width" => d.hpss.harmonic_width_ms,
            "percussive_width" => d.hpss.percussive_width_hz,
            "mask_power" => d.hpss.mask_power,
            "separation" => d.hpss.separation,
            _ => 0.0,
        };
        for spec in SPECS {
            if let Kind::Float { min, max } = spec.kind {
                assert!((min..=max).contains(&value(spec.id)), "{}", spec.id);
            }
        }
    }
}
