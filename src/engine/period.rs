//! The repeating period: proposed by the beat spectrum's peaks, chosen by how well the
//! whole spectrogram repeats, and held steady.
//!
//! Music that repeats every `p` also repeats every `2p`, `3p`, …, and its parts often
//! repeat sooner: drums every bar, chords every two, the bass every four. The beat
//! spectrum's highest peak is then a part's period, or a multiple, depending on which
//! part is loudest and on what the lead happens to do. So the highest peak only
//! proposes *pulses* (itself and the clear peaks it is a whole multiple of); the
//! candidates are the pulses' multiples, and the period is the shortest candidate at
//! which the whole spectrogram repeats about as well as at the best of them
//! ([`Repetition::error`], all judged on the same newest frames). The period held gets
//! more allowance than the others, so that two candidates near the tie do not take
//! turns. Until the candidates can be judged (about 3 s into the stream) the highest
//! peak stands in, so that the lead is not silent for the first seconds.
//!
//! Tested in `tests/repet.rs`: parts repeating at one, two and four bars (whole and
//! fractional bars in hops), periods whole and fractional in hops, changes of loop dry
//! and in a hall, music after silence.

use super::beat_spectrum::BeatSpectrum;
use super::repetition::Repetition;

/// A shorter candidate is the period when its non-repeating share is at most this
/// much larger (relatively) than the least of all candidates: a lead over the loop
/// makes every lag fail a little, and chance must not double the period.
const TIE: f32 = 0.1;
/// And this much absolutely (of the whole spectrogram's share): on a strict loop with
/// a lead the candidates spread by about a third of a few per cent, where a part that
/// fails to repeat costs several per cent.
const SLACK: f32 = 0.03;
/// The period held is judged with this much more allowance than the others, so that
/// two candidates near the tie do not take turns.
const HOLD: f32 = 0.05;
/// How far from a whole multiple (relative to the shorter lag) a peak may lie to count as one.
const MULTIPLE: f32 = 0.03;
/// The tracked peak may drift by this share of its lag between updates (tempo drift).
const DRIFT: f32 = 0.03;
/// A divisor of the best peak is a pulse when its peak stands at least this share of
/// the best one's height above the spectrum's mean.
const PULSE: f32 = 0.5;
/// Shortest window the candidates are judged over.
const MIN_WINDOW_SECONDS: f64 = 3.0;
/// Beat frames between verdicts (93 ms), and candidates judged per beat frame: one, as
/// a candidate's error over seconds of frames is the costliest step of a frame's work
/// (three at once made every eighth frame of REPET-SIM and Stems twice as slow as the
/// others, and those frames their slowest `process` calls).
const JUDGE_EVERY: usize = 8;
const PER_UPDATE: usize = 1;
/// Most divisors of the best peak tried as pulses, and most candidates judged.
const MAX_DIVISOR: usize = 8;
const MAX_CANDIDATES: usize = 24;
/// Peaks whose refinement a proposal remembers.
const MAX_REFINED: usize = 64;

/// Picks the repeating period and holds it steady.
#[derive(Clone, Debug, Default)]
pub struct PeriodTracker {
    /// The period in beat frames (fractional), once one is found.
    lag: Option<f32>,
    /// Whether it was chosen by how the whole mix repeats (not the early stand-in).
    judged: bool,
    /// Updates since the last verdict.
    since: usize,
    /// The verdict under way, if any.
    trial: Option<Trial>,
}

/// A verdict spread over updates: the candidates proposed in one, [`PER_UPDATE`] of them
/// judged in each of the next (all on the frames fixed when they were proposed), the
/// choice made in the last, so that no single `process` call carries it all.
#[derive(Clone, Copy, Debug)]
struct Trial {
    /// `(lag, error)`, the first `count`; `judged` of them have their error.
    candidates: [(f32, f32); MAX_CANDIDATES],
    count: usize,
    judged: usize,
    /// The beat frames every candidate is judged on.
    frames: (usize, usize),
    /// The period held when the trial began.
    held: Option<f32>,
}

impl PeriodTracker {
    pub fn lag(&self) -> Option<f32> {
        self.lag
    }

    pub fn reset(&mut self) {
        *self = Self::default();
    }

    /// Updates the period from `beat`'s spectrum and `repetition`'s errors, searching
    /// lags `min_lag ..= max_lag` (beat frames).
    pub fn update(
        &mut self,
        beat: &BeatSpectrum,
        repetition: &Repetition,
        min_lag: usize,
        max_lag: usize,
    ) {
        // A period needs no new verdict every 11.6 ms: the beat spectrum itself takes
        // seconds to see a new one.
        self.since += 1;
        if let Some(mut trial) = self.trial.take() {
            let (from, to) = trial.frames;
            for c in trial.judged..(trial.judged + PER_UPDATE).min(trial.count) {
                trial.candidates[c].1 = repetition
                    .error(trial.candidates[c].0, from, to)
                    .unwrap_or(f32::NAN);
            }
            trial.judged = (trial.judged + PER_UPDATE).min(trial.count);
            if trial.judged < trial.count {
                self.trial = Some(trial);
            } else {
                self.decide(trial);
            }
            return;
        }
        if self.judged && self.since < JUDGE_EVERY {
            return;
        }
        self.since = 0;
        self.propose(beat, repetition, min_lag, max_lag);
    }

