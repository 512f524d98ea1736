//! REPET-SIM in real time: the repeating background from the most similar frames.
//!
//! Repetition need not be periodic (Rafii & Pardo, ISMIR 2012): a chorus comes back
//! after a verse, a riff after a break. For the frame being masked, its cosine
//! similarity with every frame of the rolling buffer is computed; the `neighbours`
//! most similar local maxima, at least `min_spacing` apart from each other and from
//! the frame itself and above a threshold, are the repetitions, and their median is
//! the repeating model. Mask and high-pass rule as REPET ([`super::repet`]).
//!
//! Past frames are always there; with a lookahead the frames up to the newest count
//! too. A frame with no similar frame yet (the first second of a stream) is all
//! background, as in nussl.
//!
//! **Period model** (on by default): REPET runs on the same buffer, and the model is
//! the mean of the similar frames' median and REPET's (the frame's repetitions one, two,
//! … periods away), once REPET has a period. Twenty similar frames are many more than
//! the repetitions a loop of seconds has had time to make in real time: most of them
//! are frames that merely look alike, and their median falls below the band wherever
//! the masked frame holds a note. The period's repetitions are repetitions. Costs
//! REPET's period tracking and model on top of the scan.
//!
//! There is nothing to share with the beat spectrum: REPET-SIM compares the *masked*
//! frame with the buffer, REPET's beat spectrum the *newest* one, in power.
//! Similarities are taken on the frames pooled into analysis bands
//! ([`super::history::analysis_pool`]) and compressed by a cube root, so that frames
//! compare by loudness and a loud lead does not decide which frames are alike; the
//! model is made of the full frames.

use std::sync::mpsc::{Receiver, Sender};

use super::history::{FrameHistory, analysis_decimation};
use super::kernels::dot_i16;
use super::median::{LANES, Lanes, lower_median_rows, median_scratch};
use super::repet::Repet;
use super::rolling::lookahead_for;
use super::separator::{Entry, Masks, Separator, Stems, Tempo};
use super::settings::{Algorithm, MAX_NEIGHBOURS, RepetSettings, Settings};

/// REPET-SIM in the registry. Lookahead: the Lookahead setting, rounded to hops.
pub const ENTRY: Entry = Entry {
    algorithm: Algorithm::RepetSim,
    id: "repet-sim",
    name: "REPET-SIM",
    stems: Stems::LEAD_AND_BACKGROUND,
    build: |s, g| Box::new(RepetSim::new(s.repet, g.sample_rate, g.fft_size)),
    lookahead: |s, g| lookahead_for(&s.repet, g),
};

/// Analysis steps between scanned candidates (23 ms at the usual hops): the scan over the
/// whole buffer is most of REPET-SIM's cost, and each chosen frame is then moved to the
/// most similar frame around it, so the model is built from the same frames.
const SCAN_STEPS: usize = 2;

pub struct RepetSim {
    /// REPET on the same rolling buffer: the period model, and the buffer itself.
    period: Repet,
    /// Frames per analysis step (see [`super::history::analysis_decimation`]).
    step: usize,
    /// Similarity of the masked frame with each held frame, by frame number mod capacity.
    similarity: Vec<f32>,
    /// Local maxima of the similarity: `(similarity, frame)`.
    candidates: Vec<(f32, usize)>,
    chosen: Vec<usize>,
    window: Vec<Lanes>,
    model: Vec<Lanes>,
    /// Once REPET's half is split off ([`Separator::split_off`]): the frames it models,
    /// in order, and what it sent with the last.
    fed: Option<Receiver<PeriodFrame>>,
    fed_model: Option<Vec<Lanes>>,
    fed_period: Option<f64>,
}

/// What REPET's half, split off to another thread, sends for each frame: what
/// `Repet::model_frame` gives on it.
struct PeriodFrame {
    /// The frame masked now (`None` while it lies before the stream).
    masked: Option<usize>,
    /// Its model from its repetitions one, two, … periods away, while any is held.
    model: Option<Vec<Lanes>>,
    /// The period that model used, in hops.
    period: Option<f64>,
}

/// REPET-SIM's period model on a thread of its own: REPET on the same frames, its beat
/// spectrum, period tracking and model from the repetitions (two fifths of REPET-SIM's
/// work at the defaults), sent frame by frame to the REPET-SIM it was split from. Its
/// own masks stay silent.
struct PeriodHalf {
    repet: Repet,
    foreground: Vec<f32>,
    results: Sender<PeriodFrame>,
}

impl Separator for PeriodHalf {
    fn lookahead(&self) -> usize {
        self.repet.rolling.lookahead
    }

