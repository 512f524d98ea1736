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

use super::beat_spectrum::BeatSpectrum;
use super::median::{LANES, Lanes, lower_median_rows, median_scratch};
use super::period::PeriodTracker;
use super::repetition::Repetition;
use super::rolling::lookahead_for;
pub use super::rolling::{Rolling, history_capacity, repeating_mask};
use super::separator::Tempo;
use super::separator::{Entry, Inspection, Masks, Separator, Stems};
use super::settings::{Algorithm, PeriodSource, RepetSettings, Settings};

/// REPET in the registry. Lookahead: the Lookahead setting, rounded to hops.
pub const ENTRY: Entry = Entry {
    algorithm: Algorithm::Repet,
    id: "repet",
    name: "REPET",
    stems: Stems::LEAD_AND_BACKGROUND,
    build: |s, g| Box::new(Repet::new(s.repet, g.sample_rate, g.fft_size)),
    lookahead: |s, g| lookahead_for(&s.repet, g),
};

/// Values in a repeating model at most: the frame and its 31 nearest repetitions. Beyond
/// that a median hardly changes, and its cost grows with the square of the count.
pub const MAX_REPETITIONS: usize = 32;

pub struct Repet {
    /// The rolling buffer; REPET-SIM's period model masks against the same one.
    pub(super) rolling: Rolling,
    beat: BeatSpectrum,
    repetition: Repetition,
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
    /// Whether `model` holds repetitions of the last masked frame, not only the frame.
    modelled: bool,
}

impl Repet {
    pub fn new(settings: RepetSettings, sample_rate: f32, fft_size: usize) -> Self {
        let rolling = Rolling::new(settings, sample_rate, fft_size);
        let groups = rolling.history.groups();
        let hop_seconds = rolling.hop as f64 / sample_rate as f64;
        let mut repet = Self {
            beat: BeatSpectrum::new(rolling.bins, hop_seconds, settings.buffer_s as f64 / 3.0),
            repetition: Repetition::new(
                rolling.bins,
                sample_rate / fft_size as f32,
                hop_seconds,
                settings.buffer_s as f64 / 3.0,
            ),
            tracker: PeriodTracker::default(),
            tempo: None,
            period: None,
            periods: vec![f64::NAN; rolling.lookahead + 1],
            rows: vec![[0.0; LANES]; MAX_REPETITIONS * groups],
            window: vec![[0.0; LANES]; median_scratch(MAX_REPETITIONS)],
            model: vec![[0.0; LANES]; groups],
            modelled: false,
            rolling,
        };
        super::buffers::prefault(repet.rows.as_flattened_mut());
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

    /// The host's tempo, as last set.
    pub(super) fn tempo(&self) -> Option<Tempo> {
        self.tempo
    }

    /// The period used for the frame masked last, in hops.
    pub(super) fn period_hops(&self) -> Option<f64> {
        self.period
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
        (self.beat.spectrum(), self.beat.beat_seconds() as f32)
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
        let beat_seconds = self.beat.beat_seconds();
        let s = &self.rolling.settings;
        let longest = (s.max_period_s as f64).min(s.buffer_s as f64 / 3.0);
        let min_lag = (s.min_period_s as f64 / beat_seconds).ceil() as usize;
        let max_lag = (longest / beat_seconds).floor() as usize;
        self.tracker
            .update(&self.beat, &self.repetition, min_lag.min(max_lag), max_lag);
    }
}

impl Separator for Repet {
    fn lookahead(&self) -> usize {
        self.rolling.lookahead
    }

    fn update(&mut self, settings: &Settings) {
        self.set_settings(settings.repet);
    }

    fn set_tempo(&mut self, tempo: Option<Tempo>) {
        Repet::set_tempo(self, tempo);
    }

    fn inspect(&self) -> Inspection<'_> {
        Inspection {
            period: self.period_seconds().map(|p| (p, self.period_source())),
            beat_spectrum: Some(self.beat_spectrum()),
            templates: None,
        }
    }

    fn push(&mut self, magnitude: &[f32], masks: &mut Masks) {
        let (foreground, residual) = masks.foreground_and_residual();
        self.mask_frame(magnitude, foreground, residual);
    }

    fn reset(&mut self) {
        self.rolling.history.reset();
        self.reset_period();
    }
}

impl Repet {
    /// Forgets the period and what it was found from, not the frames heard.
    pub(super) fn reset_period(&mut self) {
        self.beat.reset();
        self.repetition.reset();
        self.tracker.reset();
        self.period = None;
        self.periods.fill(f64::NAN);
        self.modelled = false;
    }

    /// [`Separator::push`], writing the foreground's mask (and the residual's where
    /// there is one) into plain slices: what a cascade of separators calls.
    pub fn mask_frame(&mut self, magnitude: &[f32], foreground: &mut [f32], _residual: &mut [f32]) {
        if let Some(masked) = self.model_frame(magnitude, foreground) {
            self.rolling
                .mask(masked, self.model.as_flattened(), foreground);
        }
    }

