//! Supervised NMF in real time: one stem is taught, the other is learned as it plays.
//!
//! The user teaches Unweave what one stem sounds like (the background by default): a
//! few seconds of it are factorised off the audio thread into [`Templates`]
//! ([`Templates::learn`]). While audio runs, each frame `v` is explained as
//! `W_taught·h_taught + W_free·h_free`:
//!
//! - the activations `h` come from [`NmfSettings::iterations`] Kullback–Leibler
//!   multiplicative updates, warm-started from the previous frame's (FluCoMa's
//!   `NMFFilter` does the same with fixed bases);
//! - the few *free* templates `W_free` stand for whatever the taught ones cannot
//!   explain — the other stem. They follow it with online multiplicative updates over
//!   exponentially forgotten statistics (Lefèvre, Bach & Févotte 2011), the real-time
//!   form of semi-supervised NMF (Smaragdis, Raj & Shashanka 2007; Duan, Mysore &
//!   Smaragdis 2012);
//! - the mask is Wiener's: the taught model's share of the frame, in power (with no
//!   free templates, between `min(model, V)` and what it leaves over, as REPET's).
//!
//! Until it is taught, the NMF separator leaves everything in the background stem.
//! The cost per frame is `iterations · 2 · bins · (taught + free)` multiply-adds,
//! which at large settings is more than a small block can carry at once (4.4 ms for
//! FFT 8192, 48 templates and 50 iterations). So a frame is solved over the hop after
//! it arrives, a share of the iterations with each block ([`Separator::work`]), and
//! its mask is written when the next frame comes: a lookahead of one hop
//! ([`LOOKAHEAD`]). The iterations run in the same order however the hop is cut
//! into blocks, so the stems do not depend on the block size.

use super::kernels::dot;
use super::separator::{Entry, Inspection, Masks, Separator, Stems};
use super::settings::{
    Algorithm, MAX_FREE_COMPONENTS, MAX_NMF_COMPONENTS, NmfSettings, Settings, Taught,
};
use super::taught::Templates;

/// NMF in the registry. Lookahead: one hop ([`LOOKAHEAD`]).
pub const ENTRY: Entry = Entry {
    algorithm: Algorithm::Nmf,
    id: "nmf",
    name: "NMF",
    stems: Stems::LEAD_AND_BACKGROUND,
    build: |s, g| Box::new(NmfFilter::new(s.nmf, g.sample_rate, g.fft_size)),
    lookahead: |_, _| LOOKAHEAD,
};

/// Hops the masks trail the newest frame: the frame is solved over the next hop.
pub const LOOKAHEAD: usize = 1;
/// How long the free templates remember what they heard.
const ADAPTATION_SECONDS: f32 = 4.0;
/// Activations never fall below this, or a multiplicative update could not revive them.
const ACTIVATION_FLOOR: f32 = 1e-9;
/// Keeps `v / (W·h)` finite in silence.
const MODEL_FLOOR: f32 = 1e-15;

pub struct NmfFilter {
    settings: NmfSettings,
    bins: usize,
    /// The taught stem's templates, on this analysis's bins.
    templates: Option<Box<Templates>>,
    /// Free templates, `bins` per column, [`MAX_FREE_COMPONENTS`] columns.
    free: Vec<f32>,
    /// Online statistics of the free templates: `W = numerator / denominator`.
    free_numerator: Vec<f32>,
    free_denominator: [f32; MAX_FREE_COMPONENTS],
    /// Activations, taught first, warm-started frame to frame.
    h: [f32; MAX_NMF_COMPONENTS + MAX_FREE_COMPONENTS],
    model_taught: Vec<f32>,
    model_free: Vec<f32>,
    ratio: Vec<f32>,
    /// Per-frame memory of the free statistics.
    forgetting: f32,
    /// The frame being solved, and the iterations done on it so far.
    pending: Vec<f32>,
    pending_done: usize,
    has_pending: bool,
}