    fn push(&mut self, magnitude: &[f32], _masks: &mut Masks) {
        let masked = self.repet.model_frame(magnitude, &mut self.foreground);
        let frame = PeriodFrame {
            masked,
            model: self.repet.period_model().map(<[Lanes]>::to_vec),
            period: self.repet.period_hops(),
        };
        // With the other half gone (its stream stopped) there is no one left to tell.
        let _ = self.results.send(frame);
    }

    fn reset(&mut self) {
        Separator::reset(&mut self.repet);
    }
}

impl RepetSim {
    pub fn new(settings: RepetSettings, sample_rate: f32, fft_size: usize) -> Self {
        let period = Repet::new(settings, sample_rate, fft_size);
        let rolling = &period.rolling;
        let capacity = rolling.history.capacity();
        let groups = rolling.history.groups();
        let step = SCAN_STEPS * analysis_decimation(rolling.hop as f64 / sample_rate as f64);
        // Filled once so that their pages are mapped before audio runs; emptied below.
        let mut candidates = vec![(0.0, 0); capacity];
        candidates.clear();
        let mut chosen = vec![0; MAX_NEIGHBOURS];
        chosen.clear();
        Self {
            step,
            period,
            similarity: vec![0.0; capacity],
            candidates,
            chosen,
            window: vec![[0.0; LANES]; median_scratch(MAX_NEIGHBOURS)],
            model: vec![[0.0; LANES]; groups],
            fed: None,
            fed_model: None,
            fed_period: None,
        }
    }

    /// Applies settings while audio runs, without allocating (the buffer length and
    /// lookahead stay as built).
    pub fn set_settings(&mut self, settings: RepetSettings) {
        if settings.period_model != self.period.rolling.settings.period_model {
            // Switched on, its beat spectrum has not heard the frames since it was off;
            // switched off, it holds no model to mix in.
            self.period.reset_period();
        }
        self.period.set_settings(RepetSettings {
            neighbours: settings.neighbours.clamp(1, MAX_NEIGHBOURS),
            ..settings
        });
    }

    pub fn set_tempo(&mut self, tempo: Option<Tempo>) {
        self.period.set_tempo(tempo);
    }

    /// The period of the period model for the frame masked last, in hops (`None` while
    /// there is none, or with the period model off).
    pub(super) fn period_hops(&self) -> Option<f64> {
        match self.fed {
            Some(_) => self.fed_period,
            None => self.period.period_hops(),
        }
    }

    /// Picks the repetitions of frame `masked` among the held frames into `chosen`.
    fn choose(&mut self, masked: usize) {
        self.candidates.clear();
        self.chosen.clear();
        let (oldest, newest) = (
            self.period.rolling.history.oldest(),
            self.period.rolling.history.count() - 1,
        );
        let capacity = self.similarity.len();
        let spacing = self
            .period
            .rolling
            .frames(self.period.rolling.settings.min_spacing_s)
            .max(1);
        // Candidates are scanned on the analysis grid (every frame at the usual hops,
        // every fourth at FFT 512), then each chosen one is moved to the best frame
        // around it: the scan is the costly part, the alignment matters to the model.
        let step = self.step;
        let (held_first, held_last) = (oldest, newest);
        let oldest = oldest.next_multiple_of(step);
        if oldest > newest {
            return;
        }
        let newest = newest - (newest - oldest) % step;
        scan(
            &self.period.rolling.history,
            masked,
            (oldest, newest, step),
            spacing,
            &mut self.similarity,
        );
        // The local maxima, walking the ring with one position that wraps: three
        // divisions per frame (`t % capacity`) were most of this loop's time.
        let threshold = self.period.rolling.settings.similarity_threshold;
        let (mut t, mut at) = (oldest, oldest % capacity);
        let (mut before, mut s) = (None, self.similarity[at]);
        loop {
            let next_at = (t < newest).then(|| ring_step(at, step, capacity));
            let after = next_at.map(|a| self.similarity[a]);
            let rises = before.is_none_or(|b| s >= b);
            let falls = after.is_none_or(|a| s > a);
            if rises && falls && s > 0.0 && s >= threshold {
                self.candidates.push((s, t));
            }
            let (Some(next_at), Some(after)) = (next_at, after) else {
                break;
            };
            (before, s, at, t) = (Some(s), after, next_at, t + step);
        }
        // Most similar first (a total order: frames are unique). The choice seldom reads
        // past the first few times `neighbours` candidates, out of hundreds on a short
        // loop, so those are ordered a batch at a time rather than all of them.
        let order = |a: &(f32, usize), b: &(f32, usize)| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1));
        let neighbours = self.period.rolling.settings.neighbours;
        let batch = (4 * neighbours).max(16);
        let (mut next, mut ordered) = (0, 0);
        while self.chosen.len() < neighbours && next < self.candidates.len() {
            if next == ordered {
                let len = self.candidates.len();
                let end = (ordered + batch).min(len);
                let rest = &mut self.candidates[ordered..];
                if end < len {
                    rest.select_nth_unstable_by(end - ordered - 1, order);
                }
                rest[..end - ordered].sort_unstable_by(order);
                ordered = end;
            }
            let t = self.candidates[next].1;
            next += 1;
            if self.chosen.iter().all(|&c| c.abs_diff(t) >= spacing) {
                self.chosen.push(t);
            }
        }
        if step > 1 {
            let history = &self.period.rolling.history;
            let similarity = |t: usize| similarity(history, masked, t, spacing);
            for c in &mut self.chosen {
                let around =
                    c.saturating_sub(step - 1).max(held_first)..=(*c + step - 1).min(held_last);
                *c = around
                    .max_by(|&a, &b| similarity(a).total_cmp(&similarity(b)))
                    .unwrap_or(*c);
            }
        }
    }
}

