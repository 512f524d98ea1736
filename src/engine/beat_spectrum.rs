//! The beat spectrum, updated one frame at a time: where the music repeats.
//!
//! REPET's beat spectrum (Foote 2001; Rafii & Pardo 2013) is the autocorrelation over
//! time of the power spectrogram, averaged over frequency: its peaks are the lags at
//! which the music repeats. Offline it is one FFT per bin over the whole song. Here
//! each new frame adds its dot products with the frames up to the longest period back,
//! `O(max_lag × bins)` per frame, and each lag keeps running sums over its own window.
//!
//! Two choices differ from the offline definition, for a stream:
//! - **Each lag looks at its own last period** (pairs `(t, t − ℓ)` with `t` in the
//!   newest `ℓ` frames: two periods of audio). A fixed window over the whole buffer
//!   would let 20 s of an old groove outvote 4 s of a new one; with windows that scale
//!   with the lag, a new period wins within two of its periods. Which of a period, its
//!   divisors and its multiples is *the* period is not read off these heights (the
//!   loudest part decides them): [`super::period`] asks [`super::repetition`].
//! - **Each lag is normalised by the energy of its own pairs** (a cosine between the
//!   spectrogram and itself delayed, in [0, 1]), so that a crescendo does not favour the
//!   lags whose windows are the loudest.
//!
//! Frames are averaged into *beat frames* of about 11.6 ms (one hop of 512 at
//! 44.1 kHz) whatever the FFT size and sample rate, so the cost of the beat spectrum
//! per second of audio does not grow at small hops.

use super::history::{analysis_decimation, analysis_pool};
use super::kernels::{dot_i16, i16_levels, quantise_i16};

#[cfg(test)]
const BEAT_FRAME_SECONDS: f64 = super::history::ANALYSIS_STEP_SECONDS;
/// Shortest window a lag is judged on: a period of half a second judged on half a
/// second of pairs would follow every passing coincidence.
const MIN_WINDOW_SECONDS: f64 = 1.5;

pub struct BeatSpectrum {
    /// Analysis bands (bins pooled by `pool`): the power spectrogram is kept per band.
    bins: usize,
    pool: usize,
    /// Hops averaged into one beat frame, and its length.
    decimation: usize,
    beat_seconds: f64,
    /// Longest lag, in beat frames.
    max_lag: usize,
    /// Shortest window of pairs, in beat frames (see [`MIN_WINDOW_SECONDS`]).
    min_window: usize,
    /// Power of the last `max_lag + 1` beat frames, each scaled so that its loudest band
    /// is `levels` and rounded to `i16`, and the factor back to power. A lag's products
    /// are the bulk of the beat spectrum's work, and on 16-bit rows they take half the
    /// memory and half the instructions. Rounding loses bands more than about 35 dB
    /// (power) below a frame's loudest, which add less than a thousandth to its products.
    power: Vec<i16>,
    scales: Vec<f32>,
    levels: f32,
    /// The beat frame being averaged.
    pending: Vec<f32>,
    pending_hops: usize,
    /// `dots[t % rows][ℓ]` = `P_t · P_{t−ℓ}` for the last `max_lag + 1` beat frames (or the shortest window's).
    dots: Vec<f32>,
    /// `P_t · P_t` for the last `3·max_lag + 1` beat frames.
    energy: Vec<f32>,
    /// Per lag: Σ `P_t·P_{t−ℓ}`, Σ `|P_t|²`, Σ `|P_{t−ℓ}|²` over its window.
    cross: Vec<f64>,
    recent: Vec<f64>,
    lagged: Vec<f64>,
    /// Beat frames seen.
    count: usize,
    /// Slow average of `|P_t|²`, to tell a quiet beat frame from the music around it.
    loudness: f64,
    spectrum: Vec<f32>,
}

