//! The streaming separation engine: pure DSP, no plugin, GUI or file types.
//!
//! ```text
//! input (any block size) ─ sanitise ─┬─ input ring ─ every hop: window, FFT ─ |X| linked ─ Separator
//!                                    │                                   complex frames delayed by lookahead
//!                                    │                                   X·M_stem ─ IFFT, window, overlap-add
//!                                    └─ dry delay line (latency) ─ complement = dry − the other stems
//! ```
//!
//! **Latency**: `fft_size + lookahead · hop` samples. A frame is analysed once its
//! last sample has arrived and its overlap-added output starts leaving on the next
//! sample, so the window costs exactly `fft_size` samples; a separator that masks
//! the frame `lookahead` hops back adds `lookahead · hop`.
//!
//! **Complementary stems**: one stem (the background, or Stems' other) is the delayed
//! dry input minus the other stems, so the stems sum to the delayed input to float
//! rounding for every setting, and it costs one inverse FFT less per channel.
//!
//! **Block-size independence**: frames fall on fixed sample positions and all state
//! moves per sample or per frame, so any slicing of the input gives the same bits.
//!
//! **Two halves**: the synthesis ([`Synthesis`]: overlap-add, dry line, complement)
//! needs only the input and each masked frame, so [`Engine::analyse`] can hand the
//! frames to a synthesis on another thread (the command line does) for the same bits.

pub mod beat_spectrum;
pub mod buffers;
pub mod ft2d;
pub mod geometry;
pub mod history;
pub mod hpss;
pub mod kernels;
pub mod matrix;
pub mod median;
pub mod nmf;
pub mod nmf_filter;
pub mod period;
pub mod pitched;
pub mod registry;
pub mod repet;
pub mod repet_sim;
pub mod repetition;
pub mod rolling;
pub mod separator;
pub mod settings;
pub mod snpa;
pub mod spectrogram;
pub mod stems;
pub mod stft;
pub mod synthesis;
pub mod taught;

use realfft::num_complex::Complex;

use geometry::Geometry;
pub use nmf_filter::NmfFilter;
pub use separator::{Inspection, MAX_STEMS, Masks, Separator, Side, Tempo};
pub use settings::{
    Algorithm, Ft2dSettings, HpssSettings, NmfSettings, PeriodSource, RepetSettings, Settings,
    StemsSettings, Taught,
};
use stft::Stft;
pub use synthesis::{MaskedFrame, Synthesis};
pub use taught::{TemplateError, Templates};

/// Input samples beyond ±this are clipped: a stray huge value must not blow up the
/// spectra (their squares overflow `f32`) or the history buffers (+48 dBFS).
pub const INPUT_LIMIT: f32 = 256.0;
/// Input samples smaller than this are flushed to zero (−300 dBFS), so that no
/// denormal is ever squared into the spectra or stored in a history buffer.
pub const INPUT_FLOOR: f32 = 1e-15;

/// Makes one input sample safe for the history buffers: NaN and ±∞ become silence,
/// huge values are clipped, denormal-range values are flushed.
#[inline]
pub fn sanitise(x: f32) -> f32 {
    if !x.is_finite() || x.abs() < INPUT_FLOOR {
        0.0
    } else {
        x.clamp(-INPUT_LIMIT, INPUT_LIMIT)
    }
}

/// Below this (−300 dBFS) a masked spectrum value or a stem's sample is zero: the
/// product of a quiet bin and a small mask can fall below `f32`'s normal range, and a
/// denormal must reach neither the overlap-add buffers nor a host (clap-validator's
/// fuzzing checks every output sample).
const OUTPUT_FLOOR: f32 = INPUT_FLOOR;

#[inline]
fn flush(x: f32) -> f32 {
    if x.abs() < OUTPUT_FLOOR { 0.0 } else { x }
}

pub use buffers::prefault;

/// The stems, in the order of the plugin's auxiliary outputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stem {
    /// Percussive (HPSS), non-repeating lead (REPET).
    Foreground = 0,
    /// Harmonic (HPSS), repeating accompaniment (REPET).
    Background = 1,
    /// What neither claims (HPSS with a separation factor above 1); silent otherwise.
    Residual = 2,
}

impl Stem {
    pub const ALL: [Stem; 3] = [Stem::Foreground, Stem::Background, Stem::Residual];
}

