//! The rolling buffer REPET and REPET-SIM mask against: the STFT's geometry, the
//! settings (the buffer length and lookahead fixed at construction: they size the
//! buffer and set the latency), the frames heard so far, and the repeating mask.

use super::geometry::{Geometry, frames_of, high_pass_bins};
use super::history::FrameHistory;
use super::pitched::Pitched;
use super::settings::RepetSettings;

/// The foreground mask of `frame` against the repeating `model` `W`: the Wiener split
/// (by power) between the repeating `min(W, V)` and the rest; silent below `high_pass`
/// bins and where the frame is.
pub fn repeating_mask(
    frame: &[f32],
    model: &[f32],
    high_pass: usize,
    bins: usize,
    foreground: &mut [f32],
) {
    for f in 0..bins {
        let (v, w) = (frame[f], model[f]);
        foreground[f] = if f < high_pass || v <= 0.0 {
            0.0
        } else {
            // The repeating part cannot exceed the frame: min(W, V) of it repeats and the
            // rest, V − min(W, V), does not; a Wiener mask splits the frame between the
            // two by power (Rafii & Pardo's ratio mask `min(W, V)/V` by magnitude
            // measured 0.4 to 1.2 dB lower on the corpus).
            let repeating = w.min(v);
            let (b, g) = (repeating * repeating, (v - repeating) * (v - repeating));
            if b + g > 0.0 { g / (b + g) } else { 0.0 }
        };
    }
}

/// The rolling buffer both REPET variants keep: `buffer` of past frames plus the
/// lookahead, plus one frame so that an interpolated repetition has its upper neighbour.
pub fn history_capacity(settings: &RepetSettings, sample_rate: f32, hop: usize) -> usize {
    frames_of(settings.buffer_s, sample_rate, hop)
        + frames_of(settings.lookahead_s, sample_rate, hop)
        + 2
}

/// What REPET and REPET-SIM share: the STFT's geometry, the settings (the buffer
/// length and lookahead fixed at construction: they size the buffer and set the
/// latency) and the rolling buffer of frames.
pub struct Rolling {
    pub bins: usize,
    pub sample_rate: f32,
    pub fft_size: usize,
    pub hop: usize,
    /// In frames.
    pub lookahead: usize,
    pub settings: RepetSettings,
    pub history: FrameHistory,
    pitched: Pitched,
}

/// The lookahead, in hops, of REPET and REPET-SIM with `settings`: the Lookahead,
/// rounded to hops.
pub fn lookahead_for(settings: &RepetSettings, geometry: &Geometry) -> usize {
    geometry.frames(settings.lookahead_s)
}

impl Rolling {
    pub fn new(settings: RepetSettings, sample_rate: f32, fft_size: usize) -> Self {
        let hop = fft_size / super::stft::OVERLAP;
        let bins = fft_size / 2 + 1;
        let geometry = Geometry::new(sample_rate, fft_size);
        Self {
            bins,
            sample_rate,
            fft_size,
            hop,
            lookahead: lookahead_for(&settings, &geometry),
            settings,
            history: FrameHistory::new(bins, history_capacity(&settings, sample_rate, hop)),
            pitched: Pitched::new(&geometry),
        }
    }

    /// Applies settings while audio runs, without allocating (the buffer length and
    /// lookahead stay as built).
    pub fn set_settings(&mut self, settings: RepetSettings) {
        self.settings = RepetSettings {
            buffer_s: self.settings.buffer_s,
            lookahead_s: self.settings.lookahead_s,
            ..settings
        };
    }

    /// Frames in `seconds`, rounded.
    pub fn frames(&self, seconds: f32) -> usize {
        frames_of(seconds, self.sample_rate, self.hop)
    }

    /// Stores the newest frame; returns the number of the frame to mask now, `None`
    /// while that frame lies before the stream (it is silence: all background).
    pub fn push(&mut self, magnitude: &[f32], foreground: &mut [f32]) -> Option<usize> {
        self.history.push(magnitude);
        let masked = (self.history.count() - 1).checked_sub(self.lookahead);
        if masked.is_none() {
            foreground[..self.bins].fill(0.0);
        }
        masked
    }

    /// The foreground mask of frame `masked` against the repeating `model`: with
    /// Pitched lead, of its pitched part only.
    pub fn mask(&mut self, masked: usize, model: &[f32], foreground: &mut [f32]) {
        let high_pass = high_pass_bins(self.settings.high_pass_hz, self.sample_rate, self.fft_size);
        let frame = &self.history.frame(masked).as_flattened()[..self.bins];
        repeating_mask(frame, model, high_pass, self.bins, foreground);
        if self.settings.pitched_lead {
            self.pitched.keep(frame, foreground);
        }
    }
}
