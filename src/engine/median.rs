//! Running medians, eight at a time.
//!
//! HPSS needs one sliding median per bin across time and one sliding median across
//! frequency per frame: thousands of window updates per hop. A scalar sorted window
//! pays for a binary search, an unpredictable branch and a `memmove` on every update.
//! Here [`LANES`] independent windows are kept sorted side by side (position `k` of
//! every lane in one `[f32; LANES]`) and updated by [`slide`], a branch-free merge that
//! touches every position with the same four vector instructions. That is `O(width)`
//! instead of `O(log width)` comparisons, but for the widths HPSS uses (tens of frames
//! or bins) it is several times faster, and its cost does not depend on the data.
//!
//! Values must not be NaN: the engine sanitises its input, so magnitudes are always
//! finite. `+∞` marks empty positions.

/// Windows updated together (two SSE registers of `f32`, one AVX register).
pub const LANES: usize = 8;

/// One position of [`LANES`] sorted windows.
pub type Lanes = [f32; LANES];

/// Replaces, in each lane `l` of the sorted windows `window[..width]`, one occurrence of
/// `old[l]` with `new[l]`, keeping every lane sorted.
///
/// `window` must be at least `width + 1` long, its position `width` a `+∞` sentinel.
/// `old[l]` must be present bit for bit in lane `l` (it is a value inserted before), or
/// `+∞` to fill an empty position. Equal `old` and `new` leave the lane as it was.
///
/// With `t` the window without `old` (`t[k] = s[k]` below `old`'s place, `s[k + 1]` from
/// it on) the result is `u[k] = max(t[k − 1], min(t[k], new))`: `new` lands between its
/// neighbours and everything else shifts by at most one place. Each step reads one
/// position ahead and writes the current one, so it runs in place.
#[inline(always)]
pub fn slide(window: &mut [Lanes], width: usize, old: &Lanes, new: &Lanes) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx") {
        // SAFETY: the CPU has AVX.
        unsafe { slide_avx(window, width, old, new) }
    } else {
        slide_sse2(window, width, old, new);
    }
    #[cfg(not(target_arch = "x86_64"))]
    slide_portable(window, width, old, new);
}

/// [`slide`] in plain Rust, for targets without a hand-written version.
#[inline(always)]
pub fn slide_portable(window: &mut [Lanes], width: usize, old: &Lanes, new: &Lanes) {
    debug_assert!(window.len() > width && window[width] == [f32::INFINITY; LANES]);
    let mut before = [f32::NEG_INFINITY; LANES];
    let mut current = window[0];
    for k in 0..width {
        let next = window[k + 1];
        let mut merged = [0.0; LANES];
        for l in 0..LANES {
            // Written as comparisons, not `f32::min`/`max`, so that each is one
            // `minps`/`maxps`: no NaN can be here, and NaN handling costs instructions.
            let without = if current[l] < old[l] {
                current[l]
            } else {
                next[l]
            };
            let low = if without < new[l] { without } else { new[l] };
            merged[l] = if before[l] > low { before[l] } else { low };
            before[l] = without;
        }
        window[k] = merged;
        current = next;
    }
}

/// [`slide`] in SSE2 (the x86-64 baseline): two halves of four lanes, the blend done
/// with masks since SSE2 has no `blendv`. (Compilers turn [`slide_portable`] into
/// shuffles.) [`slide_avx`] takes its place where the CPU has AVX: HPSS at its defaults
/// 21.2 → 18.5 ms per 10 s, Stems 113–119 → 107–111.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn slide_sse2(window: &mut [Lanes], width: usize, old: &Lanes, new: &Lanes) {
    use std::arch::x86_64::*;
    assert!(window.len() > width);
    let p = window.as_mut_ptr().cast::<f32>();
    // SAFETY: SSE2 is part of x86-64; positions 0..=width exist (asserted), each is
    // LANES floats, and every access below is within one of them.
    unsafe {
        for half in [0, 4] {
            let (old, new) = (
                _mm_loadu_ps(old.as_ptr().add(half)),
                _mm_loadu_ps(new.as_ptr().add(half)),
            );
            let mut before = _mm_set1_ps(f32::NEG_INFINITY);
            let mut current = _mm_loadu_ps(p.add(half));
            for k in 0..width {
                let next = _mm_loadu_ps(p.add((k + 1) * LANES + half));
                let below = _mm_cmplt_ps(current, old);
                let without = _mm_or_ps(_mm_and_ps(below, current), _mm_andnot_ps(below, next));
                let low = _mm_min_ps(without, new);
                _mm_storeu_ps(p.add(k * LANES + half), _mm_max_ps(before, low));
                before = without;
                current = next;
            }
        }
    }
}