/// A stem's place in output order: the two- and three-stem algorithms' stems by name.
impl From<Stem> for usize {
    fn from(stem: Stem) -> usize {
        stem as usize
    }
}

/// One analysed frame as the separator split it, for views such as a spectrogram
/// with the masks laid over it. All slices are `fft_size / 2 + 1` bins long.
pub struct FrameView<'a> {
    /// The magnitude of the frame the masks belong to (channels linked: the root of
    /// the summed power); with lookahead, that frame is `lookahead` hops old.
    pub magnitude: &'a [f32],
    /// The share of each bin that goes to each stem, in output order; the
    /// complementary stem's is not filled in (it is one minus the others).
    pub masks: &'a Masks,
    /// How many stems the settings give (see [`Settings::stem_count`]).
    pub stems: usize,
    /// The stem that is the rest.
    pub complement: usize,
}

impl FrameView<'_> {
    /// The share of bin `bin` that goes to `stem`.
    pub fn share(&self, stem: usize, bin: usize) -> f32 {
        if stem == self.complement {
            let others: f32 = (0..self.stems)
                .filter(|&s| s != self.complement)
                .map(|s| self.masks.get(s)[bin])
                .sum();
            (1.0 - others).max(0.0)
        } else {
            self.masks.get(stem)[bin]
        }
    }
}

/// Receives every frame [`Engine::process_observed`] masks, on the audio thread: it
/// must not allocate, lock or block.
pub trait FrameObserver {
    /// `false` skips building the views altogether (an editor that is closed).
    fn wants_frames(&self) -> bool {
        true
    }
    fn frame(&mut self, view: &FrameView<'_>);
}

/// Two observers, each fed when it wants frames.
impl<A: FrameObserver, B: FrameObserver> FrameObserver for (&mut A, &mut B) {
    fn wants_frames(&self) -> bool {
        self.0.wants_frames() || self.1.wants_frames()
    }
    fn frame(&mut self, view: &FrameView<'_>) {
        if self.0.wants_frames() {
            self.0.frame(view);
        }
        if self.1.wants_frames() {
            self.1.frame(view);
        }
    }
}

/// No observer: [`Engine::process`] builds no views.
impl FrameObserver for () {
    fn wants_frames(&self) -> bool {
        false
    }
    fn frame(&mut self, _: &FrameView<'_>) {}
}

/// The latency, in samples, of an engine built with `settings` at `sample_rate`,
/// without building one: what a latency-changing setting will cost once applied.
pub fn latency_of(settings: &Settings, sample_rate: f32) -> usize {
    let geometry = Geometry::new(
        sample_rate,
        settings::fft_size_at(settings.fft_size, sample_rate),
    );
    let lookahead = (registry::entry(settings.algorithm).lookahead)(settings, &geometry);
    geometry.fft_size + lookahead * geometry.hop
}

/// Why an engine could not be built.
#[derive(Debug, Clone, PartialEq)]
pub enum EngineError {
    Channels(usize),
    SampleRate(f32),
    FftSize(usize),
    MaxBlock,
}

impl std::fmt::Display for EngineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EngineError::Channels(c) => {
                write!(f, "{c} channels: the engine takes 1 to {MAX_CHANNELS}")
            }
            EngineError::SampleRate(r) => {
                write!(
                    f,
                    "sample rate {r} Hz is outside {} Hz to {} Hz",
                    settings::SAMPLE_RATES.start(),
                    settings::SAMPLE_RATES.end()
                )
            }
            EngineError::FftSize(n) => {
                write!(f, "FFT size {n} is not one of {:?}", settings::FFT_SIZES)
            }
            EngineError::MaxBlock => write!(f, "the largest block must hold at least one sample"),
        }
    }
}

impl std::error::Error for EngineError {}

/// The most channels one engine links into one mask.
pub const MAX_CHANNELS: usize = 8;

/// Streaming STFT separator over `channels` channels, for one sample rate and one
/// set of latency-defining settings; everything is allocated in [`Engine::new`].
pub struct Engine {
    settings: Settings,
    sample_rate: f32,
    channels: usize,
    max_block: usize,
    stft: Stft,
    separator: Box<dyn Separator>,
    lookahead: usize,
    latency: usize,
    /// How many stems there are, and which one is the rest.
    stem_count: usize,
    complement: usize,

