//! The rolling buffer of magnitude frames that REPET and REPET-SIM model the
//! repeating background from.

use super::kernels::{dot_i16, i16_levels, quantise_i16};
use super::median::{LANES, Lanes};

/// Bins per analysis band: frames are compared (REPET-SIM's similarities, REPET's beat
/// spectrum) on about 256 bands, whatever the FFT size. Comparing frames needs no finer
/// resolution, and scanning a 24 s buffer of full frames every hop is bound by memory
/// bandwidth (8 MB at FFT 2048) rather than arithmetic.
pub fn analysis_pool(bins: usize) -> usize {
    (bins / 256).max(1)
}

/// Duration of an analysis step: frames are compared at about this spacing (one hop of
/// 512 at 44.1 kHz), so that the cost of comparing a buffer of seconds does not grow
/// at small hops or high sample rates.
pub const ANALYSIS_STEP_SECONDS: f64 = 512.0 / 44_100.0;

/// Hops per analysis step for hops of `hop_seconds` (at least one).
pub fn analysis_decimation(hop_seconds: f64) -> usize {
    ((ANALYSIS_STEP_SECONDS / hop_seconds).round() as usize).max(1)
}

/// Frames with no bin above a sine at this level are silence: before the music, after
/// it, while a transport is stopped. They say nothing about what repeats.
pub const SILENCE_DBFS: f32 = -120.0;

/// The largest bin magnitude of a silent frame of `fft_size` (a Hann-windowed sine of
/// amplitude `a` peaks at `a · fft_size / 4`).
pub fn silence_magnitude(fft_size: usize) -> f32 {
    10f32.powf(SILENCE_DBFS / 20.0) * fft_size as f32 / 4.0
}

/// Sums `values` over consecutive runs of `pool` into `bands` (the last run may be short).
pub fn pool_into(values: &[f32], pool: usize, bands: &mut [f32]) {
    for (band, chunk) in bands.iter_mut().zip(values.chunks(pool)) {
        *band = chunk.iter().sum();
    }
}

/// The last `capacity` magnitude frames, each padded with zeros to whole groups of
/// [`LANES`] bins so that the medians can read eight bins at a time. Frames are
/// numbered from 0, the first frame of the stream; earlier ones do not exist.
pub struct FrameHistory {
    bins: usize,
    groups: usize,
    capacity: usize,
    frames: Vec<Lanes>,
    /// Each frame pooled into analysis bands (see [`analysis_pool`]), compressed to
    /// loudness by a cube root and quantised (see [`Self::coarse`]), and its norm.
    pool: usize,
    bands: usize,
    /// Scratch: the newest frame's bands before they are quantised.
    pooled: Vec<f32>,
    coarse: Vec<i16>,
    norms: Vec<f32>,
    /// The largest quantised band: every dot product of two frames fits an `i32`.
    levels: f32,
    /// Per frame: whether any bin is above [`silence_magnitude`].
    audible: Vec<bool>,
    silence: f32,
    count: usize,
}

impl FrameHistory {
    pub fn new(bins: usize, capacity: usize) -> Self {
        let groups = bins.div_ceil(LANES);
        let pool = analysis_pool(bins);
        let bands = bins.div_ceil(pool);
        let mut history = Self {
            bins,
            groups,
            capacity,
            frames: vec![[0.0; LANES]; groups * capacity],
            pool,
            bands,
            pooled: vec![0.0; bands],
            coarse: vec![0; bands * capacity],
            norms: vec![0.0; capacity],
            levels: i16_levels(bands),
            audible: vec![false; capacity],
            silence: silence_magnitude(2 * (bins - 1)),
            count: 0,
        };
        super::buffers::prefault(history.frames.as_flattened_mut());
        super::buffers::prefault(&mut history.coarse);
        history
    }

    pub fn push(&mut self, magnitude: &[f32]) {
        let slot = self.count % self.capacity;
        let row = &mut self.frames[slot * self.groups..(slot + 1) * self.groups];
        row.as_flattened_mut()[..self.bins].copy_from_slice(magnitude);
        pool_into(magnitude, self.pool, &mut self.pooled);
        // Compared by loudness, not by magnitude: on magnitudes the loudest partials
        // decide the cosine, so a loud lead made its own earlier notes a frame's nearest
        // "repetitions" and the band's many quieter parts counted for little. The cube
        // root (about loudness) gained on the corpus and on most code-made material, up
        // to 2 dB under a loud lead, and cost at most 0.25 dB on any (README, "REPET-SIM
        // compares frames by loudness"; `repet_sim_finds_the_band_under_a_loud_lead`).
        for band in &mut self.pooled {
            *band = band.cbrt();
        }
        let coarse = &mut self.coarse[slot * self.bands..(slot + 1) * self.bands];
        quantise_i16(&self.pooled, self.levels, coarse);
        self.norms[slot] = (dot_i16(coarse, coarse) as f32).sqrt();
        self.audible[slot] = magnitude.iter().any(|&m| m > self.silence);
        self.count += 1;
    }