    /// Starts a verdict: the candidates and the frames they are judged on; or, while
    /// none can be judged yet, the highest peak stands in.
    fn propose(
        &mut self,
        beat: &BeatSpectrum,
        repetition: &Repetition,
        min_lag: usize,
        max_lag: usize,
    ) {
        let spectrum = beat.spectrum();
        let last = max_lag.min(spectrum.len() - 2);
        let first = min_lag.max(2);
        if first > last {
            return;
        }
        let range = &spectrum[first..=last];
        let mean = range.iter().sum::<f32>() / range.len() as f32;
        let Some(best) = (first..=last)
            .filter_map(|lag| peak_at(spectrum, lag))
            .max_by(|a, b| a.1.total_cmp(&b.1))
        else {
            return;
        };
        if best.1 - mean <= 1e-4 {
            // Flat: silence, noise or a drone. Keep what we had.
            return;
        }
        // Pulses: the clear peaks the best one is a whole multiple of (hi-hats put small
        // peaks at every eighth note: those are no pulse), and the best itself.
        let clear = mean + PULSE * (best.1 - mean);
        let heard = (last as f32).min(beat.longest_heard() as f32) + 0.5;
        let mut pulses = [0.0f32; MAX_DIVISOR];
        let mut count = 0;
        for k in 1..=MAX_DIVISOR {
            let d = best.0 / k as f32;
            if d < first as f32 - 0.5 {
                break;
            }
            if k == 1 || peak_near(spectrum, d, last).is_some_and(|p| p.1 >= clear) {
                pulses[count] = d;
                count += 1;
            }
        }
        let pulses = &pulses[..count];
        let shortest = pulses.iter().copied().fold(best.0, f32::min);
        // A best peak unrelated to the period held is a new groove: judged on two of its
        // pulses, it takes over as soon as the beat spectrum sees it. Between multiples
        // of one groove, three pulses keep a lead's notes from tipping the choice.
        let held = self
            .lag
            .filter(|&t| self.judged && t <= heard && t >= first as f32 - 0.5);
        let new_groove = held.is_some_and(|t| !is_multiple(best.0, t) && !is_multiple(t, best.0));
        let window = window(beat, shortest, if new_groove { 2.0 } else { 3.0 });
        let Some(newest) = repetition.newest() else {
            return;
        };
        let start = (newest + 1).saturating_sub(window);
        // The pulses' multiples that have been heard (at least half the window with a
        // repetition), each at its own peak (a lead blurs the pulse's, and `m` times its
        // error would walk the period away) refined through its multiples (judged a
        // frame off, a period repeats worse than its multiples), and the period held.
        let mut candidates = [(0.0f32, 0.0f32); MAX_CANDIDATES];
        let mut count = 0;
        let multiples = pulses.iter().flat_map(|&d| {
            (1..)
                .map(move |m| m as f32 * d)
                .take_while(move |&guess| guess <= heard)
        });
        // Refining is the costly part of a proposal (a comb searched over 301 steps), and
        // the pulses' multiples meet the same peaks again and again (a bar's multiples are
        // its beat's too): each peak is refined once.
        let mut refined = [(0.0f32, 0.0f32); MAX_REFINED];
        let mut known_peaks = 0;
        let mut refine_once = |lag: f32| {
            if let Some(&(_, r)) = refined[..known_peaks].iter().find(|p| p.0 == lag) {
                return r;
            }
            let r = refine(spectrum, lag, last);
            if known_peaks < MAX_REFINED {
                refined[known_peaks] = (lag, r);
                known_peaks += 1;
            }
            r
        };
        // The period held follows its comb (tempo drift, a finer estimate as more
        // multiples are heard) but is not re-anchored to a peak: a lead can make a
        // neighbouring bump the higher.
        let followed = held.and_then(|t| peak_near(spectrum, t, last).map(|_| t));
        let anchors = followed
            .into_iter()
            .chain(multiples.map(|guess| peak_near(spectrum, guess, last).map_or(guess, |p| p.0)));
        for anchor in anchors {
            if count == MAX_CANDIDATES {
                break;
            }
            let lag = refine_once(anchor);
            let known = candidates[..count].iter().any(|c| (c.0 - lag).abs() < 1.0);
            let heard_enough = repetition.first_with(lag).max(start) + window / 2 <= newest + 1;
            if !known && heard_enough {
                candidates[count] = (lag, 0.0);
                count += 1;
            }
        }
        if count == 0 {
            // Too early to judge how the whole mix repeats: the beat spectrum's best
            // peak, until then (a lead silent for the first seconds costs more than a
            // period that is a part's).
            self.lag = Some(refine(spectrum, best.0, last));
            self.judged = false;
            return;
        }
        // All candidates are judged on the same newest frames: on frames of their own, a
        // stretch of dense lead would favour whichever lag's frames missed it.
        let longest = candidates[..count].iter().map(|c| c.0).fold(0.0, f32::max);
        let from = repetition.first_with(longest).max(start);
        self.trial = Some(Trial {
            candidates,
            count,
            judged: 0,
            frames: (from, newest),
            held,
        });
    }