    /// Position in the input ring (`fft_size` long, as the synthesis's overlap-add
    /// rings); a multiple of the hop when a frame is due, so a run of samples between
    /// frames never wraps.
    pos: usize,
    since_frame: usize,
    frames: usize,
    input: Vec<Vec<f32>>,
    /// Complex frames awaiting their masks: `lookahead + 1` frames per channel.
    spectra: Vec<Vec<Complex<f32>>>,

    magnitude: Vec<f32>,
    /// The magnitude of the masked frame, for [`FrameView`] when there is lookahead.
    view_magnitude: Vec<f32>,
    masks: Masks,
    time: Vec<f32>,
    synthesis: Synthesis,
}

impl Engine {
    /// Builds an engine; `max_block` is the longest block [`Engine::process`] will get.
    pub fn new(
        settings: Settings,
        sample_rate: f32,
        channels: usize,
        max_block: usize,
    ) -> Result<Self, EngineError> {
        Self::build(settings, None, sample_rate, channels, max_block)
    }

    /// An engine around a separator of the caller's (its foreground and the rest), with the
    /// STFT of `fft_size`. The benchmarks use it to time the bare STFT round trip.
    pub fn with_separator(
        separator: Box<dyn Separator>,
        fft_size: usize,
        sample_rate: f32,
        channels: usize,
        max_block: usize,
    ) -> Result<Self, EngineError> {
        let settings = Settings {
            fft_size,
            ..Settings::default()
        };
        Self::build(settings, Some(separator), sample_rate, channels, max_block)
    }

    fn build(
        settings: Settings,
        custom: Option<Box<dyn Separator>>,
        sample_rate: f32,
        channels: usize,
        max_block: usize,
    ) -> Result<Self, EngineError> {
        if channels == 0 || channels > MAX_CHANNELS {
            return Err(EngineError::Channels(channels));
        }
        if !settings::SAMPLE_RATES.contains(&sample_rate) {
            return Err(EngineError::SampleRate(sample_rate));
        }
        if !settings::FFT_SIZES.contains(&settings.fft_size) {
            return Err(EngineError::FftSize(settings.fft_size));
        }
        if max_block == 0 {
            return Err(EngineError::MaxBlock);
        }
        let stft = Stft::new(settings::fft_size_at(settings.fft_size, sample_rate));
        let (n, hop, bins) = (stft.size, stft.hop, stft.bins());
        let (stem_count, complement) = if custom.is_some() {
            (2, Stem::Background as usize)
        } else {
            (
                settings.stem_count(),
                registry::entry(settings.algorithm).stems.complement,
            )
        };
        let synthesised = std::array::from_fn(|s| s < stem_count && s != complement);
        let geometry = Geometry::new(sample_rate, n);
        let is_custom = custom.is_some();
        let separator = custom
            .unwrap_or_else(|| (registry::entry(settings.algorithm).build)(&settings, &geometry));
        let lookahead = separator.lookahead();
        let latency = n + lookahead * hop;
        debug_assert!(
            is_custom || latency == latency_of(&settings, sample_rate),
            "latency_of disagrees with the separator"
        );
        let synthesis = Synthesis::new(
            stft.clone(),
            channels,
            latency,
            complement,
            synthesised,
            max_block,
        );
        let mut engine = Self {
            settings,
            sample_rate,
            channels,
            max_block,
            stft,
            separator,
            lookahead,
            latency,
            stem_count,
            complement,
            pos: 0,
            since_frame: 0,
            frames: 0,
            input: vec![vec![0.0; n]; channels],
            spectra: vec![vec![Complex::default(); (lookahead + 1) * bins]; channels],
            magnitude: vec![0.0; bins],
            view_magnitude: vec![0.0; bins],
            masks: Masks::new(bins),
            time: vec![0.0; n],
            synthesis,
        };
        for buf in &mut engine.input {
            prefault(buf);
        }
        for s in &mut engine.spectra {
            prefault(s);
        }
        Ok(engine)
    }

