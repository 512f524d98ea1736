//! The plugin's parameters. Ids are stable (hosts store automation by id) and the
//! separation settings use the ids and ranges of [`crate::engine::settings::SPECS`].

use nice_plug::prelude::*;

use crate::templates::SharedTemplates;
use crate::engine::settings::{MAX_FREE_COMPONENTS, MAX_NMF_COMPONENTS, MAX_NMF_ITERATIONS};
use crate::engine::{
    Algorithm, Ft2dSettings, HpssSettings, NmfSettings, PeriodSource, RepetSettings, Settings,
    Taught,
};

#[derive(Enum, Debug, PartialEq, Clone, Copy)]
pub enum AlgorithmChoice {
    #[id = "hpss"]
    #[name = "HPSS"]
    Hpss,
    #[id = "repet"]
    #[name = "REPET"]
    Repet,
    #[id = "repet-sim"]
    #[name = "REPET-SIM"]
    RepetSim,
    #[id = "2dft"]
    #[name = "2DFT"]
    Ft2d,
    #[id = "nmf"]
    #[name = "NMF"]
    Nmf,
}

impl From<AlgorithmChoice> for Algorithm {
    fn from(a: AlgorithmChoice) -> Self {
        match a {
            AlgorithmChoice::Hpss => Algorithm::Hpss,
            AlgorithmChoice::Repet => Algorithm::Repet,
            AlgorithmChoice::RepetSim => Algorithm::RepetSim,
            AlgorithmChoice::Ft2d => Algorithm::Ft2d,
            AlgorithmChoice::Nmf => Algorithm::Nmf,
        }
    }
}

#[derive(Enum, Debug, PartialEq, Clone, Copy)]
pub enum PeriodSourceChoice {
    #[id = "auto"]
    #[name = "Auto"]
    Auto,
    #[id = "tempo"]
    #[name = "Host tempo"]
    HostTempo,
    #[id = "manual"]
    #[name = "Manual"]
    Manual,
}

impl From<PeriodSourceChoice> for PeriodSource {
    fn from(p: PeriodSourceChoice) -> Self {
        match p {
            PeriodSourceChoice::Auto => PeriodSource::Auto,
            PeriodSourceChoice::HostTempo => PeriodSource::HostTempo,
            PeriodSourceChoice::Manual => PeriodSource::Manual,
        }
    }
}

#[derive(Enum, Debug, PartialEq, Clone, Copy)]
pub enum TaughtChoice {
    #[id = "background"]
    #[name = "Background"]
    Background,
    #[id = "foreground"]
    #[name = "Foreground"]
    Foreground,
}

impl From<TaughtChoice> for Taught {
    fn from(t: TaughtChoice) -> Self {
        match t {
            TaughtChoice::Background => Taught::Background,
            TaughtChoice::Foreground => Taught::Foreground,
        }
    }
}

#[derive(Enum, Debug, PartialEq, Clone, Copy)]
pub enum PeriodBars {
    #[id = "1"]
    #[name = "1 bar"]
    One,
    #[id = "2"]
    #[name = "2 bars"]
    Two,
    #[id = "4"]
    #[name = "4 bars"]
    Four,
}

