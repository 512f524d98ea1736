//! The successive nonnegative projection algorithm (Gillis 2014): `r` real columns of
//! `V` that span it, exact on separable matrices; NMF starts `W` from them
//! (`--init snpa`), so it starts from frames that were actually heard.

use super::matrix::Matrix;
use super::nmf::floor_of;

pub(super) fn snpa_init(v: &Matrix, r: usize) -> (Matrix, Matrix) {
    let (picked, coefficients) = snpa_with_coefficients(v, r);
    let mut w = v.select_columns(&picked);
    // Fewer distinct columns than asked (a near-silent file): pad with the mean frame.
    let mean: Vec<f32> = (0..v.rows)
        .map(|i| v.columns().map(|c| c[i]).sum::<f32>() / v.cols.max(1) as f32 + 1e-12)
        .collect();
    while w.cols < r {
        w.data.extend_from_slice(&mean);
        w.cols += 1;
    }
    // Multiplicative updates cannot move an entry off zero: lift W's zeros a little.
    let floor = floor_of(v).max(1e-12);
    w.data.iter_mut().for_each(|x| *x = x.max(floor * 1e3));
    // SNPA's coefficients are of the columns scaled to unit sum: scale them back.
    let sums: Vec<f32> = v.columns().map(|c| c.iter().sum()).collect();
    let mut h = Matrix::zeros(r, v.cols);
    for j in 0..v.cols {
        for (k, &p) in picked.iter().enumerate() {
            let x = coefficients[j][k] * f64::from(sums[j]) / f64::from(sums[p]).max(1e-30);
            h.column_mut(j)[k] = (x as f32).max(1e-9);
        }
        for k in picked.len()..r {
            h.column_mut(j)[k] = 1e-9;
        }
    }
    (w, h)
}

/// SNPA (Gillis 2014): the indices of `r` columns of `v` whose convex hull with the
/// origin holds the others best, picked one by one as the column furthest from the
/// hull of those already picked. On a separable matrix (every column a convex
/// combination of `r` of them) it returns exactly those `r`.
///
/// Columns are compared after scaling to unit sum, so loudness does not decide;
/// all-zero columns are never picked. May return fewer than `r` indices when fewer
/// columns than that are nonzero.
pub fn snpa(v: &Matrix, r: usize) -> Vec<usize> {
    snpa_with_coefficients(v, r).0
}

/// [`snpa`], with each column's coefficients on the picked ones (of the columns
/// scaled to unit sum).
fn snpa_with_coefficients(v: &Matrix, r: usize) -> (Vec<usize>, Vec<Vec<f64>>) {
    let mut m = v.clone();
    let live: Vec<bool> = (0..m.cols)
        .map(|j| {
            let col = m.column_mut(j);
            let sum: f32 = col.iter().sum();
            if sum > 0.0 {
                col.iter_mut().for_each(|x| *x /= sum);
                true
            } else {
                false
            }
        })
        .collect();
    let norms: Vec<f64> = m
        .columns()
        .map(|c| c.iter().map(|&x| f64::from(x).powi(2)).sum())
        .collect();
    let mut residual_norm = norms.clone();
    let mut picked: Vec<usize> = Vec::with_capacity(r);
    // Coefficients of every column on the picked ones, warm-started pick to pick.
    let mut coefficients: Vec<Vec<f64>> = vec![Vec::new(); m.cols];

    while picked.len() < r {
        let best = (0..m.cols)
            .filter(|&j| live[j] && !picked.contains(&j))
            .max_by(|&a, &b| {
                residual_norm[a]
                    .total_cmp(&residual_norm[b])
                    .then(norms[a].total_cmp(&norms[b]))
            });
        let Some(p) = best else { break };
        if residual_norm[p] <= 1e-12 * norms[p].max(1e-30) && !picked.is_empty() {
            break;
        }
        picked.push(p);
        let k = picked.len();
        // Gram matrix of the picked columns and their correlation with every column.
        let basis: Vec<&[f32]> = picked.iter().map(|&j| m.column(j)).collect();
        let gram: Vec<f64> = (0..k * k)
            .map(|i| dot64(basis[i / k], basis[i % k]))
            .collect();
        let lipschitz = largest_eigenvalue(&gram, k);
        for j in 0..m.cols {
            coefficients[j].push(if j == p { 1.0 } else { 0.0 });
            if !live[j] {
                continue;
            }
            let column = m.column(j);
            let correlation: Vec<f64> = basis.iter().map(|b| dot64(b, column)).collect();
            project_onto_hull(&gram, &correlation, lipschitz, &mut coefficients[j]);
            // ‖m − B·h‖² = ‖m‖² − 2 hᵀc + hᵀ G h
            let h = &coefficients[j];
            let hc: f64 = h.iter().zip(&correlation).map(|(a, b)| a * b).sum();
            let hgh: f64 = (0..k)
                .map(|a| h[a] * (0..k).map(|b| gram[a * k + b] * h[b]).sum::<f64>())
                .sum();
            residual_norm[j] = (norms[j] - 2.0 * hc + hgh).max(0.0);
        }
    }
    (picked, coefficients)
}

