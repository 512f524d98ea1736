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
#[inline(always)]
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

/// [`dot_i16`] in AVX2: sixteen products and eight sums per `vpmaddwd`, the same sum to
/// the bit. (Left to the compiler, the AVX2 build widened to 32 bits and multiplied
/// there, no faster than SSE2's `pmaddwd`.) A pair of products cannot overflow its
/// `i32`: no value [`quantise_i16`] makes is −32768.
///
/// # Safety
/// The CPU must have AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
pub unsafe fn dot_i16_avx2(a: &[i16], b: &[i16]) -> i32 {
    use std::arch::x86_64::*;
    const WIDE: usize = 16;
    let len = a.len().min(b.len());
    let (pa, pb) = (a.as_ptr(), b.as_ptr());
    // Two sums, so that one addition need not wait for the other.
    let (mut even, mut odd) = (_mm256_setzero_si256(), _mm256_setzero_si256());
    let mut i = 0;
    // SAFETY: every load reads 16 values at `i`, with `i + 16 <= len`.
    unsafe {
        while i + 2 * WIDE <= len {
            let x = _mm256_loadu_si256(pa.add(i).cast());
            let y = _mm256_loadu_si256(pb.add(i).cast());
            even = _mm256_add_epi32(even, _mm256_madd_epi16(x, y));
            let x = _mm256_loadu_si256(pa.add(i + WIDE).cast());
            let y = _mm256_loadu_si256(pb.add(i + WIDE).cast());
            odd = _mm256_add_epi32(odd, _mm256_madd_epi16(x, y));
            i += 2 * WIDE;
        }
        if i + WIDE <= len {
            let x = _mm256_loadu_si256(pa.add(i).cast());
            let y = _mm256_loadu_si256(pb.add(i).cast());
            even = _mm256_add_epi32(even, _mm256_madd_epi16(x, y));
            i += WIDE;
        }
    }
    let sum = _mm256_add_epi32(even, odd);
    let sum = _mm_add_epi32(
        _mm256_castsi256_si128(sum),
        _mm256_extracti128_si256::<1>(sum),
    );
    let sum = _mm_add_epi32(sum, _mm_shuffle_epi32::<0b01_00_11_10>(sum));
    let sum = _mm_add_epi32(sum, _mm_shuffle_epi32::<0b10_11_00_01>(sum));
    a[i..len]
        .iter()
        .zip(&b[i..len])
        .fold(_mm_cvtsi128_si32(sum), |s, (&x, &y)| {
            s.wrapping_add(x as i32 * y as i32)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_product_of_any_length() {
        for n in [0, 1, 7, 8, 9, 16, 31, 32, 33, 48, 100] {
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
            #[cfg(target_arch = "x86_64")]
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU has AVX2.
                assert_eq!(unsafe { dot_i16_avx2(&a, &b) }, expected, "{n}");
            }
        }
    }
}
