//! 2DFT separation in real time (Seetharaman, Pishdadian & Pardo 2017).
//!
//! A repeating accompaniment is a periodic pattern in the magnitude spectrogram, so
//! its 2-D Fourier transform (frequency × time) is concentrated in peaks along the
//! modulation-rate axis; a lead that does not repeat spreads out. A rolling patch of
//! the last `patch` frames is transformed, the peaks are kept with a soft weight
//! (how far the local maximum stands above its neighbourhood's mean, in local
//! standard deviations: the thesis's `local_std` filter), and the inverse transform
//! of the peaks is the repeating model `W`, and the inverse of the rest, `V − W`, the
//! non-repeating one; a Wiener mask splits each frame between them by power.
//!
//! **Work spread over hops.** The frequency transform of each frame is taken as the
//! frame arrives. Every `every` hops the patch is snapshotted and its rate-axis
//! transforms, peak filter and inverse run a slice of rows per hop over the next
//! `every` hops, so no single `process` call pays for a whole 2-D transform. The
//! result models the `every` frames just after the patch's centre.
//!
//! **Latency**: the masked frame sits at the patch's centre when the patch is taken,
//! and the result arrives `every` hops later: `lookahead = patch / 2 + every` hops.
//!
//! Differences from nussl's offline FT2D: the patch rolls instead of covering the
//! whole file; channels are linked (per-channel masks measured the same on the
//! corpus); the mask is the Wiener split between the two models rather than nussl's
//! `min(W, V)/V` normalised by its maximum over the whole file (non-causal). On the
//! corpus the Wiener split measured 1.4 / 1.0 dB better (background / foreground) at
//! the default patch.
//!
//! **Silence** is not part of what repeats: where the patch reaches past the audible
//! stretch it is filled (`plan_fill`, `analyse_row`) instead of transformed as silence.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender};

use realfft::num_complex::Complex;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};
use rustfft::{Fft, FftPlanner};

mod peaks;
mod repeats;
mod schedule;

use crate::engine::geometry::{Geometry, high_pass_bins};
use crate::engine::pitched::Pitched;
use crate::engine::separator::{Entry, Masks, Separator, Stems};
use crate::engine::settings::{Algorithm, Ft2dSettings, Settings};
use repeats::Repeats;
use schedule::{geometry_of, tasks_of_step};

/// 2DFT in the registry. Lookahead: half the patch, plus the hops a transform is
/// spread over ([`lookahead_of`]).
pub const ENTRY: Entry = Entry {
    algorithm: Algorithm::Ft2d,
    id: "2dft",
    name: "2DFT",
    stems: Stems::LEAD_AND_BACKGROUND,
    build: |s, g| {
        let mut ft2d = Ft2d::new(s.ft2d, g.sample_rate, g.fft_size);
        ft2d.pitched_lead = s.repet.pitched_lead;
        Box::new(ft2d)
    },
    lookahead: |s, g| lookahead_of(&s.ft2d, g.sample_rate, g.hop),
};

/// Seconds between two patch transforms: each one models this much audio.
pub const UPDATE_SECONDS: f32 = 0.5;
/// The longest patch any setting asks for, in seconds.
pub const MAX_PATCH_SECONDS: f32 = 20.0;

/// The lookahead, in hops, of a 2DFT separator with `settings`: `patch / 2 + every`.
pub fn lookahead_of(settings: &Ft2dSettings, sample_rate: f32, hop: usize) -> usize {
    let (patch, every) = geometry_of(settings, sample_rate, hop);
    patch / 2 + every
}

pub struct Ft2d {
    settings: Ft2dSettings,
    /// The repeating family's Pitched lead switch (in `RepetSettings`).
    pitched_lead: bool,
    pitched: Pitched,
    sample_rate: f32,
    fft_size: usize,
    bins: usize,
    /// Rows of the 2-D spectrum: the real FFT along frequency keeps `bins / 2 + 1`.
    rows: usize,
    /// Frames in the patch (a fast FFT length) and hops between transforms.
    patch: usize,
    every: usize,
    /// Frames of history kept (see `transformed`).
    slots: usize,
    lookahead: usize,
    /// Half-width of the peak filter's neighbourhood along the rate axis, in rate bins.
    reach: usize,
    high_pass: usize,