fn dot64(a: &[f32], b: &[f32]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| f64::from(x) * f64::from(y))
        .sum()
}

/// The largest eigenvalue of the symmetric positive semidefinite `k × k` matrix `g`,
/// by power iteration (the step size of the projected gradient).
fn largest_eigenvalue(g: &[f64], k: usize) -> f64 {
    let mut x = vec![1.0 / (k as f64).sqrt(); k];
    let mut lambda = 0.0;
    for _ in 0..100 {
        let y: Vec<f64> = (0..k)
            .map(|a| (0..k).map(|b| g[a * k + b] * x[b]).sum())
            .collect();
        let norm = y.iter().map(|v| v * v).sum::<f64>().sqrt();
        if norm <= 0.0 {
            return 1e-30;
        }
        let next = norm;
        x = y.into_iter().map(|v| v / norm).collect();
        if (next - lambda).abs() <= 1e-12 * next {
            return next;
        }
        lambda = next;
    }
    lambda.max(1e-30)
}

/// `h ← argmin ‖m − B·h‖²` over `h ≥ 0, Σh ≤ 1`, given `G = BᵀB` and `c = Bᵀm`: a
/// fast (Nesterov) projected gradient, warm-started from `h`.
fn project_onto_hull(gram: &[f64], correlation: &[f64], lipschitz: f64, h: &mut [f64]) {
    let k = h.len();
    let mut y = h.to_vec();
    let mut previous = h.to_vec();
    let mut t = 1.0f64;
    let mut gradient = vec![0.0; k];
    for _ in 0..300 {
        for a in 0..k {
            gradient[a] = (0..k).map(|b| gram[a * k + b] * y[b]).sum::<f64>() - correlation[a];
        }
        previous.copy_from_slice(h);
        for a in 0..k {
            h[a] = y[a] - gradient[a] / lipschitz;
        }
        project_onto_capped_simplex(h);
        let t_next = (1.0 + (1.0 + 4.0 * t * t).sqrt()) / 2.0;
        let momentum = (t - 1.0) / t_next;
        let mut change = 0.0;
        for a in 0..k {
            let step = h[a] - previous[a];
            y[a] = h[a] + momentum * step;
            change += step * step;
        }
        t = t_next;
        if change < 1e-24 {
            break;
        }
    }
}

/// Euclidean projection onto `{h ≥ 0, Σh ≤ 1}`.
fn project_onto_capped_simplex(h: &mut [f64]) {
    let positive: f64 = h.iter().map(|x| x.max(0.0)).sum();
    if positive <= 1.0 {
        h.iter_mut().for_each(|x| *x = x.max(0.0));
        return;
    }
    // Onto the simplex Σh = 1 (Duchi et al. 2008): subtract the threshold θ.
    let mut sorted = h.to_vec();
    sorted.sort_by(|a, b| b.total_cmp(a));
    let mut cumulative = 0.0;
    let mut theta = 0.0;
    for (i, &s) in sorted.iter().enumerate() {
        cumulative += s;
        let candidate = (cumulative - 1.0) / (i + 1) as f64;
        if s - candidate > 0.0 {
            theta = candidate;
        }
    }
    h.iter_mut().for_each(|x| *x = (*x - theta).max(0.0));
}