impl BeatSpectrum {
    /// A beat spectrum for frames of `bins` bins (pooled into analysis bands) arriving every `hop_seconds`, with lags
    /// up to `max_lag_seconds`.
    pub fn new(bins: usize, hop_seconds: f64, max_lag_seconds: f64) -> Self {
        let decimation = analysis_decimation(hop_seconds);
        let beat_seconds = hop_seconds * decimation as f64;
        let max_lag = ((max_lag_seconds / beat_seconds).ceil() as usize).max(2) + 1;
        let min_window = (MIN_WINDOW_SECONDS / beat_seconds).ceil() as usize;
        let pool = analysis_pool(bins);
        let bins = bins.div_ceil(pool);
        // Products back to the longest window, energies one lag further.
        let reach = max_lag.max(min_window);
        let mut beat = Self {
            bins,
            pool,
            decimation,
            beat_seconds,
            max_lag,
            min_window,
            power: vec![0; (max_lag + 1) * bins],
            scales: vec![0.0; max_lag + 1],
            levels: i16_levels(bins),
            pending: vec![0.0; bins],
            pending_hops: 0,
            dots: vec![0.0; (reach + 1) * (max_lag + 1)],
            energy: vec![0.0; reach + max_lag + 1],
            cross: vec![0.0; max_lag + 1],
            recent: vec![0.0; max_lag + 1],
            lagged: vec![0.0; max_lag + 1],
            count: 0,
            loudness: 0.0,
            spectrum: vec![0.0; max_lag + 1],
        };
        super::buffers::prefault(&mut beat.power);
        super::buffers::prefault(&mut beat.dots);
        beat
    }

    /// The length of a beat frame.
    pub fn beat_seconds(&self) -> f64 {
        self.beat_seconds
    }

    /// Hops per beat frame: a lag of `ℓ` beat frames is `ℓ · decimation` hops.
    pub fn decimation(&self) -> usize {
        self.decimation
    }

    pub fn max_lag(&self) -> usize {
        self.max_lag
    }

    /// The window of pairs lag `lag` is judged on: its own period, at least [`MIN_WINDOW_SECONDS`].
    pub fn window(&self, lag: usize) -> usize {
        lag.max(self.min_window)
    }

    /// `B(ℓ)` for `ℓ = 0 ..= max_lag` beat frames; 0 where there is not yet enough audio.
    pub fn spectrum(&self) -> &[f32] {
        &self.spectrum
    }

    /// The longest lag whose spectrum value means something: one and a half periods
    /// heard, so half a period of pairs. Less is noise; waiting for two whole periods
    /// would keep a long period out of reach for twice its length.
    pub fn longest_heard(&self) -> usize {
        (self.count * 2 / 3).min(self.max_lag)
    }

    /// Σ `P_t·P_{t−lag}`, Σ `|P_t|²` and Σ `|P_{t−lag}|²` for `t` in `first ..= last`,
    /// walking the rings by index (no division per step: this runs over thousands of frames).
    fn sums(&self, first: usize, last: usize, lag: usize) -> (f64, f64, f64) {
        let stride = self.max_lag + 1;
        let (rows, e_len) = (self.dots.len() / stride, self.energy.len());
        let (mut row, mut e, mut e_lag) = (first % rows, first % e_len, (first - lag) % e_len);
        let (mut c, mut r, mut l) = (0.0f64, 0.0f64, 0.0f64);
        for _ in first..=last {
            c += self.dots[row * stride + lag] as f64;
            r += self.energy[e] as f64;
            l += self.energy[e_lag] as f64;
            row = if row + 1 == rows { 0 } else { row + 1 };
            e = if e + 1 == e_len { 0 } else { e + 1 };
            e_lag = if e_lag + 1 == e_len { 0 } else { e_lag + 1 };
        }
        (c, r, l)
    }

    /// Whether the newest beat frame is far quieter (−30 dB in power) than the music
    /// before it: silence, a break or the tail of a fade, where the spectrum tells
    /// nothing new about the period and its pairs with silence drag the short lags down.
    pub fn is_quiet(&self) -> bool {
        let e_len = self.energy.len();
        let newest = self.energy[(self.count.max(1) - 1) % e_len] as f64;
        // Energies are squared powers: −30 dB in power is 1e−6 here.
        newest < 1e-6 * self.loudness || self.loudness <= 0.0
    }