    along_frequency: Arc<dyn RealToComplex<f32>>,
    back_along_frequency: Arc<dyn ComplexToReal<f32>>,
    along_time: Arc<dyn Fft<f32>>,
    back_along_time: Arc<dyn Fft<f32>>,
    fft_scratch: Vec<Complex<f32>>,

    /// Frequency transforms of the last `slots = patch + patch / 2 + every` frames
    /// (the patch, the half patch before it that `analyse_row` may reach back to, and
    /// the frames that arrive while a patch is worked on), stored by row
    /// (`transformed[r * slots + slot]`): a patch's row is then two contiguous runs,
    /// where a frame-major layout made every read of it a cache miss.
    transformed: Vec<Complex<f32>>,
    /// Magnitudes of the last `lookahead + 1` frames, `bins` each.
    magnitudes: Vec<f32>,
    /// One row of the 2-D spectrum, `patch` rates, transformed along time in place.
    line: Vec<Complex<f32>>,
    /// The patch's peaks, row after row: only where the weight is above zero is there
    /// anything to resynthesise (14 % of the rates on two corpus mixtures, mirrors
    /// included), and keeping the whole 2-D spectrum and its weights between analysis
    /// and resynthesis sent 5 MB through memory per patch. Room for every rate of every
    /// row all the same, as a plateau of equal magnitudes is all peaks.
    peaks: Vec<Peak>,
    /// Where each row's peaks end in `peaks` (a row's start is the row before's end).
    row_ends: Vec<usize>,
    /// One row's peak scores before the up/down mirror.
    scores: Vec<f32>,
    /// Which of them are above zero, a bit per rate.
    found: Vec<u64>,
    /// One row's magnitudes with wrap-around margins (see `analyse_row`).
    padded: Vec<f32>,
    /// The peak filter's scratch ([`peaks::scratch_len`]).
    peak_scratch: Vec<f32>,
    strongest: f32,
    /// Frequency-domain models of the `every` frames served now and being built.
    serving: Vec<Complex<f32>>,
    building: Vec<Complex<f32>>,

    real: Vec<f32>,
    row: Vec<Complex<f32>>,
    model: Vec<f32>,
    /// Whether each of the last `slots` frames carried any signal, same slots as
    /// `transformed`.
    audible: Vec<bool>,
    /// A frame whose every bin is below this is silence (see `history::SILENCE_DBFS`).
    silence: f32,
    /// How the patch being worked on is filled around its silence; `None` when it is
    /// all silence.
    fill: Option<Fill>,
    repeats: Repeats,
    /// Frames pushed so far.
    frames: usize,
    /// Newest frame of the patch being worked on.
    snapshot: usize,
    /// Which patches this one works on: all, or its share once split.
    share: Share,
}

/// Which of the patches an [`Ft2d`] works on ([`Separator::split_off`]).
enum Share {
    /// Every patch: the plugin, and any stream never split.
    All,
    /// One patch in [`SHARED`]; the others' models arrive from the half split off, each
    /// in the hop this one would have finished it.
    Kept { fed: Receiver<Vec<Complex<f32>>> },
    /// The rest, whose models it sends as each is finished; it masks nothing.
    SplitOff { results: Sender<Vec<Complex<f32>>> },
}

/// Once split, the analysis keeps one patch in this many and the half split off works
/// the others: the analysis also takes every frame's transforms and masks, and with
/// half the patches each it was the slower thread (0.39 s of CPU against 0.25 s on a
/// 60 s file).
const SHARED: usize = 3;

impl Share {
    /// Whether the patch numbered `patch` is worked here.
    fn works(&self, patch: usize) -> bool {
        match self {
            Share::All => true,
            Share::Kept { .. } => patch.is_multiple_of(SHARED),
            Share::SplitOff { .. } => !patch.is_multiple_of(SHARED),
        }
    }
}

