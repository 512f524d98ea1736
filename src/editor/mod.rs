//! The egui editor: the controls of the chosen algorithm on the left, what the
//! algorithm hears on the right (spectrogram with masks, REPET's beat spectrum,
//! stem meters).
//!
//! The audio thread feeds the views through [`crate::feed`] and never waits for the
//! editor; with the editor closed it analyses nothing for it.

mod views;
mod widgets;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use egui::{Align, Color32, Grid, Layout, Rect, RichText, ScrollArea, Ui, UiBuilder, pos2, vec2};
use nice_plug::context::gui::GuiContext;
use nice_plug::editor::dpi::LogicalSize;
use nice_plug::prelude::{ParamSetter, ResizeHint};
use nice_plug_egui::RepaintNotifier;
use nice_plug_egui::resizable_window::ResizableWindow;
use nice_plug_egui::{
    EguiEditor, EguiEditorState, EguiNiceSettings, NiceEguiApp, create_egui_editor,
};
use ringbuf::HeapCons;

use crate::engine::{Algorithm, MAX_STEMS, latency_of};
use crate::feed::{self, Column, Feed};
use crate::params::UnweaveParams;
use views::{Meters, Spectrogram};

/// The editor's size when first opened, and the smallest it may be made, in points.
pub const DEFAULT_SIZE: (f32, f32) = (1040.0, 660.0);
const MIN_SIZE: (f32, f32) = (820.0, 560.0);
const CONTROLS_WIDTH: f32 = 330.0;
const MARGIN: f32 = 10.0;

/// The editor's state (size, open or not), shared by every time it is opened.
pub fn default_state() -> Arc<EguiEditorState> {
    EguiEditorState::from_size(LogicalSize::new(DEFAULT_SIZE.0, DEFAULT_SIZE.1), 1.0)
}

/// Builds the editor; `columns` is the editor's end of the spectrogram queue.
pub fn create(
    params: Arc<UnweaveParams>,
    feed: Arc<Feed>,
    columns: HeapCons<Column>,
    state: Arc<EguiEditorState>,
    repaint: RepaintNotifier,
) -> Option<EguiEditor<UnweaveEditor>> {
    let min = LogicalSize::new(MIN_SIZE.0, MIN_SIZE.1);
    let settings = EguiNiceSettings::new()
        .with_tile("Unweave")
        .with_resize_hint(ResizeHint::resizable().with_min_max_logical_size(Some(min), None));
    let app = UnweaveEditor {
        params,
        feed,
        columns,
        gui: None,
        spectrogram: Spectrogram::default(),
        meters: Meters::default(),
        beat: Vec::with_capacity(feed::BEAT_POINTS),
        last_paint: None,
    };
    create_egui_editor(state, repaint, settings, app)
}

pub struct UnweaveEditor {
    params: Arc<UnweaveParams>,
    feed: Arc<Feed>,
    columns: HeapCons<Column>,
    gui: Option<GuiContext>,
    spectrogram: Spectrogram,
    meters: Meters,
    beat: Vec<f32>,
    last_paint: Option<Instant>,
}

impl NiceEguiApp for UnweaveEditor {
    fn build(
        &mut self,
        egui_ctx: egui::Context,
        gui: GuiContext,
        _frame: &mut nice_plug_egui::Frame,
    ) -> Result<(), nice_plug_egui::baseview::HandlerError> {
        egui_ctx.set_visuals(egui::Visuals::dark());
        self.gui = Some(gui);
        self.last_paint = None;
        Ok(())
    }

    fn ui(&mut self, ui: &mut Ui, _frame: &mut nice_plug_egui::Frame) {
        let Some(gui) = self.gui.clone() else {
            return;
        };
        let setter = gui.param_setter();
        self.spectrogram.drain(&mut self.columns);
        let now = Instant::now();
        let dt = self
            .last_paint
            .map_or(0.0, |t| now.duration_since(t).as_secs_f32());
        self.last_paint = Some(now);
        if self.meters.update(self.feed.take_meters(), dt) {
            // Meters fall back to silence even when no audio arrives to wake the editor.
            ui.ctx().request_repaint_after(Duration::from_millis(33));
        }

        ResizableWindow::new("unweave")
            .min_size(vec2(MIN_SIZE.0, MIN_SIZE.1))
            .show(ui, |ui| {
                let full = ui.max_rect().shrink(MARGIN);
                let controls = Rect::from_min_size(full.min, vec2(CONTROLS_WIDTH, full.height()));
                let views =
                    Rect::from_min_max(pos2(controls.right() + MARGIN, full.top()), full.max);
                let mut left = ui.new_child(
                    UiBuilder::new()
                        .max_rect(controls)
                        .layout(Layout::top_down(Align::Min)),
                );
                ScrollArea::vertical()
                    .id_salt("controls")
                    .show(&mut left, |ui| self.controls(ui, &setter));
                let mut right = ui.new_child(
                    UiBuilder::new()
                        .max_rect(views)
                        .layout(Layout::top_down(Align::Min)),
                );
                self.views(&mut right);
            });
    }

