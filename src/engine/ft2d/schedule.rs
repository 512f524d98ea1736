//! The shape of 2DFT's patch and how its work is spread over the hops: a patch of a
//! fast FFT length, transformed every `every` hops, its rows analysed and resynthesised
//! a share per hop.

use super::{MAX_PATCH_SECONDS, UPDATE_SECONDS};
use crate::engine::geometry::frames_of;
use crate::engine::settings::Ft2dSettings;

/// What analysing a row of the patch (gathering it, its transform along time, the peak
/// filter) costs against resynthesising one (the weights and the inverse transform):
/// about 3 to 1 in `perf` at the defaults (57 % and 18 % of 2DFT's time).
pub(super) const ANALYSIS_COST: usize = 3;

/// The tasks `Ft2d::step` does at `step` of `every`: rows `0..rows` analysed, then
/// `rows..2 · rows` resynthesised, cut where the work (`ANALYSIS_COST` per analysis, 1
/// per resynthesis) crosses a multiple of `1 / every` of the whole.
pub(super) fn tasks_of_step(step: usize, rows: usize, every: usize) -> std::ops::Range<usize> {
    let work = (ANALYSIS_COST + 1) * rows;
    // The first task whose work starts at or after `x`.
    let first_task = |x: usize| {
        if x <= ANALYSIS_COST * rows {
            x.div_ceil(ANALYSIS_COST)
        } else {
            rows + x - ANALYSIS_COST * rows
        }
    };
    first_task((step * work).div_ceil(every))..first_task(((step + 1) * work).div_ceil(every))
}

/// The smallest length of at least `n` whose only prime factors are 2, 3, 5 and 7
/// (rustfft has butterflies for each): the FFT along the patch is fast for it.
fn fast_length(n: usize) -> usize {
    (n.max(1)..)
        .find(|&m| {
            let mut m = m;
            for p in [2, 3, 5, 7] {
                while m % p == 0 {
                    m /= p;
                }
            }
            m == 1
        })
        .expect("7-smooth numbers are unbounded")
}

/// Frames in the patch (a fast FFT length) and hops between patch transforms.
pub(super) fn geometry_of(settings: &Ft2dSettings, sample_rate: f32, hop: usize) -> (usize, usize) {
    let every = frames_of(UPDATE_SECONDS, sample_rate, hop).max(1);
    let frames = frames_of(settings.patch_s.min(MAX_PATCH_SECONDS), sample_rate, hop);
    (fast_length(frames.max(2 * every)), every)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_steps_do_every_task_once_with_even_work() {
        for (rows, every) in [(513, 43), (129, 43), (2049, 11), (5, 43), (3, 2)] {
            let mut next = 0;
            let mut most = 0;
            for step in 0..every {
                let tasks = tasks_of_step(step, rows, every);
                assert_eq!(tasks.start, next, "rows {rows}, every {every}, step {step}");
                next = tasks.end;
                let work: usize = tasks
                    .map(|t| if t < rows { ANALYSIS_COST } else { 1 })
                    .sum();
                most = most.max(work);
            }
            assert_eq!(next, 2 * rows);
            let even = ((ANALYSIS_COST + 1) * rows).div_ceil(every);
            assert!(most <= even + ANALYSIS_COST, "{most} against {even}");
        }
    }

    #[test]
    fn patches_round_up_to_fast_lengths() {
        assert_eq!(fast_length(861), 864);
        assert_eq!(fast_length(1034), 1050);
        assert_eq!(fast_length(1), 1);
        for n in 1..5000 {
            let m = fast_length(n);
            assert!(m >= n && m as f64 <= n as f64 * 1.07 + 2.0, "{n} → {m}");
        }
    }
}