impl NmfFilter {
    pub fn new(settings: NmfSettings, sample_rate: f32, fft_size: usize) -> Self {
        let bins = fft_size / 2 + 1;
        let hop = fft_size / super::stft::OVERLAP;
        let mut filter = Self {
            settings: clamped(settings),
            bins,
            templates: None,
            free: vec![0.0; bins * MAX_FREE_COMPONENTS],
            free_numerator: vec![0.0; bins * MAX_FREE_COMPONENTS],
            free_denominator: [0.0; MAX_FREE_COMPONENTS],
            h: [0.0; MAX_NMF_COMPONENTS + MAX_FREE_COMPONENTS],
            model_taught: vec![0.0; bins],
            model_free: vec![0.0; bins],
            ratio: vec![0.0; bins],
            forgetting: (-(hop as f32) / (sample_rate * ADAPTATION_SECONDS)).exp(),
            pending: vec![0.0; bins],
            pending_done: 0,
            has_pending: false,
        };
        filter.reset();
        filter
    }

    pub fn set_settings(&mut self, settings: NmfSettings) {
        self.settings = clamped(settings);
    }

    pub fn templates(&self) -> Option<&Templates> {
        self.templates.as_deref()
    }

    /// Puts in new taught templates and hands back the old ones (for the caller to
    /// drop off the audio thread). Refuses templates of another analysis. Does not
    /// allocate.
    pub fn set_templates(
        &mut self,
        templates: Box<Templates>,
    ) -> Result<Option<Box<Templates>>, Box<Templates>> {
        if templates.w.rows != self.bins || templates.w.cols > MAX_NMF_COMPONENTS {
            return Err(templates);
        }
        self.h[..MAX_NMF_COMPONENTS].fill(ACTIVATION_FLOOR);
        Ok(self.templates.replace(templates))
    }

    /// Takes the taught templates out (to drop them off the audio thread).
    pub fn take_templates(&mut self) -> Option<Box<Templates>> {
        self.templates.take()
    }
}

fn clamped(settings: NmfSettings) -> NmfSettings {
    NmfSettings {
        free_components: settings.free_components.min(MAX_FREE_COMPONENTS),
        iterations: settings
            .iterations
            .clamp(1, super::settings::MAX_NMF_ITERATIONS),
        ..settings
    }
}

/// `model = Σ_k h_k · column_k` over the first `count` columns of `w` (`bins` rows each).
fn accumulate(model: &mut [f32], w: &[f32], h: &[f32], count: usize) {
    model.fill(0.0);
    let bins = model.len();
    for (column, &hk) in w.chunks_exact(bins).zip(h).take(count) {
        for (m, &x) in model.iter_mut().zip(column) {
            *m += hk * x;
        }
    }
}

/// `h_k ← h_k · Σ_f W_fk · ratio_f`: the KL update for unit-sum columns.
fn update(h: &mut [f32], w: &[f32], ratio: &[f32], count: usize) {
    for (column, hk) in w.chunks_exact(ratio.len()).zip(h).take(count) {
        let gradient = dot(column, ratio);
        *hk = (*hk * gradient).max(ACTIVATION_FLOOR);
    }
}

impl NmfFilter {
    /// Multiplicative updates of the pending frame's activations until `target` of
    /// them are done.
    fn iterate_to(&mut self, target: usize) {
        let Some(templates) = self.templates.as_deref() else {
            return;
        };
        let (taught, free) = (templates.w.cols, self.settings.free_components);
        let (h_taught, h_free) = self.h.split_at_mut(MAX_NMF_COMPONENTS);
        while self.pending_done < target {
            accumulate(&mut self.model_taught, &templates.w.data, h_taught, taught);
            accumulate(&mut self.model_free, &self.free, h_free, free);
            solve_ratio(
                &mut self.ratio,
                &self.pending,
                &self.model_taught,
                &self.model_free,
            );
            update(h_taught, &templates.w.data, &self.ratio, taught);
            update(h_free, &self.free, &self.ratio, free);
            self.pending_done += 1;
        }
    }