    /// Takes one magnitude frame; returns whether a beat frame completed and the
    /// spectrum changed.
    pub fn push(&mut self, magnitude: &[f32]) -> bool {
        for (p, band) in self.pending.iter_mut().zip(magnitude.chunks(self.pool)) {
            *p += band.iter().map(|m| m * m).sum::<f32>();
        }
        self.pending_hops += 1;
        if self.pending_hops < self.decimation {
            return false;
        }
        self.pending_hops = 0;
        let n = self.count;
        let bins = self.bins;
        let scale = 1.0 / self.decimation as f32;
        let slot = n % (self.max_lag + 1);
        let row = slot * bins;
        for p in &mut self.pending {
            *p *= scale;
        }
        self.scales[slot] =
            quantise_i16(&self.pending, self.levels, &mut self.power[row..row + bins]);
        self.pending.fill(0.0);
        self.count += 1;

        let (max_lag, rows) = (self.max_lag, self.dots.len() / (self.max_lag + 1));
        let d = (n % rows) * (max_lag + 1);
        products_with_newest(
            &self.power,
            &self.scales,
            n,
            &mut self.dots[d..=d + max_lag.min(n)],
        );
        let e_len = self.energy.len();
        self.energy[n % e_len] = self.dots[d];
        // About one longest lag of memory.
        let smoothing = 1.0 / max_lag as f64;
        self.loudness += smoothing * (self.dots[d] as f64 - self.loudness);
        // Ring positions `back` steps behind `at`, without a division (`back ≤ len`).
        let behind = |at: usize, back: usize, len: usize| {
            if at >= back {
                at - back
            } else {
                at + len - back
            }
        };
        let (row_n, e_n) = (n % rows, n % e_len);
        let stride = max_lag + 1;
        let min_window = self.min_window;
        for lag in 1..=max_lag.min(n) {
            // Past the shortest window each lag's oldest product sits in a row of its
            // own, one row further back per lag: a cache miss per lag that the hardware
            // does not foresee (a 2.7 kB stride at the defaults), a third of this
            // loop's time. Asked for a few lags ahead, it arrives in time.
            #[cfg(target_arch = "x86_64")]
            {
                const AHEAD: usize = 8;
                let ahead = lag + AHEAD;
                if ahead <= max_lag && ahead > min_window {
                    let row = behind(row_n, ahead, rows);
                    let at = self.dots.as_ptr().wrapping_add(row * stride + ahead);
                    // SAFETY: a prefetch only hints the cache; `at` is inside `dots`
                    // and is not read here.
                    unsafe {
                        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
                            at.cast(),
                        )
                    };
                }
            }
            self.cross[lag] += self.dots[row_n * stride + lag] as f64;
            self.recent[lag] += self.energy[e_n] as f64;
            self.lagged[lag] += self.energy[behind(e_n, lag, e_len)] as f64;
            let window = lag.max(min_window);
            if n >= window + lag {
                let row_t = behind(row_n, window, rows);
                let e_t = behind(e_n, window, e_len);
                self.cross[lag] -= self.dots[row_t * stride + lag] as f64;
                self.recent[lag] -= self.energy[e_t] as f64;
                self.lagged[lag] -= self.energy[behind(e_t, lag, e_len)] as f64;
            }
        }
        // Running sums drift by rounding; one lag per frame is summed afresh, so each
        // is exact again every `max_lag` frames.
        let fresh = 1 + n % max_lag;
        if fresh <= n {
            let first = (n + 1).saturating_sub(fresh.max(min_window)).max(fresh);
            (self.cross[fresh], self.recent[fresh], self.lagged[fresh]) =
                self.sums(first, n, fresh);
        }

        let heard = self.longest_heard();
        let lags = 1..heard + 1;
        cosines(
            &self.cross[lags.clone()],
            &self.recent[lags.clone()],
            &self.lagged[lags.clone()],
            &mut self.spectrum[lags],
        );
        self.spectrum[0] = 1.0;
        self.spectrum[heard + 1..].fill(0.0);
        true
    }

    pub fn reset(&mut self) {
        self.power.fill(0);
        self.scales.fill(0.0);
        self.pending.fill(0.0);
        self.pending_hops = 0;
        self.dots.fill(0.0);
        self.energy.fill(0.0);
        self.cross.fill(0.0);
        self.recent.fill(0.0);
        self.lagged.fill(0.0);
        self.spectrum.fill(0.0);
        self.count = 0;
        self.loudness = 0.0;
    }
}

