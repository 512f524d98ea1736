//! How well 2DFT's current audible run repeats itself, for filling a patch that is
//! not yet full (see `Ft2d::plan_fill`).

/// How well the current audible run repeats itself at each lag: the cosine similarity
/// between its frames and the frames `lag` earlier, on a coarse log-frequency band
/// spectrum and a time grid of about [`Repeats::GRID_SECONDS`] (hops are summed into
/// it), so that a frame costs at most `patch / stride × BANDS` operations whatever the
/// hop. Only the start of a run needs it (`Ft2d::plan_fill`), so it stops adding once
/// the run is a patch long.
pub(super) struct Repeats {
    /// First bin of each band, and one past the last band's end.
    pub(super) edges: Vec<usize>,
    /// Band spectra of the run's first `lags` frames, and their energies.
    pub(super) history: Vec<f32>,
    pub(super) energies: Vec<f32>,
    /// Per lag: sum of products, of squares of the newer frame, of the older frame.
    pub(super) products: Vec<f32>,
    pub(super) newer: Vec<f32>,
    pub(super) older: Vec<f32>,
    pub(super) bands: Vec<f32>,
    /// Hops per grid step, and hops summed into `bands` so far.
    pub(super) stride: usize,
    pub(super) summed: usize,
    /// Grid steps in the current audible run.
    pub(super) run: usize,
}

impl Repeats {
    pub(super) const BANDS: usize = 48;
    pub(super) const LOWEST_HZ: f32 = 50.0;
    pub(super) const HIGHEST_HZ: f32 = 12_000.0;
    pub(super) const GRID_SECONDS: f32 = 0.01;

    /// Lags of up to `frames` hops.
    pub(super) fn new(bins: usize, sample_rate: f32, fft_size: usize, frames: usize) -> Self {
        let hop = (fft_size / crate::engine::stft::OVERLAP) as f32;
        let stride = ((Self::GRID_SECONDS * sample_rate / hop).round() as usize).max(1);
        let lags = frames.div_ceil(stride) + 1;
        let bin_of =
            |hz: f32| ((hz * fft_size as f32 / sample_rate).round() as usize).clamp(1, bins);
        let (low, high) = (
            bin_of(Self::LOWEST_HZ),
            bin_of(Self::HIGHEST_HZ.min(sample_rate / 2.0)),
        );
        let ratio = (high as f32 / low as f32).powf(1.0 / Self::BANDS as f32);
        let mut edges = vec![low];
        for b in 1..=Self::BANDS {
            let edge = ((low as f32 * ratio.powi(b as i32)).round() as usize).min(high);
            if edge > *edges.last().unwrap() {
                edges.push(edge);
            }
        }
        let bands = edges.len() - 1;
        Self {
            edges,
            history: vec![0.0; lags * bands],
            energies: vec![0.0; lags],
            products: vec![0.0; lags],
            newer: vec![0.0; lags],
            older: vec![0.0; lags],
            bands: vec![0.0; bands],
            stride,
            summed: 0,
            run: 0,
        }
    }

    pub(super) fn prefault(&mut self) {
        for buffer in [
            &mut self.history,
            &mut self.energies,
            &mut self.products,
            &mut self.newer,
            &mut self.older,
        ] {
            crate::engine::buffers::prefault(buffer);
        }
    }

    pub(super) fn lags(&self) -> usize {
        self.products.len()
    }

    pub(super) fn push(&mut self, magnitude: &[f32], audible: bool) {
        if !audible {
            if self.run > 0 {
                self.reset();
            }
            return;
        }
        let (lags, bands) = (self.lags(), self.bands.len());
        if self.run >= lags {
            return;
        }
        if self.summed == 0 {
            self.bands.fill(0.0);
        }
        for (band, edge) in self.bands.iter_mut().zip(self.edges.windows(2)) {
            *band += magnitude[edge[0]..edge[1]].iter().sum::<f32>();
        }
        self.summed += 1;
        if self.summed < self.stride {
            return;
        }
        self.summed = 0;
        let energy = crate::engine::kernels::dot(&self.bands, &self.bands);
        let t = self.run;
        for lag in 1..=t.min(lags - 1) {
            let old = &self.history[(t - lag) * bands..(t - lag + 1) * bands];
            self.products[lag] += crate::engine::kernels::dot(&self.bands, old);
            self.newer[lag] += energy;
            self.older[lag] += self.energies[t - lag];
        }
        self.history[t * bands..(t + 1) * bands].copy_from_slice(&self.bands);
        self.energies[t] = energy;
        self.run += 1;
    }