    /// The pending frame's mask, once all its iterations are done; then the free
    /// templates learn from it.
    fn finish(&mut self, foreground: &mut [f32]) {
        let bins = self.bins;
        self.iterate_to(self.settings.iterations);
        let Some(templates) = self.templates.as_deref() else {
            foreground[..bins].fill(0.0);
            return;
        };
        let taught = templates.w.cols;
        let free = self.settings.free_components;
        let v = &self.pending[..bins];
        let (h_taught, h_free) = self.h.split_at_mut(MAX_NMF_COMPONENTS);
        accumulate(&mut self.model_taught, &templates.w.data, h_taught, taught);
        accumulate(&mut self.model_free, &self.free, h_free, free);
        // Wiener mask: the taught model's share of the frame's power.
        // With no free templates, the untaught stem is what the taught model leaves
        // over: min(model, V) is taught, the rest is not, split by power as REPET's.
        let taught_is_foreground = self.settings.taught == Taught::Foreground;
        for (((f, &t), &o), &x) in foreground[..bins]
            .iter_mut()
            .zip(&self.model_taught)
            .zip(&self.model_free)
            .zip(v)
        {
            let share = if free == 0 {
                let r = t.min(x);
                let (a, b) = (r * r, (x - r) * (x - r));
                if a + b > MODEL_FLOOR {
                    a / (a + b)
                } else {
                    1.0
                }
            } else {
                let (t2, o2) = (t * t, o * o);
                if t2 + o2 > MODEL_FLOOR {
                    t2 / (t2 + o2)
                } else {
                    1.0
                }
            };
            *f = if taught_is_foreground {
                share
            } else {
                1.0 - share
            };
        }

        // The free templates follow what the taught ones leave unexplained.
        if free > 0 {
            solve_ratio(&mut self.ratio, v, &self.model_taught, &self.model_free);
            let rho = self.forgetting;
            for (k, h_k) in h_free.iter_mut().enumerate().take(free) {
                let column = &mut self.free[k * bins..(k + 1) * bins];
                let numerator = &mut self.free_numerator[k * bins..(k + 1) * bins];
                let hk = *h_k;
                let denominator = rho * self.free_denominator[k] + hk;
                self.free_denominator[k] = denominator;
                let mut sum = 0.0;
                for ((w, a), &r) in column.iter_mut().zip(numerator.iter_mut()).zip(&self.ratio) {
                    *a = rho * *a + *w * r * hk;
                    *w = *a / denominator;
                    sum += *w;
                }
                if sum > 0.0 && sum.is_finite() {
                    // Unit-sum columns keep the activation update division-free.
                    let lift = sum * 1e-6 / bins as f32;
                    let scale = 1.0 / (sum * (1.0 + 1e-6));
                    for (w, a) in column.iter_mut().zip(numerator.iter_mut()) {
                        *w = (*w + lift) * scale;
                        *a = *w * denominator;
                    }
                    *h_k = (hk * sum).max(ACTIVATION_FLOOR);
                } else {
                    initial_free(column, k);
                    numerator.fill(0.0);
                    self.free_denominator[k] = 0.0;
                }
            }
        }
    }
}

/// `ratio = v / (a + b)`, kept finite in silence.
fn solve_ratio(ratio: &mut [f32], v: &[f32], a: &[f32], b: &[f32]) {
    for ((r, &x), (&m, &n)) in ratio.iter_mut().zip(v).zip(a.iter().zip(b)) {
        *r = x / (m + n + MODEL_FLOOR);
    }
}

impl Separator for NmfFilter {
    fn lookahead(&self) -> usize {
        LOOKAHEAD
    }

    fn update(&mut self, settings: &Settings) {
        self.set_settings(settings.nmf);
    }

