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
    /// Repeating background by its period (Rafii & Pardo 2013), on a rolling buffer.
    Repet,
    /// Repeating background by similar frames (Rafii & Pardo 2012), on a rolling buffer.
    RepetSim,
    /// Repeating background by the peaks of a rolling patch's 2-D Fourier transform
    /// (Seetharaman, Pishdadian & Pardo 2017).
    Ft2d,
    /// Supervised NMF: one stem taught from a few seconds of it, the other learned as it plays.
    Nmf,
}

impl Algorithm {
    pub const ALL: [Algorithm; 5] = [
        Algorithm::Hpss,
        Algorithm::Repet,
        Algorithm::RepetSim,
        Algorithm::Ft2d,
        Algorithm::Nmf,
    ];

    /// The name shown to users and accepted by `--algorithm` (case-insensitive).
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Hpss => "HPSS",
            Algorithm::Repet => "REPET",
            Algorithm::RepetSim => "REPET-SIM",
            Algorithm::Ft2d => "2DFT",
            Algorithm::Nmf => "NMF",
        }
    }

    /// Stem names in output order: foreground, background, then residual when there is one.
    pub fn stem_names(self) -> [&'static str; 3] {
        match self {
            Algorithm::Hpss => ["percussive", "harmonic", "residual"],
            Algorithm::Repet | Algorithm::RepetSim | Algorithm::Ft2d | Algorithm::Nmf => {
                ["foreground", "background", "residual"]
            }
        }
    }

    /// Whether this is one of the rolling-buffer separators (REPET, REPET-SIM).
    pub fn is_repet(self) -> bool {
        matches!(self, Algorithm::Repet | Algorithm::RepetSim)
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|a| a.name().eq_ignore_ascii_case(text.trim()))
    }
}

/// FFT sizes the engine supports; the hop is always a quarter of the size.
pub const FFT_SIZES: [usize; 5] = [512, 1024, 2048, 4096, 8192];

/// The sample rates the FFT sizes are meant for; outside them the engine scales the
/// size (see [`fft_size_at`]).
pub const NATIVE_RATES: std::ops::RangeInclusive<f32> = 8_000.0..=384_000.0;
/// The sample rates an engine can be built for: whatever a host may ask for.
pub const SAMPLE_RATES: std::ops::RangeInclusive<f32> = 1_000.0..=1_536_000.0;

/// The FFT size used for a chosen `fft_size` at `sample_rate`. Within [`NATIVE_RATES`]
/// it is the chosen size. Outside, it is scaled by powers of two so the window keeps
/// its length in time: twice the samples at 768 kHz, four times at 1536 kHz, half below
/// 8 kHz, an eighth at 1 kHz. So widths, periods and the frame rate stay what they are at
/// the native rates (and so do memory and work per second of audio, per frame), instead
/// of frames of a third of a millisecond, or of eight seconds.
pub fn fft_size_at(fft_size: usize, sample_rate: f32) -> usize {
    let mut n = fft_size;
    let mut rate = sample_rate;
    while rate > *NATIVE_RATES.end() {
        rate /= 2.0;
        n *= 2;
    }
    while rate < *NATIVE_RATES.start() && n > 16 {
        rate *= 2.0;
        n /= 2;
    }
    n
}

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

/// Where REPET takes its repeating period from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum PeriodSource {
    /// Tracked from the beat spectrum of what it hears.
    #[default]
    Auto,
    /// A whole number of bars at the host's tempo and time signature.
    HostTempo,
    /// [`RepetSettings::manual_period_ms`].
    Manual,
}

