//! Small numeric kernels the separators share, written so the compiler vectorises them.

use super::median::LANES;

/// Dot product in eight partial sums, which the compiler keeps in vector registers
/// (a single running sum would force one addition after another).
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut sums = [0.0f32; LANES];
    let (a_chunks, b_chunks) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let (a_rest, b_rest) = (a_chunks.remainder(), b_chunks.remainder());
    for (x, y) in a_chunks.zip(b_chunks) {
        for l in 0..LANES {
            sums[l] += x[l] * y[l];
        }
    }
    let rest: f32 = a_rest.iter().zip(b_rest).map(|(x, y)| x * y).sum();
    sums.iter().sum::<f32>() + rest
}

/// The largest level to which `len`-long `i16` vectors may be scaled so that any two
/// of them keep their [`dot_i16`] within an `i32`.
pub fn i16_levels(len: usize) -> f32 {
    ((i32::MAX as f64 / len as f64).sqrt().floor()).min(i16::MAX as f64) as f32
}

/// Scales `values` so that the largest is `levels`, rounds them into `out`, and returns
/// the factor back to the values (0 where all are 0).
pub fn quantise_i16(values: &[f32], levels: f32, out: &mut [i16]) -> f32 {
    let loudest = values.iter().fold(0.0f32, |a, &b| a.max(b));
    if loudest > 0.0 {
        let scale = levels / loudest;
        for (q, &v) in out.iter_mut().zip(values) {
            *q = (v * scale).round() as i16;
        }
        loudest / levels
    } else {
        out.fill(0);
        0.0
    }
}

/// Dot product of `i16` vectors in `i32`, in the shape the compiler turns into `pmaddwd`
/// (eight products and four sums per instruction). The caller keeps the sum within an
/// `i32`; it wraps otherwise.
#[inline]
pub fn dot_i16(a: &[i16], b: &[i16]) -> i32 {
    const WIDE: usize = 16;
    let mut sums = [0i32; WIDE];
    let (a_chunks, b_chunks) = (a.chunks_exact(WIDE), b.chunks_exact(WIDE));
    let (a_rest, b_rest) = (a_chunks.remainder(), b_chunks.remainder());
    for (x, y) in a_chunks.zip(b_chunks) {
        for l in 0..WIDE {
            sums[l] = sums[l].wrapping_add(x[l] as i32 * y[l] as i32);
        }
    }
    let rest = a_rest
        .iter()
        .zip(b_rest)
        .fold(0i32, |s, (&x, &y)| s.wrapping_add(x as i32 * y as i32));
    sums.iter().fold(rest, |s, &x| s.wrapping_add(x))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_product_of_any_length() {
        for n in [0, 1, 7, 8, 9, 100] {
            let a: Vec<f32> = (0..n).map(|i| i as f32).collect();
            let b: Vec<f32> = (0..n).map(|i| (i % 3) as f32).collect();
            let expected: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
            assert_eq!(dot(&a, &b), expected, "{n}");
            let (a, b): (Vec<i16>, Vec<i16>) = (
                (0..n).map(|i| 2890 - i as i16).collect(),
                (0..n).map(|i| (i % 3) as i16 * 1000).collect(),
            );
            let expected: i32 = a.iter().zip(&b).map(|(&x, &y)| x as i32 * y as i32).sum();
            assert_eq!(dot_i16(&a, &b), expected, "{n}");
        }
    }
}
