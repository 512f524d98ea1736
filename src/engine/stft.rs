//! Analysis and synthesis windows and the FFT plans of one STFT size.

use realfft::num_complex::Complex;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};
use std::f32::consts::PI;
use std::sync::Arc;

/// Overlap factor: the hop is a quarter of the window. Squared periodic Hann
/// windows then overlap-add to the constant 3/2.
pub const OVERLAP: usize = 4;

/// A periodic Hann window (the DFT-even one, whose shifted squares sum to a constant).
pub fn hann(size: usize) -> Vec<f32> {
    (0..size)
        .map(|n| 0.5 - 0.5 * (2.0 * PI * n as f32 / size as f32).cos())
        .collect()
}

/// One STFT size: the window, both FFT plans and their scratch space. A clone shares
/// the plans and has scratch space of its own.
#[derive(Clone)]
pub struct Stft {
    pub size: usize,
    pub hop: usize,
    pub window: Vec<f32>,
    /// Synthesis window with the weighted overlap-add and the FFT's `1/N` folded in,
    /// so that analysis, inverse FFT and this window give back the input exactly.
    pub synthesis: Vec<f32>,
    forward: Arc<dyn RealToComplex<f32>>,
    inverse: Arc<dyn ComplexToReal<f32>>,
    scratch: Vec<Complex<f32>>,
}

impl Stft {
    pub fn new(size: usize) -> Self {
        let mut planner = RealFftPlanner::<f32>::new();
        let forward = planner.plan_fft_forward(size);
        let inverse = planner.plan_fft_inverse(size);
        let scratch_len = forward.get_scratch_len().max(inverse.get_scratch_len());
        let window = hann(size);
        let hop = size / OVERLAP;
        // Σ_k w²(n − k·hop) is the same for every n; divide it out together with 1/N.
        let overlap_gain = (0..hop)
            .map(|n| {
                (0..OVERLAP)
                    .map(|k| window[n + k * hop].powi(2))
                    .sum::<f32>()
            })
            .sum::<f32>()
            / hop as f32;
        debug_assert!((overlap_gain - 1.5).abs() < 1e-3);
        let synthesis = window
            .iter()
            .map(|w| w / (overlap_gain * size as f32))
            .collect();
        Self {
            size,
            hop,
            window,
            synthesis,
            forward,
            inverse,
            scratch: vec![Complex::default(); scratch_len],
        }
    }

    pub fn bins(&self) -> usize {
        self.size / 2 + 1
    }

    /// `time` (already windowed, destroyed) to `spectrum`.
    pub fn forward(&mut self, time: &mut [f32], spectrum: &mut [Complex<f32>]) {
        self.forward
            .process_with_scratch(time, spectrum, &mut self.scratch)
            .expect("buffers are sized by this struct");
    }

    /// `spectrum` (destroyed) to `time`, unnormalised.
    pub fn inverse(&mut self, spectrum: &mut [Complex<f32>], time: &mut [f32]) {
        // Masks are real, so DC and Nyquist stay real; clear rounding noise anyway,
        // since realfft refuses imaginary parts there.
        let last = spectrum.len() - 1;
        spectrum[0].im = 0.0;
        spectrum[last].im = 0.0;
        self.inverse
            .process_with_scratch(spectrum, time, &mut self.scratch)
            .expect("buffers are sized by this struct");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::XorShift;

    #[test]
    fn analysis_and_synthesis_windows_overlap_add_to_one() {
        for size in [512, 2048] {
            let stft = Stft::new(size);
            for n in 0..stft.hop {
                let sum: f32 = (0..OVERLAP)
                    .map(|k| stft.window[n + k * stft.hop] * stft.synthesis[n + k * stft.hop])
                    .sum();
                // The synthesis window carries the FFT's 1/N.
                assert!(
                    (sum * size as f32 - 1.0).abs() < 1e-5,
                    "size {size}, n {n}: {sum}"
                );
            }
        }
    }

    #[test]
    fn the_inverse_undoes_the_forward_transform_but_for_its_size() {
        let mut stft = Stft::new(1024);
        let mut random = XorShift::new(5);
        let x: Vec<f32> = (0..1024).map(|_| random.uniform() - 0.5).collect();
        let mut time = x.clone();
        let mut spectrum = vec![Complex::default(); stft.bins()];
        stft.forward(&mut time, &mut spectrum);
        stft.inverse(&mut spectrum, &mut time);
        for (y, x) in time.iter().zip(&x) {
            assert!((y / 1024.0 - x).abs() < 1e-5);
        }
    }

    #[test]
    fn the_window_is_the_periodic_hann() {
        let w = hann(8);
        assert_eq!(w[0], 0.0);
        assert!((w[4] - 1.0).abs() < 1e-6);
        assert!((w[2] - 0.5).abs() < 1e-6 && (w[6] - 0.5).abs() < 1e-6);
    }
}