    fn editor_closed(&mut self) {
        self.spectrogram.forget_texture();
        self.gui = None;
    }
}

impl UnweaveEditor {
    fn controls(&mut self, ui: &mut Ui, setter: &ParamSetter) {
        let p = &self.params;
        let algorithm = p.algorithm();
        let labels = algorithm.stems().labels;
        ui.heading(RichText::new("Unweave").strong());
        ui.label(RichText::new("real-time source separation").weak());
        ui.add_space(6.0);

        Grid::new("main")
            .num_columns(2)
            .spacing([10.0, 6.0])
            .show(ui, |ui| {
                widgets::list(ui, setter, &p.algorithm);
                widgets::toggle(ui, setter, &p.bypass);
            });
        ui.separator();

        ui.label(RichText::new("Balance").strong());
        ui.add(
            nice_plug_egui::widgets::ParamSlider::for_param(&p.balance, setter)
                .with_width(CONTROLS_WIDTH - 90.0),
        );
        ui.horizontal(|ui| {
            let [towards_background, towards_foreground] = algorithm.stems().balance;
            ui.colored_label(
                views::BACKGROUND,
                format!("< {}", towards_background.to_lowercase()),
            );
            ui.with_layout(Layout::right_to_left(Align::Center), |ui| {
                ui.add_space(80.0);
                ui.colored_label(
                    views::FOREGROUND,
                    format!("{} >", towards_foreground.to_lowercase()),
                );
            });
        });
        ui.add_space(4.0);
        Grid::new("levels")
            .num_columns(2)
            .spacing([10.0, 6.0])
            .show(ui, |ui| {
                let stems = p.settings().stem_count();
                for ((label, level), switches) in
                    labels.iter().zip(p.levels()).zip(p.switches()).take(stems)
                {
                    widgets::stem(ui, label, setter, level, switches);
                }
            });
        ui.separator();

        self.latency(ui);
        ui.separator();

        ui.label(RichText::new(format!("{} settings", algorithm.name())).strong());
        let settings = p.settings();
        Grid::new("settings")
            .num_columns(2)
            .spacing([10.0, 6.0])
            .show(ui, |ui| {
                for (spec, param) in p.settings.iter() {
                    if (spec.shown)(&settings) {
                        widgets::setting(ui, setter, param);
                    }
                }
            });
        if algorithm == Algorithm::Nmf {
            self.learn(ui, setter);
        }
        ui.add_space(6.0);
        ui.label(
            RichText::new("Click a value to type one; double-click resets.")
                .weak()
                .small(),
        );
    }

    /// The Learn switch, what it is doing, and a way to forget what was taught.
    fn learn(&self, ui: &mut Ui, setter: &ParamSetter) {
        use crate::templates::{MAX_LEARN_SECONDS, MIN_LEARN_SECONDS, Status};
        let p = &self.params;
        let store = &p.templates;
        let taught = p.settings().nmf.taught as usize;
        let stem = ["background", "foreground"][taught];
        ui.add_space(4.0);
        ui.horizontal(|ui| {
            let on = p.learn.value();
            let label = if on { "Stop and learn" } else { "Learn" };
            let button = egui::Button::new(RichText::new(label).strong()).selected(on);
            if ui
                .add(button)
                .on_hover_text(format!(
                    "On: listen to a passage of the {stem} alone (up to {MAX_LEARN_SECONDS:.0} s). Off: learn it."
                ))
                .clicked()
            {
                setter.begin_set_parameter(&p.learn);
                setter.set_parameter(&p.learn, !on);
                setter.end_set_parameter(&p.learn);
            }
            if store.summary().is_some() && ui.button("Forget").clicked() {
                store.store(None);
            }
        });
        let status = match store.status() {
            Status::Listening => format!(
                "Listening to the {stem}: {:.1} s",
                store.heard.load(std::sync::atomic::Ordering::Relaxed)
            ),
            Status::Learning => "Learning templates...".to_string(),
            Status::Failed => format!(
                "Nothing learned: play at least {MIN_LEARN_SECONDS} s of sound while Learn is on."
            ),
            Status::Idle => match store.summary() {
                Some((components, seconds)) => {
                    format!("Taught: {components} templates from {seconds:.1} s.")
                }
                None => format!(
                    "Not taught yet: everything stays in the background. Switch Learn on over a passage of the {stem} alone, then off."
                ),
            },
        };
        ui.label(RichText::new(status).small());
    }