/// The [`similarity`] of frame `masked` with frames `first, first + step, … ≤ last`, each
/// at its frame number mod `out.len()`. The most of REPET-SIM's work; its integer dot
/// products are exact, so the AVX2 version where the CPU has it gives the same
/// similarities to the bit.
#[multiversion::multiversion(targets("x86_64+avx2"))]
fn scan(
    history: &FrameHistory,
    masked: usize,
    (first, last, step): (usize, usize, usize),
    spacing: usize,
    out: &mut [f32],
) {
    let capacity = out.len();
    let mut at = first % capacity;
    for t in (first..=last).step_by(step) {
        let slot = at;
        at = ring_step(at, step, capacity);
        out[slot] = multiversion::target::match_target! {
            "x86_64+avx2" => similarity_with(history, masked, t, spacing, |a, b| {
                // SAFETY: this version runs only where the CPU has AVX2.
                unsafe { super::kernels::dot_i16_avx2(a, b) }
            }),
            _ => similarity(history, masked, t, spacing),
        };
    }
}

/// The ring position `step` after `at` in a ring of `capacity` (`step ≤ capacity`).
#[inline(always)]
fn ring_step(at: usize, step: usize, capacity: usize) -> usize {
    let next = at + step;
    if next >= capacity {
        next - capacity
    } else {
        next
    }
}

/// Cosine similarity of frame `masked` with frame `t` on their analysis bands; −1 (never
/// chosen) within `spacing` of the masked frame or for a silent frame.
#[inline(always)]
fn similarity(history: &FrameHistory, masked: usize, t: usize, spacing: usize) -> f32 {
    similarity_with(history, masked, t, spacing, dot_i16)
}

/// [`similarity`] with the dot product `dot`.
#[inline(always)]
fn similarity_with(
    history: &FrameHistory,
    masked: usize,
    t: usize,
    spacing: usize,
    dot: impl Fn(&[i16], &[i16]) -> i32,
) -> f32 {
    let n = history.norm(masked) * history.norm(t);
    if masked.abs_diff(t) < spacing || n <= 0.0 {
        -1.0
    } else {
        dot(history.coarse(masked), history.coarse(t)) as f32 / n
    }
}

impl Separator for RepetSim {
    fn lookahead(&self) -> usize {
        self.period.rolling.lookahead
    }

    fn update(&mut self, settings: &Settings) {
        self.set_settings(settings.repet);
    }

    fn set_tempo(&mut self, tempo: Option<Tempo>) {
        RepetSim::set_tempo(self, tempo);
    }

    fn push(&mut self, magnitude: &[f32], masks: &mut Masks) {
        let (foreground, residual) = masks.foreground_and_residual();
        self.mask_frame(magnitude, foreground, residual);
    }

    fn reset(&mut self) {
        Separator::reset(&mut self.period);
        (self.fed_model, self.fed_period) = (None, None);
    }

    /// REPET's half: the period model, at the stream's start and with it on.
    fn split_off(&mut self) -> Option<Box<dyn Separator>> {
        let rolling = &self.period.rolling;
        if !rolling.settings.period_model || self.fed.is_some() || rolling.history.count() > 0 {
            return None;
        }
        let mut repet = Repet::new(rolling.settings, rolling.sample_rate, rolling.fft_size);
        repet.set_tempo(self.period.tempo());
        let (results, fed) = std::sync::mpsc::channel();
        self.fed = Some(fed);
        Some(Box::new(PeriodHalf {
            foreground: vec![0.0; rolling.bins],
            repet,
            results,
        }))
    }
}

