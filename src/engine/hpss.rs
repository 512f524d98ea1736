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
//! Both run on sliding sorted windows (see [`super::median`]): one branch-free
//! merge per bin per hop instead of a sort, eight bins at a time.

use super::geometry::Geometry;
use super::median::{LANES, Lanes, MedianFilter, slide};
use super::separator::Separator;
use super::separator::{Entry, Masks, Side, Stems};
use super::settings::{Algorithm, HpssSettings, MAX_HARMONIC_WIDTH_MS, Settings};

/// HPSS in the registry. Lookahead: half the harmonic median (`(frames − 1) / 2`
/// hops), none with the causal median.
pub const ENTRY: Entry = Entry {
    algorithm: Algorithm::Hpss,
    id: "hpss",
    name: "HPSS",
    stems: Stems {
        files: &["percussive", "harmonic", "residual"],
        labels: &["Percussive", "Harmonic", "Residual"],
        complement: 1,
        sides: &[Side::Foreground, Side::Background, Side::Neither],
        balance: ["Harmonic", "Percussive"],
    },
    build: |s, g| Box::new(Hpss::new(s.hpss, g.sample_rate, g.fft_size)),
    lookahead: |s, g| lookahead_for(&s.hpss, g),
};

/// The lookahead, in hops, of HPSS with `settings`.
pub fn lookahead_for(settings: &HpssSettings, geometry: &Geometry) -> usize {
    if settings.low_latency {
        0
    } else {
        (harmonic_frames(
            settings.harmonic_width_ms,
            geometry.sample_rate,
            geometry.hop,
        ) - 1)
            / 2
    }
}
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
    /// Bins rounded up to whole groups of [`LANES`]: the time medians run a group at a time.
    groups: usize,
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

    /// Ring of magnitude frames, `capacity` rows of `groups` (bins past the last are 0);
    /// frame `n` at row `n % capacity`.
    history: Vec<Lanes>,
    capacity: usize,
    /// Number of frames pushed (frames before the first are silence).
    frames: usize,
    /// Per group of bins, the sorted time windows: `max_width + 1` positions, the first
    /// `past + future + 1` in use, `+∞` after them.
    sorted: Vec<Lanes>,
    max_width: usize,
    rebuild: bool,

    harmonic: Vec<Lanes>,
    percussive: Vec<f32>,
    frequency_median: MedianFilter,
    scratch: Vec<f32>,
}

impl Hpss {
    /// Allocates everything the settings can later ask for at this sample rate and FFT size.
    pub fn new(settings: HpssSettings, sample_rate: f32, fft_size: usize) -> Self {
        let lookahead = lookahead_for(&settings, &Geometry::new(sample_rate, fft_size));
        Self::with_lookahead(settings, sample_rate, fft_size, lookahead)
    }

    /// As [`Self::new`], with the time median reaching `lookahead` frames ahead of the
    /// masked frame (at most half the median; the rest of it lies in the past).
    pub fn with_lookahead(
        settings: HpssSettings,
        sample_rate: f32,
        fft_size: usize,
        lookahead: usize,
    ) -> Self {
        let hop = fft_size / super::stft::OVERLAP;
        let bins = fft_size / 2 + 1;
        let groups = bins.div_ceil(LANES);
        let width = harmonic_frames(settings.harmonic_width_ms, sample_rate, hop);
        let max_width = harmonic_frames(MAX_HARMONIC_WIDTH_MS, sample_rate, hop).max(width);
        // The ring reaches back to the frame leaving the widest window: lookahead + width + 1.
        let capacity = max_width + lookahead + 1;
        let mut hpss = Self {
            bins,
            groups,
            sample_rate,
            fft_size,
            hop,
            lookahead,
            settings,
            past: 0,
            future: 0,
            percussive_half: 0,
            history: vec![[0.0; LANES]; capacity * groups],
            capacity,
            frames: 0,
            sorted: vec![[f32::INFINITY; LANES]; (max_width + 1) * groups],
            max_width,
            rebuild: true,
            harmonic: vec![[0.0; LANES]; groups],
            percussive: vec![0.0; bins],
            // The widest percussive median is clamped to 2 · bins − 1.
            frequency_median: MedianFilter::new(bins, 2 * bins - 1),
            scratch: vec![0.0; max_width],
        };
        hpss.set_settings(settings);
        hpss.clear_windows();
        super::buffers::prefault(hpss.history.as_flattened_mut());
        super::buffers::prefault(hpss.sorted.as_flattened_mut());
        hpss
    }

