//! Nonnegative matrix factorisation `V ≈ W·H` of magnitude spectrograms.
//!
//! - [`factorise`]: β-divergence multiplicative updates (Lee & Seung 2001 for β = 2
//!   and 1; Févotte & Idier 2011 for the general rule). The update exponent γ(β) of
//!   Févotte & Idier makes every update non-increasing in the objective, including
//!   Itakura–Saito (β = 0), where the plain rule can climb.
//! - [`activations`]: `H` alone, with `W` fixed: supervised separation and mosaicing.
//! - [`snpa`]: the successive nonnegative projection algorithm (Gillis 2014), which
//!   picks `r` real columns of `V` spanning it: exact on separable matrices, and an
//!   initialisation that starts `W` from frames that were actually heard.
//! - [`sparse_activations`]: one-atom sparse coding (each column is one template, scaled).
//!
//! Matrices are stored column by column: a spectrogram holds one frame per column,
//! `W` one template per column, `H` one frame's activations per column. The products
//! run on `matrixmultiply`'s SGEMM. Nothing here is for the audio thread: it allocates.

use std::fmt;

pub use super::matrix::{Matrix, product};
pub use super::snpa::snpa;
use super::snpa::snpa_init;
pub use crate::rng::XorShift;

/// The β of the β-divergence the factorisation minimises.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Beta {
    /// β = 0: scale-invariant, suited to power spectra; quiet detail counts as much as loud.
    ItakuraSaito,
    /// β = 1: the usual choice for magnitude spectrograms.
    #[default]
    KullbackLeibler,
    /// β = 2: least squares.
    Euclidean,
}

impl Beta {
    pub fn value(self) -> f32 {
        match self {
            Beta::ItakuraSaito => 0.0,
            Beta::KullbackLeibler => 1.0,
            Beta::Euclidean => 2.0,
        }
    }

    pub fn from_value(beta: u32) -> Option<Self> {
        match beta {
            0 => Some(Beta::ItakuraSaito),
            1 => Some(Beta::KullbackLeibler),
            2 => Some(Beta::Euclidean),
            _ => None,
        }
    }

    /// Févotte & Idier's exponent: with it every multiplicative update is
    /// non-increasing in the objective.
    fn exponent(self) -> f32 {
        match self {
            Beta::ItakuraSaito => 0.5,
            Beta::KullbackLeibler | Beta::Euclidean => 1.0,
        }
    }

    /// `d_β(x | y)`.
    pub fn divergence(self, x: f32, y: f32) -> f64 {
        let (x, y) = (f64::from(x), f64::from(y));
        match self {
            Beta::Euclidean => 0.5 * (x - y) * (x - y),
            Beta::KullbackLeibler if x == 0.0 => y,
            Beta::KullbackLeibler => x * (x / y).ln() - x + y,
            Beta::ItakuraSaito => x / y - (x / y).ln() - 1.0,
        }
    }
}

impl fmt::Display for Beta {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Beta::ItakuraSaito => "Itakura-Saito (beta 0)",
            Beta::KullbackLeibler => "Kullback-Leibler (beta 1)",
            Beta::Euclidean => "Euclidean (beta 2)",
        })
    }
}

/// How `W` and `H` start.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Init {
    /// Uniform random values scaled to the data (seeded: the same input gives the same result).
    #[default]
    Random,
    /// `W` from the frames [`snpa`] picks, `H` from their projection.
    Snpa,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Options {
    pub components: usize,
    pub beta: Beta,
    pub iterations: usize,
    pub init: Init,
    pub seed: u64,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            components: 8,
            beta: Beta::KullbackLeibler,
            iterations: 200,
            init: Init::Random,
            seed: 0x5eed,
        }
    }
}

/// `W` (`rows × components`) and `H` (`components × cols`), with the objective after
/// each iteration (index 0: at the start).
#[derive(Clone, Debug)]
pub struct Factorisation {
    pub w: Matrix,
    pub h: Matrix,
    pub objective: Vec<f64>,
}

/// Entries of `W·H` are kept at least this far above zero, relative to the data's
/// largest value, so that `V / (W·H)` and `log` stay finite.
const FLOOR: f32 = 1e-9;