impl Ft2d {
    pub fn new(settings: Ft2dSettings, sample_rate: f32, fft_size: usize) -> Self {
        let hop = fft_size / crate::engine::stft::OVERLAP;
        let bins = fft_size / 2 + 1;
        let rows = bins / 2 + 1;
        let (patch, every) = geometry_of(&settings, sample_rate, hop);
        let patch_seconds = patch as f32 * hop as f32 / sample_rate;
        let reach = ((settings.neighbourhood_hz * patch_seconds / 2.0).round() as usize)
            .clamp(1, patch / 2 - 1);
        let lookahead = patch / 2 + every;
        let slots = patch + patch / 2 + every;
        let mut real_planner = RealFftPlanner::<f32>::new();
        let mut planner = FftPlanner::<f32>::new();
        let along_frequency = real_planner.plan_fft_forward(bins);
        let back_along_frequency = real_planner.plan_fft_inverse(bins);
        let along_time = planner.plan_fft_forward(patch);
        let back_along_time = planner.plan_fft_inverse(patch);
        let scratch = [
            along_frequency.get_scratch_len(),
            back_along_frequency.get_scratch_len(),
            along_time.get_inplace_scratch_len(),
            back_along_time.get_inplace_scratch_len(),
        ]
        .into_iter()
        .max()
        .unwrap_or(0);
        let mut ft2d = Self {
            settings,
            pitched_lead: crate::engine::settings::RepetSettings::default().pitched_lead,
            pitched: Pitched::new(&Geometry::new(sample_rate, fft_size)),
            sample_rate,
            fft_size,
            bins,
            rows,
            patch,
            every,
            slots,
            lookahead,
            reach,
            high_pass: high_pass_bins(settings.high_pass_hz, sample_rate, fft_size),
            along_frequency,
            back_along_frequency,
            along_time,
            back_along_time,
            fft_scratch: vec![Complex::default(); scratch],
            transformed: vec![Complex::default(); slots * rows],
            magnitudes: vec![0.0; (lookahead + 1) * bins],
            line: vec![Complex::default(); patch],
            peaks: vec![Peak::default(); rows * patch],
            row_ends: vec![0; rows],
            scores: vec![0.0; patch],
            found: vec![0; patch.div_ceil(64)],
            padded: vec![0.0; 2 * patch],
            peak_scratch: vec![0.0; peaks::scratch_len(patch, reach)],
            strongest: 0.0,
            serving: vec![Complex::default(); every * rows],
            building: vec![Complex::default(); every * rows],
            real: vec![0.0; bins],
            row: vec![Complex::default(); rows],
            model: vec![0.0; bins],
            audible: vec![false; slots],
            silence: crate::engine::history::silence_magnitude(fft_size),
            fill: None,
            repeats: Repeats::new(bins, sample_rate, fft_size, patch),
            frames: 0,
            snapshot: 0,
            share: Share::All,
        };
        for buffer in [&mut ft2d.transformed, &mut ft2d.serving, &mut ft2d.building] {
            crate::engine::buffers::prefault(buffer);
        }
        crate::engine::buffers::prefault(&mut ft2d.magnitudes);
        crate::engine::buffers::prefault(&mut ft2d.peaks);
        crate::engine::buffers::prefault(&mut ft2d.audible);
        ft2d.repeats.prefault();
        ft2d
    }

    /// Applies the settings that need no new buffers: threshold and high-pass.
    pub fn set_settings(&mut self, settings: Ft2dSettings) {
        self.settings.threshold = settings.threshold;
        self.settings.high_pass_hz = settings.high_pass_hz;
        self.high_pass = high_pass_bins(settings.high_pass_hz, self.sample_rate, self.fft_size);
    }

    /// Frames in the patch and hops between transforms.
    pub fn geometry(&self) -> (usize, usize) {
        (self.patch, self.every)
    }

    /// The foreground mask of frame `masked`, served at hop `n`: patches are taken at
    /// frames `every − 1`, `2·every − 1`, … and serve hops `every + 1` to `2·every`
    /// after theirs, so the model of hop `n` is number `n mod every` of its patch.
    fn mask(&mut self, n: usize, masked: usize, foreground: &mut [f32]) {
        let (bins, rows) = (self.bins, self.rows);
        let k = n % self.every;
        self.row
            .copy_from_slice(&self.serving[k * rows..(k + 1) * rows]);
        // A real signal's transform has real ends; rounding may leave a trace there.
        self.row[0].im = 0.0;
        if bins % 2 == 0 {
            self.row[rows - 1].im = 0.0;
        }
        let _ = self.back_along_frequency.process_with_scratch(
            &mut self.row,
            &mut self.model,
            &mut self.fft_scratch,
        );
        let norm = 1.0 / (self.patch * bins) as f32;
        let slot = masked % (self.lookahead + 1);
        let frame = &self.magnitudes[slot * bins..(slot + 1) * bins];
        // The inverse of the whole patch's transform is the patch itself, so the
        // inverse of what the peaks leave out is `V − W`: the non-repeating model.
        // A Wiener mask splits the frame between the two models by power.
        for (f, ((mask, &w), &v)) in foreground[..bins]
            .iter_mut()
            .zip(&self.model[..bins])
            .zip(frame)
            .enumerate()
        {
            let repeating = w * norm;
            let (b, g) = (repeating * repeating, (v - repeating) * (v - repeating));
            *mask = if f < self.high_pass || v <= 0.0 || b + g <= 0.0 {
                0.0
            } else {
                g / (b + g)
            };
        }
        if self.pitched_lead {
            self.pitched.keep(frame, foreground);
        }
    }

