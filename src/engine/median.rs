//! Running medians over a sorted window.
//!
//! A window of `n` values is kept sorted; sliding it by one value is a
//! `replace(old, new)`: two binary searches and one `copy_within` of the values
//! that lie between `old` and `new`. For the window lengths HPSS uses (tens of
//! frames or bins) that move is a few cache lines, cheaper in practice than a
//! pair of indexed heaps, and it never allocates.
//!
//! Values must not be NaN: the engine sanitises its input, so magnitudes are
//! always finite.

/// Lanes the rank count works in: windows are padded with `+∞` up to a multiple of it.
pub const LANES: usize = 8;

/// Length of a window of `len` values once padded with `+∞` to a multiple of [`LANES`].
pub const fn padded(len: usize) -> usize {
    len.div_ceil(LANES) * LANES
}

/// Replaces one occurrence of `old` in the sorted, `+∞`-padded window with `new`,
/// keeping it sorted.
///
/// `old` must be present (bit-for-bit: it is a value that was inserted before) and
/// finite, as must `new`; the padding is never counted, so it never moves.
/// Ranks are counted rather than binary-searched: on windows of a few dozen values
/// the counts run in SIMD lanes and never mispredict, which a binary search does half
/// the time.
#[inline]
pub fn replace(window: &mut [f32], old: f32, new: f32) {
    debug_assert!(window.len().is_multiple_of(LANES));
    if new > old {
        // Values in (old, new] move one place down, `new` goes after them.
        let (i, j) = ranks(window, old, new, true);
        debug_assert!(window[i] == old, "value to remove is not in the window");
        window.copy_within(i + 1..j, i);
        window[j - 1] = new;
    } else {
        // Values in [new, old) move one place up, `new` goes before them.
        let (i, j) = ranks(window, old, new, false);
        debug_assert!(window[i] == old, "value to remove is not in the window");
        window.copy_within(j..i, j + 1);
        window[j] = new;
    }
}

/// How many values of `window` are `< old`, and how many are `<= new` (when
/// `inclusive`) or `< new`.
#[cfg(target_arch = "x86_64")]
#[inline]
fn ranks(window: &[f32], old: f32, new: f32, inclusive: bool) -> (usize, usize) {
    use std::arch::x86_64::*;
    // SAFETY: SSE2 is part of the x86_64 baseline, so these intrinsics always exist;
    // each load reads exactly the four floats of its chunk, the store the four lanes.
    unsafe {
        // A comparison mask is −1 per lane, so subtracting it counts.
        let (o, n) = (_mm_set1_ps(old), _mm_set1_ps(new));
        let (mut a, mut b) = (_mm_setzero_si128(), _mm_setzero_si128());
        for chunk in window.chunks_exact(4) {
            let v = _mm_loadu_ps(chunk.as_ptr());
            a = _mm_sub_epi32(a, _mm_castps_si128(_mm_cmplt_ps(v, o)));
            let to_new = if inclusive {
                _mm_cmple_ps(v, n)
            } else {
                _mm_cmplt_ps(v, n)
            };
            b = _mm_sub_epi32(b, _mm_castps_si128(to_new));
        }
        let sum = |x: __m128i| {
            let mut lanes = [0i32; 4];
            _mm_storeu_si128(lanes.as_mut_ptr().cast(), x);
            lanes.iter().sum::<i32>() as usize
        };
        (sum(a), sum(b))
    }
}

/// How many values of `window` are `< old`, and how many are `<= new` (when
/// `inclusive`) or `< new`.
#[cfg(not(target_arch = "x86_64"))]
#[inline]
fn ranks(window: &[f32], old: f32, new: f32, inclusive: bool) -> (usize, usize) {
    let (mut a, mut b) = (0u32, 0u32);
    for &v in window {
        a += u32::from(v < old);
        b += u32::from(if inclusive { v <= new } else { v < new });
    }
    (a as usize, b as usize)
}