/// The floor for the data `v`: relative to its largest value.
pub(super) fn floor_of(v: &Matrix) -> f32 {
    let peak = v.data.iter().fold(0.0f32, |m, &x| m.max(x));
    (peak * FLOOR).max(f32::MIN_POSITIVE)
}

/// The objective `Σ d_β(V | W·H)`.
pub fn objective(v: &Matrix, model: &Matrix, beta: Beta) -> f64 {
    let floor = floor_of(v);
    v.data
        .iter()
        .zip(&model.data)
        .map(|(&x, &y)| beta.divergence(beta_data(beta, x, floor), y.max(floor)))
        .sum()
}

/// Itakura–Saito needs strictly positive data; the others take zeros as they are.
fn beta_data(beta: Beta, x: f32, floor: f32) -> f32 {
    if beta == Beta::ItakuraSaito {
        x.max(floor)
    } else {
        x
    }
}

/// Factorises the nonnegative `v` into `options.components` components.
pub fn factorise(v: &Matrix, options: &Options) -> Factorisation {
    let r = options.components.max(1);
    let (w, h) = match options.init {
        Init::Random => random_init(v, r, options.seed),
        Init::Snpa => snpa_init(v, r),
    };
    refine(v, w, h, options.beta, options.iterations, true)
}

/// Runs `iterations` multiplicative updates from `w`, `h`; `W` stays as given when
/// `update_w` is false.
pub fn refine(
    v: &Matrix,
    mut w: Matrix,
    mut h: Matrix,
    beta: Beta,
    iterations: usize,
    update_w: bool,
) -> Factorisation {
    let (rows, cols, r) = (v.rows, v.cols, w.cols);
    assert_eq!(w.rows, rows);
    assert!(h.rows == r && h.cols == cols);
    let floor = floor_of(v);
    let v_data: Vec<f32> = v.data.iter().map(|&x| beta_data(beta, x, floor)).collect();
    let v = Matrix {
        rows,
        cols,
        data: v_data,
    };
    let mut model = Matrix::zeros(rows, cols);
    let mut weighted = Matrix::zeros(rows, cols);
    let mut power = Matrix::zeros(rows, cols);
    let mut numerator_h = Matrix::zeros(r, cols);
    let mut denominator_h = Matrix::zeros(r, cols);
    let mut numerator_w = Matrix::zeros(rows, r);
    let mut denominator_w = Matrix::zeros(rows, r);
    let b = beta.value();
    let gamma = beta.exponent();

    let mut objective_trace = Vec::with_capacity(iterations + 1);
    product(&w, false, &h, false, &mut model);
    objective_trace.push(objective(&v, &model, beta));

    // `weighted` = V ⊙ (WH)^(β−2), `power` = (WH)^(β−1): the two halves of the gradient.
    let gradient_parts = |model: &mut Matrix, weighted: &mut Matrix, power: &mut Matrix| {
        for ((m, (wt, p)), &x) in model
            .data
            .iter_mut()
            .zip(weighted.data.iter_mut().zip(power.data.iter_mut()))
            .zip(&v.data)
        {
            let y = m.max(floor);
            *m = y;
            match beta {
                Beta::Euclidean => {
                    *wt = x;
                    *p = y;
                }
                Beta::KullbackLeibler => {
                    *wt = x / y;
                    *p = 1.0;
                }
                Beta::ItakuraSaito => {
                    *wt = x / (y * y);
                    *p = 1.0 / y;
                }
            }
        }
        debug_assert!(b.is_finite());
    };
    // x ← x · (numerator / denominator)^γ, element by element.
    let step = |x: &mut Matrix, numerator: &Matrix, denominator: &Matrix| {
        for ((x, &n), &d) in x
            .data
            .iter_mut()
            .zip(&numerator.data)
            .zip(&denominator.data)
        {
            let ratio = n / d.max(f32::MIN_POSITIVE);
            let factor = if gamma == 1.0 {
                ratio
            } else {
                ratio.powf(gamma)
            };
            *x = (*x * factor).max(0.0);
            if !x.is_finite() {
                *x = 0.0;
            }
        }
    };

    for _ in 0..iterations {
        // H ← H ⊙ (Wᵀ[V ⊙ (WH)^(β−2)] / Wᵀ(WH)^(β−1))^γ
        gradient_parts(&mut model, &mut weighted, &mut power);
        product(&w, true, &weighted, false, &mut numerator_h);
        product(&w, true, &power, false, &mut denominator_h);
        step(&mut h, &numerator_h, &denominator_h);
        product(&w, false, &h, false, &mut model);

        if update_w {
            // W ← W ⊙ ([V ⊙ (WH)^(β−2)]Hᵀ / (WH)^(β−1)Hᵀ)^γ
            gradient_parts(&mut model, &mut weighted, &mut power);
            product(&weighted, false, &h, true, &mut numerator_w);
            product(&power, false, &h, true, &mut denominator_w);
            step(&mut w, &numerator_w, &denominator_w);
            product(&w, false, &h, false, &mut model);
        }
        objective_trace.push(objective(&v, &model, beta));
    }
    if update_w {
        normalise_columns(&mut w, &mut h);
    }
    Factorisation {
        w,
        h,
        objective: objective_trace,
    }
}