    fn inspect(&self) -> Inspection<'_> {
        Inspection {
            templates: self.templates(),
            ..Inspection::default()
        }
    }

    fn set_templates(
        &mut self,
        templates: Box<Templates>,
    ) -> Result<Option<Box<Templates>>, Box<Templates>> {
        NmfFilter::set_templates(self, templates)
    }

    fn take_templates(&mut self) -> Option<Box<Templates>> {
        NmfFilter::take_templates(self)
    }

    fn push(&mut self, magnitude: &[f32], masks: &mut Masks) {
        let (foreground, residual) = masks.foreground_and_residual();
        self.mask_frame(magnitude, foreground, residual);
    }

    fn work(&mut self, arrived: usize, hop: usize) {
        if self.has_pending {
            // Leave the last share to `push`, which must run at least the mask.
            let target = self.settings.iterations * arrived / hop;
            self.iterate_to(target.min(self.settings.iterations));
        }
    }

    fn reset(&mut self) {
        for k in 0..MAX_FREE_COMPONENTS {
            initial_free(&mut self.free[k * self.bins..(k + 1) * self.bins], k);
        }
        self.free_numerator.fill(0.0);
        self.free_denominator.fill(0.0);
        self.h.fill(ACTIVATION_FLOOR);
        self.pending.fill(0.0);
        self.pending_done = 0;
        self.has_pending = false;
    }
}

impl NmfFilter {
    /// [`Separator::push`], writing the foreground's mask (and the residual's where
    /// there is one) into plain slices: what a cascade of separators calls.
    pub fn mask_frame(&mut self, magnitude: &[f32], foreground: &mut [f32], _residual: &mut [f32]) {
        if self.has_pending {
            self.finish(foreground);
        } else {
            foreground[..self.bins].fill(0.0);
        }
        self.pending.copy_from_slice(&magnitude[..self.bins]);
        self.pending_done = 0;
        self.has_pending = true;
    }
}