impl PeriodSource {
    pub const ALL: [PeriodSource; 3] = [
        PeriodSource::Auto,
        PeriodSource::HostTempo,
        PeriodSource::Manual,
    ];
    /// Names as `--set period_source=` takes them, in the order of [`Self::ALL`].
    pub const NAMES: [&'static str; 3] = ["auto", "tempo", "manual"];
}

/// Bar counts the host-tempo period can span.
pub const PERIOD_BARS: [f32; 3] = [1.0, 2.0, 4.0];

/// Settings of REPET and REPET-SIM, which share the rolling buffer.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RepetSettings {
    /// Past audio the repeating model can draw on, in seconds.
    pub buffer_s: f32,
    /// Audio ahead of the masked frame the model may also use (adds as much latency).
    pub lookahead_s: f32,
    /// Below this the foreground is silent (bass and kick stay in the background).
    pub high_pass_hz: f32,
    /// REPET: shortest and longest period the beat spectrum may pick.
    pub min_period_s: f32,
    pub max_period_s: f32,
    pub period_source: PeriodSource,
    /// REPET with [`PeriodSource::HostTempo`]: bars per period, one of [`PERIOD_BARS`].
    pub period_bars: f32,
    pub manual_period_ms: f32,
    /// REPET-SIM: most similar frames whose median is the model.
    pub neighbours: usize,
    /// REPET-SIM: least time between two chosen frames (and from the masked frame).
    pub min_spacing_s: f32,
    /// REPET-SIM: least cosine similarity of a chosen frame.
    pub similarity_threshold: f32,
}

impl Default for RepetSettings {
    fn default() -> Self {
        Self {
            buffer_s: 24.0,
            lookahead_s: 0.0,
            high_pass_hz: 100.0,
            min_period_s: 0.8,
            max_period_s: 8.0,
            period_source: PeriodSource::Auto,
            period_bars: 1.0,
            manual_period_ms: 2000.0,
            neighbours: 20,
            min_spacing_s: 1.0,
            similarity_threshold: 0.0,
        }
    }
}

/// Settings of the 2DFT separator.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Ft2dSettings {
    /// Length of the rolling patch that is transformed; half of it is lookahead.
    pub patch_s: f32,
    /// Width of the peak filter along the modulation-rate axis.
    pub neighbourhood_hz: f32,
    /// Peaks weaker than this share of the strongest are not repeating.
    pub threshold: f32,
    /// Below this the foreground is silent.
    pub high_pass_hz: f32,
}

impl Default for Ft2dSettings {
    fn default() -> Self {
        Self {
            patch_s: 10.0,
            neighbourhood_hz: 1.25,
            threshold: 0.0,
            high_pass_hz: 100.0,
        }
    }
}

/// Which stem NMF's taught templates describe.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Taught {
    /// The accompaniment: teach it on a passage without the lead.
    #[default]
    Background,
    /// The lead: teach it on a passage where it plays alone.
    Foreground,
}

impl Taught {
    pub const ALL: [Taught; 2] = [Taught::Background, Taught::Foreground];
    /// Names as `--set nmf_taught=` takes them, in the order of [`Self::ALL`].
    pub const NAMES: [&'static str; 2] = ["background", "foreground"];
}

/// Most templates NMF learns for the taught stem.
pub const MAX_NMF_COMPONENTS: usize = 32;
/// Most free templates that follow the other stem.
pub const MAX_FREE_COMPONENTS: usize = 16;
/// Most multiplicative updates per frame.
pub const MAX_NMF_ITERATIONS: usize = 50;

/// Settings of the supervised NMF separator.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NmfSettings {
    /// Templates learned when the stem is taught.
    pub components: usize,
    /// Templates that follow the untaught stem while audio plays; with none, the
    /// untaught stem is what the taught templates leave unexplained (the better
    /// choice when the taught stem was heard alone: 3 to 5 dB more SDR on the corpus).
    pub free_components: usize,
    /// Multiplicative updates of the activations per frame: CPU against accuracy.
    pub iterations: usize,
    pub taught: Taught,
}

impl Default for NmfSettings {
    fn default() -> Self {
        Self {
            components: 16,
            free_components: 0,
            iterations: 10,
            taught: Taught::Background,
        }
    }
}