    /// The lag in `lags` (in hops, to the grid's precision) with the most similar
    /// frames, if the run has any there.
    pub(super) fn best_lag(&self, lags: std::ops::Range<usize>) -> Option<usize> {
        let mut best: Option<(usize, f32)> = None;
        let (start, end) = (
            lags.start.div_ceil(self.stride),
            lags.end.div_ceil(self.stride),
        );
        for lag in start.max(1)..end.min(self.run).min(self.lags()) {
            let norm = (self.newer[lag] * self.older[lag]).sqrt();
            if norm <= 0.0 {
                continue;
            }
            let similarity = self.products[lag] / norm;
            if best.is_none_or(|(_, s)| similarity > s) {
                best = Some((lag, similarity));
            }
        }
        best.map(|(lag, _)| lag * self.stride)
    }

    pub(super) fn reset(&mut self) {
        self.products.fill(0.0);
        self.newer.fill(0.0);
        self.older.fill(0.0);
        self.summed = 0;
        self.run = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Frames of a pattern `period` frames long, with a little noise: random band
    /// levels, so that no lag but multiples of the period looks alike.
    fn pattern_frames(period: usize, count: usize, bins: usize) -> Vec<Vec<f32>> {
        let mut random = crate::engine::nmf::XorShift::new(7);
        let cycle: Vec<Vec<f32>> = (0..period)
            .map(|_| (0..bins).map(|_| random.uniform()).collect())
            .collect();
        (0..count)
            .map(|t| {
                cycle[t % period]
                    .iter()
                    .map(|&x| x + 0.05 * random.uniform())
                    .collect()
            })
            .collect()
    }

    fn hear(repeats: &mut Repeats, frames: Vec<Vec<f32>>) {
        for frame in frames {
            repeats.push(&frame, true);
        }
    }

    #[test]
    fn repeats_finds_the_lag_the_run_repeats_over() {
        let bins = 1025;
        let mut repeats = Repeats::new(bins, 44_100.0, 2048, 400);
        hear(&mut repeats, pattern_frames(37, 300, bins));
        assert_eq!(repeats.best_lag(20..60), Some(37));
        assert_eq!(
            repeats.best_lag(60..100),
            Some(74),
            "a multiple counts alike"
        );
        assert_eq!(repeats.best_lag(400..500), None, "longer than the run");
    }

    #[test]
    fn repeats_keeps_its_cost_at_small_hops_with_a_coarser_grid() {
        // FFT 512 at 176.4 kHz: 0.73 ms hops, fourteen summed to a 10 ms grid step.
        let bins = 257;
        let mut repeats = Repeats::new(bins, 176_400.0, 512, 4000);
        assert_eq!(repeats.stride, 14);
        assert_eq!(repeats.lags(), 4000usize.div_ceil(14) + 1);
        hear(&mut repeats, pattern_frames(14 * 37, 14 * 300, bins));
        assert_eq!(repeats.best_lag(14 * 20..14 * 60), Some(14 * 37));
    }

    #[test]
    fn repeats_forgets_a_run_at_silence() {
        let bins = 1025;
        let mut repeats = Repeats::new(bins, 44_100.0, 2048, 400);
        hear(&mut repeats, pattern_frames(37, 300, bins));
        repeats.push(&vec![0.0; bins], false);
        assert_eq!(repeats.best_lag(20..60), None);
        hear(&mut repeats, pattern_frames(23, 100, bins));
        assert_eq!(repeats.best_lag(15..40), Some(23));
    }
}