    /// One step of the patch's transform: a share of the rows, so that `every` steps
    /// do them all: first each row's rate transform and peak weights, then (once the
    /// strongest weight is known) each row's inverse. The shares are of work, not of
    /// rows: analysing a row costs [`schedule::ANALYSIS_COST`] inverses, and equal
    /// counts of rows made the analysing hops the slowest `process` calls of the plugin.
    fn step(&mut self, step: usize) {
        let rows = self.rows;
        for task in tasks_of_step(step, rows, self.every) {
            if task < rows {
                self.analyse_row(task);
            } else {
                self.resynthesise_row(task - rows);
            }
        }
    }

    fn analyse_row(&mut self, r: usize) {
        if r == 0 {
            self.strongest = 0.0;
        }
        let (patch, slots, reach) = (self.patch, self.slots, self.reach);
        let row = &mut self.line[..patch];
        let ring = &self.transformed[r * slots..(r + 1) * slots];
        // The patch holds frames `end − patch .. end`; before the stream began there
        // were none, and those positions are filled below like silence.
        let end = self.snapshot + 1;
        let missing = patch.saturating_sub(end);
        let (mut p, mut frame) = (missing, end + missing - patch);
        while frame < end {
            let slot = frame % slots;
            let run = (slots - slot).min(end - frame);
            row[p..p + run].copy_from_slice(&ring[slot..slot + run]);
            p += run;
            frame += run;
        }
        match self.fill {
            Some(Fill {
                first,
                audible_end,
                end: filled_end,
                period,
            }) => {
                // Position `p` takes frame `end + p − 2·patch`, in runs between the
                // ring's wrap.
                let mut p = audible_end;
                while p < filled_end {
                    let slot = (end + p - 2 * patch) % slots;
                    let run = (slots - slot).min(filled_end - p);
                    row[p..p + run].copy_from_slice(&ring[slot..slot + run]);
                    p += run;
                }
                // Position `p` takes `first + (p − first) mod period`, walked with a
                // wrapping offset: a division per value was a third of the first ten
                // seconds' work.
                for range in [0..first, filled_end..patch] {
                    let mut offset = (range.start % period + period - first % period) % period;
                    for p in range {
                        row[p] = row[first + offset];
                        offset += 1;
                        if offset == period {
                            offset = 0;
                        }
                    }
                }
            }
            None => row.fill(Complex::default()),
        }
        self.along_time
            .process_with_scratch(row, &mut self.fft_scratch);

        let scores = &mut self.scores[..patch];
        let found = &mut self.found[..patch.div_ceil(64)];
        peaks::row_scores(
            row,
            reach,
            &mut self.padded,
            &mut self.peak_scratch,
            scores,
            found,
        );
        // Up- and down-sweeping patterns at one rate count alike: rate `p` weighs the
        // larger of its score and its mirror's, `patch − p`'s (rate 0 is its own). So
        // the rates that count are the peaks and their mirrors, each kept once.
        let start = row_start(&self.row_ends, r);
        let row_peaks = &mut self.peaks[start..start + patch];
        let mirror = |p: usize| if p == 0 { 0 } else { patch - p };
        let is_peak = |p: usize| found[p / 64] >> (p % 64) & 1 == 1;
        let mut kept = 0;
        for (w, &word) in found.iter().enumerate() {
            let mut bits = word;
            while bits != 0 {
                let p = 64 * w + bits.trailing_zeros() as usize;
                bits &= bits - 1;
                let m = mirror(p);
                let with_mirror: &[usize] = if m == p || is_peak(m) { &[p] } else { &[p, m] };
                for &q in with_mirror {
                    let (a, b) = (scores[q], scores[mirror(q)]);
                    row_peaks[kept] = Peak {
                        rate: q as u32,
                        weight: if a > b { a } else { b },
                        value: row[q],
                    };
                    kept += 1;
                }
            }
        }
        self.row_ends[r] = start + kept;
        self.strongest = row_peaks[..kept].iter().fold(self.strongest, |s, peak| {
            if peak.weight > s { peak.weight } else { s }
        });
    }

