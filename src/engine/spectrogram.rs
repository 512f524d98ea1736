//! Whole-signal STFT for offline work (learning templates, NMF of a file, mosaicing):
//! the same window, hop and FFT as the streaming engine, with an exact inverse.
//!
//! Frames start `fft_size − hop` samples before the signal, so that every sample is
//! covered by all [`OVERLAP`] frames and [`Spectrogram::synthesise`] gives the
//! signal back to float rounding. Allocates: never for the audio thread.

use realfft::num_complex::Complex;

use super::nmf::{Matrix, XorShift};
use super::stft::{OVERLAP, Stft};

/// The complex STFT of every channel of a signal.
pub struct Spectrogram {
    pub fft_size: usize,
    pub hop: usize,
    /// Samples in the signal analysed.
    pub len: usize,
    pub frames: usize,
    /// `[channel][frame · bins + bin]`.
    pub spectra: Vec<Vec<Complex<f32>>>,
}

impl Spectrogram {
    pub fn bins(&self) -> usize {
        self.fft_size / 2 + 1
    }

    /// Analyses `channels` (all the same length).
    pub fn analyse(channels: &[&[f32]], fft_size: usize) -> Self {
        let mut stft = Stft::new(fft_size);
        let (hop, bins) = (stft.hop, stft.bins());
        let len = channels.first().map_or(0, |c| c.len());
        // Enough frames that the last sample, too, lies under all four.
        let frames = (len + fft_size - hop).div_ceil(hop);
        let mut s = Self {
            fft_size,
            hop,
            len,
            frames,
            spectra: vec![vec![Complex::default(); frames * bins]; channels.len()],
        };
        let mut time = vec![0.0; fft_size];
        for (signal, out) in channels.iter().zip(&mut s.spectra) {
            s_analyse(&mut stft, &mut time, signal, out, frames);
        }
        s
    }

    /// Magnitudes with the channels linked (the root of the summed power), one frame
    /// per column: what the engine's separators see.
    pub fn magnitude(&self) -> Matrix {
        let bins = self.bins();
        let mut m = Matrix::zeros(bins, self.frames);
        for spectrum in &self.spectra {
            for (x, c) in m.data.iter_mut().zip(spectrum) {
                *x += c.norm_sqr();
            }
        }
        m.data.iter_mut().for_each(|x| *x = x.sqrt());
        m
    }

    /// The signal of `spectra` (laid out as [`Spectrogram::spectra`]), `len` samples
    /// per channel: inverse FFT, synthesis window, overlap-add.
    pub fn synthesise(&self, spectra: &[Vec<Complex<f32>>]) -> Vec<Vec<f32>> {
        let mut stft = Stft::new(self.fft_size);
        let mut scratch = Scratch::new(self.fft_size, self.frames);
        spectra
            .iter()
            .map(|spectrum| {
                let mut out = vec![0.0; self.len];
                s_synthesise(&mut stft, &mut scratch, spectrum, &mut out);
                out
            })
            .collect()
    }

    /// Each channel's spectrum scaled bin by bin by `mask` (one column per frame),
    /// resynthesised: the mixture's phase kept.
    pub fn masked(&self, mask: &Matrix) -> Vec<Vec<f32>> {
        let bins = self.bins();
        assert!(mask.rows == bins && mask.cols == self.frames);
        let spectra: Vec<Vec<Complex<f32>>> = self
            .spectra
            .iter()
            .map(|s| s.iter().zip(&mask.data).map(|(c, &m)| c * m).collect())
            .collect();
        self.synthesise(&spectra)
    }

    /// A signal whose STFT magnitude is close to `magnitude` (per channel, as
    /// [`Spectrogram::spectra`] but real), by Griffin & Lim (1984): alternate
    /// projections between consistent spectrograms and the wanted magnitude, from
    /// random phase.
    pub fn griffin_lim(
        &self,
        magnitude: &[Vec<f32>],
        iterations: usize,
        seed: u64,
    ) -> Vec<Vec<f32>> {
        let mut rng = XorShift::new(seed);
        let mut current: Vec<Vec<Complex<f32>>> = magnitude
            .iter()
            .map(|m| {
                m.iter()
                    .map(|&a| Complex::from_polar(a, std::f32::consts::TAU * rng.uniform()))
                    .collect()
            })
            .collect();
        let mut stft = Stft::new(self.fft_size);
        let mut scratch = Scratch::new(self.fft_size, self.frames);
        let mut time = vec![0.0; self.fft_size];
        let mut signal = vec![0.0; self.len];
        let mut again = vec![Complex::default(); self.frames * self.bins()];
        for (c, m) in current.iter_mut().zip(magnitude) {
            for _ in 0..iterations {
                // Project onto consistent spectrograms, then back onto the magnitude.
                s_synthesise(&mut stft, &mut scratch, c, &mut signal);
                s_analyse(&mut stft, &mut time, &signal, &mut again, self.frames);
                for ((x, y), &target) in c.iter_mut().zip(&again).zip(m) {
                    let norm = y.norm();
                    *x = if norm > 0.0 {
                        y * (target / norm)
                    } else {
                        Complex::new(target, 0.0)
                    };
                }
            }
        }
        self.synthesise(&current)
    }
}

