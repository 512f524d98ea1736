//! What the audio thread shows the editor, without ever waiting for it.
//!
//! - Spectrogram columns go through a `ringbuf` SPSC queue: the audio thread pushes
//!   one per analysed frame while the editor is open and drops it when the queue is
//!   full; the editor drains the queue when it paints.
//! - Scalars (meters, latency, period) and the beat spectrum are atomics. The beat
//!   spectrum is written value by value, so the editor may see two halves of
//!   neighbouring updates: a torn picture for one paint, never a wrong sound.
//!
//! All memory is allocated when the plugin is built or activated.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU32, AtomicUsize, Ordering};

use atomic_float::AtomicF32;
use nice_plug_egui::RepaintNotifier;
use ringbuf::traits::{Producer, Split};
use ringbuf::{HeapCons, HeapProd, HeapRb};

use crate::engine::{Engine, FrameObserver, FrameView, MAX_STEMS, PeriodSource};

/// Rows of a spectrogram column: log-spaced bands from [`LOWEST_HZ`] to [`Feed::top_hz`].
pub const ROWS: usize = 192;
pub const LOWEST_HZ: f32 = 30.0;
/// Column levels span this many dB below full scale.
pub const RANGE_DB: f32 = 90.0;
/// Columns the queue holds: about six seconds at 44.1 kHz, FFT 2048, should the
/// editor stall; beyond that the newest are dropped.
pub const QUEUED_COLUMNS: usize = 512;
/// Points of the published beat spectrum (the engine's is max-pooled to fit).
pub const BEAT_POINTS: usize = 512;
/// The beat spectrum and the period are published this often (seconds of audio).
const SLOW_UPDATE_SECONDS: f32 = 1.0 / 30.0;

/// One analysed frame, reduced to what the spectrogram draws.
#[derive(Clone, Copy)]
pub struct Column {
    /// 0 = [`RANGE_DB`] below full scale or quieter, 255 = full scale.
    pub level: [u8; ROWS],
    /// Each stem's share of the band, 0 … 255, in output order (0 for stems the
    /// algorithm does not have).
    pub share: [[u8; ROWS]; MAX_STEMS],
}

impl Default for Column {
    fn default() -> Self {
        Self {
            level: [0; ROWS],
            share: [[0; ROWS]; MAX_STEMS],
        }
    }
}

/// Meters: the input, then every stem in output order (see [`Feed::meters`]).
pub const METER_COUNT: usize = 1 + MAX_STEMS;

/// Shared between the audio thread (writes) and the editor (reads).
pub struct Feed {
    /// Peak magnitude since the editor last took it: input, then each stem in output order.
    pub meters: [AtomicF32; METER_COUNT],
    /// Latency of the running engine, in samples, and its sample rate.
    pub latency: AtomicU32,
    pub sample_rate: AtomicF32,
    /// How many stems the running engine has.
    pub stems: AtomicUsize,
    /// A setting changed that the running engine applies only once re-activated.
    pub restart_pending: AtomicBool,
    /// The FFT size the engine runs (scaled from the chosen one outside 8 to 384 kHz).
    pub fft_size: AtomicU32,
    /// Top of the spectrogram's frequency axis.
    pub top_hz: AtomicF32,
    /// The period REPET uses, in seconds; 0 while it has none.
    pub period: AtomicF32,
    period_source: AtomicU8,
    beat: [AtomicF32; BEAT_POINTS],
    beat_len: AtomicUsize,
    /// Lag between two published beat-spectrum points, in seconds.
    beat_step: AtomicF32,
}

impl Default for Feed {
    fn default() -> Self {
        Self {
            meters: Default::default(),
            latency: AtomicU32::new(0),
            sample_rate: AtomicF32::new(44_100.0),
            stems: AtomicUsize::new(2),
            restart_pending: AtomicBool::new(false),
            fft_size: AtomicU32::new(0),
            top_hz: AtomicF32::new(20_000.0),
            period: AtomicF32::new(0.0),
            period_source: AtomicU8::new(0),
            beat: std::array::from_fn(|_| AtomicF32::new(0.0)),
            beat_len: AtomicUsize::new(0),
            beat_step: AtomicF32::new(0.0),
        }
    }
}

impl Feed {
    /// Builds the shared feed and its column queue: the producer for the audio
    /// thread, the consumer for the editor.
    pub fn new() -> (Arc<Feed>, HeapProd<Column>, HeapCons<Column>) {
        let (producer, consumer) = HeapRb::<Column>::new(QUEUED_COLUMNS).split();
        (Arc::new(Feed::default()), producer, consumer)
    }

