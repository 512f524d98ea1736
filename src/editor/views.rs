//! The editor's views: a scrolling spectrogram with the masks laid over it, REPET's
//! beat spectrum with the period in use, and stem meters.

use std::collections::VecDeque;

use egui::{
    Align2, Color32, ColorImage, FontId, Pos2, Rect, Sense, Stroke, TextureHandle, TextureOptions,
    Ui, pos2, vec2,
};
use ringbuf::HeapCons;
use ringbuf::traits::Consumer;

use crate::engine::{MAX_STEMS, PeriodSource};
use crate::feed::{Column, LOWEST_HZ, METER_COUNT, ROWS};

/// Colours of the stems wherever they appear: mask overlay, meters, legend.
pub const FOREGROUND: Color32 = Color32::from_rgb(255, 150, 40);
pub const BACKGROUND: Color32 = Color32::from_rgb(70, 150, 255);
pub const RESIDUAL: Color32 = Color32::from_rgb(190, 110, 255);
/// Stems' fourth stem, the lead.
pub const LEAD: Color32 = Color32::from_rgb(120, 220, 120);
/// Each stem's colour, in output order.
pub const STEM_COLOURS: [Color32; MAX_STEMS] = [FOREGROUND, BACKGROUND, RESIDUAL, LEAD];
pub const INPUT: Color32 = Color32::from_rgb(200, 200, 200);
const PANEL: Color32 = Color32::from_rgb(14, 16, 20);
const GRID: Color32 = Color32::from_rgb(60, 64, 72);
const LABEL: Color32 = Color32::from_rgb(170, 174, 182);

/// Columns on screen: about seven seconds at 44.1 kHz with FFT 2048.
const WIDTH: usize = 600;

/// The scrolling spectrogram: brightness is the input's level, hue is how the masks
/// split each band between the stems.
pub struct Spectrogram {
    columns: VecDeque<Column>,
    texture: Option<TextureHandle>,
    stale: bool,
}

impl Default for Spectrogram {
    fn default() -> Self {
        Self {
            columns: std::iter::repeat_n(Column::default(), WIDTH).collect(),
            texture: None,
            stale: true,
        }
    }
}

fn scale(c: Color32, by: f32) -> [f32; 3] {
    [c.r() as f32 * by, c.g() as f32 * by, c.b() as f32 * by]
}

impl Spectrogram {
    /// Takes every column the audio thread queued.
    pub fn drain(&mut self, queue: &mut HeapCons<Column>) {
        while let Some(column) = queue.try_pop() {
            if self.columns.len() == WIDTH {
                self.columns.pop_front();
            }
            self.columns.push_back(column);
            self.stale = true;
        }
    }

    /// Drops the texture: egui's context goes away when the editor closes.
    pub fn forget_texture(&mut self) {
        self.texture = None;
        self.stale = true;
    }

    fn image(&self) -> ColorImage {
        let mut pixels = vec![PANEL; WIDTH * ROWS];
        for (x, column) in self.columns.iter().enumerate() {
            for row in 0..ROWS {
                let level = column.level[row] as f32 / 255.0;
                if level == 0.0 {
                    continue;
                }
                let mut rgb = [0.0f32; 3];
                for (share, colour) in column.share.iter().zip(STEM_COLOURS) {
                    let part = scale(colour, share[row] as f32 / 255.0);
                    for i in 0..3 {
                        rgb[i] += part[i];
                    }
                }
                // Perceived brightness: the quiet half of the range stays visible.
                let light = level.powf(1.6);
                let mix = |i: usize| (rgb[i] * light).min(255.0) as u8;
                pixels[(ROWS - 1 - row) * WIDTH + x] = Color32::from_rgb(mix(0), mix(1), mix(2));
            }
        }
        ColorImage::new([WIDTH, ROWS], pixels)
    }

