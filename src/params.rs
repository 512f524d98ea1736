//! The plugin's parameters. Ids are stable (hosts store automation by id). The
//! separation settings are generated from the settings table
//! ([`crate::engine::settings::SPECS`]): one parameter per row, with its id, name,
//! unit, range and list; the algorithm list from the registry.

use nice_plug::params::enums::EnumParamInner;
use nice_plug::prelude::*;

use crate::engine::registry;
use crate::engine::settings::{Kind, SPECS, Spec};
use crate::engine::{Algorithm, Settings};
use crate::templates::SharedTemplates;

#[derive(Params)]
pub struct UnweaveParams {
    #[id = "bypass"]
    pub bypass: BoolParam,
    /// One of the registry's algorithms, saved by its id.
    #[id = "algorithm"]
    pub algorithm: EnumParamInner,
    /// −100 % background only, 0 % unchanged, +100 % foreground only.
    #[id = "balance"]
    pub balance: FloatParam,
    #[id = "foreground_level"]
    pub foreground_level: FloatParam,
    #[id = "background_level"]
    pub background_level: FloatParam,
    #[id = "residual_level"]
    pub residual_level: FloatParam,
    /// Stems' fourth stem, the lead (the other algorithms have three).
    #[id = "lead_level"]
    pub lead_level: FloatParam,
    /// Each stem's mute and solo, in output order (ids `foreground_mute`, …).
    #[nested(id_prefix = "foreground")]
    pub foreground_switches: StemSwitches,
    #[nested(id_prefix = "background")]
    pub background_switches: StemSwitches,
    #[nested(id_prefix = "residual")]
    pub residual_switches: StemSwitches,
    #[nested(id_prefix = "lead")]
    pub lead_switches: StemSwitches,
    /// Every row of the settings table.
    #[nested]
    pub settings: SettingParams,
    /// NMF: on, the input is captured (up to 30 s); off, the captured passage is
    /// learned as the taught stem's templates. Automatable, so a host can teach it
    /// over a chosen passage.
    #[id = "learn"]
    pub learn: BoolParam,
    /// The taught NMF templates, saved with the project.
    #[persist = "nmf-templates"]
    pub templates: SharedTemplates,
}

/// A stem's mute and solo. While any stem in use is soloed, only soloed stems are
/// heard on the main output; a muted stem is never heard there. The stem's own port
/// carries it either way (a port is for routing, the main output for listening).
#[derive(Params)]
pub struct StemSwitches {
    #[id = "mute"]
    pub mute: BoolParam,
    #[id = "solo"]
    pub solo: BoolParam,
}

impl StemSwitches {
    fn new(stem: &str) -> Self {
        Self {
            mute: BoolParam::new(format!("{stem} mute"), false),
            solo: BoolParam::new(format!("{stem} solo"), false),
        }
    }
}

/// Whether each of the first `stems` stems is heard on the main output, from their
/// switches (`(mute, solo)`); the stems beyond are not.
pub fn audible(
    switches: [(bool, bool); crate::engine::MAX_STEMS],
    stems: usize,
) -> [bool; crate::engine::MAX_STEMS] {
    let soloing = switches.iter().take(stems).any(|&(_, solo)| solo);
    std::array::from_fn(|s| {
        let (mute, solo) = switches[s];
        s < stems && !mute && (solo || !soloing)
    })
}

/// The index of a list parameter's value, within its variants.
pub fn list_index(param: &EnumParamInner) -> usize {
    (param.modulated_plain_value().max(0) as usize).min(param.len() - 1)
}

/// One row of the settings table as a plugin parameter.
pub enum SettingParam {
    Float(FloatParam),
    Integer(IntParam),
    Switch(BoolParam),
    /// Choices and steps: a list parameter, saved by the row's ids.
    List(EnumParamInner),
}

impl SettingParam {
    fn new(spec: &Spec, default: f32) -> Self {
        match spec.kind {
            Kind::Float { min, max } => SettingParam::Float(ranged(
                spec.name,
                default,
                (min, max),
                spec.skew,
                spec.unit,
                spec.digits,
            )),
            Kind::Integer { min, max } => SettingParam::Integer(IntParam::new(
                spec.name,
                default as i32,
                IntRange::Linear {
                    min: min as i32,
                    max: max as i32,
                },
            )),
            Kind::Switch => SettingParam::Switch(BoolParam::new(spec.name, default >= 0.5)),
            Kind::Choice { ids, labels } => SettingParam::List(EnumParamInner::new(
                spec.name,
                default as usize,
                labels,
                Some(ids),
            )),
            Kind::Steps {
                values,
                ids,
                labels,
            } => {
                let index = values.iter().position(|v| *v == default).unwrap_or(0);
                SettingParam::List(EnumParamInner::new(spec.name, index, labels, Some(ids)))
            }
        }
    }

    /// The value, as the row's `set` takes it.
    pub fn value(&self, spec: &Spec) -> f32 {
        match (self, spec.kind) {
            (SettingParam::Float(p), _) => p.value(),
            (SettingParam::Integer(p), _) => p.value() as f32,
            (SettingParam::Switch(p), _) => f32::from(u8::from(p.value())),
            (SettingParam::List(p), Kind::Steps { values, .. }) => values[list_index(p)],
            (SettingParam::List(p), _) => list_index(p) as f32,
        }
    }

    fn as_ptr(&self) -> ParamPtr {
        match self {
            SettingParam::Float(p) => p.as_ptr(),
            SettingParam::Integer(p) => p.as_ptr(),
            SettingParam::Switch(p) => p.as_ptr(),
            SettingParam::List(p) => p.as_ptr(),
        }
    }
}

/// The separation settings' parameters, one per row of the settings table, in its order.
pub struct SettingParams {
    params: Vec<SettingParam>,
}