/// The median of the first `len` (odd) values of a sorted window.
#[inline]
pub fn median_of_sorted(window: &[f32], len: usize) -> f32 {
    window[len / 2]
}

/// Sorts a window in place (values are finite, so the total order is the usual one).
#[inline]
pub fn sort(window: &mut [f32]) {
    window.sort_unstable_by(f32::total_cmp);
}

/// Index of `i` reflected into `0..len` the way `scipy.ndimage`'s `reflect` mode
/// does it (`d c b a | a b c d | d c b a`), so that the medians at the spectrum's
/// edges match the offline reference (librosa uses that mode).
#[inline]
pub fn reflect(i: isize, len: usize) -> usize {
    let len = len as isize;
    let mut i = i;
    // A window is never wider than twice the spectrum, so one fold per side suffices;
    // the loop only guards tiny spectra.
    loop {
        if i < 0 {
            i = -i - 1;
        } else if i >= len {
            i = 2 * len - i - 1;
        } else {
            return i as usize;
        }
    }
}

/// Writes into `out[f]` the median of `values[f - half ..= f + half]` (edges reflected)
/// for every `f`, using `window` (at least `padded(2 * half + 1)` long) as scratch.
pub fn median_filter_reflect(values: &[f32], half: usize, window: &mut [f32], out: &mut [f32]) {
    let len = values.len();
    let width = 2 * half + 1;
    let window = &mut window[..padded(width)];
    for (k, w) in window.iter_mut().enumerate() {
        *w = if k < width {
            values[reflect(k as isize - half as isize, len)]
        } else {
            f32::INFINITY
        };
    }
    sort(window);
    out[0] = median_of_sorted(window, width);
    for f in 1..len {
        let leaving = values[reflect(f as isize - 1 - half as isize, len)];
        let entering = values[reflect((f + half) as isize, len)];
        if leaving.to_bits() != entering.to_bits() {
            replace(window, leaving, entering);
        }
        out[f] = median_of_sorted(window, width);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn naive_median(values: &[f32]) -> f32 {
        let mut v = values.to_vec();
        v.sort_by(f32::total_cmp);
        v[v.len() / 2]
    }

    proptest! {
        #[test]
        fn sliding_window_matches_sorting(
            values in prop::collection::vec(0u8..20, 1..200),
            half in 0usize..8,
        ) {
            // Small integers force many ties, the case binary searches get wrong.
            let values: Vec<f32> = values.into_iter().map(f32::from).collect();
            let width = 2 * half + 1;
            prop_assume!(values.len() >= width);
            let mut window: Vec<f32> = values[..width].to_vec();
            window.resize(padded(width), f32::INFINITY);
            sort(&mut window);
            for start in 0..=values.len() - width {
                if start > 0 {
                    replace(&mut window, values[start - 1], values[start + width - 1]);
                }
                prop_assert_eq!(median_of_sorted(&window, width), naive_median(&values[start..start + width]));
                prop_assert!(window[width..].iter().all(|v| *v == f32::INFINITY));
            }
        }

        #[test]
        fn reflected_filter_matches_naive(values in prop::collection::vec(0u8..50, 1..100), half in 0usize..6) {
            let values: Vec<f32> = values.into_iter().map(f32::from).collect();
            let len = values.len();
            let mut scratch = vec![0.0; padded(2 * half + 1)];
            let mut out = vec![0.0; len];
            median_filter_reflect(&values, half, &mut scratch, &mut out);
            for f in 0..len {
                let w: Vec<f32> = (0..=2 * half)
                    .map(|k| values[reflect(f as isize + k as isize - half as isize, len)])
                    .collect();
                prop_assert_eq!(out[f], naive_median(&w));
            }
        }
    }

    #[test]
    fn reflect_matches_scipy() {
        let idx: Vec<usize> = (-4..8).map(|i| reflect(i, 4)).collect();
        assert_eq!(idx, vec![3, 2, 1, 0, 0, 1, 2, 3, 3, 2, 1, 0]);
    }
}