    /// Ends a verdict: the shortest candidate that repeats about as well as the best of
    /// them; the one held with more allowance, so that two near the tie do not take
    /// turns.
    fn decide(&mut self, mut trial: Trial) {
        // A candidate that could not be judged has a NaN error: never eligible, and last
        // in `total_cmp`'s order.
        let candidates = &mut trial.candidates[..trial.count];
        candidates.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
        let Some(least) = candidates.iter().map(|c| c.1).min_by(f32::total_cmp) else {
            return;
        };
        let near = |a: f32, b: f32| (a - b).abs() <= (DRIFT * b).max(1.5);
        let eligible = |c: &(f32, f32)| {
            let allowance = match trial.held {
                Some(t) if near(c.0, t) => TIE + HOLD,
                Some(_) => TIE - HOLD,
                None => TIE,
            };
            c.1 <= (1.0 + allowance) * least + SLACK
        };
        if let Some(&(lag, _)) = candidates.iter().find(|c| eligible(c)) {
            self.lag = Some(lag);
            self.judged = true;
        }
    }
}

/// The frames the candidates are judged over: `pulses` of the shortest pulse, at least
/// [`MIN_WINDOW_SECONDS`] (one period lets a lead's few notes tip the choice).
fn window(beat: &BeatSpectrum, pulse: f32, pulses: f32) -> usize {
    let least = (MIN_WINDOW_SECONDS / beat.beat_seconds()).ceil() as usize;
    ((pulses * pulse).round() as usize).max(least)
}

/// Whether `long` is a whole multiple of `short` (within [`MULTIPLE`] of `short`).
fn is_multiple(long: f32, short: f32) -> bool {
    let k = (long / short).round();
    k >= 1.0 && (long - k * short).abs() <= MULTIPLE * short
}

/// The peak within reach of fractional lag `lag` (a local maximum), if any.
fn peak_near(spectrum: &[f32], lag: f32, last: usize) -> Option<(f32, f32)> {
    let reach = (MULTIPLE * lag).max(1.5);
    let lo = ((lag - reach).floor().max(1.0)) as usize;
    let hi = ((lag + reach).ceil() as usize).min(last);
    (lo..=hi)
        .filter_map(|l| peak_at(spectrum, l))
        .filter(|p| (p.0 - lag).abs() <= reach)
        .max_by(|a, b| a.1.total_cmp(&b.1))
}

/// The period below one lag, through all its multiples: a peak's own position is only
/// good to about a lag when a lead covers the loop, but every multiple `k·p` of the
/// true period is a peak too, and together they pin `p` down to a fraction of a lag.
/// Searches `lag ± 1.5` in hundredths for the comb `Σ_k B(k·p)` (interpolated) that
/// scores highest, over the multiples the spectrum reaches.
fn refine(spectrum: &[f32], lag: f32, last: usize) -> f32 {
    let multiples = ((last as f32 - 1.0) / (lag + 1.5)).floor().clamp(1.0, 64.0) as usize;
    let at = |x: f32| {
        let i = x.floor() as usize;
        let frac = x - i as f32;
        spectrum[i] + frac * (spectrum[i + 1] - spectrum[i])
    };
    // `at(x)` reads `spectrum[⌊x⌋ + 1]`. Where two multiples or more fit, `multiples`
    // keeps every `k·p` at most `last − 1`; alone, a lag heard up to `last + ½` is
    // searched up to 1.5 lags further, which `last ≤ len − 2` alone does not keep
    // inside the spectrum (clap-validator's fuzzer found such a lag at an odd sample
    // rate). Steps beyond it are skipped.
    let end = (spectrum.len() - 1) as f32;
    let reaches = |p: f32| p >= 1.0 && p < end;
    // Only multiples that stand as peaks of their own: right after a change of groove
    // the long lags still describe the old one, and would pull the comb aside.
    let height = at(lag);
    let stands = |k: usize| {
        let guess = k as f32 * lag;
        let centre = guess.round() as usize;
        (centre.saturating_sub(2).max(1)..=(centre + 2).min(last - 1))
            .filter_map(|l| peak_at(spectrum, l))
            .any(|p| (p.0 - guess).abs() <= 1.5 * k as f32 && p.1 >= 0.5 * height)
    };
    let used = (1..=multiples)
        .filter(|&k| k == 1 || stands(k))
        .fold(0u64, |mask, k| mask | 1 << (k - 1));
    // The comb at every step, summed multiple by multiple: each step's sum still adds
    // its multiples in order (the same value to the bit as one step at a time), but the
    // 301 sums are independent, where one step's chain of additions kept the CPU waiting
    // (a proposal's refinements made every eighth frame REPET-SIM's slowest).
    const STEPS: usize = 301;
    let step_lag = |step: usize| lag + (step as isize - 150) as f32 * 0.01;
    let mut scores = [0.0f32; STEPS];
    for k in (1..=multiples).filter(|&k| used & 1 << (k - 1) != 0) {
        for (step, score) in scores.iter_mut().enumerate() {
            let p = step_lag(step);
            if reaches(p) {
                *score += at(k as f32 * p);
            }
        }
    }
    let (mut best, mut best_score) = (lag, f32::NEG_INFINITY);
    for (step, &score) in scores.iter().enumerate() {
        let p = step_lag(step);
        if !reaches(p) {
            continue;
        }
        if score > best_score {
            (best, best_score) = (p, score);
        }
    }
    best
}