    /// `names`: the stems' names, in output order.
    pub fn show(&mut self, ui: &mut Ui, size: egui::Vec2, top_hz: f32, names: &[&str]) {
        let (rect, _) = ui.allocate_exact_size(size, Sense::hover());
        let painter = ui.painter_at(rect);
        painter.rect_filled(rect, 2.0, PANEL);
        if self.stale || self.texture.is_none() {
            let image = self.image();
            match &mut self.texture {
                Some(texture) => texture.set(image, TextureOptions::LINEAR),
                None => {
                    self.texture = Some(ui.ctx().load_texture(
                        "spectrogram",
                        image,
                        TextureOptions::LINEAR,
                    ))
                }
            }
            self.stale = false;
        }
        let plot = Rect::from_min_max(rect.min + vec2(44.0, 4.0), rect.max - vec2(4.0, 20.0));
        if let Some(texture) = &self.texture {
            painter.image(
                texture.id(),
                plot,
                Rect::from_min_max(pos2(0.0, 0.0), pos2(1.0, 1.0)),
                Color32::WHITE,
            );
        }
        let font = FontId::proportional(11.0);
        let span = (top_hz / LOWEST_HZ).ln();
        for (hz, text) in [
            (100.0, "100"),
            (300.0, "300"),
            (1000.0, "1k"),
            (3000.0, "3k"),
            (10_000.0, "10k"),
        ] {
            if hz >= top_hz {
                continue;
            }
            let y = plot.bottom() - plot.height() * (hz / LOWEST_HZ).ln() / span;
            painter.line_segment(
                [pos2(plot.left(), y), pos2(plot.right(), y)],
                Stroke::new(0.5, GRID.gamma_multiply(0.6)),
            );
            painter.text(
                pos2(plot.left() - 4.0, y),
                Align2::RIGHT_CENTER,
                text,
                font.clone(),
                LABEL,
            );
        }
        painter.text(
            pos2(rect.left() + 4.0, plot.top()),
            Align2::LEFT_TOP,
            "Hz",
            font.clone(),
            LABEL,
        );
        let mut x = plot.left();
        for (name, colour) in names.iter().zip(STEM_COLOURS) {
            let chip = Rect::from_min_size(pos2(x, rect.bottom() - 14.0), vec2(10.0, 10.0));
            painter.rect_filled(chip, 2.0, colour);
            let galley = painter.layout_no_wrap(name.to_string(), font.clone(), LABEL);
            let width = galley.size().x;
            painter.galley(pos2(x + 14.0, rect.bottom() - 16.0), galley, LABEL);
            x += width + 30.0;
        }
        painter.text(
            pos2(plot.right(), rect.bottom() - 16.0),
            Align2::RIGHT_TOP,
            "time  (brightness: level over the last 90 dB)",
            font,
            LABEL,
        );
    }
}

/// Draws REPET's beat spectrum over lag, the lag range it searches, and the period
/// in use with its source.
pub fn beat_spectrum(
    ui: &mut Ui,
    size: egui::Vec2,
    values: &[f32],
    step: f32,
    period: Option<(f32, PeriodSource)>,
    search: (f32, f32),
) {
    let (rect, _) = ui.allocate_exact_size(size, Sense::hover());
    let painter = ui.painter_at(rect);
    painter.rect_filled(rect, 2.0, PANEL);
    let font = FontId::proportional(11.0);
    let plot = Rect::from_min_max(rect.min + vec2(8.0, 18.0), rect.max - vec2(8.0, 16.0));
    let longest = (values.len() as f32 * step).max(search.1).max(1.0);
    let x_of = |lag: f32| plot.left() + plot.width() * (lag / longest).clamp(0.0, 1.0);
    painter.rect_filled(
        Rect::from_x_y_ranges(x_of(search.0)..=x_of(search.1), plot.y_range()),
        0.0,
        GRID.gamma_multiply(0.25),
    );
    let mut second = 1.0;
    while second < longest {
        let x = x_of(second);
        painter.line_segment(
            [pos2(x, plot.top()), pos2(x, plot.bottom())],
            Stroke::new(0.5, GRID),
        );
        painter.text(
            pos2(x, plot.bottom() + 2.0),
            Align2::CENTER_TOP,
            format!("{second:.0} s"),
            font.clone(),
            LABEL,
        );
        second += if longest > 16.0 { 2.0 } else { 1.0 };
    }
    // Lag 0 is the frame with itself; the shape of the rest is what matters.
    let shown = values.get(1..).unwrap_or(&[]);
    if shown.len() > 1 {
        let (lo, hi) = shown
            .iter()
            .fold((f32::MAX, f32::MIN), |(lo, hi), &v| (lo.min(v), hi.max(v)));
        let span = (hi - lo).max(1e-6);
        let points: Vec<Pos2> = shown
            .iter()
            .enumerate()
            .map(|(i, &v)| {
                pos2(
                    x_of((i + 1) as f32 * step),
                    plot.bottom() - plot.height() * (v - lo) / span,
                )
            })
            .collect();
        painter.add(egui::Shape::line(points, Stroke::new(1.5, BACKGROUND)));
    }
    let caption = match period {
        Some((seconds, source)) => {
            let x = x_of(seconds);
            painter.line_segment(
                [pos2(x, plot.top()), pos2(x, plot.bottom())],
                Stroke::new(2.0, FOREGROUND),
            );
            let from = match source {
                PeriodSource::Auto => "auto, from the beat spectrum",
                PeriodSource::HostTempo => "host tempo",
                PeriodSource::Manual => "manual",
            };
            format!("Beat spectrum · period {seconds:.3} s ({from})")
        }
        None => "Beat spectrum · no period yet: listening".to_string(),
    };
    painter.text(
        rect.min + vec2(8.0, 3.0),
        Align2::LEFT_TOP,
        caption,
        font,
        LABEL,
    );
}

/// Peak meters with a falling bar and a held peak, in dBFS.
pub struct Meters {
    level_db: [f32; METER_COUNT],
    held_db: [f32; METER_COUNT],
    held_for: [f32; METER_COUNT],
}

