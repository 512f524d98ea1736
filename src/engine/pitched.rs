//! The pitched part of a frame: in each bin, the power that stands above the
//! broadband level around it.
//!
//! A voice or a solo instrument is partials, each 10 dB and more above the bins
//! around it; a drum hit, a cymbal or noise is as loud in a bin as around it. The
//! repeating family calls "lead" whatever does not repeat, and drum hits that land
//! between frames differently each bar, fills and crashes do not repeat frame for
//! frame; keeping only the pitched part of the lead leaves them in the background.
//! The level is the median across `BROADBAND_HZ` of bins (FitzGerald's percussive
//! estimate, HPSS's default width), at least [`MIN_BINS`] wide so that at small FFT
//! sizes it still spans several partials' main lobes.

use super::geometry::Geometry;
use super::median::MedianFilter;

/// How far above the broadband level a bin must stand to be a partial, as a factor on
/// magnitudes. A bin of broadband noise exceeds 1.5 times its median one time in five
/// (Rayleigh), and then by little, while a partial stands 10 dB and more above it.
/// Higher keeps drums out of the lead better, but from about 2 a low voice, whose
/// partials crowd the median, starts losing its own (`tests/stems.rs`).
pub const PARTIAL_FACTOR: f32 = 1.5;

/// Width of the median that gives the broadband level.
pub const BROADBAND_HZ: f32 = 500.0;

/// The narrowest that median may be, in bins: four Hann main lobes, so that a partial
/// is never most of its own neighbourhood (500 Hz is 6 bins at FFT 512 and 44.1 kHz).
pub const MIN_BINS: usize = 17;

/// The share of a bin of magnitude `magnitude` that is pitched, over the broadband
/// `level` around it: the power above `PARTIAL_FACTOR · level`, 0 at or below it.
#[inline]
pub fn pitched(magnitude: f32, level: f32) -> f32 {
    if magnitude <= 0.0 {
        return 0.0;
    }
    let ratio = (PARTIAL_FACTOR * level / magnitude).min(1.0);
    1.0 - ratio * ratio
}

/// Keeps the pitched part of a lead's mask, sized once for a geometry.
pub struct Pitched {
    median: MedianFilter,
    half: usize,
    level: Vec<f32>,
}

impl Pitched {
    pub fn new(geometry: &Geometry) -> Self {
        // Odd, so that the median has a middle.
        let bins = ((BROADBAND_HZ / geometry.hz_per_bin()).round() as usize | 1)
            .max(MIN_BINS)
            .min(2 * geometry.bins - 1);
        Self {
            median: MedianFilter::new(geometry.bins, 2 * ((bins - 1) / 2) + 1),
            half: (bins - 1) / 2,
            level: vec![0.0; geometry.bins],
        }
    }

    /// Scales each bin of `share` (a mask of `frame`) by that bin's pitched part.
    pub fn keep(&mut self, frame: &[f32], share: &mut [f32]) {
        let bins = self.level.len();
        self.median.run(&frame[..bins], self.half, &mut self.level);
        for ((s, &m), &level) in share[..bins].iter_mut().zip(frame).zip(&self.level) {
            *s *= pitched(m, level);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partial_is_pitched_and_a_broadband_bin_is_not() {
        // 20 dB above the level: almost all of it.
        assert!(pitched(10.0, 1.0) > 0.97);
        // At the level and up to 1.5 times it (noise, one bin in five): none.
        assert_eq!(pitched(1.0, 1.0), 0.0);
        assert_eq!(pitched(1.5, 1.0), 0.0);
        assert_eq!(pitched(0.0, 0.0), 0.0);
        let shares: Vec<f32> = (0..40)
            .map(|k| pitched(1.0 + 0.25 * k as f32, 1.0))
            .collect();
        assert!(shares.windows(2).all(|p| p[1] >= p[0]), "{shares:?}");
        assert!(shares.iter().all(|s| (0.0..=1.0).contains(s)));
    }

    #[test]
    fn a_frame_keeps_its_partials_and_loses_its_noise() {
        for fft_size in [512, 2048, 8192] {
            let geometry = Geometry::new(44_100.0, fft_size);
            let mut rng = crate::rng::XorShift::new(3);
            let mut frame: Vec<f32> = (0..geometry.bins).map(|_| 0.5 + rng.uniform()).collect();
            let partials = [40, 80, 120];
            for &p in &partials {
                frame[p * geometry.bins / 1025] = 30.0;
            }
            let mut share = vec![1.0; geometry.bins];
            Pitched::new(&geometry).keep(&frame, &mut share);
            for &p in &partials {
                assert!(
                    share[p * geometry.bins / 1025] > 0.99,
                    "{fft_size}: partial {p}"
                );
            }
            let noise: f32 = share.iter().sum::<f32>() - 3.0;
            assert!(
                noise < 0.05 * geometry.bins as f32,
                "{fft_size}: noise kept {noise}"
            );
        }
    }
}