/// All settings of one engine.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Settings {
    pub algorithm: Algorithm,
    pub fft_size: usize,
    pub hpss: HpssSettings,
    pub repet: RepetSettings,
    pub ft2d: Ft2dSettings,
    pub nmf: NmfSettings,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            algorithm: Algorithm::Hpss,
            fft_size: 2048,
            hpss: HpssSettings::default(),
            repet: RepetSettings::default(),
            ft2d: Ft2dSettings::default(),
            nmf: NmfSettings::default(),
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
    /// A whole number in `[min, max]`.
    Integer { min: usize, max: usize },
    /// One of a list of names; the value is its index.
    Choice(&'static [&'static str]),
    /// One of a list of numbers (held as the number itself).
    Steps(&'static [f32]),
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
    Spec {
        id: "buffer_length",
        unit: "s",
        kind: Kind::Float {
            min: 3.0,
            max: 40.0,
        },
        help: "REPET, REPET-SIM: past audio the repeating model draws on (at least 3 x max_period)",
        changes_latency: true,
    },
    Spec {
        id: "lookahead",
        unit: "s",
        kind: Kind::Float {
            min: 0.0,
            max: 10.0,
        },
        help: "REPET, REPET-SIM: audio ahead the model may also use; adds as much latency",
        changes_latency: true,
    },
    Spec {
        id: "high_pass",
        unit: "Hz",
        kind: Kind::Float {
            min: 0.0,
            max: 1000.0,
        },
        help: "REPET, REPET-SIM: below this everything stays in the background",
        changes_latency: false,
    },
    Spec {
        id: "min_period",
        unit: "s",
        kind: Kind::Float {
            min: 0.1,
            max: 10.0,
        },
        help: "REPET: shortest repeating period the tracker may pick",
        changes_latency: false,
    },
    Spec {
        id: "max_period",
        unit: "s",
        kind: Kind::Float {
            min: 0.2,
            max: 13.0,
        },
        help: "REPET: longest repeating period the tracker may pick (at most buffer_length / 3)",
        changes_latency: false,
    },
    Spec {
        id: "period_source",
        unit: "",
        kind: Kind::Choice(&PeriodSource::NAMES),
        help: "REPET: auto (beat spectrum), tempo (bars at the host's tempo) or manual",
        changes_latency: false,
    },
    Spec {
        id: "period_bars",
        unit: "bars",
        kind: Kind::Steps(&PERIOD_BARS),
        help: "REPET with period_source=tempo: bars per period, 1, 2 or 4",
        changes_latency: false,
    },
    Spec {
        id: "manual_period",
        unit: "ms",
        kind: Kind::Float {
            min: 100.0,
            max: 13000.0,
        },
        help: "REPET with period_source=manual: the period",
        changes_latency: false,
    },
    Spec {
        id: "neighbours",
        unit: "",
        kind: Kind::Integer {
            min: 1,
            max: MAX_NEIGHBOURS,
        },
        help: "REPET-SIM: how many similar frames make the repeating model",
        changes_latency: false,
    },
    Spec {
        id: "min_spacing",
        unit: "s",
        kind: Kind::Float {
            min: 0.0,
            max: 10.0,
        },
        help: "REPET-SIM: least time between chosen frames",
        changes_latency: false,
    },
    Spec {
        id: "similarity_threshold",
        unit: "",
        kind: Kind::Float { min: 0.0, max: 1.0 },
        help: "REPET-SIM: least cosine similarity of a chosen frame",
        changes_latency: false,
    },
    Spec {
        id: "patch_length",
        unit: "s",
        kind: Kind::Float {
            min: 2.0,
            max: 20.0,
        },
        help: "2DFT: length of the transformed patch; half of it is lookahead (latency)",
        changes_latency: true,
    },
    Spec {
        id: "neighbourhood",
        unit: "Hz",
        kind: Kind::Float {
            min: 0.1,
            max: 10.0,
        },
        help: "2DFT: width of the peak filter along the modulation rate",
        changes_latency: false,
    },
    Spec {
        id: "peak_threshold",
        unit: "",
        kind: Kind::Float { min: 0.0, max: 1.0 },
        help: "2DFT: peaks weaker than this share of the strongest are not repeating",
        changes_latency: false,
    },
    Spec {
        id: "ft2d_high_pass",
        unit: "Hz",
        kind: Kind::Float {
            min: 0.0,
            max: 1000.0,
        },
        help: "2DFT: below this everything stays in the background",
        changes_latency: false,
    },
    Spec {
        id: "nmf_components",
        unit: "",
        kind: Kind::Integer {
            min: 1,
            max: MAX_NMF_COMPONENTS,
        },
        help: "NMF: templates learned when a stem is taught",
        changes_latency: false,
    },
    Spec {
        id: "nmf_free",
        unit: "",
        kind: Kind::Integer {
            min: 0,
            max: MAX_FREE_COMPONENTS,
        },
        help: "NMF: templates that follow the untaught stem as it plays",
        changes_latency: false,
    },
    Spec {
        id: "nmf_iterations",
        unit: "",
        kind: Kind::Integer {
            min: 1,
            max: MAX_NMF_ITERATIONS,
        },
        help: "NMF: updates of the activations per frame (CPU against accuracy)",
        changes_latency: false,
    },
    Spec {
        id: "nmf_taught",
        unit: "",
        kind: Kind::Choice(&Taught::NAMES),
        help: "NMF: which stem the taught templates describe, background or foreground",
        changes_latency: false,
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

    /// Whether `other` needs a new engine (different latency or buffer sizes) rather than a live update.
    pub fn needs_rebuild(&self, other: &Settings) -> bool {
        let hpss = self.algorithm == Algorithm::Hpss
            && (self.hpss.low_latency != other.hpss.low_latency
                || self.hpss.harmonic_width_ms != other.hpss.harmonic_width_ms
                    && !self.hpss.low_latency
                || self.hpss.has_residual() != other.hpss.has_residual());
        let repet = self.algorithm.is_repet()
            && (self.repet.buffer_s != other.repet.buffer_s
                || self.repet.lookahead_s != other.repet.lookahead_s);
        let ft2d = self.algorithm == Algorithm::Ft2d
            && (self.ft2d.patch_s != other.ft2d.patch_s
                || self.ft2d.neighbourhood_hz != other.ft2d.neighbourhood_hz);
        self.algorithm != other.algorithm
            || self.fft_size != other.fft_size
            || hpss
            || repet
            || ft2d
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
        assert_eq!(Algorithm::parse("repet-sim"), Some(Algorithm::RepetSim));
        assert_eq!(Algorithm::parse("2dft"), Some(Algorithm::Ft2d));
        s.set_from_str("period_source=tempo").unwrap();
        s.set_from_str("period_bars=2").unwrap();
        s.set_from_str("neighbours=40").unwrap();
        assert_eq!(s.repet.period_source, PeriodSource::HostTempo);
        assert_eq!(s.repet.period_bars, 2.0);
        assert_eq!(s.repet.neighbours, 40);
        assert!(s.set_from_str("period_bars=3").is_err());
        assert!(s.set_from_str("neighbours=0").is_err());
        assert!(s.set_from_str("period_source=guess").is_err());
    }

    #[test]
    fn defaults_lie_in_their_ranges() {
        let d = Settings::default();
        for spec in SPECS {
            // Every default, written out and parsed back, is accepted and unchanged.
            let v = d.get(spec.id);
            let text = match spec.kind {
                Kind::Choice(names) => names[v as usize].to_string(),
                Kind::Switch => if v > 0.5 { "on" } else { "off" }.to_string(),
                _ => format!("{v}"),
            };
            let mut s = d;
            s.set_from_str(&format!("{}={text}", spec.id)).unwrap();
            assert_eq!(s, d, "{}", spec.id);
        }
    }
}