impl RepetSim {
    /// [`Separator::push`], writing the foreground's mask (and the residual's where
    /// there is one) into plain slices: what a cascade of separators calls.
    pub fn mask_frame(&mut self, magnitude: &[f32], foreground: &mut [f32], _residual: &mut [f32]) {
        let masked = if let Some(fed) = &self.fed {
            // The channel is unbounded: the half gets each block a little before this
            // one, so no more than a few blocks of its frames ever wait here.
            let frame = fed
                .recv()
                .expect("REPET's half models every frame until the stream ends");
            (self.fed_model, self.fed_period) = (frame.model, frame.period);
            let masked = self.period.rolling.push(magnitude, foreground);
            debug_assert_eq!(masked, frame.masked, "the halves are fed the same frames");
            masked
        } else if self.period.rolling.settings.period_model {
            self.period.model_frame(magnitude, foreground)
        } else {
            self.period.rolling.push(magnitude, foreground)
        };
        let Some(masked) = masked else {
            return;
        };
        self.choose(masked);
        if self.chosen.is_empty() {
            // Nothing repeats (yet): all background.
            foreground[..self.period.rolling.bins].fill(0.0);
            return;
        }
        // Each chosen frame's row looked up once (a ring position is a division), not
        // once per group of bins.
        let history = &self.period.rolling.history;
        let mut frames: [&[Lanes]; MAX_NEIGHBOURS] = [&[]; MAX_NEIGHBOURS];
        for (f, &t) in frames.iter_mut().zip(&self.chosen) {
            *f = history.frame(t);
        }
        lower_median_rows(
            &frames[..self.chosen.len()],
            &mut self.window,
            &mut self.model,
        );
        // Two kernels (Liutkus et al. 2014): the similar frames, and the repetitions one,
        // two, … periods away. The mean of the two models: the period's is right on a
        // loop heard few times, where most of the twenty similar frames are not
        // repetitions; the similar frames' where parts repeat at other lags, or the lead
        // comes back to a note the period's repetitions also hold. The mean measured
        // better than either alone and than their maximum (README, "Period model").
        let period_model = match self.fed {
            Some(_) => self.fed_model.as_deref(),
            None => self.period.period_model(),
        };
        if let Some(period) = period_model {
            for (model, period) in self.model.iter_mut().zip(period) {
                for (m, p) in model.iter_mut().zip(period) {
                    *m = 0.5 * (*m + p);
                }
            }
        }
        self.period
            .rolling
            .mask(masked, self.model.as_flattened(), foreground);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::XorShift;

    const RATE: f32 = 8_000.0;
    const SIZE: usize = 512;
    const BINS: usize = SIZE / 2 + 1;
    const PERIOD: usize = 40;

    #[test]
    fn frames_heard_before_are_background_and_a_new_one_is_foreground() {
        let settings = RepetSettings {
            buffer_s: 12.0,
            neighbours: 5,
            min_spacing_s: 0.5,
            high_pass_hz: 0.0,
            ..RepetSettings::default()
        };
        let mut sim = RepetSim::new(settings, RATE, SIZE);
        let mut random = XorShift::new(13);
        let raw: Vec<Vec<f32>> = (0..PERIOD)
            .map(|_| (0..BINS).map(|_| random.uniform()).collect())
            .collect();
        // Windows overlap by three quarters, so neighbouring frames of real audio are
        // alike: each frame is the mean of four consecutive random spectra.
        let bar: Vec<Vec<f32>> = (0..PERIOD)
            .map(|i| {
                (0..BINS)
                    .map(|f| (0..4).map(|k| raw[(i + k) % PERIOD][f]).sum::<f32>() / 4.0)
                    .collect()
            })
            .collect();
        let (mut fg, mut res) = (vec![0.0; BINS], vec![0.0; BINS]);
        let frames = 12 * PERIOD;
        let lead = frames - 10;
        let (mut repeating, mut count) = (0.0, 0);
        for i in 0..frames {
            let mut frame = bar[i % PERIOD].clone();
            if i == lead {
                frame[100] += 20.0;
            }
            sim.mask_frame(&frame, &mut fg, &mut res);
            if i == lead {
                assert!(fg[100] > 0.9, "the lead: {}", fg[100]);
            } else if i >= 8 * PERIOD {
                repeating += fg.iter().sum::<f32>() / BINS as f32;
                count += 1;
            }
        }
        let repeating = repeating / count as f32;
        assert!(
            repeating < 0.05,
            "the loop leaks {repeating} into the foreground"
        );
    }

    #[test]
    fn neighbours_are_clamped_to_what_the_buffers_hold() {
        let settings = RepetSettings {
            neighbours: 10 * MAX_NEIGHBOURS,
            ..RepetSettings::default()
        };
        let mut sim = RepetSim::new(RepetSettings::default(), RATE, SIZE);
        sim.set_settings(settings);
        let (mut fg, mut res) = (vec![0.0; BINS], vec![0.0; BINS]);
        for i in 0..200 {
            let frame = vec![(i % 7) as f32; BINS];
            sim.mask_frame(&frame, &mut fg, &mut res);
            assert!(fg.iter().all(|m| (0.0..=1.0).contains(m)));
        }
    }
}
