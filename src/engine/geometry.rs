//! Frame geometry: what one STFT frame is at a sample rate, and the conversions
//! between seconds, hertz, frames and bins that every separator needs. One value, as
//! fundsp's `FftWindow` knows its bins and its latency.

use super::stft::OVERLAP;

/// One STFT frame at one sample rate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Geometry {
    pub sample_rate: f32,
    /// Samples in a window (the FFT size in use).
    pub fft_size: usize,
    /// Samples between frames.
    pub hop: usize,
    /// Bins of the one-sided spectrum, `fft_size / 2 + 1`.
    pub bins: usize,
}

impl Geometry {
    pub fn new(sample_rate: f32, fft_size: usize) -> Self {
        Self {
            sample_rate,
            fft_size,
            hop: fft_size / OVERLAP,
            bins: fft_size / 2 + 1,
        }
    }

    /// The width of one bin.
    pub fn hz_per_bin(&self) -> f32 {
        self.sample_rate / self.fft_size as f32
    }

    /// Frames a second.
    pub fn frames_per_second(&self) -> f32 {
        self.sample_rate / self.hop as f32
    }

    /// Frames in `seconds`, rounded.
    pub fn frames(&self, seconds: f32) -> usize {
        frames_of(seconds, self.sample_rate, self.hop)
    }

    /// Bins at and below `cutoff_hz`, which a high-pass keeps in the background.
    pub fn high_pass_bins(&self, cutoff_hz: f32) -> usize {
        high_pass_bins(cutoff_hz, self.sample_rate, self.fft_size)
    }
}

/// Frames of `hop` samples in `seconds`, rounded.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geometry_of_a_2048_frame_at_44_1_khz() {
        let g = Geometry::new(44_100.0, 2048);
        assert_eq!((g.hop, g.bins), (512, 1025));
        assert!((g.hz_per_bin() - 21.533).abs() < 1e-3);
        assert!((g.frames_per_second() - 86.13).abs() < 1e-2);
        assert_eq!(g.frames(1.0), 86);
    }

    #[test]
    fn high_pass_keeps_the_bins_at_and_below_the_cutoff() {
        assert_eq!(high_pass_bins(0.0, 44_100.0, 2048), 0);
        // 100 Hz is 4.64 bins: bins 0 to 5 stay, six of them.
        assert_eq!(high_pass_bins(100.0, 44_100.0, 2048), 6);
    }
}
