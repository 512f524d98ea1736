//! The 2DFT's peak filter along the rate axis (the thesis's `local_std`): how far each
//! local maximum of a row's magnitudes stands above its neighbourhood's mean, in the
//! neighbourhood's standard deviations.

use realfft::num_complex::Complex;

/// [`scores`] of a row of the 2-D spectrum, from its values along the rate axis: their
/// magnitudes go into `padded` with `reach` values of wrap-around on both sides (the
/// rate axis is circular, and plain slices keep the window loops free of modulo).
/// Compiled for AVX where the CPU has it: the same operations on wider registers, so
/// the same scores to the bit.
#[multiversion::multiversion(targets("x86_64+avx"))]
pub(super) fn row_scores(
    row: &[Complex<f32>],
    reach: usize,
    padded: &mut [f32],
    scratch: &mut [f32],
    scores_out: &mut [f32],
    found: &mut [u64],
) {
    let patch = row.len();
    let padded = &mut padded[..patch + 2 * reach];
    for (m, x) in padded[reach..reach + patch].iter_mut().zip(row) {
        *m = (x.re * x.re + x.im * x.im).sqrt();
    }
    padded.copy_within(patch..patch + reach, 0);
    padded.copy_within(reach..2 * reach, reach + patch);
    scores(padded, reach, scratch, &mut scores_out[..patch], found);
}

/// Scratch [`scores`] needs for a row of `patch` positions and a reach of `reach`.
pub(super) fn scratch_len(patch: usize, reach: usize) -> usize {
    2 * (patch + 2 * reach)
}

/// Writes into `scores` (the row's length `patch`) each position's score: for a
/// position that is the largest of the `2 · reach + 1` around it, `(centre − mean) /
/// std` of that window, and 0 elsewhere. `padded` is the row with `reach` values of
/// wrap-around on both sides (the rate axis is circular; plain slices keep the window
/// loops free of modulo). `reach ≥ 1`; `scratch` is [`scratch_len`] long. Bit `p % 64`
/// of `found[p / 64]` is set where the score is above zero, and clear elsewhere, for the
/// caller to visit the few peaks without scanning the row.
#[inline(always)]
pub(super) fn scores(
    padded: &[f32],
    reach: usize,
    scratch: &mut [f32],
    scores: &mut [f32],
    found: &mut [u64],
) {
    let patch = scores.len();
    debug_assert!(found.len() >= patch.div_ceil(64));
    debug_assert!(reach >= 1 && padded.len() >= patch + 2 * reach);
    let span = 2 * reach + 1;
    let width = span as f32;
    let len = patch + 2 * reach;
    let (a, b) = scratch[..2 * len].split_at_mut(len);
    // Which positions are the largest of their window, for the whole row at once: on
    // music a quarter of 2DFT's time went to testing the windows one by one, on
    // branches the CPU could not guess.
    let window_max = sliding_max(&padded[..len], span, a, b);
    scores.fill(0.0);
    for start in (0..patch).step_by(64) {
        let n = (patch - start).min(64);
        let mut scored = 0u64;
        let mut peaks = at_least(
            &padded[start + reach..start + reach + n],
            &window_max[start..start + n],
        );
        while peaks != 0 {
            let p = start + peaks.trailing_zeros() as usize;
            peaks &= peaks - 1;
            let window = &padded[p..p + span];
            let centre = window[reach];
            // The window's mean and spread only where they are read: a running sum
            // updated at every position was a chain of dependent additions.
            let (sum, sum_sq) = window
                .iter()
                .fold((0.0f32, 0.0f32), |(s, q), &m| (s + m, q + m * m));
            let mean = sum / width;
            let std = (sum_sq / width - mean * mean).max(0.0).sqrt();
            if std > 1e-6 * centre {
                let score = (centre - mean) / std;
                scores[p] = score;
                scored |= u64::from(score > 0.0) << (p - start);
            }
        }
        found[start / 64] = scored;
    }
}

/// The largest of each `span` consecutive values of `x`: `max(x[p..p + span])` at `p`,
/// for every `p` where the window fits. By doubling (the maxima over 2, 4, 8 … values,
/// each pass one vectorised sweep), then the two overlapping powers of two that cover
/// `span`: `log₂ span` sweeps instead of `span` comparisons per position. `a` and `b`
/// are `x.len()` long; the result is in one of them.
#[inline(always)]
fn sliding_max<'a>(x: &[f32], span: usize, a: &'a mut [f32], b: &'a mut [f32]) -> &'a [f32] {
    let len = x.len();
    debug_assert!(span >= 1 && span <= len && a.len() == len && b.len() == len);
    let (mut covered, mut next) = (a, b);
    covered.copy_from_slice(x);
    // `covered[p]` is the largest of `x[p..p + k]`.
    let mut k = 1;
    while 2 * k <= span {
        let fits = len + 1 - 2 * k;
        larger_of(&covered[..fits], &covered[k..k + fits], &mut next[..fits]);
        std::mem::swap(&mut covered, &mut next);
        k *= 2;
    }
    let fits = len + 1 - span;
    larger_of(
        &covered[..fits],
        &covered[span - k..span - k + fits],
        &mut next[..fits],
    );
    &next[..fits]
}