    /// Finds the audible stretch of the patch ending at `snapshot` and how to fill
    /// the rest.
    ///
    /// The transform along time treats the patch as one period of a periodic signal.
    /// Silence at either end (the stream has not started, the region starts late,
    /// the transport stopped) would put an edge in that period that smears every
    /// peak, so `analyse_row` fills it instead:
    ///
    /// - silence after the stretch (once it reaches the patch's centre): the patch is
    ///   taken as the `patch` frames ending with the last audible one, rotated (frame
    ///   `f` stands in for `f + patch`), which the transform along time sees alike;
    /// - whatever is still missing repeats the stretch. Repeating it over its own
    ///   length puts a seam wherever that length is not a whole number of the music's
    ///   periods (on the corpus, the first seconds measured up to 5 dB worse on the
    ///   foreground than with a seamless fill), so it repeats over the lag, between
    ///   half and all of it, at which the audio heard so far best repeats itself.
    ///
    /// At the first frames the stretch is a single frame, whose model is the frame
    /// itself: everything is background, as in REPET's warm-up. Measured on the corpus
    /// (left channel, background / foreground): the first 5 s of a stream about 3 dB
    /// better on the foreground than with silence there; the last 5 s, whose patch
    /// reaches into the silence after the clip, from 9.59 / 9.09 to 10.35 / 12.36 on
    /// the organ and from 10.85 / 9.24 to 11.61 / 12.13 on the sax.
    fn plan_fill(&mut self) {
        let (patch, slots) = (self.patch, self.slots);
        let end = self.snapshot + 1;
        let start = end.saturating_sub(patch);
        let offset = patch - (end - start);
        let audible = |frame: usize| self.audible[frame % slots];
        self.fill = (start..end).find(|&f| audible(f)).map(|first_frame| {
            let last_frame = (first_frame..end)
                .rev()
                .find(|&f| audible(f))
                .unwrap_or(first_frame);
            let first = offset + first_frame - start;
            let audible_end = offset + last_frame + 1 - start;
            // The frames rotated in are older than the patch: the ring keeps half a
            // patch of them, and the stream must have them.
            let rotates = audible_end >= patch / 2 && end + audible_end >= 2 * patch;
            let length = audible_end - first;
            Fill {
                first,
                audible_end,
                end: if rotates { patch } else { audible_end },
                period: self
                    .repeats
                    .best_lag(length / 2..length - self.every.min(length / 2))
                    .unwrap_or(length),
            }
        });
    }

    fn resynthesise_row(&mut self, r: usize) {
        let patch = self.patch;
        let scale = if self.strongest > 0.0 {
            1.0 / self.strongest
        } else {
            0.0
        };
        let threshold = self.settings.threshold;
        let row = &mut self.line[..patch];
        row.fill(Complex::default());
        for peak in &self.peaks[row_start(&self.row_ends, r)..self.row_ends[r]] {
            let w = peak.weight * scale;
            if w >= threshold {
                row[peak.rate as usize] = peak.value * w;
            }
        }
        self.back_along_time
            .process_with_scratch(row, &mut self.fft_scratch);
        // The modelled frames start at the patch's centre.
        for k in 0..self.every {
            self.building[k * self.rows + r] = row[patch / 2 + k];
        }
    }
}

impl Separator for Ft2d {
    fn lookahead(&self) -> usize {
        self.lookahead
    }

    fn update(&mut self, settings: &Settings) {
        self.set_settings(settings.ft2d);
        self.pitched_lead = settings.repet.pitched_lead;
    }

    fn push(&mut self, magnitude: &[f32], masks: &mut Masks) {
        let (foreground, residual) = masks.foreground_and_residual();
        self.mask_frame(magnitude, foreground, residual);
    }

    /// Two patches in three ([`SHARED`]): their transforms along time, peak filter and
    /// inverse (four fifths of 2DFT's work at the defaults), in a copy that sends
    /// their models back; this one keeps the rest, the frequency transforms and the
    /// masks. At the stream's start only.
    fn split_off(&mut self) -> Option<Box<dyn Separator>> {
        if self.frames > 0 || !matches!(self.share, Share::All) {
            return None;
        }
        let mut half = Ft2d::new(self.settings, self.sample_rate, self.fft_size);
        let (results, fed) = std::sync::mpsc::channel();
        half.share = Share::SplitOff { results };
        self.share = Share::Kept { fed };
        Some(Box::new(half))
    }