/// [`slide`] with the eight lanes in one AVX register: the same comparisons, minima and
/// maxima as [`slide_sse2`], so the same windows.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
fn slide_avx(window: &mut [Lanes], width: usize, old: &Lanes, new: &Lanes) {
    use std::arch::x86_64::*;
    assert!(window.len() > width);
    let p = window.as_mut_ptr().cast::<f32>();
    // SAFETY: positions 0..=width exist (asserted), each is LANES = 8 floats, one
    // unaligned 256-bit access.
    unsafe {
        let (old, new) = (_mm256_loadu_ps(old.as_ptr()), _mm256_loadu_ps(new.as_ptr()));
        let mut before = _mm256_set1_ps(f32::NEG_INFINITY);
        let mut current = _mm256_loadu_ps(p);
        for k in 0..width {
            let next = _mm256_loadu_ps(p.add((k + 1) * LANES));
            let below = _mm256_cmp_ps::<_CMP_LT_OQ>(current, old);
            let without = _mm256_blendv_ps(next, current, below);
            let low = _mm256_min_ps(without, new);
            _mm256_storeu_ps(p.add(k * LANES), _mm256_max_ps(before, low));
            before = without;
            current = next;
        }
    }
}

/// Inserts `new[l]` into each lane's sorted window `window[..width]` and drops the lane's
/// largest value: after `K ≥ width` calls on an all-`+∞` window, it holds the `width`
/// smallest of the `K` values, sorted. `u[k] = max(s[k − 1], min(s[k], new))`.
#[inline(always)]
pub fn insert_dropping_largest(window: &mut [Lanes], width: usize, new: &Lanes) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::*;
        assert!(window.len() >= width);
        let p = window.as_mut_ptr().cast::<f32>();
        // SAFETY: SSE2 is part of x86-64; positions 0..width exist (asserted) and each
        // access is within one of them.
        unsafe {
            for half in [0, 4] {
                let new = _mm_loadu_ps(new.as_ptr().add(half));
                let mut before = _mm_set1_ps(f32::NEG_INFINITY);
                for k in 0..width {
                    let current = _mm_loadu_ps(p.add(k * LANES + half));
                    let low = _mm_min_ps(current, new);
                    _mm_storeu_ps(p.add(k * LANES + half), _mm_max_ps(before, low));
                    before = current;
                }
            }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let mut before = [f32::NEG_INFINITY; LANES];
        for position in &mut window[..width] {
            let current = *position;
            for l in 0..LANES {
                let low = if current[l] < new[l] {
                    current[l]
                } else {
                    new[l]
                };
                position[l] = if before[l] > low { before[l] } else { low };
            }
            before = current;
        }
    }
}

/// Groups of [`LANES`] bins whose windows [`lower_median_rows`] keeps side by side: their
/// windows stay in L1 and each row is read in runs of whole cache lines.
const MEDIAN_BLOCK: usize = 16;

/// Scratch [`lower_median_rows`] needs for up to `max_rows` rows.
pub fn median_scratch(max_rows: usize) -> usize {
    MEDIAN_BLOCK * max_rows.div_ceil(2).max(1)
}

/// The lower median (rank `(K − 1) / 2`) of the `K = rows.len()` rows, lane by lane and
/// group by group, into `out` (as long as each row), using `window` (at least
/// [`median_scratch`]`(K)` long) as scratch. The lower median of an even count leans to
/// the smaller value: for a repeating model that is the safer guess, since whatever
/// does not repeat only adds energy.
///
/// The rows are frames scattered over a buffer of megabytes. Read a group at a time
/// across twenty rows, each group is a cache miss the prefetcher cannot foresee (the
/// median was two fifths of REPET-SIM's time, a fifth of that waiting on those loads);
/// so [`MEDIAN_BLOCK`] groups are done together, each row read through once for them.
///
/// Where the CPU has AVX, a group's eight lanes are one register instead of two (the
/// same minima and maxima, so the same result to the bit).
#[multiversion::multiversion(targets("x86_64+avx"))]
pub fn lower_median_rows(rows: &[&[Lanes]], window: &mut [Lanes], out: &mut [Lanes]) {
    let rank = (rows.len().max(1) - 1) / 2;
    let depth = rank + 1;
    for (start, out) in (0..out.len())
        .step_by(MEDIAN_BLOCK)
        .zip(out.chunks_mut(MEDIAN_BLOCK))
    {
        let windows = &mut window[..out.len() * depth];
        windows.fill([f32::INFINITY; LANES]);
        // While a window fills, the positions past the rows inserted so far hold `+∞`
        // and would stay so: only the filled ones and the next one are merged.
        for (i, row) in rows.iter().enumerate() {
            let width = (i + 1).min(depth);
            let row = &row[start..start + out.len()];
            for (w, new) in windows.chunks_exact_mut(depth).zip(row) {
                multiversion::target::match_target! {
                    "x86_64+avx" => {
                        // SAFETY: this version runs only where the CPU has AVX.
                        #[allow(unused_unsafe)]
                        unsafe { insert_dropping_largest_avx(w, width, new) }
                    }
                    _ => insert_dropping_largest(w, width, new),
                }
            }
        }
        for (o, w) in out.iter_mut().zip(windows.chunks_exact(depth)) {
            *o = w[rank];
        }
    }
}