    /// The period in use and where it comes from, when REPET has one.
    pub fn period(&self) -> Option<(f32, PeriodSource)> {
        let period = self.period.load(Ordering::Relaxed);
        let source = PeriodSource::ALL[self.period_source.load(Ordering::Relaxed) as usize % 3];
        (period > 0.0).then_some((period, source))
    }

    /// Copies the published beat spectrum into `out`; returns the lag step in seconds.
    pub fn beat_spectrum(&self, out: &mut Vec<f32>) -> f32 {
        let len = self.beat_len.load(Ordering::Acquire).min(BEAT_POINTS);
        out.clear();
        out.extend(self.beat[..len].iter().map(|b| b.load(Ordering::Relaxed)));
        self.beat_step.load(Ordering::Relaxed)
    }

    /// Takes the meter peaks gathered since the last call.
    pub fn take_meters(&self) -> [f32; METER_COUNT] {
        std::array::from_fn(|i| self.meters[i].swap(0.0, Ordering::Relaxed))
    }
}

/// The audio thread's side: turns frames into columns and publishes the rest.
pub struct Publisher {
    feed: Arc<Feed>,
    columns: HeapProd<Column>,
    repaint: RepaintNotifier,
    /// `[first, end)` bins of each row, for the engine's FFT size and sample rate.
    bands: Vec<(usize, usize)>,
    /// Turns a linked magnitude into full-scale units (a full-scale sine reads 1).
    magnitude_scale: f32,
    column: Column,
    open: bool,
    sample_rate: f32,
    until_slow_update: f32,
}

impl Publisher {
    pub fn new(feed: Arc<Feed>, columns: HeapProd<Column>, repaint: RepaintNotifier) -> Self {
        Self {
            feed,
            columns,
            repaint,
            bands: Vec::with_capacity(ROWS),
            magnitude_scale: 1.0,
            column: Column::default(),
            open: false,
            sample_rate: 44_100.0,
            until_slow_update: 0.0,
        }
    }

    /// Sizes the bands for a new engine; call it in `activate` (it may allocate).
    pub fn activate(&mut self, engine: &Engine, sample_rate: f32) {
        let fft_size = engine.fft_size();
        let bins = fft_size / 2 + 1;
        let top = 20_000.0f32.min(sample_rate / 2.0);
        let bin_of = |hz: f32| ((hz * fft_size as f32 / sample_rate) as usize).min(bins - 1);
        self.bands.clear();
        for row in 0..ROWS {
            let edge = |r: usize| LOWEST_HZ * (top / LOWEST_HZ).powf(r as f32 / ROWS as f32);
            let first = bin_of(edge(row));
            let end = bin_of(edge(row + 1)).max(first + 1);
            self.bands.push((first, end));
        }
        // A Hann window sums to N/2, and a sine's energy splits between ±f.
        self.magnitude_scale = 4.0 / fft_size as f32;
        self.sample_rate = sample_rate;
        self.until_slow_update = 0.0;
        let feed = &self.feed;
        feed.latency
            .store(engine.latency() as u32, Ordering::Relaxed);
        feed.sample_rate.store(sample_rate, Ordering::Relaxed);
        feed.stems.store(engine.stem_count(), Ordering::Relaxed);
        feed.top_hz.store(top, Ordering::Relaxed);
        feed.restart_pending.store(false, Ordering::Relaxed);
        feed.fft_size.store(fft_size as u32, Ordering::Relaxed);
        feed.period.store(0.0, Ordering::Relaxed);
        feed.beat_len.store(0, Ordering::Release);
    }

    /// Whether the editor is open: nothing is analysed for it otherwise.
    pub fn set_open(&mut self, open: bool) {
        self.open = open;
    }

    /// Publishes what one processed block leaves for the editor: meters from the
    /// block's input and stems, and (a few times a second) REPET's period and beat
    /// spectrum. Call it after [`Engine::process_observed`].
    pub fn block<S: AsRef<[f32]>>(&mut self, engine: &Engine, input: &[S]) {
        if !self.open {
            return;
        }
        let peak = |x: &[f32]| x.iter().fold(0.0f32, |m, s| m.max(s.abs()));
        let input_peak = input.iter().map(|c| peak(c.as_ref())).fold(0.0, f32::max);
        self.feed.meters[0].fetch_max(input_peak, Ordering::Relaxed);
        for stem in 0..engine.stem_count() {
            let stem_peak = (0..engine.channels())
                .map(|c| peak(engine.stem(stem, c)))
                .fold(0.0, f32::max);
            self.feed.meters[1 + stem].fetch_max(stem_peak, Ordering::Relaxed);
        }

        let len = input.first().map_or(0, |c| c.as_ref().len());
        self.until_slow_update -= len as f32 / self.sample_rate;
        if self.until_slow_update > 0.0 {
            return;
        }
        self.until_slow_update = SLOW_UPDATE_SECONDS;
        let feed = &self.feed;
        match engine.period() {
            Some((period, source)) => {
                feed.period.store(period, Ordering::Relaxed);
                feed.period_source.store(source as u8, Ordering::Relaxed);
            }
            None => feed.period.store(0.0, Ordering::Relaxed),
        }
        match engine.beat_spectrum() {
            Some((values, step)) if !values.is_empty() => {
                let pool = values.len().div_ceil(BEAT_POINTS);
                let points = values.len().div_ceil(pool);
                for (point, chunk) in values.chunks(pool).enumerate() {
                    let value = chunk.iter().fold(f32::MIN, |m, &v| m.max(v));
                    feed.beat[point].store(value, Ordering::Relaxed);
                }
                feed.beat_step.store(step * pool as f32, Ordering::Relaxed);
                feed.beat_len.store(points, Ordering::Release);
            }
            _ => feed.beat_len.store(0, Ordering::Release),
        }
        self.repaint.request_repaint();
    }
}