const _: () = assert!(OVERLAP == 4);

/// Frames start this many samples before the signal.
fn lead_of(stft: &Stft) -> usize {
    stft.size - stft.hop
}

fn s_analyse(
    stft: &mut Stft,
    time: &mut [f32],
    signal: &[f32],
    out: &mut [Complex<f32>],
    frames: usize,
) {
    let (hop, bins, lead) = (stft.hop, stft.bins(), lead_of(stft));
    for (t, frame) in out.chunks_exact_mut(bins).take(frames).enumerate() {
        for (i, x) in time.iter_mut().enumerate() {
            let n = (t * hop + i) as isize - lead as isize;
            let sample = if n >= 0 && (n as usize) < signal.len() {
                signal[n as usize]
            } else {
                0.0
            };
            *x = sample * stft.window[i];
        }
        stft.forward(time, frame);
    }
}

/// Buffers of one synthesis.
struct Scratch {
    time: Vec<f32>,
    frame: Vec<Complex<f32>>,
    sum: Vec<f32>,
}

impl Scratch {
    fn new(fft_size: usize, frames: usize) -> Self {
        Self {
            time: vec![0.0; fft_size],
            frame: vec![Complex::default(); fft_size / 2 + 1],
            sum: vec![0.0; frames * (fft_size / OVERLAP) + fft_size],
        }
    }
}

fn s_synthesise(
    stft: &mut Stft,
    scratch: &mut Scratch,
    spectrum: &[Complex<f32>],
    out: &mut [f32],
) {
    let (hop, bins, lead) = (stft.hop, stft.bins(), lead_of(stft));
    scratch.sum.fill(0.0);
    for (t, s) in spectrum.chunks_exact(bins).enumerate() {
        scratch.frame.copy_from_slice(s);
        stft.inverse(&mut scratch.frame, &mut scratch.time);
        for (i, x) in scratch.time.iter().enumerate() {
            scratch.sum[t * hop + i] += x * stft.synthesis[i];
        }
    }
    out.copy_from_slice(&scratch.sum[lead..lead + out.len()]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signal(len: usize, seed: u64) -> Vec<f32> {
        let mut rng = XorShift::new(seed);
        (0..len).map(|_| rng.uniform() - 0.5).collect()
    }

    #[test]
    fn analysis_then_synthesis_is_the_identity() {
        for (len, size) in [(10_000, 512), (777, 2048), (1, 1024)] {
            let (a, b) = (signal(len, 1), signal(len, 2));
            let s = Spectrogram::analyse(&[&a, &b], size);
            let back = s.synthesise(&s.spectra);
            for (x, y) in [&a, &b].iter().zip(&back) {
                assert_eq!(y.len(), len);
                let worst = x
                    .iter()
                    .zip(y)
                    .map(|(p, q)| (p - q).abs())
                    .fold(0.0, f32::max);
                assert!(worst < 1e-5, "len {len}, size {size}: error {worst}");
            }
        }
    }

    #[test]
    fn complementary_masks_sum_to_the_signal() {
        let a = signal(5000, 3);
        let s = Spectrogram::analyse(&[&a], 512);
        let mut mask = Matrix::zeros(s.bins(), s.frames);
        let mut rng = XorShift::new(4);
        mask.data.iter_mut().for_each(|m| *m = rng.uniform());
        let inverse = Matrix {
            data: mask.data.iter().map(|m| 1.0 - m).collect(),
            ..mask.clone()
        };
        let (x, y) = (s.masked(&mask), s.masked(&inverse));
        let worst = (0..a.len())
            .map(|i| (x[0][i] + y[0][i] - a[i]).abs())
            .fold(0.0, f32::max);
        assert!(worst < 1e-5);
    }

    #[test]
    fn griffin_lim_finds_a_signal_with_the_magnitude() {
        let rate = 22_050.0;
        let a: Vec<f32> = (0..22_050)
            .map(|t| (std::f32::consts::TAU * 440.0 * t as f32 / rate).sin() * 0.5)
            .collect();
        let s = Spectrogram::analyse(&[&a], 1024);
        let magnitude: Vec<f32> = s.spectra[0].iter().map(|c| c.norm()).collect();
        let spectral_error = |iterations| {
            let y = s.griffin_lim(std::slice::from_ref(&magnitude), iterations, 9);
            let again = Spectrogram::analyse(&[&y[0]], 1024);
            let diff: f32 = again.spectra[0]
                .iter()
                .zip(&magnitude)
                .map(|(c, m)| (c.norm() - m).powi(2))
                .sum();
            (diff / magnitude.iter().map(|m| m * m).sum::<f32>()).sqrt()
        };
        let (early, late) = (spectral_error(1), spectral_error(50));
        assert!(
            late < 0.5 * early && late < 0.2,
            "spectral error {early} -> {late}"
        );
    }
}
