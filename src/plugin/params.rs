//! The plugin's parameters. Ids are stable (hosts store automation by id) and the
//! separation settings use the ids and ranges of [`crate::engine::settings::SPECS`].

use nice_plug::prelude::*;

use crate::engine::{Algorithm, HpssSettings, Settings};

#[derive(Enum, Debug, PartialEq, Clone, Copy)]
pub enum AlgorithmChoice {
    #[id = "hpss"]
    #[name = "HPSS"]
    Hpss,
}

impl From<AlgorithmChoice> for Algorithm {
    fn from(a: AlgorithmChoice) -> Self {
        match a {
            AlgorithmChoice::Hpss => Algorithm::Hpss,
        }
    }
}

#[derive(Enum, Debug, PartialEq, Clone, Copy)]
pub enum FftSize {
    #[id = "512"]
    #[name = "512"]
    S512,
    #[id = "1024"]
    #[name = "1024"]
    S1024,
    #[id = "2048"]
    #[name = "2048"]
    S2048,
    #[id = "4096"]
    #[name = "4096"]
    S4096,
    #[id = "8192"]
    #[name = "8192"]
    S8192,
}

impl FftSize {
    pub fn samples(self) -> usize {
        512 << self as usize
    }
}

#[derive(Params)]
pub struct UnweaveParams {
    #[id = "bypass"]
    pub bypass: BoolParam,
    #[id = "algorithm"]
    pub algorithm: EnumParam<AlgorithmChoice>,
    /// −100 % background only, 0 % unchanged, +100 % foreground only.
    #[id = "balance"]
    pub balance: FloatParam,
    #[id = "foreground_level"]
    pub foreground_level: FloatParam,
    #[id = "background_level"]
    pub background_level: FloatParam,
    #[id = "residual_level"]
    pub residual_level: FloatParam,
    #[id = "fft_size"]
    pub fft_size: EnumParam<FftSize>,
    #[id = "harmonic_width"]
    pub harmonic_width: FloatParam,
    #[id = "percussive_width"]
    pub percussive_width: FloatParam,
    #[id = "mask_power"]
    pub mask_power: FloatParam,
    #[id = "separation"]
    pub separation: FloatParam,
    #[id = "low_latency"]
    pub low_latency: BoolParam,
}

fn level(name: &str) -> FloatParam {
    FloatParam::new(
        name,
        util::db_to_gain(0.0),
        FloatRange::Skewed {
            min: util::db_to_gain(-60.0),
            max: util::db_to_gain(12.0),
            factor: FloatRange::gain_skew_factor(-60.0, 12.0),
        },
    )
    .with_smoother(SmoothingStyle::Logarithmic(30.0))
    .with_unit(" dB")
    .with_value_to_string(formatters::v2s_f32_gain_to_db(1))
    .with_string_to_value(formatters::s2v_f32_gain_to_db())
}

fn skewed(
    name: &str,
    default: f32,
    min: f32,
    max: f32,
    unit: &'static str,
    digits: usize,
) -> FloatParam {
    FloatParam::new(
        name,
        default,
        FloatRange::Skewed {
            min,
            max,
            factor: FloatRange::skew_factor(-1.0),
        },
    )
    .with_unit(unit)
    .with_value_to_string(formatters::v2s_f32_rounded(digits))
}

impl Default for UnweaveParams {
    fn default() -> Self {
        let d = HpssSettings::default();
        Self {
            bypass: BoolParam::new("Bypass", false).make_bypass(),
            algorithm: EnumParam::new("Algorithm", AlgorithmChoice::Hpss),
            balance: FloatParam::new(
                "Balance",
                0.0,
                FloatRange::Linear {
                    min: -100.0,
                    max: 100.0,
                },
            )
            .with_smoother(SmoothingStyle::Linear(20.0))
            .with_unit(" %")
            .with_value_to_string(formatters::v2s_f32_rounded(0)),
            foreground_level: level("Foreground level"),
            background_level: level("Background level"),
            residual_level: level("Residual level"),
            fft_size: EnumParam::new("FFT size", FftSize::S2048),
            harmonic_width: skewed(
                "Harmonic width",
                d.harmonic_width_ms,
                10.0,
                1000.0,
                " ms",
                0,
            ),
            percussive_width: skewed(
                "Percussive width",
                d.percussive_width_hz,
                20.0,
                5000.0,
                " Hz",
                0,
            ),
            mask_power: FloatParam::new(
                "Mask power",
                d.mask_power,
                FloatRange::Linear {
                    min: 0.5,
                    max: 10.0,
                },
            )
            .with_value_to_string(formatters::v2s_f32_rounded(2)),
            separation: skewed("Separation factor", d.separation, 1.0, 10.0, "", 2),
            low_latency: BoolParam::new("Low latency", d.low_latency),
        }
    }
}

impl UnweaveParams {
    /// The engine settings the parameters describe now.
    pub fn settings(&self) -> Settings {
        Settings {
            algorithm: self.algorithm.value().into(),
            fft_size: self.fft_size.value().samples(),
            hpss: HpssSettings {
                harmonic_width_ms: self.harmonic_width.value(),
                percussive_width_hz: self.percussive_width.value(),
                mask_power: self.mask_power.value(),
                separation: self.separation.value(),
                low_latency: self.low_latency.value(),
            },
        }
    }
}
