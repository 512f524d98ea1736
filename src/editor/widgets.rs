//! Controls bound to parameters: each one wraps its change in begin/end gestures,
//! so dragging or picking records automation, and host automation moves it.
//! Sliders are nice-plug-egui's `ParamSlider` (click the value to type one,
//! double-click or Ctrl-click to reset).

use egui::{ComboBox, Ui};
use nice_plug::params::enums::EnumParamInner;
use nice_plug::prelude::{BoolParam, FloatParam, Param, ParamSetter};

use nice_plug_egui::widgets::ParamSlider;

use crate::params::{SettingParam, StemSwitches, list_index};

/// Width of a slider in the controls column, in points.
pub const SLIDER_WIDTH: f32 = 150.0;

/// One labelled row of a two-column [`egui::Grid`].
pub fn row(ui: &mut Ui, label: &str, add: impl FnOnce(&mut Ui)) {
    ui.label(label);
    add(ui);
    ui.end_row();
}

pub fn slider<P: Param>(ui: &mut Ui, setter: &ParamSetter, param: &P) {
    row(ui, param.name(), |ui| {
        ui.add(ParamSlider::for_param(param, setter).with_width(SLIDER_WIDTH));
    });
}

/// A stem's row: its level under the stem's name for what it means now, then its
/// mute (M) and solo (S) buttons.
pub fn stem(
    ui: &mut Ui,
    label: &str,
    setter: &ParamSetter,
    level: &FloatParam,
    switches: &StemSwitches,
) {
    row(ui, label, |ui| {
        ui.horizontal(|ui| {
            ui.add(ParamSlider::for_param(level, setter).with_width(SLIDER_WIDTH - 56.0));
            for (param, text) in [(&switches.mute, "M"), (&switches.solo, "S")] {
                let on = param.value();
                let response = ui.selectable_label(on, text).on_hover_text(param.name());
                if response.clicked() {
                    setter.begin_set_parameter(param);
                    setter.set_parameter(param, !on);
                    setter.end_set_parameter(param);
                }
            }
        });
    });
}

/// A drop-down of a list parameter's variants; double-click resets it.
pub fn list(ui: &mut Ui, setter: &ParamSetter, param: &EnumParamInner) {
    row(ui, param.name(), |ui| {
        let current = list_index(param);
        let names = param.variants();
        let mut picked = None;
        let response = ComboBox::from_id_salt(param.name())
            .width(SLIDER_WIDTH)
            .selected_text(names[current])
            .show_ui(ui, |ui| {
                for (i, name) in names.iter().enumerate() {
                    if ui.selectable_label(i == current, *name).clicked() {
                        picked = Some(i as i32);
                    }
                }
            })
            .response;
        if response.double_clicked() {
            picked = Some(param.default_plain_value());
        }
        if let Some(value) = picked.filter(|v| *v != current as i32) {
            setter.begin_set_parameter(param);
            setter.set_parameter(param, value);
            setter.end_set_parameter(param);
        }
    });
}

/// The control of one row of the settings table.
pub fn setting(ui: &mut Ui, setter: &ParamSetter, param: &SettingParam) {
    match param {
        SettingParam::Float(p) => slider(ui, setter, p),
        SettingParam::Integer(p) => slider(ui, setter, p),
        SettingParam::Switch(p) => toggle(ui, setter, p),
        SettingParam::List(p) => list(ui, setter, p),
    }
}

/// A check box; double-click resets it.
pub fn toggle(ui: &mut Ui, setter: &ParamSetter, param: &BoolParam) {
    row(ui, param.name(), |ui| {
        let mut value = param.value();
        let text = if value { "on" } else { "off" };
        let response = ui.checkbox(&mut value, text);
        let value = if response.double_clicked() {
            Some(param.default_plain_value())
        } else {
            response.changed().then_some(value)
        };
        if let Some(value) = value.filter(|v| *v != param.value()) {
            setter.begin_set_parameter(param);
            setter.set_parameter(param, value);
            setter.end_set_parameter(param);
        }
    });
}