/// `out[i] = max(left[i], right[i])`, as one sweep the compiler vectorises (magnitudes
/// hold no NaN, so the plain comparison is the maximum).
#[inline(always)]
fn larger_of(left: &[f32], right: &[f32], out: &mut [f32]) {
    for ((o, &l), &r) in out.iter_mut().zip(left).zip(right) {
        *o = if r > l { r } else { l };
    }
}

/// Bit `k` set where `values[k] ≥ floors[k]`, for the first `values.len() ≤ 64`.
#[inline(always)]
fn at_least(values: &[f32], floors: &[f32]) -> u64 {
    let n = values.len();
    debug_assert!(n <= 64 && floors.len() >= n);
    let mut bits = 0u64;
    let mut k = 0;
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::*;
        // SAFETY: SSE is part of x86-64; every load reads [k..k + 4] with k + 4 ≤ n,
        // within both slices.
        unsafe {
            while k + 4 <= n {
                let (value, floor) = (
                    _mm_loadu_ps(values.as_ptr().add(k)),
                    _mm_loadu_ps(floors.as_ptr().add(k)),
                );
                bits |= (_mm_movemask_ps(_mm_cmple_ps(floor, value)) as u64) << k;
                k += 4;
            }
        }
    }
    for (k, (v, f)) in values.iter().zip(floors).enumerate().skip(k) {
        bits |= u64::from(f <= v) << k;
    }
    bits
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The window-by-window definition, as the filter was first written.
    fn plain_scores(padded: &[f32], reach: usize, patch: usize) -> Vec<f32> {
        let span = 2 * reach + 1;
        (0..patch)
            .map(|p| {
                let window = &padded[p..p + span];
                let centre = window[reach];
                if !window.iter().all(|&m| m <= centre) {
                    return 0.0;
                }
                let (sum, sum_sq) = window
                    .iter()
                    .fold((0.0f32, 0.0f32), |(s, q), &m| (s + m, q + m * m));
                let mean = sum / span as f32;
                let std = (sum_sq / span as f32 - mean * mean).max(0.0).sqrt();
                if std > 1e-6 * centre {
                    (centre - mean) / std
                } else {
                    0.0
                }
            })
            .collect()
    }

    #[test]
    fn scores_are_those_of_the_plain_window_by_window_filter_bit_for_bit() {
        let mut random = crate::rng::XorShift::new(5);
        for (patch, reach) in [
            (5, 1),
            (8, 2),
            (64, 3),
            (65, 6),
            (200, 1),
            (333, 7),
            (864, 6),
            (100, 40),
        ] {
            // Coarse values, so that ties (plateaus) are common.
            let padded: Vec<f32> = (0..patch + 2 * reach)
                .map(|_| (random.uniform() * 6.0).floor())
                .collect();
            let mut scratch = vec![0.0; scratch_len(patch, reach)];
            let mut got = vec![9.0; patch];
            let mut found = vec![!0; patch.div_ceil(64)];
            scores(&padded, reach, &mut scratch, &mut got, &mut found);
            for (p, &score) in got.iter().enumerate() {
                let bit = found[p / 64] >> (p % 64) & 1 == 1;
                assert_eq!(
                    bit,
                    score > 0.0,
                    "patch {patch} reach {reach}: position {p}"
                );
            }
            let expected = plain_scores(&padded, reach, patch);
            let same = got
                .iter()
                .zip(&expected)
                .all(|(a, b)| a.to_bits() == b.to_bits());
            assert!(
                same,
                "patch {patch} reach {reach}: {got:?} against {expected:?}"
            );
        }
    }

    #[test]
    fn sliding_max_is_the_largest_of_each_window() {
        let mut random = crate::rng::XorShift::new(9);
        let x: Vec<f32> = (0..50).map(|_| random.uniform()).collect();
        for span in 1..=50 {
            let (mut a, mut b) = (vec![0.0; 50], vec![0.0; 50]);
            let got = sliding_max(&x, span, &mut a, &mut b).to_vec();
            let expected: Vec<f32> = x
                .windows(span)
                .map(|w| w.iter().copied().fold(f32::MIN, f32::max))
                .collect();
            assert_eq!(got, expected, "span {span}");
        }
    }

    #[test]
    fn a_peak_scores_its_height_in_standard_deviations_and_the_rest_zero() {
        // A circular row: one peak of 5 on ones, with a reach of 2.
        let row = [1.0, 1.0, 5.0, 1.0, 1.0, 1.0];
        let reach = 2;
        let padded: Vec<f32> = (0..row.len() + 2 * reach)
            .map(|i| row[(i + row.len() - reach) % row.len()])
            .collect();
        let mut got = [9.0; 6];
        let mut scratch = vec![0.0; scratch_len(row.len(), reach)];
        let mut found = [0];
        scores(&padded, reach, &mut scratch, &mut got, &mut found);
        assert_eq!(found, [1 << 2]);
        // Window 1, 1, 5, 1, 1: mean 1.8, std 1.6.
        let expected = (5.0 - 1.8) / 1.6;
        assert!((got[2] - expected).abs() < 1e-5, "{got:?}");
        assert!(
            got.iter().enumerate().all(|(p, &s)| p == 2 || s == 0.0),
            "{got:?}"
        );
    }
}