    /// Frames pushed so far; the newest is `count() − 1`.
    pub fn count(&self) -> usize {
        self.count
    }

    /// The oldest frame still held.
    pub fn oldest(&self) -> usize {
        self.count.saturating_sub(self.capacity)
    }

    /// Frames held at most.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    pub fn groups(&self) -> usize {
        self.groups
    }

    /// Frame `n` (held: `oldest() ≤ n < count()`), in groups of [`LANES`] bins.
    pub fn frame(&self, n: usize) -> &[Lanes] {
        debug_assert!(n >= self.oldest() && n < self.count);
        let slot = n % self.capacity;
        &self.frames[slot * self.groups..(slot + 1) * self.groups]
    }

    /// Whether held frame `n` has a bin above silence.
    pub fn is_audible(&self, n: usize) -> bool {
        self.audible[n % self.capacity]
    }

    /// Frame `n` pooled into analysis bands, compressed by a cube root, scaled so that
    /// its loudest band is the largest level whose products over all bands fit an `i32`,
    /// and rounded (about 12 bits). What frames are compared by is their cosine similarity, which the scale
    /// does not change; half the bytes of `f32` and twice the products per instruction
    /// (`pmaddwd`) make REPET-SIM's scan of the buffer, its costliest part, twice as fast.
    #[inline(always)]
    pub fn coarse(&self, n: usize) -> &[i16] {
        let slot = n % self.capacity;
        &self.coarse[slot * self.bands..(slot + 1) * self.bands]
    }

    /// Euclidean norm of [`Self::coarse`] of frame `n`.
    #[inline(always)]
    pub fn norm(&self, n: usize) -> f32 {
        self.norms[n % self.capacity]
    }

    /// The frame at fractional position `x`, linearly interpolated between its two
    /// neighbours (both held), into `out`.
    pub fn interpolate(&self, x: f64, out: &mut [Lanes]) {
        let below = x.floor() as usize;
        let frac = (x - below as f64) as f32;
        let a = self.frame(below);
        if frac == 0.0 {
            out.copy_from_slice(a);
            return;
        }
        let b = self.frame(below + 1);
        for ((o, a), b) in out.iter_mut().zip(a).zip(b) {
            for l in 0..LANES {
                o[l] = a[l] + frac * (b[l] - a[l]);
            }
        }
    }

    pub fn reset(&mut self) {
        self.frames.fill([0.0; LANES]);
        self.coarse.fill(0);
        self.norms.fill(0.0);
        self.audible.fill(false);
        self.count = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::kernels::dot;

    #[test]
    fn ring_keeps_the_newest_frames_and_interpolates() {
        let mut h = FrameHistory::new(3, 4);
        for n in 0..6 {
            h.push(&[n as f32, 10.0 * n as f32, 1.0]);
        }
        assert_eq!((h.oldest(), h.count()), (2, 6));
        assert_eq!(&h.frame(5)[0][..3], &[5.0, 50.0, 1.0]);
        let mut out = vec![[0.0; LANES]; 1];
        h.interpolate(3.25, &mut out);
        assert_eq!(&out[0][..3], &[3.25, 32.5, 1.0]);
        // Frames are compared by the cosine similarity of their loudness (cube roots),
        // which the quantised bands keep.
        let cosine = |a: &[f32], b: &[f32]| dot(a, b) / (dot(a, a) * dot(b, b)).sqrt();
        let quantised = dot_i16(h.coarse(2), h.coarse(5)) as f32 / (h.norm(2) * h.norm(5));
        let loudness = |frame: [f32; 3]| frame.map(f32::cbrt);
        let exact = cosine(&loudness([2.0, 20.0, 1.0]), &loudness([5.0, 50.0, 1.0]));
        assert!(
            (quantised - exact).abs() < 1e-4,
            "{quantised} against {exact}"
        );
        let mut bands = [0.0; 3];
        pool_into(&[1.0, 2.0, 3.0, 4.0, 5.0], 2, &mut bands);
        assert_eq!(bands, [3.0, 7.0, 5.0]);
        assert_eq!(dot(&[1.0; 19], &[2.0; 19]), 38.0);
    }
}