/// [`insert_dropping_largest`] with the eight lanes in one AVX register.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
#[inline]
fn insert_dropping_largest_avx(window: &mut [Lanes], width: usize, new: &Lanes) {
    use std::arch::x86_64::*;
    assert!(window.len() >= width);
    let p = window.as_mut_ptr().cast::<f32>();
    // SAFETY: positions 0..width exist (asserted), each is LANES = 8 floats, one
    // unaligned 256-bit access.
    unsafe {
        let new = _mm256_loadu_ps(new.as_ptr());
        let mut before = _mm256_set1_ps(f32::NEG_INFINITY);
        for k in 0..width {
            let current = _mm256_loadu_ps(p.add(k * LANES));
            let low = _mm256_min_ps(current, new);
            _mm256_storeu_ps(p.add(k * LANES), _mm256_max_ps(before, low));
            before = current;
        }
    }
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

/// Scratch for [`MedianFilter::run`], sized once for the longest input and widest window.
pub struct MedianFilter {
    /// The input with its reflected edges, then zeros up to a whole number of lanes.
    extended: Vec<f32>,
    /// `extended` cut into [`LANES`] consecutive segments, read side by side.
    columns: Vec<Lanes>,
    /// The medians, in the same layout.
    medians: Vec<Lanes>,
    window: Vec<Lanes>,
}

impl MedianFilter {
    /// Room for inputs up to `max_len` values and windows up to `max_width` (odd).
    pub fn new(max_len: usize, max_width: usize) -> Self {
        let segment = max_len.div_ceil(LANES);
        let steps = segment + max_width - 1;
        Self {
            extended: vec![0.0; LANES * segment + max_width],
            columns: vec![[0.0; LANES]; steps],
            medians: vec![[0.0; LANES]; segment],
            window: vec![[f32::INFINITY; LANES]; max_width + 1],
        }
    }

    /// Writes into `out[f]` the median of `values[f − half ..= f + half]`, edges reflected
    /// as `scipy.ndimage.median_filter(mode="reflect")`, for every `f`.
    ///
    /// The input is cut into [`LANES`] segments filtered side by side, each window
    /// starting empty (`+∞`) and filling as it slides in from the segment's left edge.
    #[inline(always)]
    pub fn run(&mut self, values: &[f32], half: usize, out: &mut [f32]) {
        let len = values.len();
        let width = 2 * half + 1;
        let segment = len.div_ceil(LANES);
        let steps = segment + width - 1;
        debug_assert!(steps <= self.columns.len() && width < self.window.len());
        let reach = len + 2 * half;
        for (i, e) in self.extended[..LANES * segment + width - 1]
            .iter_mut()
            .enumerate()
        {
            *e = if i < reach {
                values[reflect(i as isize - half as isize, len)]
            } else {
                0.0
            };
        }
        for (j, column) in self.columns[..steps].iter_mut().enumerate() {
            for (l, c) in column.iter_mut().enumerate() {
                *c = self.extended[l * segment + j];
            }
        }
        let window = &mut self.window[..=width];
        window.fill([f32::INFINITY; LANES]);
        for j in 0..steps {
            let old = if j >= width {
                self.columns[j - width]
            } else {
                [f32::INFINITY; LANES]
            };
            slide(window, width, &old, &self.columns[j]);
            if j + 1 >= width {
                self.medians[j + 1 - width] = window[half];
            }
        }
        for (f, o) in out[..len].iter_mut().enumerate() {
            *o = self.medians[f % segment][f / segment];
        }
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
        fn sliding_lanes_match_sorting(
            values in prop::collection::vec(prop::array::uniform8(0u8..20), 1..120),
            half in 0usize..8,
        ) {
            // Small integers force many ties, the case naive merges get wrong.
            let values: Vec<Lanes> = values.into_iter().map(|v| v.map(f32::from)).collect();
            let width = 2 * half + 1;
            prop_assume!(values.len() >= width);
            let mut window = vec![[f32::INFINITY; LANES]; width + 1];
            let mut portable = window.clone();
            for v in &values[..width] {
                slide(&mut window, width, &[f32::INFINITY; LANES], v);
                slide_portable(&mut portable, width, &[f32::INFINITY; LANES], v);
            }
            for start in 0..=values.len() - width {
                if start > 0 {
                    slide(&mut window, width, &values[start - 1], &values[start + width - 1]);
                    slide_portable(&mut portable, width, &values[start - 1], &values[start + width - 1]);
                }
                prop_assert_eq!(&window, &portable);
                for l in 0..LANES {
                    let lane: Vec<f32> = values[start..start + width].iter().map(|v| v[l]).collect();
                    let mut sorted = lane.clone();
                    sorted.sort_by(f32::total_cmp);
                    let got: Vec<f32> = window[..width].iter().map(|w| w[l]).collect();
                    prop_assert_eq!(got, sorted);
                }
                prop_assert_eq!(window[width], [f32::INFINITY; LANES]);
            }
        }

        #[test]
        fn reflected_filter_matches_naive(values in prop::collection::vec(0u8..50, 1..300), half in 0usize..12) {
            let values: Vec<f32> = values.into_iter().map(f32::from).collect();
            let len = values.len();
            let mut filter = MedianFilter::new(len, 2 * half + 1);
            let mut out = vec![0.0; len];
            filter.run(&values, half, &mut out);
            for f in 0..len {
                let w: Vec<f32> = (0..=2 * half)
                    .map(|k| values[reflect(f as isize + k as isize - half as isize, len)])
                    .collect();
                prop_assert_eq!(out[f], naive_median(&w));
            }
        }
    }

    proptest! {
        #[test]
        fn lower_median_matches_sorting(
            rows in prop::collection::vec(prop::array::uniform8(0u8..30), 1..40),
            groups in 1usize..40,
        ) {
            // Row r's group g holds the values of rows r + g (mod K): every group a
            // different mix, each the same multiset.
            let k = rows.len();
            let frames: Vec<Vec<Lanes>> = (0..k)
                .map(|r| (0..groups).map(|g| rows[(r + g) % k].map(f32::from)).collect())
                .collect();
            let refs: Vec<&[Lanes]> = frames.iter().map(|f| f.as_slice()).collect();
            let mut window = vec![[0.0; LANES]; median_scratch(k)];
            let mut got = vec![[0.0; LANES]; groups];
            lower_median_rows(&refs, &mut window, &mut got);
            for l in 0..LANES {
                let mut lane: Vec<f32> = rows.iter().map(|r| f32::from(r[l])).collect();
                lane.sort_by(f32::total_cmp);
                for g in &got {
                    prop_assert_eq!(g[l], lane[(k - 1) / 2]);
                }
            }
        }

        /// The AVX slide (the one `slide` takes where the CPU has AVX) keeps the same
        /// windows as the SSE2 one, which the tests above then cover only on machines
        /// without AVX.
        #[test]
        fn avx_slide_matches_sse2(
            values in prop::collection::vec(prop::array::uniform8(0u8..20), 1..80),
            half in 0usize..8,
        ) {
            #[cfg(target_arch = "x86_64")]
            if std::arch::is_x86_feature_detected!("avx") {
                let width = 2 * half + 1;
                let mut sse2 = vec![[f32::INFINITY; LANES]; width + 1];
                let mut avx = sse2.clone();
                let values: Vec<Lanes> = values.into_iter().map(|v| v.map(f32::from)).collect();
                for (j, new) in values.iter().enumerate() {
                    let old = if j >= width { values[j - width] } else { [f32::INFINITY; LANES] };
                    slide_sse2(&mut sse2, width, &old, new);
                    // SAFETY: the CPU has AVX.
                    unsafe { slide_avx(&mut avx, width, &old, new) };
                    prop_assert_eq!(&sse2, &avx);
                }
            }
        }

        /// The AVX insertion (the one `lower_median_rows` takes where the CPU has AVX)
        /// keeps the same windows as the SSE2 one, which the test above then covers
        /// only on machines without AVX.
        #[test]
        fn avx_insertion_matches_sse2(
            values in prop::collection::vec(prop::array::uniform8(0u8..30), 1..40),
            depth in 1usize..12,
        ) {
            #[cfg(target_arch = "x86_64")]
            if std::arch::is_x86_feature_detected!("avx") {
                let (mut sse2, mut avx) = (
                    vec![[f32::INFINITY; LANES]; depth],
                    vec![[f32::INFINITY; LANES]; depth],
                );
                for (i, v) in values.iter().enumerate() {
                    let width = (i + 1).min(depth);
                    insert_dropping_largest(&mut sse2, width, &v.map(f32::from));
                    // SAFETY: the CPU has AVX.
                    unsafe { insert_dropping_largest_avx(&mut avx, width, &v.map(f32::from)) };
                    prop_assert_eq!(&sse2, &avx);
                }
            }
        }
    }

    #[test]
    fn reflect_matches_scipy() {
        let idx: Vec<usize> = (-4..8).map(|i| reflect(i, 4)).collect();
        assert_eq!(idx, vec![3, 2, 1, 0, 0, 1, 2, 3, 3, 2, 1, 0]);
    }
}