    fn reset(&mut self) {
        self.transformed.fill(Complex::default());
        self.magnitudes.fill(0.0);
        self.serving.fill(Complex::default());
        self.building.fill(Complex::default());
        self.audible.fill(false);
        self.fill = None;
        self.repeats.reset();
        self.frames = 0;
        self.snapshot = 0;
    }
}

impl Ft2d {
    /// [`Separator::push`], writing the foreground's mask (and the residual's where
    /// there is one) into plain slices: what a cascade of separators calls.
    pub fn mask_frame(&mut self, magnitude: &[f32], foreground: &mut [f32], _residual: &mut [f32]) {
        let bins = self.bins;
        let n = self.frames;
        self.frames += 1;
        let slot = n % (self.lookahead + 1);
        self.magnitudes[slot * bins..(slot + 1) * bins].copy_from_slice(magnitude);
        self.real.copy_from_slice(magnitude);
        // Lengths are fixed at construction, so the transform cannot fail.
        let _ = self.along_frequency.process_with_scratch(
            &mut self.real,
            &mut self.row,
            &mut self.fft_scratch,
        );
        let slots = self.slots;
        let slot = n % slots;
        for (r, x) in self.row.iter().enumerate() {
            self.transformed[r * slots + slot] = *x;
        }
        let audible = magnitude.iter().any(|&m| m > self.silence);
        self.audible[slot] = audible;
        self.repeats.push(magnitude, audible);

        // The frame served now was modelled by the patch finished last hop or before.
        match (&self.share, n.checked_sub(self.lookahead)) {
            (Share::SplitOff { .. }, _) => {}
            (_, Some(masked)) => self.mask(n, masked, foreground),
            (_, None) => foreground.fill(0.0),
        }
        // Patches are taken at frames `every − 1`, `2·every − 1`, …; each is worked
        // on over the next `every` hops and then served for `every` hops.
        if n >= self.every {
            let (patch, step) = ((n - self.every) / self.every, (n - self.every) % self.every);
            let works = self.share.works(patch);
            if works {
                if step == 0 {
                    self.snapshot = n - 1;
                    self.plan_fill();
                }
                self.step(step);
            }
            if step == self.every - 1 {
                match &self.share {
                    Share::All | Share::Kept { .. } if works => {
                        std::mem::swap(&mut self.serving, &mut self.building);
                    }
                    Share::Kept { fed } => {
                        self.serving = fed
                            .recv()
                            .expect("the half split off models its patches until the stream ends");
                    }
                    // With the other half gone (its stream stopped) there is no one to tell.
                    Share::SplitOff { results } if works => {
                        let _ = results.send(self.building.clone());
                    }
                    Share::All | Share::SplitOff { .. } => {}
                }
            }
        }
    }
}

/// Where row `r`'s peaks start in `Ft2d::peaks`: where the row before's end.
fn row_start(row_ends: &[usize], r: usize) -> usize {
    r.checked_sub(1).map_or(0, |before| row_ends[before])
}

/// A rate of a row of the 2-D spectrum whose peak weight is above zero.
#[derive(Clone, Copy, Debug, Default)]
struct Peak {
    rate: u32,
    weight: f32,
    value: Complex<f32>,
}

/// Where the patch being worked on holds signal, and how `Ft2d::analyse_row` fills
/// the rest (see `Ft2d::plan_fill`). Positions in the patch.
#[derive(Clone, Copy, Debug)]
struct Fill {
    /// The first audible position.
    first: usize,
    /// One past the last audible position; from there to `end`, older frames stand in
    /// for the silence after the music.
    audible_end: usize,
    end: usize,
    /// Positions outside `first..end` repeat that stretch over this many frames.
    period: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lookahead_is_half_the_patch_plus_one_update() {
        let settings = Ft2dSettings::default();
        let ft2d = Ft2d::new(settings, 44_100.0, 2048);
        let (patch, every) = ft2d.geometry();
        assert_eq!(every, 43, "0.5 s of 512-sample hops");
        assert_eq!(patch, 864, "10 s of hops, rounded up to a fast length");
        assert_eq!(ft2d.lookahead(), patch / 2 + every);
        assert_eq!(lookahead_of(&settings, 44_100.0, 512), ft2d.lookahead());
    }
}
