//! REPET in real time: the repeating background of a rolling buffer, by its period.
//!
//! Music over a loop repeats every period; a lead over it does not (Rafii & Pardo,
//! TASLP 2013). The frame being masked is compared with the frames one, two, …
//! periods away: their median (with the frame itself) is the repeating model `W`.
//! `min(W, V)` of the frame repeats and the rest does not; the masks are the Wiener
//! split between the two (by power), where the paper's is the ratio `min(W, V) / V`.
//!
//! **Latency compensation.** The period is tracked on the newest frames (the beat
//! spectrum, see [`super::beat_spectrum`]); the mask is for the frame `lookahead` hops
//! back. Repetitions are indexed from *that* frame, so the model, the audio it masks
//! and the period all line up. With a lookahead the model also takes the repetitions
//! that lie ahead of the masked frame, up to the newest.
//!
//! **Fractional periods.** Periods are rarely whole frames; a repetition at a
//! fractional position is interpolated between its two neighbouring frames.
//!
//! **Warm-up.** Until a period is known (one and a half shortest periods into the
//! stream in Auto mode) and for frames with no repetition in the buffer yet, the model is the
//! frame itself: everything is background and the foreground is silent. So the stems
//! start as "all repeating" and the lead appears as soon as something repeats; nothing
//! clicks, nothing is dropped, the stems still sum to the input.

use super::beat_spectrum::{BeatSpectrum, PeriodTracker};
use super::history::FrameHistory;
use super::median::{LANES, Lanes, lower_median};
use super::separator::Separator;
use super::settings::{PeriodSource, RepetSettings};

/// Values in a repeating model at most: the frame and its 31 nearest repetitions. Beyond
/// that a median hardly changes, and its cost grows with the square of the count.
pub const MAX_REPETITIONS: usize = 32;

/// The host's musical time, for [`PeriodSource::HostTempo`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tempo {
    pub bpm: f64,
    pub beats_per_bar: f64,
}

/// Frames of a duration, rounded.
pub fn frames_of(seconds: f32, sample_rate: f32, hop: usize) -> usize {
    (seconds as f64 * sample_rate as f64 / hop as f64).round() as usize
}

/// Bins at and below `cutoff_hz` (the high-pass rule): they stay in the background.
pub fn high_pass_bins(cutoff_hz: f32, sample_rate: f32, fft_size: usize) -> usize {
    if cutoff_hz <= 0.0 {
        return 0;
    }
    (cutoff_hz as f64 * fft_size as f64 / sample_rate as f64).ceil() as usize + 1
}

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
}