/// Scales each column of `w` to unit sum and the matching row of `h` inversely, so
/// `W·H` is unchanged and templates compare by shape alone.
pub fn normalise_columns(w: &mut Matrix, h: &mut Matrix) {
    for k in 0..w.cols {
        let sum: f32 = w.column(k).iter().sum();
        if sum > 0.0 {
            w.column_mut(k).iter_mut().for_each(|x| *x /= sum);
            for j in 0..h.cols {
                h.data[j * h.rows + k] *= sum;
            }
        }
    }
}

/// The activations of `v` on the fixed templates `w`, from a flat start.
pub fn activations(v: &Matrix, w: &Matrix, beta: Beta, iterations: usize) -> Matrix {
    let mean = v.data.iter().map(|&x| f64::from(x)).sum::<f64>() / v.data.len().max(1) as f64;
    let column_mass: f64 = w.data.iter().map(|&x| f64::from(x)).sum::<f64>() / w.rows as f64;
    let start = (mean / column_mass.max(1e-30) / w.cols.max(1) as f64) as f32;
    let mut h = Matrix {
        rows: w.cols,
        cols: v.cols,
        data: vec![start.max(1e-12); w.cols * v.cols],
    };
    if beta != Beta::Euclidean {
        return refine(v, w.clone(), h, beta, iterations, false).h;
    }
    // Least squares with W fixed: WᵀV and WᵀW once, then each update costs
    // components² per frame instead of bins · components (mosaicing has many templates).
    let (r, cols) = (w.cols, v.cols);
    let mut wtv = Matrix::zeros(r, cols);
    product(w, true, v, false, &mut wtv);
    let mut wtw = Matrix::zeros(r, r);
    product(w, true, w, false, &mut wtw);
    let mut denominator = Matrix::zeros(r, cols);
    for _ in 0..iterations {
        product(&wtw, false, &h, false, &mut denominator);
        for ((x, &n), &d) in h.data.iter_mut().zip(&wtv.data).zip(&denominator.data) {
            *x = (*x * n.max(0.0) / d.max(f32::MIN_POSITIVE)).max(0.0);
            if !x.is_finite() {
                *x = 0.0;
            }
        }
    }
    h
}

/// Each column of `v` as one template of `w`, scaled: the template of highest cosine
/// similarity, with the least-squares gain (orthogonal matching pursuit with one atom).
pub fn sparse_activations(v: &Matrix, w: &Matrix) -> Matrix {
    let norms: Vec<f32> = w
        .columns()
        .map(|c| c.iter().map(|x| x * x).sum::<f32>().sqrt())
        .collect();
    let mut correlation = Matrix::zeros(w.cols, v.cols);
    product(w, true, v, false, &mut correlation);
    let mut h = Matrix::zeros(w.cols, v.cols);
    for j in 0..v.cols {
        let c = correlation.column(j);
        let best = (0..w.cols)
            .filter(|&k| norms[k] > 0.0)
            .max_by(|&a, &b| (c[a] / norms[a]).total_cmp(&(c[b] / norms[b])));
        if let Some(k) = best {
            h.column_mut(j)[k] = (c[k] / (norms[k] * norms[k])).max(0.0);
        }
    }
    h
}