    /// The windows of a stream of silence: no sort needed, so `reset` stays cheap and
    /// the first frame does no more work than any other.
    fn clear_windows(&mut self) {
        let width = self.past + self.future + 1;
        for window in self.sorted.chunks_exact_mut(self.max_width + 1) {
            window[..width].fill([0.0; LANES]);
            window[width..].fill([f32::INFINITY; LANES]);
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

    /// Row of frame `n` in the history ring.
    fn row(&self, n: isize) -> usize {
        n.rem_euclid(self.capacity as isize) as usize * self.groups
    }

    /// Sorts every window afresh from the history (after the width changed).
    fn rebuild_windows(&mut self) {
        let width = self.past + self.future + 1;
        let stride = self.max_width + 1;
        let first = self.frames as isize - 1 - self.lookahead as isize - self.past as isize;
        for g in 0..self.groups {
            for l in 0..LANES {
                for k in 0..width {
                    let n = first + k as isize;
                    self.scratch[k] = if n < 0 {
                        0.0
                    } else {
                        self.history[self.row(n) + g][l]
                    };
                }
                self.scratch[..width].sort_unstable_by(f32::total_cmp);
                let window = &mut self.sorted[g * stride..(g + 1) * stride];
                for (k, position) in window.iter_mut().enumerate() {
                    position[l] = if k < width {
                        self.scratch[k]
                    } else {
                        f32::INFINITY
                    };
                }
            }
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

    fn update(&mut self, settings: &Settings) {
        self.set_settings(settings.hpss);
    }

    fn push(&mut self, magnitude: &[f32], masks: &mut Masks) {
        let (foreground, residual) = masks.foreground_and_residual();
        self.mask_frame(magnitude, foreground, residual);
    }

    fn reset(&mut self) {
        self.history.fill([0.0; LANES]);
        self.frames = 0;
        self.clear_windows();
    }
}

impl Hpss {
    /// [`Separator::push`], writing the foreground's mask (and the residual's where
    /// there is one) into plain slices: what a cascade of separators calls.
    pub fn mask_frame(&mut self, magnitude: &[f32], foreground: &mut [f32], residual: &mut [f32]) {
        self.mask_frame_over(magnitude, None, foreground, residual);
    }

    /// [`Self::mask_frame`] with the harmonic estimate at least `floor` in each bin: what
    /// a cascade knows of the masked frame's harmonic part from elsewhere.
    pub fn mask_frame_over(
        &mut self,
        magnitude: &[f32],
        floor: Option<&[f32]>,
        foreground: &mut [f32],
        residual: &mut [f32],
    ) {
        let (bins, groups) = (self.bins, self.groups);
        let row = self.row(self.frames as isize);
        self.history[row..row + groups].as_flattened_mut()[..bins].copy_from_slice(magnitude);
        self.frames += 1;
        let centre = self.frames as isize - 1 - self.lookahead as isize;

        let width = self.past + self.future + 1;
        let stride = self.max_width + 1;
        if self.rebuild {
            self.rebuild_windows();
        } else {
            let entering = centre + self.future as isize;
            let leaving = centre - self.past as isize - 1;
            let (enter_row, leave_row) = (self.row(entering), self.row(leaving));
            const SILENCE: Lanes = [0.0; LANES];
            for g in 0..groups {
                // Before the stream starts every frame is silence, whatever the ring holds.
                let new = if entering < 0 {
                    &SILENCE
                } else {
                    &self.history[enter_row + g]
                };
                let old = if leaving < 0 {
                    &SILENCE
                } else {
                    &self.history[leave_row + g]
                };
                slide(&mut self.sorted[g * stride..], width, old, new);
            }
        }
        for g in 0..groups {
            self.harmonic[g] = self.sorted[g * stride + width / 2];
        }
        if let Some(floor) = floor {
            for (h, f) in self.harmonic.as_flattened_mut().iter_mut().zip(floor) {
                *h = h.max(*f);
            }
        }
        let harmonic = &self.harmonic.as_flattened()[..bins];

        if centre < 0 {
            self.percussive.fill(0.0);
        } else {
            let row = self.row(centre);
            let frame = &self.history[row..row + groups].as_flattened()[..bins];
            self.frequency_median
                .run(frame, self.percussive_half, &mut self.percussive);
        }

        let power = self.settings.mask_power;
        let beta = self.settings.separation;
        if beta > 1.0 {
            for f in 0..bins {
                let (h, p) = (harmonic[f], self.percussive[f]);
                let mh = softmask(h, p * beta, power, false);
                let mp = softmask(p, h * beta, power, false);
                foreground[f] = mp;
                residual[f] = (1.0 - mh - mp).max(0.0);
            }
        } else {
            for f in 0..bins {
                foreground[f] = softmask(self.percussive[f], harmonic[f], power, true);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::separator::Separator;

    const RATE: f32 = 8_000.0;
    const SIZE: usize = 512;
    const BINS: usize = SIZE / 2 + 1;

    /// The foreground masks of `frames`, each aligned with its frame.
    fn masks(hpss: &mut Hpss, frames: &[Vec<f32>]) -> Vec<Vec<f32>> {
        let lookahead = hpss.lookahead();
        let silence = vec![0.0; BINS];
        let mut out = Vec::new();
        for (i, frame) in frames
            .iter()
            .chain(std::iter::repeat_n(&silence, lookahead))
            .enumerate()
        {
            let (mut fg, mut res) = (vec![0.0; BINS], vec![0.0; BINS]);
            hpss.mask_frame(frame, &mut fg, &mut res);
            if i >= lookahead {
                out.push(fg);
            }
        }
        out
    }

    #[test]
    fn a_steady_tone_is_harmonic_and_a_click_is_percussive() {
        for low_latency in [false, true] {
            let settings = HpssSettings {
                low_latency,
                ..HpssSettings::default()
            };
            let mut hpss = Hpss::new(settings, RATE, SIZE);
            let mut frames = vec![vec![0.0; BINS]; 80];
            for frame in &mut frames {
                frame[40] = 1.0;
            }
            frames[50].fill(1.0);
            let masks = masks(&mut hpss, &frames);
            assert!(masks[60][40] < 0.01, "the tone: {}", masks[60][40]);
            assert!(masks[50][120] > 0.99, "the click: {}", masks[50][120]);
        }
    }

    #[test]
    fn lookahead_is_half_the_harmonic_median_or_none_when_causal() {
        let geometry = Geometry::new(RATE, SIZE);
        let centred = HpssSettings::default();
        let width = harmonic_frames(centred.harmonic_width_ms, RATE, geometry.hop);
        assert_eq!(Hpss::new(centred, RATE, SIZE).lookahead(), (width - 1) / 2);
        assert_eq!(lookahead_for(&centred, &geometry), (width - 1) / 2);
        let causal = HpssSettings {
            low_latency: true,
            ..centred
        };
        assert_eq!(Hpss::new(causal, RATE, SIZE).lookahead(), 0);
        assert_eq!(lookahead_for(&causal, &geometry), 0);
    }

    #[test]
    fn masks_stay_in_range_on_silence_and_huge_values() {
        let mut hpss = Hpss::new(HpssSettings::default(), RATE, SIZE);
        let mut frames = vec![vec![0.0; BINS]; 20];
        frames[5].fill(1e30);
        frames[6][3] = f32::MIN_POSITIVE;
        for mask in masks(&mut hpss, &frames) {
            assert!(mask.iter().all(|m| (0.0..=1.0).contains(m)));
        }
    }
}
