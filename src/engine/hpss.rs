//! Median-filter harmonic/percussive separation in real time.
//!
//! Harmonic sounds are steady across time, percussive ones are broad across
//! frequency (FitzGerald, DAFx 2010). Per bin, a median across `harmonic_width`
//! of frames estimates the harmonic part `H`; per frame, a median across
//! `percussive_width` of bins estimates the percussive part `P`. Soft masks
//! `P^p / (P^p + H^p)` split the frame; with a separation factor β > 1 each part
//! must beat the other by β (Driedger, ISMIR 2014, librosa's `margin`) and what
//! neither claims is the residual.
//!
//! The time median is centred on the frame being masked, so it needs
//! `(L − 1) / 2` frames of lookahead; the low-latency mode uses past frames only.
//! Both run on sliding sorted windows (see [`super::median`]): one
//! `replace` per bin per hop instead of a sort.

use super::median::{median_filter_reflect, median_of_sorted, padded, replace, sort};
use super::separator::Separator;
use super::settings::HpssSettings;

/// The longest harmonic median the settings table allows, in milliseconds; buffers
/// are sized for it so that the width can change while audio runs.
const MAX_HARMONIC_WIDTH_MS: f32 = 1000.0;
/// Below this, both estimates count as silence (librosa's `tiny` for float32).
const TINY: f32 = 1.175_494_4e-38;

/// The odd length closest to `x` (a median needs a middle), at least 1.
pub fn nearest_odd(x: f32) -> usize {
    let half = ((x - 1.0) / 2.0).round().max(0.0) as usize;
    2 * half + 1
}

/// Harmonic median length in frames for a width in milliseconds.
pub fn harmonic_frames(width_ms: f32, sample_rate: f32, hop: usize) -> usize {
    nearest_odd(width_ms * 1e-3 * sample_rate / hop as f32)
}

/// Percussive median length in bins for a width in hertz.
pub fn percussive_bins(width_hz: f32, sample_rate: f32, fft_size: usize) -> usize {
    nearest_odd(width_hz * fft_size as f32 / sample_rate)
}

pub struct Hpss {
    bins: usize,
    sample_rate: f32,
    fft_size: usize,
    hop: usize,
    /// Fixed for the life of this separator: it sets the latency.
    lookahead: usize,
    settings: HpssSettings,

    /// Current time median: `past` frames before the masked frame, `future` after it.
    past: usize,
    future: usize,
    percussive_half: usize,

    /// Ring of magnitude frames, `capacity` frames of `bins`; frame `n` at slot `n % capacity`.
    history: Vec<f32>,
    capacity: usize,
    /// Number of frames pushed (frames before the first are silence).
    frames: usize,
    /// Per bin, the sorted time window: stride `padded(max_width)`, the first
    /// `past + future + 1` values in use, `+∞` after them up to a whole number of lanes.
    sorted: Vec<f32>,
    max_width: usize,
    rebuild: bool,

    harmonic: Vec<f32>,
    percussive: Vec<f32>,
    scratch: Vec<f32>,
}

impl Hpss {
    /// Allocates everything the settings can later ask for at this sample rate and FFT size.
    pub fn new(settings: HpssSettings, sample_rate: f32, fft_size: usize) -> Self {
        let hop = fft_size / super::stft::OVERLAP;
        let bins = fft_size / 2 + 1;
        let width = harmonic_frames(settings.harmonic_width_ms, sample_rate, hop);
        let lookahead = if settings.low_latency {
            0
        } else {
            (width - 1) / 2
        };
        let max_width = harmonic_frames(MAX_HARMONIC_WIDTH_MS, sample_rate, hop).max(width);
        // The ring reaches back to the frame leaving the widest window: lookahead + width + 1.
        let capacity = max_width + lookahead + 1;
        let mut hpss = Self {
            bins,
            sample_rate,
            fft_size,
            hop,
            lookahead,
            settings,
            past: 0,
            future: 0,
            percussive_half: 0,
            history: vec![0.0; capacity * bins],
            capacity,
            frames: 0,
            sorted: vec![f32::INFINITY; padded(max_width) * bins],
            max_width,
            rebuild: true,
            harmonic: vec![0.0; bins],
            percussive: vec![0.0; bins],
            scratch: vec![0.0; padded(2 * bins + 1)],
        };
        hpss.set_settings(settings);
        hpss.clear_windows();
        super::prefault(&mut hpss.history);
        super::prefault(&mut hpss.sorted);
        hpss
    }

    /// The windows of a stream of silence: no sort needed, so `reset` stays cheap and
    /// the first frame does no more work than any other.
    fn clear_windows(&mut self) {
        let (stride, width) = (padded(self.max_width), self.past + self.future + 1);
        for window in self.sorted.chunks_exact_mut(stride) {
            window[..width].fill(0.0);
            window[width..].fill(f32::INFINITY);
        }
        self.rebuild = false;
    }