impl Rolling {
    pub fn new(settings: RepetSettings, sample_rate: f32, fft_size: usize) -> Self {
        let hop = fft_size / super::stft::OVERLAP;
        let bins = fft_size / 2 + 1;
        Self {
            bins,
            sample_rate,
            fft_size,
            hop,
            lookahead: frames_of(settings.lookahead_s, sample_rate, hop),
            settings,
            history: FrameHistory::new(bins, history_capacity(&settings, sample_rate, hop)),
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

    /// The foreground mask of frame `masked` against the repeating `model`.
    pub fn mask(&self, masked: usize, model: &[f32], foreground: &mut [f32]) {
        let high_pass = high_pass_bins(self.settings.high_pass_hz, self.sample_rate, self.fft_size);
        repeating_mask(
            &self.history.frame(masked).as_flattened()[..self.bins],
            model,
            high_pass,
            self.bins,
            foreground,
        );
    }
}

pub struct Repet {
    rolling: Rolling,
    beat: BeatSpectrum,
    tracker: PeriodTracker,
    tempo: Option<Tempo>,
    /// The period used for the last frame, in hops.
    period: Option<f64>,
    /// The period found at each of the last `lookahead + 1` frames (`NaN`: none yet).
    periods: Vec<f64>,
    /// Repetitions of the masked frame, `MAX_REPETITIONS` rows of `groups`.
    rows: Vec<Lanes>,
    window: Vec<Lanes>,
    model: Vec<Lanes>,
}

impl Repet {
    pub fn new(settings: RepetSettings, sample_rate: f32, fft_size: usize) -> Self {
        let rolling = Rolling::new(settings, sample_rate, fft_size);
        let groups = rolling.history.groups();
        let hop_seconds = rolling.hop as f64 / sample_rate as f64;
        let mut repet = Self {
            beat: BeatSpectrum::new(rolling.bins, hop_seconds, settings.buffer_s as f64 / 3.0),
            tracker: PeriodTracker::default(),
            tempo: None,
            period: None,
            periods: vec![f64::NAN; rolling.lookahead + 1],
            rows: vec![[0.0; LANES]; MAX_REPETITIONS * groups],
            window: vec![[0.0; LANES]; MAX_REPETITIONS],
            model: vec![[0.0; LANES]; groups],
            rolling,
        };
        super::prefault(repet.rows.as_flattened_mut());
        repet
    }

    /// Applies settings while audio runs, without allocating (the buffer length and
    /// lookahead stay as built).
    pub fn set_settings(&mut self, settings: RepetSettings) {
        self.rolling.set_settings(settings);
    }

    pub fn set_tempo(&mut self, tempo: Option<Tempo>) {
        self.tempo = tempo.filter(|t| t.bpm > 0.0 && t.beats_per_bar > 0.0);
    }

    /// The period in use, in seconds.
    pub fn period_seconds(&self) -> Option<f32> {
        self.period
            .map(|p| (p * self.rolling.hop as f64 / self.rolling.sample_rate as f64) as f32)
    }

    /// Where the period in use comes from: Host tempo falls back to Auto while the host
    /// sends no tempo.
    pub fn period_source(&self) -> PeriodSource {
        match self.rolling.settings.period_source {
            PeriodSource::HostTempo if self.tempo.is_none() => PeriodSource::Auto,
            source => source,
        }
    }

    /// The beat spectrum, one value per beat frame of lag, and the length of a beat frame in seconds.
    pub fn beat_spectrum(&self) -> (&[f32], f32) {
        let beat_seconds =
            (self.beat.decimation() * self.rolling.hop) as f64 / self.rolling.sample_rate as f64;
        (self.beat.spectrum(), beat_seconds as f32)
    }

    /// The period for the next mask, in hops, from the chosen source.
    fn current_period(&self) -> Option<f64> {
        let seconds_to_hops = self.rolling.sample_rate as f64 / self.rolling.hop as f64;
        let longest = self.rolling.settings.buffer_s as f64 * seconds_to_hops;
        let period = match self.period_source() {
            PeriodSource::Auto => self
                .tracker
                .lag()
                .map(|lag| lag as f64 * self.beat.decimation() as f64),
            PeriodSource::HostTempo => self.tempo.map(|t| {
                self.rolling.settings.period_bars as f64 * t.beats_per_bar * 60.0 / t.bpm
                    * seconds_to_hops
            }),
            PeriodSource::Manual => {
                Some(self.rolling.settings.manual_period_ms as f64 * 1e-3 * seconds_to_hops)
            }
        };
        period.map(|p| p.clamp(1.0, longest))
    }

    fn track(&mut self) {
        let beat_seconds =
            (self.beat.decimation() * self.rolling.hop) as f64 / self.rolling.sample_rate as f64;
        let s = &self.rolling.settings;
        let longest = (s.max_period_s as f64).min(s.buffer_s as f64 / 3.0);
        let min_lag = (s.min_period_s as f64 / beat_seconds).ceil() as usize;
        let max_lag = (longest / beat_seconds).floor() as usize;
        self.tracker
            .update(&self.beat, min_lag.min(max_lag), max_lag);
    }
}

impl Separator for Repet {
    fn lookahead(&self) -> usize {
        self.rolling.lookahead
    }

    fn push(&mut self, magnitude: &[f32], foreground: &mut [f32], _residual: &mut [f32]) {
        let masked = self.rolling.push(magnitude, foreground);
        if self.beat.push(magnitude) && !self.beat.is_quiet() {
            self.track();
        }
        let newest = self.rolling.history.count() - 1;
        let found = self.current_period();
        let slots = self.periods.len();
        self.periods[newest % slots] = found.unwrap_or(f64::NAN);
        // The estimate made 1.5 periods after the masked frame (its pairs reach two
        // periods back, so it has heard the masked frame and a repetition past it),
        // or the newest when that is sooner.
        self.period = found.map(|p| {
            let ahead = ((1.5 * p).round() as usize).min(self.rolling.lookahead);
            match (newest + ahead).checked_sub(self.rolling.lookahead) {
                Some(t) if !self.periods[t % slots].is_nan() => self.periods[t % slots],
                _ => p,
            }
        });
        let Some(masked) = masked else { return };

        let groups = self.rolling.history.groups();
        let oldest = self.rolling.history.oldest() as f64;
        self.rows[..groups].copy_from_slice(self.rolling.history.frame(masked));
        let mut count = 1;
        if let Some(period) = self.period {
            // Nearest repetitions first, behind and ahead in turn, while any is held.
            let mut c = 1.0;
            while count < MAX_REPETITIONS {
                let behind = masked as f64 - c * period;
                let ahead = masked as f64 + c * period;
                let mut found = false;
                for x in [behind, ahead] {
                    if count < MAX_REPETITIONS && x >= oldest && x.ceil() <= newest as f64 {
                        let row = &mut self.rows[count * groups..(count + 1) * groups];
                        self.rolling.history.interpolate(x, row);
                        count += 1;
                        found = true;
                    }
                }
                if !found {
                    break;
                }
                c += 1.0;
            }
        }
        for g in 0..groups {
            let rows = (0..count).map(|c| &self.rows[c * groups + g]);
            self.model[g] = lower_median(rows, &mut self.window);
        }
        self.rolling
            .mask(masked, self.model.as_flattened(), foreground);
    }

    fn reset(&mut self) {
        self.rolling.history.reset();
        self.beat.reset();
        self.tracker.reset();
        self.period = None;
        self.periods.fill(f64::NAN);
    }
}
