//! Scores of an estimated stem against its true reference.
//!
//! [`sdr`] is BSS Eval v3's source-to-distortion ratio as `mir_eval.separation.
//! bss_eval_sources` computes it: the estimate is projected on the span of the
//! reference delayed by 0 … 511 samples (a short distortion filter is allowed),
//! and SDR is the energy of that projection over the energy of what is left.
//! Only the matching reference enters that ratio, so one reference suffices.
//! [`si_sdr`] is the scale-invariant SDR (Le Roux et al. 2019).

use realfft::RealFftPlanner;
use realfft::num_complex::Complex;

/// Filter length that BSS Eval v3 allows (`flen` in mir_eval).
pub const DISTORTION_FILTER: usize = 512;

fn db(num: f64, den: f64) -> f64 {
    10.0 * (num / den.max(f64::MIN_POSITIVE)).log10()
}

/// BSS Eval v3 SDR in dB of `estimate` against `reference` (same length).
pub fn sdr(reference: &[f32], estimate: &[f32]) -> f64 {
    assert_eq!(
        reference.len(),
        estimate.len(),
        "reference and estimate differ in length"
    );
    let flen = DISTORTION_FILTER;
    let len = reference.len();
    let fft_len = (len + flen - 1).next_power_of_two();
    let mut planner = RealFftPlanner::<f64>::new();
    let forward = planner.plan_fft_forward(fft_len);
    let inverse = planner.plan_fft_inverse(fft_len);
    let spectrum_of = |x: &[f32]| {
        let mut t = forward.make_input_vec();
        for (a, b) in t.iter_mut().zip(x) {
            *a = f64::from(*b);
        }
        let mut s = forward.make_output_vec();
        forward.process(&mut t, &mut s).expect("sized by the plan");
        s
    };
    let sf = spectrum_of(reference);
    let ef = spectrum_of(estimate);
    // Circular cross-correlation r[k] = Σ_t a[t + k]·b[t]; zero padding makes it linear for |k| < flen.
    let correlate = |a: &[Complex<f64>], b: &[Complex<f64>]| {
        let mut p: Vec<Complex<f64>> = a.iter().zip(b).map(|(x, y)| x * y.conj()).collect();
        p[0].im = 0.0;
        let last = p.len() - 1;
        p[last].im = 0.0;
        let mut r = inverse.make_output_vec();
        inverse.process(&mut p, &mut r).expect("sized by the plan");
        for v in &mut r {
            *v /= fft_len as f64;
        }
        r
    };
    let auto = correlate(&sf, &sf);
    let cross = correlate(&ef, &sf);
    // Normal equations G c = d: G Toeplitz of the reference's autocorrelation,
    // d[k] = Σ_t e[t]·s[t − k].
    let g: Vec<f64> = auto[..flen].to_vec();
    let d: Vec<f64> = cross[..flen].to_vec();
    let c = solve_toeplitz_spd(&g, &d);
    // Projection: the reference filtered by c, length len + flen − 1.
    let mut projection = vec![0.0f64; len + flen - 1];
    {
        let mut cf = forward.make_input_vec();
        cf[..flen].copy_from_slice(&c);
        let mut cs = forward.make_output_vec();
        forward
            .process(&mut cf, &mut cs)
            .expect("sized by the plan");
        let mut prod: Vec<Complex<f64>> = cs.iter().zip(&sf).map(|(a, b)| a * b).collect();
        prod[0].im = 0.0;
        let last = prod.len() - 1;
        prod[last].im = 0.0;
        let mut out = inverse.make_output_vec();
        inverse
            .process(&mut prod, &mut out)
            .expect("sized by the plan");
        for (p, o) in projection.iter_mut().zip(&out) {
            *p = o / fft_len as f64;
        }
    }
    let mut signal = 0.0;
    let mut error = 0.0;
    for (t, p) in projection.iter().enumerate() {
        let e = if t < len { f64::from(estimate[t]) } else { 0.0 };
        signal += p * p;
        error += (e - p) * (e - p);
    }
    db(signal, error)
}

/// Solves `T c = d` for the symmetric positive (semi)definite Toeplitz matrix whose
/// first row is `g`, by Cholesky with a tiny diagonal load (silence in the
/// reference would otherwise make it singular).
fn solve_toeplitz_spd(g: &[f64], d: &[f64]) -> Vec<f64> {
    let n = g.len();
    let load = g[0].abs() * 1e-10 + 1e-300;
    let mut l = vec![0.0f64; n * n];
    for i in 0..n {
        for j in 0..=i {
            let mut sum = g[i - j] + if i == j { load } else { 0.0 };
            for k in 0..j {
                sum -= l[i * n + k] * l[j * n + k];
            }
            if i == j {
                l[i * n + i] = sum.max(1e-300).sqrt();
            } else {
                l[i * n + j] = sum / l[j * n + j];
            }
        }
    }
    let mut y = vec![0.0; n];
    for i in 0..n {
        let s: f64 = (0..i).map(|k| l[i * n + k] * y[k]).sum();
        y[i] = (d[i] - s) / l[i * n + i];
    }
    let mut x = vec![0.0; n];
    for i in (0..n).rev() {
        let s: f64 = (i + 1..n).map(|k| l[k * n + i] * x[k]).sum();
        x[i] = (y[i] - s) / l[i * n + i];
    }
    x
}

/// Scale-invariant SDR in dB.
pub fn si_sdr(reference: &[f32], estimate: &[f32]) -> f64 {
    assert_eq!(
        reference.len(),
        estimate.len(),
        "reference and estimate differ in length"
    );
    let dot: f64 = reference
        .iter()
        .zip(estimate)
        .map(|(r, e)| f64::from(*r) * f64::from(*e))
        .sum();
    let energy: f64 = reference.iter().map(|r| f64::from(*r).powi(2)).sum();
    let alpha = dot / energy.max(f64::MIN_POSITIVE);
    let mut target = 0.0;
    let mut noise = 0.0;
    for (r, e) in reference.iter().zip(estimate) {
        let t = alpha * f64::from(*r);
        target += t * t;
        noise += (f64::from(*e) - t).powi(2);
    }
    db(target, noise)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noise(len: usize, seed: u64) -> Vec<f32> {
        let mut s = seed;
        (0..len)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
            })
            .collect()
    }

    #[test]
    fn known_mixtures() {
        let s = noise(20_000, 1);
        let n = noise(20_000, 2);
        // Estimate = s + 0.1 n: about 20 dB whichever measure (n is nearly orthogonal to s's span).
        let e: Vec<f32> = s.iter().zip(&n).map(|(a, b)| a + 0.1 * b).collect();
        let v = sdr(&s, &e);
        assert!((v - 20.0).abs() < 0.3, "sdr {v}");
        assert!((si_sdr(&s, &e) - 20.0).abs() < 0.3);
        // A gain is no distortion at all…
        let scaled: Vec<f32> = s.iter().map(|x| 0.5 * x).collect();
        assert!(sdr(&s, &scaled) > 100.0);
        // …nor is a short filter for v3 SDR, but for the 3 samples the delay pushes past
        // the end of the estimate (≈ 39 dB here; mir_eval has the same edge)…
        let mut filtered = vec![0.0; s.len()];
        for t in 0..s.len() {
            filtered[t] = 0.25 * s[t] + if t >= 3 { 0.5 * s[t - 3] } else { 0.0 };
        }
        let v = sdr(&s, &filtered);
        assert!(v > 36.0 && v < 42.0, "filtered sdr {v}");
        // …but it is for SI-SDR.
        assert!(si_sdr(&s, &filtered) < 10.0);
    }
}