    /// Applies settings while audio runs, without allocating. The lookahead stays
    /// what it was at construction: a wider median than it allows reaches further
    /// into the past until the engine is rebuilt.
    pub fn set_settings(&mut self, settings: HpssSettings) {
        self.settings = settings;
        let width = harmonic_frames(settings.harmonic_width_ms, self.sample_rate, self.hop)
            .min(self.max_width);
        let future = ((width - 1) / 2).min(self.lookahead);
        let past = width - 1 - future;
        if (past, future) != (self.past, self.future) {
            self.past = past;
            self.future = future;
            self.rebuild = true;
        }
        let perc = percussive_bins(
            settings.percussive_width_hz,
            self.sample_rate,
            self.fft_size,
        );
        self.percussive_half = ((perc - 1) / 2).min(self.bins - 1);
    }

    /// Frame `n` (`n ≥ 0`, not yet overwritten) of the history ring.
    fn frame(&self, n: isize) -> &[f32] {
        let slot = n.rem_euclid(self.capacity as isize) as usize;
        &self.history[slot * self.bins..(slot + 1) * self.bins]
    }

    fn rebuild_windows(&mut self) {
        let width = self.past + self.future + 1;
        let stride = padded(self.max_width);
        let centre = self.frames as isize - 1 - self.lookahead as isize;
        for f in 0..self.bins {
            for k in 0..stride {
                let n = centre - self.past as isize + k as isize;
                let v = if k >= width {
                    f32::INFINITY
                } else if n < 0 {
                    0.0
                } else {
                    self.frame(n)[f]
                };
                self.sorted[f * stride + k] = v;
            }
            sort(&mut self.sorted[f * stride..f * stride + padded(width)]);
        }
        self.rebuild = false;
    }
}

/// librosa's `softmask(x, reference, power, split_zeros)` for one value.
#[inline]
fn softmask(x: f32, reference: f32, power: f32, split_zeros: bool) -> f32 {
    let z = x.max(reference);
    if z < TINY {
        return if split_zeros { 0.5 } else { 0.0 };
    }
    let (a, b) = (x / z, reference / z);
    let (a, b) = if power == 2.0 {
        (a * a, b * b)
    } else if power == 1.0 {
        (a, b)
    } else {
        (a.powf(power), b.powf(power))
    };
    a / (a + b)
}

impl Separator for Hpss {
    fn lookahead(&self) -> usize {
        self.lookahead
    }

    fn push(&mut self, magnitude: &[f32], foreground: &mut [f32], residual: &mut [f32]) {
        let bins = self.bins;
        let slot = self.frames % self.capacity;
        self.history[slot * bins..(slot + 1) * bins].copy_from_slice(magnitude);
        self.frames += 1;
        let centre = self.frames as isize - 1 - self.lookahead as isize;

        let width = self.past + self.future + 1;
        let (stride, lanes) = (padded(self.max_width), padded(width));
        if self.rebuild {
            self.rebuild_windows();
        } else {
            let entering = centre + self.future as isize;
            let leaving = centre - self.past as isize - 1;
            let capacity = self.capacity as isize;
            let enter_slot = entering.rem_euclid(capacity) as usize * bins;
            let leave_slot = leaving.rem_euclid(capacity) as usize * bins;
            for f in 0..bins {
                // Before the stream starts every frame is silence, whatever the ring holds.
                let new = if entering < 0 {
                    0.0
                } else {
                    self.history[enter_slot + f]
                };
                let old = if leaving < 0 {
                    0.0
                } else {
                    self.history[leave_slot + f]
                };
                if new.to_bits() != old.to_bits() {
                    replace(&mut self.sorted[f * stride..f * stride + lanes], old, new);
                }
            }
        }
        for f in 0..bins {
            self.harmonic[f] =
                median_of_sorted(&self.sorted[f * stride..f * stride + lanes], width);
        }

        let masked = if centre < 0 { None } else { Some(centre) };
        match masked {
            None => self.percussive.fill(0.0),
            Some(n) => {
                let slot = (n as usize % self.capacity) * bins;
                let frame = &self.history[slot..slot + bins];
                median_filter_reflect(
                    frame,
                    self.percussive_half,
                    &mut self.scratch,
                    &mut self.percussive,
                );
            }
        }

        let power = self.settings.mask_power;
        let beta = self.settings.separation;
        if beta > 1.0 {
            for f in 0..bins {
                let (h, p) = (self.harmonic[f], self.percussive[f]);
                let mh = softmask(h, p * beta, power, false);
                let mp = softmask(p, h * beta, power, false);
                foreground[f] = mp;
                residual[f] = (1.0 - mh - mp).max(0.0);
            }
        } else {
            for f in 0..bins {
                foreground[f] = softmask(self.percussive[f], self.harmonic[f], power, true);
            }
        }
    }

    fn reset(&mut self) {
        self.history.fill(0.0);
        self.frames = 0;
        self.clear_windows();
    }
}