impl PeriodBars {
    pub fn bars(self) -> f32 {
        [1.0, 2.0, 4.0][self as usize]
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
    #[id = "buffer_length"]
    pub buffer_length: FloatParam,
    #[id = "lookahead"]
    pub lookahead: FloatParam,
    #[id = "high_pass"]
    pub high_pass: FloatParam,
    #[id = "min_period"]
    pub min_period: FloatParam,
    #[id = "max_period"]
    pub max_period: FloatParam,
    #[id = "period_source"]
    pub period_source: EnumParam<PeriodSourceChoice>,
    #[id = "period_bars"]
    pub period_bars: EnumParam<PeriodBars>,
    #[id = "manual_period"]
    pub manual_period: FloatParam,
    #[id = "neighbours"]
    pub neighbours: IntParam,
    #[id = "min_spacing"]
    pub min_spacing: FloatParam,
    #[id = "similarity_threshold"]
    pub similarity_threshold: FloatParam,
    #[id = "patch_length"]
    pub patch_length: FloatParam,
    #[id = "neighbourhood"]
    pub neighbourhood: FloatParam,
    #[id = "peak_threshold"]
    pub peak_threshold: FloatParam,
    #[id = "ft2d_high_pass"]
    pub ft2d_high_pass: FloatParam,
    #[id = "nmf_components"]
    pub nmf_components: IntParam,
    #[id = "nmf_free"]
    pub nmf_free: IntParam,
    #[id = "nmf_iterations"]
    pub nmf_iterations: IntParam,
    #[id = "nmf_taught"]
    pub nmf_taught: EnumParam<TaughtChoice>,
    /// NMF: on, the input is captured (up to 30 s); off, the captured passage is
    /// learned as the taught stem's templates. Automatable, so a host can teach it
    /// over a chosen passage.
    #[id = "learn"]
    pub learn: BoolParam,
    /// The taught NMF templates, saved with the project.
    #[persist = "nmf-templates"]
    pub templates: SharedTemplates,
}

/// A parameter over `min ..= max` shown with `digits` decimals; `skew` spends more of
/// the control's travel on the low end (for widths and times that matter most when small).
fn ranged(
    name: &str,
    default: f32,
    (min, max): (f32, f32),
    skew: bool,
    unit: &'static str,
    digits: usize,
) -> FloatParam {
    let range = if skew {
        FloatRange::Skewed {
            min,
            max,
            factor: FloatRange::skew_factor(-1.0),
        }
    } else {
        FloatRange::Linear { min, max }
    };
    FloatParam::new(name, default, range)
        .with_unit(unit)
        .with_value_to_string(formatters::v2s_f32_rounded(digits))
}

fn linear(
    name: &str,
    default: f32,
    min: f32,
    max: f32,
    unit: &'static str,
    digits: usize,
) -> FloatParam {
    ranged(name, default, (min, max), false, unit, digits)
}

fn skewed(
    name: &str,
    default: f32,
    min: f32,
    max: f32,
    unit: &'static str,
    digits: usize,
) -> FloatParam {
    ranged(name, default, (min, max), true, unit, digits)
}

/// The stem levels' range in dB.
pub const LEVEL_DB: (f32, f32) = (-60.0, 12.0);

/// A stem level. Its value is in dB (not a gain), so every host, including generic
/// views that show the plain value and range, reads dB; smoothed in dB, which is
/// what a fade sounds even in.
fn level(name: &str) -> FloatParam {
    FloatParam::new(
        name,
        0.0,
        FloatRange::Linear {
            min: LEVEL_DB.0,
            max: LEVEL_DB.1,
        },
    )
    .with_smoother(SmoothingStyle::Linear(30.0))
    .with_unit(" dB")
    .with_value_to_string(formatters::v2s_f32_rounded(1))
}

/// A level's gain for one sample (the smoother steps in dB).
#[inline]
pub fn level_gain(db: f32) -> f32 {
    util::db_to_gain_fast(db)
}

/// States saved before 0.2.0 hold the stem levels as gains: turn them into dB.
pub fn migrate_state(state: &mut nice_plug::prelude::PluginState) {
    let before_db_levels = state.version.is_empty() || state.version.starts_with("0.1.");
    if !before_db_levels {
        return;
    }
    for id in ["foreground_level", "background_level", "residual_level"] {
        if let Some(nice_plug::plugin::ParamValue::F32(v)) = state.params.get_mut(id) {
            // To the 0.1 dB the level shows, on the parameter's own grid (as a host's
            // normalised value lands): what the user set, without float dust.
            let db = util::gain_to_db(v.max(util::db_to_gain(LEVEL_DB.0)));
            let db = ((db * 10.0).round() / 10.0).clamp(LEVEL_DB.0, LEVEL_DB.1);
            let span = LEVEL_DB.1 - LEVEL_DB.0;
            *v = ((db - LEVEL_DB.0) / span) * span + LEVEL_DB.0;
        }
    }
}

impl Default for UnweaveParams {
    fn default() -> Self {
        let d = HpssSettings::default();
        let r = RepetSettings::default();
        let f = Ft2dSettings::default();
        let n = NmfSettings::default();
        let int = |name: &str, default: usize, min: usize, max: usize| {
            IntParam::new(
                name,
                default as i32,
                IntRange::Linear {
                    min: min as i32,
                    max: max as i32,
                },
            )
        };
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
            buffer_length: linear("Buffer length", r.buffer_s, 3.0, 40.0, " s", 1),
            lookahead: linear("Lookahead", r.lookahead_s, 0.0, 10.0, " s", 2),
            high_pass: skewed("High-pass", r.high_pass_hz, 0.0, 1000.0, " Hz", 0),
            min_period: skewed("Min period", r.min_period_s, 0.1, 10.0, " s", 2),
            max_period: skewed("Max period", r.max_period_s, 0.2, 13.0, " s", 2),
            period_source: EnumParam::new("Period source", PeriodSourceChoice::Auto),
            period_bars: EnumParam::new("Period bars", PeriodBars::One),
            manual_period: skewed(
                "Manual period",
                r.manual_period_ms,
                100.0,
                13000.0,
                " ms",
                0,
            ),
            neighbours: IntParam::new(
                "Neighbours",
                r.neighbours as i32,
                IntRange::Linear {
                    min: 1,
                    max: crate::engine::settings::MAX_NEIGHBOURS as i32,
                },
            ),
            min_spacing: linear("Min spacing", r.min_spacing_s, 0.0, 10.0, " s", 2),
            similarity_threshold: linear(
                "Similarity threshold",
                r.similarity_threshold,
                0.0,
                1.0,
                "",
                2,
            ),
            patch_length: linear("Patch length", f.patch_s, 2.0, 20.0, " s", 1),
            neighbourhood: skewed("Neighbourhood", f.neighbourhood_hz, 0.1, 10.0, " Hz", 2),
            peak_threshold: linear("Peak threshold", f.threshold, 0.0, 1.0, "", 2),
            ft2d_high_pass: skewed("2DFT high-pass", f.high_pass_hz, 0.0, 1000.0, " Hz", 0),
            nmf_components: int("Templates", n.components, 1, MAX_NMF_COMPONENTS),
            nmf_free: int("Free templates", n.free_components, 0, MAX_FREE_COMPONENTS),
            nmf_iterations: int("Iterations", n.iterations, 1, MAX_NMF_ITERATIONS),
            nmf_taught: EnumParam::new("Taught stem", TaughtChoice::Background),
            learn: BoolParam::new("Learn", false),
            templates: SharedTemplates::default(),
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
            repet: RepetSettings {
                buffer_s: self.buffer_length.value(),
                lookahead_s: self.lookahead.value(),
                high_pass_hz: self.high_pass.value(),
                min_period_s: self.min_period.value(),
                max_period_s: self.max_period.value(),
                period_source: self.period_source.value().into(),
                period_bars: self.period_bars.value().bars(),
                manual_period_ms: self.manual_period.value(),
                neighbours: self.neighbours.value() as usize,
                min_spacing_s: self.min_spacing.value(),
                similarity_threshold: self.similarity_threshold.value(),
            },
            ft2d: Ft2dSettings {
                patch_s: self.patch_length.value(),
                neighbourhood_hz: self.neighbourhood.value(),
                threshold: self.peak_threshold.value(),
                high_pass_hz: self.ft2d_high_pass.value(),
            },
            nmf: NmfSettings {
                components: self.nmf_components.value() as usize,
                free_components: self.nmf_free.value() as usize,
                iterations: self.nmf_iterations.value() as usize,
                taught: self.nmf_taught.value().into(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::settings::{Kind, SPECS};

    #[test]
    fn every_parameter_text_parses_back_to_its_value() {
        let params = UnweaveParams::default();
        for (id, ptr, _) in params.param_map() {
            for normalized in [0.0, 0.13, 0.5, 0.77, 1.0] {
                // SAFETY: the pointers come from `params`, alive for this whole test.
                let (text, back) = unsafe {
                    let text = ptr.normalized_value_to_string(normalized, true);
                    let back = ptr.string_to_normalized_value(&text);
                    (text, back)
                };
                let back = back.unwrap_or_else(|| panic!("{id}: '{text}' does not parse"));
                // Display rounds (to 0.1 dB, whole ms…): the text must land on the same text.
                // SAFETY: as above.
                let again = unsafe { ptr.normalized_value_to_string(back, true) };
                assert_eq!(
                    text, again,
                    "{id}: {normalized} shows as '{text}', parses to {back}"
                );
            }
        }
    }

    #[test]
    fn separation_parameters_match_the_engine_settings_table() {
        let params = UnweaveParams::default();
        let ids: Vec<String> = params
            .param_map()
            .into_iter()
            .map(|(id, _, _)| id)
            .collect();
        for spec in SPECS {
            assert!(
                ids.iter().any(|id| id == spec.id),
                "no parameter '{}'",
                spec.id
            );
        }
        let check = |p: &FloatParam, id: &str| {
            let Some(Kind::Float { min, max }) = SPECS.iter().find(|s| s.id == id).map(|s| s.kind)
            else {
                panic!("{id} is not a float setting")
            };
            assert_eq!(
                (p.preview_plain(0.0), p.preview_plain(1.0)),
                (min, max),
                "{id}"
            );
        };
        check(&params.harmonic_width, "harmonic_width");
        check(&params.percussive_width, "percussive_width");
        check(&params.mask_power, "mask_power");
        check(&params.separation, "separation");
        check(&params.buffer_length, "buffer_length");
        check(&params.lookahead, "lookahead");
        check(&params.high_pass, "high_pass");
        check(&params.min_period, "min_period");
        check(&params.max_period, "max_period");
        check(&params.manual_period, "manual_period");
        check(&params.min_spacing, "min_spacing");
        check(&params.similarity_threshold, "similarity_threshold");
        check(&params.patch_length, "patch_length");
        check(&params.neighbourhood, "neighbourhood");
        check(&params.peak_threshold, "peak_threshold");
        check(&params.ft2d_high_pass, "ft2d_high_pass");
        assert_eq!(
            (
                params.neighbours.preview_plain(0.0),
                params.neighbours.preview_plain(1.0)
            ),
            (1, crate::engine::settings::MAX_NEIGHBOURS as i32)
        );
        for (i, bars) in crate::engine::settings::PERIOD_BARS.iter().enumerate() {
            assert_eq!(PeriodBars::from_index(i).bars(), *bars);
        }
        assert_eq!(
            params.settings(),
            Settings::default(),
            "parameter defaults are the engine's defaults"
        );
    }
}