    fn latency(&self, ui: &mut Ui) {
        let sample_rate = self.feed.sample_rate.load(Ordering::Relaxed);
        let running = self.feed.latency.load(Ordering::Relaxed) as usize;
        let wanted = latency_of(&self.params.settings(), sample_rate);
        let ms = |samples: usize| samples as f32 * 1000.0 / sample_rate;
        ui.label(format!("Latency {running} samples · {:.1} ms", ms(running)));
        if self.feed.restart_pending.load(Ordering::Relaxed) || wanted != running {
            ui.colored_label(
                Color32::from_rgb(255, 200, 80),
                format!(
                    "Switching to the new settings: latency {wanted} samples · {:.1} ms",
                    ms(wanted)
                ),
            );
        }
        let chosen = self.params.settings().fft_size;
        let running_fft = self.feed.fft_size.load(Ordering::Relaxed) as usize;
        if running_fft != 0 && running_fft != chosen {
            ui.label(format!(
                "At {:.0} Hz the FFT runs at {running_fft} samples, the length in time {chosen} has at 8 to 384 kHz",
                sample_rate
            ));
        }
    }

    fn views(&mut self, ui: &mut Ui) {
        let algorithm = self.params.algorithm();
        let stems = self.feed.stems.load(Ordering::Relaxed).min(MAX_STEMS);
        let labels = algorithm.stems().labels;
        let width = ui.available_width();
        let meters_height = (1 + MAX_STEMS) as f32 * 18.0 + 8.0;
        let beat_height = if algorithm == Algorithm::Repet {
            150.0
        } else {
            0.0
        };
        let spectrogram_height =
            (ui.available_height() - meters_height - beat_height - 16.0).max(120.0);
        self.spectrogram.show(
            ui,
            vec2(width, spectrogram_height),
            self.feed.top_hz.load(Ordering::Relaxed),
            &labels[..stems.min(labels.len())],
        );
        if algorithm == Algorithm::Repet {
            ui.add_space(6.0);
            let step = self.feed.beat_spectrum(&mut self.beat);
            let repet = self.params.settings().repet;
            views::beat_spectrum(
                ui,
                vec2(width, beat_height - 6.0),
                &self.beat,
                step,
                self.feed.period(),
                (repet.min_period_s, repet.max_period_s),
            );
        }
        ui.add_space(8.0);
        self.meters.show(ui, width, labels, stems);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nice_plug::prelude::Params;

    /// Without egui's fonts every label draws as boxes, and the picture test cannot
    /// tell boxes from letters: check the glyphs of everything the editor writes.
    #[test]
    fn the_fonts_have_every_glyph_the_editor_writes() {
        let ctx = egui::Context::default();
        let mut output = ctx.run_ui(egui::RawInput::default(), |_| {});
        output.textures_delta.clear();
        let params = UnweaveParams::default();
        let mut text = String::from(
            "Unweave real-time source separation Balance Latency samples · ms < > Will be \
             once the host re-activates the plugin Changes apply settings level \
             Click a value to type one; double-click resets. Hz 100 300 1k 3k 10k \
             time (brightness: level over the last 90 dB) Beat spectrum period s \
             (auto, from the beat spectrum) host tempo manual no period yet: listening \
             −∞ dB 0.0 dB Input Percussive Harmonic Residual Lead Repeating on off \
             Stop and learn Learn Forget Listening to the background foreground: \
             Learning templates... Nothing learned: play at least 0.5 s of sound while \
             Learn is on. Taught: 16 templates from 4.5 s. Not taught yet: everything \
             stays in the background. Switch Learn on over a passage of the alone, then off.",
        );
        for (_, ptr, _) in params.param_map() {
            // SAFETY: the pointers come from `params`, alive for this whole test.
            unsafe {
                text.push_str(ptr.name());
                for normalized in [0.0, 0.37, 1.0] {
                    text.push_str(&ptr.normalized_value_to_string(normalized, true));
                }
            }
        }
        for style in [
            egui::FontId::proportional(12.0),
            egui::FontId::monospace(12.0),
        ] {
            let missing: String = ctx.fonts_mut(|fonts| {
                text.chars()
                    .filter(|&c| !c.is_whitespace() && !fonts.has_glyph(&style, c))
                    .collect()
            });
            assert!(missing.is_empty(), "{style:?} lacks '{missing}'");
        }
    }
}
