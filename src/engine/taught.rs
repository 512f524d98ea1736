//! What NMF is taught: one stem's spectral templates, learned off the audio thread
//! from a few seconds of it, and moved onto another analysis's bins.

use super::nmf::{self, Beta, Matrix};
use super::settings::MAX_NMF_COMPONENTS;

/// Spectral templates of one stem, one per column, each summing to 1; the rows are
/// the bins of the analysis they were learned with.
#[derive(Clone, Debug, PartialEq)]
pub struct Templates {
    pub sample_rate: f32,
    pub fft_size: usize,
    pub w: Matrix,
}

/// Why templates could not be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TemplateError {
    #[error("no frames to learn from")]
    Empty,
    #[error("the frames have {found} bins; FFT {fft_size} has {expected}")]
    Bins {
        found: usize,
        expected: usize,
        fft_size: usize,
    },
    #[error("{0} templates: at most {MAX_NMF_COMPONENTS}")]
    TooMany(usize),
    #[error("the templates are not finite and nonnegative")]
    Invalid,
}

impl Templates {
    /// Learns `components` templates from magnitude frames (one per column) of an
    /// analysis at `sample_rate` with `fft_size`: KL-NMF, 200 iterations, seeded.
    pub fn learn(
        frames: &Matrix,
        sample_rate: f32,
        fft_size: usize,
        components: usize,
    ) -> Result<Self, TemplateError> {
        let expected = fft_size / 2 + 1;
        if frames.rows != expected {
            return Err(TemplateError::Bins {
                found: frames.rows,
                expected,
                fft_size,
            });
        }
        // Silent frames teach nothing and only slow the factorisation.
        let peak = frames.data.iter().fold(0.0f32, |m, &x| m.max(x));
        let audible: Vec<&[f32]> = frames
            .columns()
            .filter(|c| c.iter().any(|&x| x > peak * 1e-4))
            .collect();
        if audible.is_empty() || peak <= 0.0 {
            return Err(TemplateError::Empty);
        }
        if components == 0 || components > MAX_NMF_COMPONENTS {
            return Err(TemplateError::TooMany(components));
        }
        let v = Matrix::from_columns(frames.rows, audible);
        let factorisation = nmf::factorise(
            &v,
            &nmf::Options {
                components,
                beta: Beta::KullbackLeibler,
                iterations: 200,
                init: nmf::Init::Random,
                seed: 0x7e4c,
            },
        );
        Self::new(sample_rate, fft_size, factorisation.w)
    }

    /// Templates from columns `w` (any scale: each is normalised to unit sum).
    pub fn new(sample_rate: f32, fft_size: usize, mut w: Matrix) -> Result<Self, TemplateError> {
        if w.cols == 0 {
            return Err(TemplateError::Empty);
        }
        if w.cols > MAX_NMF_COMPONENTS {
            return Err(TemplateError::TooMany(w.cols));
        }
        if w.rows != fft_size / 2 + 1 {
            return Err(TemplateError::Bins {
                found: w.rows,
                expected: fft_size / 2 + 1,
                fft_size,
            });
        }
        if !w.data.iter().all(|x| x.is_finite() && *x >= 0.0) {
            return Err(TemplateError::Invalid);
        }
        for k in 0..w.cols {
            let column = w.column_mut(k);
            // A template that is zero somewhere can never claim energy there: lift it.
            let sum: f32 = column.iter().sum();
            let lift = (sum / column.len() as f32) * 1e-6 + 1e-30;
            column.iter_mut().for_each(|x| *x += lift);
            let sum: f32 = column.iter().sum();
            column.iter_mut().for_each(|x| *x /= sum);
        }
        Ok(Self {
            sample_rate,
            fft_size,
            w,
        })
    }

    pub fn components(&self) -> usize {
        self.w.cols
    }

    /// The same templates on the bins of another analysis: each bin takes the value
    /// at its frequency (linear interpolation), nothing above the old Nyquist.
    pub fn for_analysis(&self, sample_rate: f32, fft_size: usize) -> Self {
        if sample_rate == self.sample_rate && fft_size == self.fft_size {
            return self.clone();
        }
        let bins = fft_size / 2 + 1;
        let old_bins = self.w.rows;
        // Bin i of the new analysis lies at old bin i · (rate/size) / (old rate/old size).
        let scale = (f64::from(sample_rate) / fft_size as f64)
            / (f64::from(self.sample_rate) / self.fft_size as f64);
        let mut w = Matrix::zeros(bins, self.w.cols);
        for k in 0..self.w.cols {
            let old = self.w.column(k);
            for (i, x) in w.column_mut(k).iter_mut().enumerate() {
                let position = i as f64 * scale;
                let below = position.floor() as usize;
                *x = if below + 1 < old_bins {
                    let t = (position - below as f64) as f32;
                    old[below] * (1.0 - t) + old[below + 1] * t
                } else if below + 1 == old_bins && position == below as f64 {
                    old[below]
                } else {
                    0.0
                };
            }
        }
        Self::new(sample_rate, fft_size, w).expect("resampled templates stay valid")
    }
}