/// The peak at integer lag `lag` (a local maximum), refined below one lag by a
/// parabola through it and its neighbours: `(position, height)`.
fn peak_at(spectrum: &[f32], lag: usize) -> Option<(f32, f32)> {
    let (a, b, c) = (spectrum[lag - 1], spectrum[lag], spectrum[lag + 1]);
    if !(b >= a && b > c && b > 0.0) {
        return None;
    }
    let curvature = a - 2.0 * b + c;
    if curvature >= 0.0 {
        return Some((lag as f32, b));
    }
    let offset = (0.5 * (a - c) / curvature).clamp(-0.5, 0.5);
    Some((lag as f32 + offset, b - 0.25 * (a - c) * offset))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::history::ANALYSIS_STEP_SECONDS;
    use crate::rng::XorShift;

    const BINS: usize = 257;

    /// Drives a tracker with frames `frame(t)` for `len` beat frames; the lag found.
    fn track(len: usize, frame: impl Fn(usize) -> Vec<f32>) -> f32 {
        let reach = 120.0 * ANALYSIS_STEP_SECONDS;
        let mut beat = BeatSpectrum::new(BINS, ANALYSIS_STEP_SECONDS, reach);
        let mut repetition = Repetition::new(BINS, 15.625, ANALYSIS_STEP_SECONDS, reach);
        let mut tracker = PeriodTracker::default();
        for t in 0..len {
            let f = frame(t);
            beat.push(&f);
            repetition.push(&f);
            tracker.update(&beat, &repetition, 5, 120);
        }
        tracker.lag().expect("a period")
    }

    fn cycle(n: usize, random: &mut XorShift) -> Vec<Vec<f32>> {
        (0..n)
            .map(|_| (0..BINS).map(|_| random.uniform()).collect())
            .collect()
    }

    #[test]
    fn a_lag_at_the_end_of_the_spectrum_is_refined_within_it() {
        // A pulse's multiple heard up to `last + ½` (the clap-validator fuzzer found one at
        // an odd sample rate, where the spectrum is short).
        let last = 63;
        let spectrum: Vec<f32> = (0..last + 2).map(|l| (l as f32 * 0.37).cos()).collect();
        for lag in [61.0, 62.5, 63.0, 63.5] {
            let r = refine(&spectrum, lag, last);
            assert!(
                (1.0..spectrum.len() as f32 - 1.0).contains(&r),
                "{lag} -> {r}"
            );
        }
    }

    #[test]
    fn a_loop_is_found_not_its_multiples() {
        let mut random = XorShift::new(5);
        let bar = cycle(23, &mut random);
        let lag = track(400, |t| bar[t % 23].clone());
        assert!((lag - 23.0).abs() < 0.1, "{lag}");
    }

    #[test]
    fn the_period_is_the_whole_mix_s_not_the_loudest_part_s() {
        // Loud drums every 20 frames, a bass line 9 dB below them every 80 on its own bins.
        let mut random = XorShift::new(7);
        let (drums, bass) = (cycle(20, &mut random), cycle(4, &mut random));
        let lag = track(600, |t| {
            let mut f: Vec<f32> = drums[t % 20].iter().map(|x| 4.0 * x).collect();
            for (b, x) in f[2..10].iter_mut().enumerate() {
                *x += 8.0 * bass[(t / 20) % 4][b];
            }
            f
        });
        assert!((lag - 80.0).abs() < 0.5, "{lag}");
    }
}