impl Default for SettingParams {
    fn default() -> Self {
        let defaults = Settings::default();
        Self {
            params: SPECS
                .iter()
                .map(|spec| SettingParam::new(spec, (spec.get)(&defaults)))
                .collect(),
        }
    }
}

impl SettingParams {
    /// Each row with its parameter.
    pub fn iter(&self) -> impl Iterator<Item = (&'static Spec, &SettingParam)> {
        SPECS.iter().zip(&self.params)
    }

    /// Writes every parameter's value into `settings`.
    pub fn apply(&self, settings: &mut Settings) {
        for (spec, param) in self.iter() {
            (spec.set)(settings, param.value(spec));
        }
    }
}

// SAFETY: the pointers point into `params`, which is never resized after construction,
// so they live as long as `self`.
unsafe impl Params for SettingParams {
    fn param_map(&self) -> Vec<(String, ParamPtr, String)> {
        self.iter()
            .map(|(spec, param)| (spec.id.to_string(), param.as_ptr(), String::new()))
            .collect()
    }
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
    let params = UnweaveParams::default();
    let levels = [
        &params.foreground_level,
        &params.background_level,
        &params.residual_level,
    ]
    .map(|level| level.as_ptr());
    for (id, ptr, _) in params.param_map() {
        if !levels.contains(&ptr) {
            continue;
        }
        if let Some(nice_plug::plugin::ParamValue::F32(v)) = state.params.get_mut(&id) {
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
        Self {
            bypass: BoolParam::new("Bypass", false).make_bypass(),
            algorithm: EnumParamInner::new(
                "Algorithm",
                Algorithm::default() as usize,
                &registry::NAMES,
                Some(&registry::IDS),
            ),
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
            lead_level: level("Lead level"),
            foreground_switches: StemSwitches::new("Foreground"),
            background_switches: StemSwitches::new("Background"),
            residual_switches: StemSwitches::new("Residual"),
            lead_switches: StemSwitches::new("Lead"),
            settings: SettingParams::default(),
            learn: BoolParam::new("Learn", false),
            templates: SharedTemplates::default(),
        }
    }
}

impl UnweaveParams {
    /// The stem levels in output order: foreground (Stems: drums), background (bass),
    /// residual (other), lead.
    pub fn levels(&self) -> [&FloatParam; crate::engine::MAX_STEMS] {
        [
            &self.foreground_level,
            &self.background_level,
            &self.residual_level,
            &self.lead_level,
        ]
    }

    /// Each stem's mute and solo, in output order.
    pub fn switches(&self) -> [&StemSwitches; crate::engine::MAX_STEMS] {
        [
            &self.foreground_switches,
            &self.background_switches,
            &self.residual_switches,
            &self.lead_switches,
        ]
    }

    /// Whether each stem is heard on the main output now (see [`StemSwitches`]).
    pub fn audible(&self, stems: usize) -> [bool; crate::engine::MAX_STEMS] {
        audible(
            self.switches().map(|s| (s.mute.value(), s.solo.value())),
            stems,
        )
    }

    /// The algorithm chosen now.
    pub fn algorithm(&self) -> Algorithm {
        Algorithm::ALL[list_index(&self.algorithm)]
    }

    /// The engine settings the parameters describe now.
    pub fn settings(&self) -> Settings {
        let mut settings = Settings {
            algorithm: self.algorithm(),
            ..Settings::default()
        };
        self.settings.apply(&mut settings);
        settings
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::settings::{Kind, SPECS};

    #[test]
    fn solo_hears_only_soloed_stems_in_use_and_mute_always_wins() {
        let off = (false, false);
        assert_eq!(audible([off; 4], 3), [true, true, true, false]);
        assert_eq!(
            audible([(true, false), off, off, off], 4),
            [false, true, true, true]
        );
        assert_eq!(
            audible([off, (false, true), (true, true), off], 4),
            [false, true, false, false]
        );
        // A solo on a stem the algorithm does not have silences nothing.
        assert_eq!(
            audible([off, off, off, (false, true)], 3),
            [true, true, true, false]
        );
    }

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
        for (spec, param) in params.settings.iter() {
            let range = match param {
                SettingParam::Float(p) => (p.preview_plain(0.0), p.preview_plain(1.0)),
                SettingParam::Integer(p) => {
                    (p.preview_plain(0.0) as f32, p.preview_plain(1.0) as f32)
                }
                SettingParam::Switch(_) => (0.0, 1.0),
                SettingParam::List(p) => (0.0, (p.len() - 1) as f32),
            };
            let expected = match spec.kind {
                Kind::Float { min, max } => (min, max),
                Kind::Integer { min, max } => (min as f32, max as f32),
                Kind::Switch => (0.0, 1.0),
                Kind::Choice { ids, .. } => (0.0, (ids.len() - 1) as f32),
                Kind::Steps { values, .. } => (0.0, (values.len() - 1) as f32),
            };
            assert_eq!(range, expected, "{}", spec.id);
        }
        assert_eq!(
            params.settings(),
            Settings::default(),
            "parameter defaults are the engine's defaults"
        );
    }

    #[test]
    fn every_list_value_reaches_the_engine() {
        let params = UnweaveParams::default();
        for (spec, param) in params.settings.iter() {
            let (SettingParam::List(p), Some((ids, _))) = (param, spec.kind.list()) else {
                continue;
            };
            for id in ids {
                assert!(
                    p.set_from_id(id),
                    "{}: {id} is not an id of the list",
                    spec.id
                );
                let mut expected = Settings::default();
                expected.set_from_str(&format!("{}={id}", spec.id)).unwrap();
                let got = (spec.get)(&params.settings());
                assert_eq!(got, (spec.get)(&expected), "{}={id}", spec.id);
            }
        }
    }
}