/// Each lag's cosine `cross / √(recent · lagged)`, clamped to `[0, 1]` (0 where either
/// side is silent). Branch-free, so that the square roots and divisions go two at a
/// time, or four where the CPU has AVX: each is correctly rounded, so the bits are the
/// same either way.
#[multiversion::multiversion(targets("x86_64+avx"))]
fn cosines(cross: &[f64], recent: &[f64], lagged: &[f64], spectrum: &mut [f32]) {
    for (((b, &c), &r), &l) in spectrum.iter_mut().zip(cross).zip(recent).zip(lagged) {
        let norm = r * l;
        let cosine = c / norm.max(1e-30).sqrt();
        *b = if norm > 1e-30 {
            cosine.clamp(0.0, 1.0) as f32
        } else {
            0.0
        };
    }
}

/// The products of beat frame `n` (the newest) with each held beat frame `lag = 0, 1, …`
/// back, into `dots[lag]`: `power` holds one `bins`-long row per slot, `scales` the
/// factor back to power of each. The integer sums are exact, so the AVX2 version where
/// the CPU has it gives the same products to the bit, in half the instructions.
#[multiversion::multiversion(targets("x86_64+avx2"))]
fn products_with_newest(power: &[i16], scales: &[f32], n: usize, dots: &mut [f32]) {
    let slots = scales.len();
    let bins = power.len() / slots;
    let row = |slot: usize| &power[slot * bins..(slot + 1) * bins];
    let newest = n % slots;
    for (lag, dot) in dots.iter_mut().enumerate() {
        let other = (n - lag) % slots;
        let products = multiversion::target::match_target! {
            // SAFETY: this version runs only where the CPU has AVX2.
            "x86_64+avx2" => unsafe { super::kernels::dot_i16_avx2(row(newest), row(other)) },
            _ => dot_i16(row(newest), row(other)),
        };
        *dot = products as f32 * scales[newest] * scales[other];
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::kernels::dot;

    /// Frames of a loop `period` beat frames long (random spectra), `len` frames.
    fn loop_frames(period: usize, len: usize, bins: usize, seed: u64) -> Vec<Vec<f32>> {
        let mut s = seed | 1;
        let mut rand = move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 40) as f32 / (1u64 << 24) as f32
        };
        let cycle: Vec<Vec<f32>> = (0..period)
            .map(|_| (0..bins).map(|_| rand()).collect())
            .collect();
        (0..len).map(|t| cycle[t % period].clone()).collect()
    }

    #[test]
    fn running_sums_match_a_direct_computation() {
        let bins = 16;
        let mut beat = BeatSpectrum::new(bins, BEAT_FRAME_SECONDS, 20.0 * BEAT_FRAME_SECONDS);
        let frames = loop_frames(7, 200, bins, 3);
        for (n, f) in frames.iter().enumerate() {
            assert!(beat.push(f));
            let power: Vec<Vec<f32>> = frames[..=n]
                .iter()
                .map(|f| f.iter().map(|m| m * m).collect())
                .collect();
            for lag in 1..=beat.longest_heard() {
                let ts = (n + 1).saturating_sub(beat.window(lag)).max(lag)..=n;
                let (mut c, mut r, mut l) = (0.0f64, 0.0f64, 0.0f64);
                for t in ts {
                    c += dot(&power[t], &power[t - lag]) as f64;
                    r += dot(&power[t], &power[t]) as f64;
                    l += dot(&power[t - lag], &power[t - lag]) as f64;
                }
                let want = (c / (r * l).sqrt()) as f32;
                assert!(
                    (beat.spectrum()[lag] - want).abs() < 1e-4,
                    "n {n} lag {lag}"
                );
            }
        }
    }
}