impl Default for Meters {
    fn default() -> Self {
        Self {
            level_db: [METER_FLOOR_DB; METER_COUNT],
            held_db: [METER_FLOOR_DB; METER_COUNT],
            held_for: [0.0; METER_COUNT],
        }
    }
}

const METER_FLOOR_DB: f32 = -60.0;
const METER_TOP_DB: f32 = 6.0;
const FALL_DB_PER_SECOND: f32 = 24.0;
const HOLD_SECONDS: f32 = 1.5;

impl Meters {
    /// The bar and the held peak of meter `i`, in dBFS.
    #[cfg(test)]
    fn reading(&self, i: usize) -> (f32, f32) {
        (self.level_db[i], self.held_db[i])
    }

    /// Takes new peaks (linear) after `dt` seconds; returns whether anything still moves.
    pub fn update(&mut self, peaks: [f32; METER_COUNT], dt: f32) -> bool {
        let mut moving = false;
        for (i, peak) in peaks.into_iter().enumerate() {
            let db = 20.0 * peak.max(1e-6).log10();
            self.level_db[i] = db
                .max(self.level_db[i] - FALL_DB_PER_SECOND * dt)
                .max(METER_FLOOR_DB);
            self.held_for[i] += dt;
            if db >= self.held_db[i] || self.held_for[i] > HOLD_SECONDS {
                self.held_db[i] = db.max(METER_FLOOR_DB);
                self.held_for[i] = 0.0;
            }
            moving |= self.level_db[i] > METER_FLOOR_DB || self.held_db[i] > METER_FLOOR_DB;
        }
        moving
    }

    /// The input's meter and those of the first `stems` stems, named `names`.
    pub fn show(&self, ui: &mut Ui, width: f32, names: &[&str], stems: usize) {
        let font = FontId::proportional(11.0);
        for i in 0..=stems.min(names.len()) {
            let (rect, _) = ui.allocate_exact_size(vec2(width, 18.0), Sense::hover());
            let painter = ui.painter_at(rect);
            let name = if i == 0 { "Input" } else { names[i - 1] };
            painter.text(
                rect.left_center(),
                Align2::LEFT_CENTER,
                name,
                font.clone(),
                LABEL,
            );
            let bar = Rect::from_min_max(
                pos2(rect.left() + 84.0, rect.top() + 4.0),
                pos2(rect.right() - 52.0, rect.bottom() - 4.0),
            );
            painter.rect_filled(bar, 2.0, PANEL);
            let x_of = |db: f32| {
                bar.left()
                    + bar.width()
                        * ((db - METER_FLOOR_DB) / (METER_TOP_DB - METER_FLOOR_DB)).clamp(0.0, 1.0)
            };
            painter.rect_filled(
                Rect::from_min_max(bar.min, pos2(x_of(self.level_db[i]), bar.bottom())),
                2.0,
                if i == 0 { INPUT } else { STEM_COLOURS[i - 1] },
            );
            let zero = x_of(0.0);
            painter.line_segment(
                [pos2(zero, bar.top()), pos2(zero, bar.bottom())],
                Stroke::new(1.0, GRID),
            );
            if self.held_db[i] > METER_FLOOR_DB {
                let x = x_of(self.held_db[i]);
                let colour = if self.held_db[i] > 0.0 {
                    Color32::RED
                } else {
                    Color32::WHITE
                };
                painter.line_segment(
                    [pos2(x, bar.top()), pos2(x, bar.bottom())],
                    Stroke::new(2.0, colour),
                );
            }
            let text = if self.held_db[i] > METER_FLOOR_DB {
                format!("{:.1} dB", self.held_db[i])
            } else {
                "−∞ dB".to_string()
            };
            painter.text(
                rect.right_center(),
                Align2::RIGHT_CENTER,
                text,
                font.clone(),
                LABEL,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meters_hold_the_peak_then_fall() {
        let mut meters = Meters::default();
        assert_eq!(
            meters.reading(1),
            (METER_FLOOR_DB, METER_FLOOR_DB),
            "silent until sound"
        );
        assert!(meters.update([0.5, 0.25, 0.0, 0.0, 0.0], 0.01));
        let (level, held) = meters.reading(0);
        assert!((level - -6.02).abs() < 0.01 && (held - -6.02).abs() < 0.01);
        assert!((meters.reading(1).1 - -12.04).abs() < 0.01);
        // Half a second of silence: the bar falls 12 dB, the peak holds.
        for _ in 0..50 {
            meters.update([0.0; METER_COUNT], 0.01);
        }
        let (level, held) = meters.reading(0);
        assert!((level - -18.0).abs() < 0.1, "bar at {level}");
        assert!((held - -6.02).abs() < 0.01, "peak held at {held}");
        // After the hold time, everything is back to silence.
        for _ in 0..300 {
            meters.update([0.0; METER_COUNT], 0.01);
        }
        assert!(
            !meters.update([0.0; METER_COUNT], 0.01),
            "nothing moves in silence"
        );
    }
}