    /// The model of the frame masked now from its repetitions one, two, … periods away,
    /// while any is held: REPET-SIM's period model.
    pub(super) fn period_model(&self) -> Option<&[Lanes]> {
        self.modelled.then_some(&self.model[..])
    }

    /// Stores the newest frame, tracks the period and models the frame to mask now,
    /// whose number it returns (`None` while that frame lies before the stream: the
    /// foreground is then silent).
    pub(super) fn model_frame(
        &mut self,
        magnitude: &[f32],
        foreground: &mut [f32],
    ) -> Option<usize> {
        let masked = self.rolling.push(magnitude, foreground);
        self.repetition.push(magnitude);
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
        let masked = masked?;
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
                    let held = x >= oldest && x.ceil() <= newest as f64;
                    // Silence (before the music, after it, a stopped transport) is not a
                    // repetition: it would pull the median, and the background, down.
                    let heard = held && {
                        let history = &self.rolling.history;
                        history.is_audible(x.floor() as usize)
                            && history.is_audible(x.ceil() as usize)
                    };
                    found |= held;
                    if count < MAX_REPETITIONS && heard {
                        let row = &mut self.rows[count * groups..(count + 1) * groups];
                        self.rolling.history.interpolate(x, row);
                        count += 1;
                    }
                }
                if !found {
                    break;
                }
                c += 1.0;
            }
        }
        let mut rows: [&[Lanes]; MAX_REPETITIONS] = [&[]; MAX_REPETITIONS];
        for (r, row) in rows
            .iter_mut()
            .zip(self.rows.chunks_exact(groups))
            .take(count)
        {
            *r = row;
        }
        lower_median_rows(&rows[..count], &mut self.window, &mut self.model);
        self.modelled = count > 1;
        Some(masked)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::XorShift;

    const RATE: f32 = 8_000.0;
    const SIZE: usize = 512;
    const BINS: usize = SIZE / 2 + 1;
    /// 40 frames of 16 ms: a 0.64 s loop.
    const PERIOD: usize = 40;

    /// A loop of random spectra, `PERIOD` frames long, repeated for `frames`.
    fn loop_frames(frames: usize) -> Vec<Vec<f32>> {
        let mut random = XorShift::new(11);
        let bar: Vec<Vec<f32>> = (0..PERIOD)
            .map(|_| (0..BINS).map(|_| random.uniform()).collect())
            .collect();
        (0..frames).map(|i| bar[i % PERIOD].clone()).collect()
    }

    fn settings() -> RepetSettings {
        RepetSettings {
            buffer_s: 12.0,
            min_period_s: 0.3,
            max_period_s: 3.0,
            high_pass_hz: 0.0,
            ..RepetSettings::default()
        }
    }

    #[test]
    fn tracks_the_period_of_a_loop() {
        let mut repet = Repet::new(settings(), RATE, SIZE);
        let (mut fg, mut res) = (vec![0.0; BINS], vec![0.0; BINS]);
        for frame in loop_frames(12 * PERIOD) {
            repet.mask_frame(&frame, &mut fg, &mut res);
        }
        let expected = (PERIOD * SIZE / 4) as f32 / RATE;
        let period = repet.period_seconds().expect("a period");
        assert!(
            (period / expected - 1.0).abs() < 0.02,
            "{period} s, not {expected} s"
        );
        assert_eq!(repet.period_source(), PeriodSource::Auto);
    }

    #[test]
    fn what_repeats_is_background_and_what_does_not_is_foreground() {
        let mut repet = Repet::new(settings(), RATE, SIZE);
        let (mut fg, mut res) = (vec![0.0; BINS], vec![0.0; BINS]);
        let mut frames = loop_frames(12 * PERIOD);
        // A lead note in one frame of the last loop, not heard before.
        let lead = 12 * PERIOD - 10;
        frames[lead][100] += 20.0;
        let (mut repeating, mut count) = (0.0, 0);
        for (i, frame) in frames.iter().enumerate() {
            repet.mask_frame(frame, &mut fg, &mut res);
            if i >= 8 * PERIOD && i != lead {
                repeating += fg.iter().sum::<f32>() / BINS as f32;
                count += 1;
            }
            if i == lead {
                assert!(fg[100] > 0.9, "the lead: {}", fg[100]);
            }
        }
        let repeating = repeating / count as f32;
        assert!(
            repeating < 0.05,
            "the loop leaks {repeating} into the foreground"
        );
    }

    #[test]
    fn a_manual_period_is_used_as_set() {
        let settings = RepetSettings {
            period_source: PeriodSource::Manual,
            manual_period_ms: 1000.0,
            ..settings()
        };
        let mut repet = Repet::new(settings, RATE, SIZE);
        let (mut fg, mut res) = (vec![0.0; BINS], vec![0.0; BINS]);
        for frame in loop_frames(4 * PERIOD) {
            repet.mask_frame(&frame, &mut fg, &mut res);
        }
        let hop_s = (SIZE / 4) as f32 / RATE;
        let period = repet.period_seconds().expect("a period");
        assert!((period - 1.0).abs() <= hop_s, "{period}");
        assert_eq!(repet.period_source(), PeriodSource::Manual);
    }
}