impl FrameObserver for Publisher {
    fn wants_frames(&self) -> bool {
        self.open
    }

    fn frame(&mut self, view: &FrameView<'_>) {
        let column = &mut self.column;
        for (row, &(first, end)) in self.bands.iter().enumerate() {
            let magnitude = &view.magnitude[first..end];
            let (mut total, mut loudest) = (0.0, 0.0f32);
            let mut parts = [0.0f32; MAX_STEMS];
            for (k, &m) in magnitude.iter().enumerate() {
                total += m;
                loudest = loudest.max(m);
                for (stem, part) in parts.iter_mut().enumerate().take(view.stems) {
                    *part += m * view.share(stem, first + k);
                }
            }
            let db = 20.0 * (loudest * self.magnitude_scale).max(1e-10).log10();
            column.level[row] = ((db / RANGE_DB + 1.0).clamp(0.0, 1.0) * 255.0) as u8;
            let share = |part: f32| {
                if total > 0.0 {
                    ((part / total).clamp(0.0, 1.0) * 255.0) as u8
                } else {
                    0
                }
            };
            for (stem, part) in parts.iter().enumerate() {
                column.share[stem][row] = share(*part);
            }
        }
        // A full queue means the editor is not painting: this column is not missed.
        let _ = self.columns.try_push(*column);
        self.repaint.request_repaint();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Settings;
    use ringbuf::traits::Consumer;

    #[test]
    fn a_full_scale_sine_reads_near_full_scale_in_its_row() {
        let (feed, producer, mut consumer) = Feed::new();
        let settings = Settings::default();
        let mut engine = Engine::new(settings, 44_100.0, 1, 4096).unwrap();
        let mut publisher = Publisher::new(feed.clone(), producer, RepaintNotifier::new());
        publisher.activate(&engine, 44_100.0);
        publisher.set_open(true);
        let hz = 1000.0;
        let sine: Vec<f32> = (0..8 * 4096)
            .map(|i| (std::f32::consts::TAU * hz * i as f32 / 44_100.0).sin())
            .collect();
        for input in sine.chunks(4096) {
            engine.process_observed(&[input], &mut publisher);
            publisher.block(&engine, &[input]);
        }
        let column = std::iter::from_fn(|| consumer.try_pop()).last().unwrap();
        let row = (ROWS as f32 * (hz / LOWEST_HZ).ln() / (20_000.0f32 / LOWEST_HZ).ln()) as usize;
        let loudest = (0..ROWS).max_by_key(|&r| column.level[r]).unwrap();
        assert!(
            loudest.abs_diff(row) <= 1,
            "sine in row {loudest}, expected {row}"
        );
        let db = (column.level[loudest] as f32 / 255.0 - 1.0) * RANGE_DB;
        assert!(db > -3.0, "a full-scale sine reads {db} dB");
        assert!(
            column.level[ROWS - 1] < 40,
            "far rows stay dark: {}",
            column.level[ROWS - 1]
        );
        assert!(feed.take_meters()[0] > 0.99);
        assert_eq!(feed.take_meters()[0], 0.0, "meters reset when read");
    }

    #[test]
    fn nothing_is_analysed_while_the_editor_is_closed() {
        let (feed, producer, mut consumer) = Feed::new();
        let mut engine = Engine::new(Settings::default(), 44_100.0, 2, 512).unwrap();
        let mut publisher = Publisher::new(feed.clone(), producer, RepaintNotifier::new());
        publisher.activate(&engine, 44_100.0);
        let input = vec![vec![0.5f32; 512]; 2];
        for _ in 0..20 {
            engine.process_observed(&input, &mut publisher);
            publisher.block(&engine, &input);
        }
        assert!(consumer.try_pop().is_none());
        assert_eq!(feed.take_meters(), [0.0; METER_COUNT]);
    }
}
