//! The 2DFT's peak filter along the rate axis (the thesis's `local_std`): how far each
//! local maximum of a row's magnitudes stands above its neighbourhood's mean, in the
//! neighbourhood's standard deviations.

/// Writes into `scores` (the row's length `patch`) each position's score: for a
/// position that is the largest of the `2 · reach + 1` around it, `(centre − mean) /
/// std` of that window, and 0 elsewhere. `padded` is the row with `reach` values of
/// wrap-around on both sides (the rate axis is circular; plain slices keep the window
/// loops free of modulo). `reach ≥ 1`.
pub(super) fn scores(padded: &[f32], reach: usize, scores: &mut [f32]) {
    let patch = scores.len();
    debug_assert!(reach >= 1 && padded.len() >= patch + 2 * reach);
    let span = 2 * reach + 1;
    let width = span as f32;
    scores.fill(0.0);
    // Most positions lose to a next-door neighbour. That test, taken position by
    // position, was a branch the CPU guessed wrong half the time: it is made for 64
    // positions at once into a bit set, without branches, and only the positions
    // that pass are looked at further.
    for start in (0..patch).step_by(64) {
        let n = (patch - start).min(64);
        let mut candidates = next_door_peaks(&padded[start + reach - 1..start + reach + n + 1]);
        while candidates != 0 {
            let p = start + candidates.trailing_zeros() as usize;
            candidates &= candidates - 1;
            let window = &padded[p..p + span];
            let centre = window[reach];
            if !window.iter().all(|&m| m <= centre) {
                continue;
            }
            // The window's mean and spread only where they are read: a running sum
            // updated at every position was a chain of dependent additions.
            let (sum, sum_sq) = window
                .iter()
                .fold((0.0f32, 0.0f32), |(s, q), &m| (s + m, q + m * m));
            let mean = sum / width;
            let std = (sum_sq / width - mean * mean).max(0.0).sqrt();
            if std > 1e-6 * centre {
                scores[p] = (centre - mean) / std;
            }
        }
    }
}

/// Bit `k` set where `values[k + 1]` is at least both its neighbours, for the first
/// `values.len() − 2 ≤ 64` positions.
#[inline]
fn next_door_peaks(values: &[f32]) -> u64 {
    let n = values.len() - 2;
    debug_assert!(n <= 64);
    let mut bits = 0u64;
    let mut k = 0;
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::*;
        // SAFETY: SSE is part of x86-64; every load reads values[k..k + 6] with
        // k + 4 ≤ n, within the slice.
        unsafe {
            let p = values.as_ptr();
            while k + 4 <= n {
                let (left, centre, right) = (
                    _mm_loadu_ps(p.add(k)),
                    _mm_loadu_ps(p.add(k + 1)),
                    _mm_loadu_ps(p.add(k + 2)),
                );
                let peak = _mm_and_ps(_mm_cmple_ps(left, centre), _mm_cmple_ps(right, centre));
                bits |= (_mm_movemask_ps(peak) as u64) << k;
                k += 4;
            }
        }
    }
    for (k, w) in values.windows(3).enumerate().skip(k) {
        bits |= (((w[0] <= w[1]) & (w[2] <= w[1])) as u64) << k;
    }
    bits
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_door_peaks_match_a_plain_comparison() {
        let mut random = crate::rng::XorShift::new(5);
        for n in [1, 3, 4, 5, 63, 64] {
            let values: Vec<f32> = (0..n + 2)
                .map(|_| (random.uniform() * 4.0).floor())
                .collect();
            let expected = (0..n).fold(0u64, |bits, k| {
                let peak = values[k] <= values[k + 1] && values[k + 2] <= values[k + 1];
                bits | (u64::from(peak) << k)
            });
            assert_eq!(next_door_peaks(&values), expected, "{n}: {values:?}");
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
        scores(&padded, reach, &mut got);
        // Window 1, 1, 5, 1, 1: mean 1.8, std 1.6.
        let expected = (5.0 - 1.8) / 1.6;
        assert!((got[2] - expected).abs() < 1e-5, "{got:?}");
        assert!(
            got.iter().enumerate().all(|(p, &s)| p == 2 || s == 0.0),
            "{got:?}"
        );
    }
}