fn random_init(v: &Matrix, r: usize, seed: u64) -> (Matrix, Matrix) {
    let mut rng = XorShift::new(seed);
    let mean = v.data.iter().map(|&x| f64::from(x)).sum::<f64>() / v.data.len().max(1) as f64;
    // As scikit-learn: entries of W·H then average about the data's mean.
    let scale = (mean / r as f64).sqrt() as f32;
    let mut fill = |rows, cols| Matrix {
        rows,
        cols,
        data: (0..rows * cols)
            .map(|_| (0.1 + rng.uniform()) * scale.max(1e-12))
            .collect(),
    };
    let w = fill(v.rows, r);
    let h = fill(r, v.cols);
    (w, h)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn random(rows: usize, cols: usize, rng: &mut XorShift) -> Matrix {
        Matrix {
            rows,
            cols,
            data: (0..rows * cols).map(|_| rng.uniform()).collect(),
        }
    }

    fn relative_error(v: &Matrix, f: &Factorisation) -> f64 {
        let mut model = Matrix::zeros(v.rows, v.cols);
        product(&f.w, false, &f.h, false, &mut model);
        let diff: f64 = v
            .data
            .iter()
            .zip(&model.data)
            .map(|(&a, &b)| (f64::from(a) - f64::from(b)).powi(2))
            .sum();
        diff.sqrt() / v.norm()
    }

    fn low_rank(rows: usize, cols: usize, rank: usize, seed: u64) -> Matrix {
        let mut rng = XorShift::new(seed);
        let w = random(rows, rank, &mut rng);
        let h = random(rank, cols, &mut rng);
        let mut v = Matrix::zeros(rows, cols);
        product(&w, false, &h, false, &mut v);
        v
    }

    #[test]
    fn product_matches_the_definition() {
        let mut rng = XorShift::new(3);
        let a = random(5, 3, &mut rng);
        let b = random(5, 4, &mut rng);
        let mut c = Matrix::zeros(3, 4);
        product(&a, true, &b, false, &mut c);
        for i in 0..3 {
            for j in 0..4 {
                let expected: f32 = (0..5).map(|k| a.column(i)[k] * b.column(j)[k]).sum();
                assert!((c.column(j)[i] - expected).abs() < 1e-5);
            }
        }
        let mut d = Matrix::zeros(5, 5);
        product(&a, false, &a, true, &mut d);
        let expected: f32 = (0..3).map(|k| a.column(k)[1] * a.column(k)[2]).sum();
        assert!((d.column(2)[1] - expected).abs() < 1e-5);
    }

    #[test]
    fn recovers_a_low_rank_matrix_for_every_beta() {
        let v = low_rank(40, 60, 3, 11);
        for beta in [Beta::Euclidean, Beta::KullbackLeibler, Beta::ItakuraSaito] {
            let f = factorise(
                &v,
                &Options {
                    components: 3,
                    beta,
                    iterations: 4000,
                    init: Init::Random,
                    seed: 7,
                },
            );
            let error = relative_error(&v, &f);
            assert!(error < 1e-3, "{beta}: relative error {error:e}");
        }
    }

    #[test]
    fn the_objective_never_increases() {
        let v = low_rank(30, 50, 6, 5);
        // Noise makes the fit inexact, so the objective keeps moving.
        let mut rng = XorShift::new(9);
        let noisy = Matrix {
            data: v.data.iter().map(|&x| x + 0.3 * rng.uniform()).collect(),
            ..v
        };
        for beta in [Beta::Euclidean, Beta::KullbackLeibler, Beta::ItakuraSaito] {
            let f = factorise(
                &noisy,
                &Options {
                    components: 4,
                    beta,
                    iterations: 300,
                    ..Options::default()
                },
            );
            assert!(
                f.objective[300] < 0.5 * f.objective[0],
                "{beta} did not descend"
            );
            for (i, pair) in f.objective.windows(2).enumerate() {
                assert!(
                    pair[1] <= pair[0] * (1.0 + 1e-6),
                    "{beta}: objective rose at iteration {i}: {} -> {}",
                    pair[0],
                    pair[1]
                );
            }
        }
    }

    /// A separable matrix: `r` random columns, then convex combinations of them,
    /// all shuffled; returns the matrix and where the generators went.
    fn separable(rows: usize, r: usize, mixtures: usize, seed: u64) -> (Matrix, Vec<usize>) {
        let mut rng = XorShift::new(seed);
        let generators = random(rows, r, &mut rng);
        let mut columns: Vec<(Vec<f32>, Option<usize>)> = (0..r)
            .map(|k| (generators.column(k).to_vec(), Some(k)))
            .collect();
        for _ in 0..mixtures {
            // Weights no larger than 0.6 keep every mixture away from a generator.
            let mut weights: Vec<f32> = (0..r).map(|_| rng.uniform()).collect();
            loop {
                let sum: f32 = weights.iter().sum();
                weights.iter_mut().for_each(|w| *w /= sum);
                if weights.iter().all(|&w| w <= 0.6) {
                    break;
                }
                weights.iter_mut().for_each(|w| *w = w.sqrt());
            }
            let scale = 0.2 + 3.0 * rng.uniform();
            let col = (0..rows)
                .map(|i| {
                    scale
                        * (0..r)
                            .map(|k| {
                                weights[k] * generators.column(k)[i]
                                    / generators.column(k).iter().sum::<f32>()
                            })
                            .sum::<f32>()
                })
                .collect();
            columns.push((col, None));
        }
        // Shuffle (Fisher–Yates).
        for i in (1..columns.len()).rev() {
            let j = (rng.uniform() * (i + 1) as f32) as usize;
            columns.swap(i, j.min(i));
        }
        let truth = (0..r)
            .map(|k| columns.iter().position(|c| c.1 == Some(k)).unwrap())
            .collect();
        let m = Matrix::from_columns(rows, columns.iter().map(|c| c.0.as_slice()));
        (m, truth)
    }

    #[test]
    fn snpa_returns_exactly_the_generating_columns() {
        for seed in 1..6 {
            let (m, truth) = separable(30, 5, 120, seed);
            let mut picked = snpa(&m, 5);
            picked.sort_unstable();
            let mut truth = truth;
            truth.sort_unstable();
            assert_eq!(picked, truth, "seed {seed}");
        }
    }

    #[test]
    fn snpa_initialisation_fits_a_separable_matrix_at_once() {
        let (m, _) = separable(30, 4, 80, 21);
        let f = factorise(
            &m,
            &Options {
                components: 4,
                beta: Beta::Euclidean,
                iterations: 200,
                init: Init::Snpa,
                seed: 1,
            },
        );
        let error = relative_error(&m, &f);
        assert!(error < 1e-3, "relative error {error:e}");
    }

    #[test]
    fn fixed_templates_give_back_the_activations() {
        let mut rng = XorShift::new(17);
        let w = random(50, 4, &mut rng);
        let h = random(4, 30, &mut rng);
        let mut v = Matrix::zeros(50, 30);
        product(&w, false, &h, false, &mut v);
        let found = activations(&v, &w, Beta::KullbackLeibler, 3000);
        let error: f32 = found
            .data
            .iter()
            .zip(&h.data)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max);
        assert!(error < 0.02, "largest activation error {error}");
    }

    #[test]
    fn sparse_coding_picks_the_matching_template_with_its_gain() {
        let mut rng = XorShift::new(4);
        let w = random(20, 6, &mut rng);
        let v = Matrix::from_columns(
            20,
            [w.column(4).iter().map(|x| 3.0 * x).collect::<Vec<f32>>()]
                .iter()
                .map(Vec::as_slice),
        );
        let h = sparse_activations(&v, &w);
        assert_eq!(h.data.iter().filter(|&&x| x > 0.0).count(), 1);
        assert!((h.column(0)[4] - 3.0).abs() < 1e-4);
    }

    #[test]
    fn silence_and_zeros_stay_finite() {
        let v = Matrix::zeros(10, 8);
        for beta in [Beta::Euclidean, Beta::KullbackLeibler, Beta::ItakuraSaito] {
            for init in [Init::Random, Init::Snpa] {
                let f = factorise(
                    &v,
                    &Options {
                        components: 3,
                        beta,
                        iterations: 20,
                        init,
                        seed: 2,
                    },
                );
                assert!(f.w.data.iter().chain(&f.h.data).all(|x| x.is_finite()));
                assert!(f.objective.iter().all(|x| x.is_finite()), "{beta} {init:?}");
            }
        }
    }
}