    /// Samples between an input sample and its stems: `fft_size + lookahead · hop`.
    pub fn latency(&self) -> usize {
        self.latency
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    pub fn sample_rate(&self) -> f32 {
        self.sample_rate
    }

    pub fn channels(&self) -> usize {
        self.channels
    }

    pub fn max_block(&self) -> usize {
        self.max_block
    }

    pub fn hop(&self) -> usize {
        self.stft.hop
    }

    /// The FFT size in use: the chosen one, scaled outside the native sample rates
    /// (see [`settings::fft_size_at`]).
    pub fn fft_size(&self) -> usize {
        self.stft.size
    }

    /// How many stems carry something: the first this many in output order.
    pub fn stem_count(&self) -> usize {
        self.stem_count
    }

    /// Applies settings that do not change the latency or the buffers, without
    /// allocating; returns `false` (and applies nothing) when `settings` needs a new
    /// engine (see [`Settings::needs_rebuild`]).
    pub fn update(&mut self, settings: &Settings) -> bool {
        if self.settings.needs_rebuild(settings) {
            return false;
        }
        if self.settings != *settings {
            self.settings = *settings;
            self.separator.update(settings);
        }
        true
    }

    /// The host's tempo and time signature (or `None` when it sends none), for REPET's
    /// host-tempo period. Cheap; call it every block.
    pub fn set_tempo(&mut self, tempo: Option<Tempo>) {
        self.separator.set_tempo(tempo);
    }

    /// Gives NMF new taught templates, already on this engine's bins (see
    /// [`Templates::for_analysis`]), and hands back the ones they replace so that the
    /// caller drops them off the audio thread. Does not allocate. Templates that do
    /// not fit, or an engine that is not NMF, hand the templates straight back.
    pub fn set_templates(
        &mut self,
        templates: Box<Templates>,
    ) -> Result<Option<Box<Templates>>, Box<Templates>> {
        self.separator.set_templates(templates)
    }

    /// Takes NMF's taught templates out (NMF then leaves everything in the background),
    /// for the caller to drop off the audio thread. Does not allocate.
    pub fn take_templates(&mut self) -> Option<Box<Templates>> {
        self.separator.take_templates()
    }

    /// NMF's taught templates, when it has some.
    pub fn templates(&self) -> Option<&Templates> {
        self.separator.inspect().templates
    }

    /// The repeating period REPET uses now, in seconds, and where it comes from.
    pub fn period(&self) -> Option<(f32, PeriodSource)> {
        self.separator.inspect().period
    }

    /// REPET's beat spectrum (one value per lag step) and the lag step in seconds.
    pub fn beat_spectrum(&self) -> Option<(&[f32], f32)> {
        self.separator.inspect().beat_spectrum
    }

    /// Back to silence, as freshly built. Does not allocate.
    pub fn reset(&mut self) {
        for buf in &mut self.input {
            buf.fill(0.0);
        }
        for s in &mut self.spectra {
            s.fill(Complex::default());
        }
        self.pos = 0;
        self.since_frame = 0;
        self.frames = 0;
        self.synthesis.reset();
        self.separator.reset();
    }

    /// Processes one block (every channel the same length, at most `max_block`);
    /// read the stems with [`Engine::stem`].
    pub fn process<S: AsRef<[f32]>>(&mut self, input: &[S]) {
        self.process_observed(input, &mut ());
    }

    /// [`Engine::process`], showing `observer` every frame masked during the block.
    pub fn process_observed<S: AsRef<[f32]>, O: FrameObserver>(
        &mut self,
        input: &[S],
        observer: &mut O,
    ) {
        self.run(
            input,
            observer,
            None::<&mut fn(&[Vec<Complex<f32>>], usize, &Masks)>,
        );
    }

    /// [`Engine::process`] without the synthesis: every frame masked during the block
    /// goes to `frame` as `(spectra, at, masks)`, channel `c`'s spectrum at
    /// `spectra[c][at·bins..(at + 1)·bins]`, for a [`Synthesis`] from
    /// [`Engine::synthesis`] to turn into the stems, on another thread if the caller
    /// likes ([`Synthesis::process`] with the same blocks and these frames in order).
    pub fn analyse<S: AsRef<[f32]>>(
        &mut self,
        input: &[S],
        frame: &mut impl FnMut(&[Vec<Complex<f32>>], usize, &Masks),
    ) {
        self.run(input, &mut (), Some(frame));
    }

    /// Splits off the part of the separator's work that depends on the input alone
    /// ([`Separator::split_off`]), with an analysis of its own. Fed the same blocks on
    /// another thread through its [`Engine::analyse`] (its frames ignored), it works
    /// alongside this engine, whose stems stay the same to the bit. At the stream's
    /// start only; `None` where the separator has no such part.
    pub fn split_off(&mut self) -> Option<Engine> {
        if self.frames > 0 {
            return None;
        }
        let half = self.separator.split_off()?;
        let (settings, rate, channels) = (self.settings, self.sample_rate, self.channels);
        Self::build(settings, Some(half), rate, channels, self.max_block).ok()
    }

    /// A synthesis for [`Engine::analyse`]'s frames: silent, at the stream's start.
    pub fn synthesis(&self) -> Synthesis {
        self.synthesis.fresh()
    }

    /// The block's samples into the input ring, a frame analysed and masked at every
    /// hop; synthesised here, or handed to `frame` when there is one.
    fn run<S: AsRef<[f32]>, O: FrameObserver, F>(
        &mut self,
        input: &[S],
        observer: &mut O,
        mut frame: Option<&mut F>,
    ) where
        F: FnMut(&[Vec<Complex<f32>>], usize, &Masks),
    {
        assert_eq!(input.len(), self.channels, "one input slice per channel");
        let len = input[0].as_ref().len();
        assert!(
            len <= self.max_block,
            "block longer than the engine's max_block"
        );
        let (n, hop) = (self.stft.size, self.stft.hop);
        let mut done = 0;
        while done < len {
            let run = (hop - self.since_frame).min(len - done);
            if frame.is_none() {
                self.synthesis.take(input, done, run);
            }
            for (c, input) in input.iter().enumerate().take(self.channels) {
                let x = &input.as_ref()[done..done + run];
                let ring = &mut self.input[c][self.pos..self.pos + run];
                for (r, x) in ring.iter_mut().zip(x) {
                    *r = sanitise(*x);
                }
            }
            done += run;
            self.pos = (self.pos + run) % n;
            self.since_frame += run;
            if self.since_frame == hop {
                self.since_frame = 0;
                let masked = self.frame(observer);
                match frame.as_mut() {
                    Some(frame) => frame(&self.spectra, masked, &self.masks),
                    None => self.synthesis.frame(&self.spectra, masked, &self.masks),
                }
            }
        }
        if self.since_frame > 0 {
            self.separator.work(self.since_frame, hop);
        }
        self.synthesis.end_block(len);
    }

    /// One channel of one stem from the last [`Engine::process`] call.
    pub fn stem(&self, stem: impl Into<usize>, channel: usize) -> &[f32] {
        self.synthesis.stem(stem, channel)
    }

    /// Analyses and masks the frame just due; returns the slot of the frame masked
    /// (`lookahead` frames back).
    fn frame<O: FrameObserver>(&mut self, observer: &mut O) -> usize {
        let n = self.stft.size;
        let bins = self.stft.bins();
        let newest = self.frames % (self.lookahead + 1);
        // The frame masked now is `lookahead` frames older: the slot after the newest.
        let masked = (self.frames + 1) % (self.lookahead + 1);
        self.frames += 1;

        self.magnitude.fill(0.0);
        for c in 0..self.channels {
            // The oldest sample of the ring sits at `pos`.
            let (older, newer) = self.input[c].split_at(self.pos);
            self.time[..n - self.pos].copy_from_slice(newer);
            self.time[n - self.pos..].copy_from_slice(older);
            for (t, w) in self.time.iter_mut().zip(&self.stft.window) {
                *t *= w;
            }
            let spectrum = &mut self.spectra[c][newest * bins..(newest + 1) * bins];
            self.stft.forward(&mut self.time, spectrum);
            for (m, x) in self.magnitude.iter_mut().zip(spectrum.iter()) {
                *m += x.norm_sqr();
            }
        }
        for m in &mut self.magnitude {
            *m = m.sqrt();
        }

        self.separator.push(&self.magnitude, &mut self.masks);

        if observer.wants_frames() {
            self.observe(masked, observer);
        }
        masked
    }

    fn observe<O: FrameObserver>(&mut self, masked: usize, observer: &mut O) {
        let bins = self.stft.bins();
        let magnitude = if self.lookahead == 0 {
            &self.magnitude
        } else {
            self.view_magnitude.fill(0.0);
            for spectra in &self.spectra[..self.channels] {
                let frame = &spectra[masked * bins..(masked + 1) * bins];
                for (m, x) in self.view_magnitude.iter_mut().zip(frame) {
                    *m += x.norm_sqr();
                }
            }
            for m in &mut self.view_magnitude {
                *m = m.sqrt();
            }
            &self.view_magnitude
        };
        observer.frame(&FrameView {
            magnitude,
            masks: &self.masks,
            stems: self.stem_count,
            complement: self.complement,
        });
    }
}