/// A free template before it has heard anything: a different smooth, broad shape per
/// component, so that the first updates pull them apart.
fn initial_free(column: &mut [f32], k: usize) {
    let n = column.len() as f32;
    let centre = (k as f32 + 0.5) / MAX_FREE_COMPONENTS as f32;
    for (i, x) in column.iter_mut().enumerate() {
        // Log-frequency bumps: each covers a few octaves around its own centre.
        let position = ((i as f32 + 1.0).ln() / n.ln() - centre) * 4.0;
        *x = (-position * position).exp() + 1e-3;
    }
    let sum: f32 = column.iter().sum();
    column.iter_mut().for_each(|x| *x /= sum);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::nmf::{self, Matrix};
    use crate::engine::taught::TemplateError;

    /// A magnitude frame of partials at `bins`.
    fn frame(bins: usize, peaks: &[(usize, f32)]) -> Vec<f32> {
        let mut v = vec![0.01; bins];
        for &(b, a) in peaks {
            v[b] += a;
        }
        v
    }

    #[test]
    fn separates_a_taught_chord_from_an_untaught_one() {
        let (rate, size) = (44_100.0, 512);
        let bins = size / 2 + 1;
        let background = frame(bins, &[(10, 5.0), (20, 3.0), (30, 2.0)]);
        let lead = frame(bins, &[(14, 4.0), (42, 2.0), (70, 1.0)]);
        let teach = Matrix::from_columns(bins, [background.as_slice(); 8]);
        let templates = Templates::learn(&teach, rate, size, 2).unwrap();
        let mut filter = NmfFilter::new(NmfSettings::default(), rate, size);
        filter.set_templates(Box::new(templates)).unwrap();
        let mix: Vec<f32> = background.iter().zip(&lead).map(|(a, b)| a + b).collect();
        let (mut fg, mut res) = (vec![0.0; bins], vec![0.0; bins]);
        for _ in 0..200 {
            filter.mask_frame(&mix, &mut fg, &mut res);
        }
        for b in [10, 20, 30] {
            assert!(
                fg[b] < 0.1,
                "background bin {b} went {} to the foreground",
                fg[b]
            );
        }
        for b in [14, 42, 70] {
            assert!(
                fg[b] > 0.9,
                "lead bin {b} kept only {} in the foreground",
                fg[b]
            );
        }
    }

    #[test]
    fn work_spread_over_the_hop_gives_the_same_masks() {
        let (rate, size) = (44_100.0, 512);
        let bins = size / 2 + 1;
        let background = frame(bins, &[(10, 5.0), (20, 3.0), (30, 2.0)]);
        let teach = Matrix::from_columns(bins, [background.as_slice(); 4]);
        let templates = Templates::learn(&teach, rate, size, 2).unwrap();
        let settings = NmfSettings {
            free_components: 3,
            iterations: 7,
            ..NmfSettings::default()
        };
        let [mut at_once, mut spread] =
            std::array::from_fn(|_| NmfFilter::new(settings, rate, size));
        at_once.set_templates(Box::new(templates.clone())).unwrap();
        spread.set_templates(Box::new(templates)).unwrap();
        let (mut a, mut b) = (vec![0.0; bins], vec![0.0; bins]);
        let mut random = nmf::XorShift::new(3);
        for t in 0..40 {
            let v: Vec<f32> = (0..bins).map(|_| random.uniform() * 3.0).collect();
            at_once.mask_frame(&v, &mut a, &mut []);
            spread.mask_frame(&v, &mut b, &mut []);
            assert_eq!(a, b, "frame {t}");
            // An uneven cut of the hop, different every frame.
            let hop = size / 4;
            let mut arrived = 0;
            while arrived < hop - 1 {
                arrived = (arrived + 1 + (t * 7 + arrived) % 40).min(hop - 1);
                spread.work(arrived, hop);
            }
            assert_eq!(spread.pending_done, settings.iterations * (hop - 1) / hop);
        }
    }

    #[test]
    fn untaught_it_leaves_everything_in_the_background() {
        let mut filter = NmfFilter::new(NmfSettings::default(), 48_000.0, 1024);
        let v = vec![1.0; 513];
        let mut fg = vec![0.5; 513];
        filter.mask_frame(&v, &mut fg, &mut []);
        assert!(fg.iter().all(|&x| x == 0.0));
    }

    #[test]
    fn silence_and_huge_frames_keep_masks_finite() {
        let (rate, size) = (44_100.0, 1024);
        let bins = size / 2 + 1;
        let teach = Matrix::from_columns(bins, [frame(bins, &[(5, 1.0)]).as_slice()]);
        let mut filter = NmfFilter::new(NmfSettings::default(), rate, size);
        filter
            .set_templates(Box::new(Templates::learn(&teach, rate, size, 1).unwrap()))
            .unwrap();
        let mut fg = vec![0.0; bins];
        for v in [
            vec![0.0; bins],
            vec![2e6; bins],
            vec![0.0; bins],
            frame(bins, &[(5, 1.0)]),
        ] {
            for _ in 0..50 {
                filter.mask_frame(&v, &mut fg, &mut []);
                assert!(fg.iter().all(|x| x.is_finite() && (0.0..=1.0).contains(x)));
            }
        }
    }

    #[test]
    fn templates_move_to_another_analysis_by_frequency() {
        let bins = 1025;
        let mut w = Matrix::zeros(bins, 1);
        w.column_mut(0)[100] = 1.0; // 100 · 44100 / 2048 ≈ 2153 Hz
        let t = Templates::new(44_100.0, 2048, w).unwrap();
        let moved = t.for_analysis(48_000.0, 1024);
        assert_eq!(moved.w.rows, 513);
        let peak = (0..513)
            .max_by(|&a, &b| moved.w.column(0)[a].total_cmp(&moved.w.column(0)[b]))
            .unwrap();
        let hz = peak as f32 * 48_000.0 / 1024.0;
        assert!(
            (hz - 2153.3).abs() < 48_000.0 / 1024.0,
            "peak moved to {hz} Hz"
        );
        let sum: f32 = moved.w.column(0).iter().sum();
        assert!((sum - 1.0).abs() < 1e-4);
    }

    #[test]
    fn refuses_what_it_cannot_use() {
        let frames = Matrix::zeros(100, 3);
        assert!(matches!(
            Templates::learn(&frames, 44_100.0, 2048, 4),
            Err(TemplateError::Bins { .. })
        ));
        assert_eq!(
            Templates::learn(&Matrix::zeros(1025, 3), 44_100.0, 2048, 4),
            Err(TemplateError::Empty)
        );
        let mut filter = NmfFilter::new(NmfSettings::default(), 44_100.0, 2048);
        let wrong = Templates::new(
            44_100.0,
            1024,
            Matrix::from_columns(513, [vec![1.0; 513].as_slice()]),
        );
        assert!(filter.set_templates(Box::new(wrong.unwrap())).is_err());
    }
}
