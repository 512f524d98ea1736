//! Dense column-major matrices and their product (on `matrixmultiply`'s SGEMM), for
//! the factorisations: a spectrogram holds one frame per column.

/// A dense `rows × cols` matrix, stored column by column.
#[derive(Clone, Debug, PartialEq)]
pub struct Matrix {
    pub rows: usize,
    pub cols: usize,
    pub data: Vec<f32>,
}

impl Matrix {
    pub fn zeros(rows: usize, cols: usize) -> Self {
        Self {
            rows,
            cols,
            data: vec![0.0; rows * cols],
        }
    }

    /// A matrix whose columns are `columns` (all `rows` long).
    pub fn from_columns<'a>(rows: usize, columns: impl IntoIterator<Item = &'a [f32]>) -> Self {
        let mut data = Vec::new();
        let mut cols = 0;
        for c in columns {
            assert_eq!(c.len(), rows, "every column has `rows` values");
            data.extend_from_slice(c);
            cols += 1;
        }
        Self { rows, cols, data }
    }

    pub fn column(&self, j: usize) -> &[f32] {
        &self.data[j * self.rows..(j + 1) * self.rows]
    }

    pub fn column_mut(&mut self, j: usize) -> &mut [f32] {
        &mut self.data[j * self.rows..(j + 1) * self.rows]
    }

    pub fn columns(&self) -> impl Iterator<Item = &[f32]> {
        self.data.chunks_exact(self.rows.max(1)).take(self.cols)
    }

    /// The columns `indices`, in that order.
    pub fn select_columns(&self, indices: &[usize]) -> Matrix {
        Matrix::from_columns(self.rows, indices.iter().map(|&j| self.column(j)))
    }

    /// The Frobenius norm.
    pub fn norm(&self) -> f64 {
        self.data
            .iter()
            .map(|&x| f64::from(x) * f64::from(x))
            .sum::<f64>()
            .sqrt()
    }
}

/// `c = op(a) · op(b)`, `op` transposing when asked.
pub fn product(a: &Matrix, a_transposed: bool, b: &Matrix, b_transposed: bool, c: &mut Matrix) {
    // Column-major: element (i, j) at i + j·rows, so the row stride is 1.
    let (m, k, rsa, csa) = if a_transposed {
        (a.cols, a.rows, a.rows as isize, 1)
    } else {
        (a.rows, a.cols, 1, a.rows as isize)
    };
    let (kb, n, rsb, csb) = if b_transposed {
        (b.cols, b.rows, b.rows as isize, 1)
    } else {
        (b.rows, b.cols, 1, b.rows as isize)
    };
    assert_eq!(k, kb, "inner dimensions agree");
    assert!(c.rows == m && c.cols == n, "output is {m}×{n}");
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        c.data.fill(0.0);
        return;
    }
    // SAFETY: the dimensions and strides describe exactly the three column-major
    // buffers, whose lengths are rows·cols (checked by the asserts above).
    unsafe {
        matrixmultiply::sgemm(
            m,
            k,
            n,
            1.0,
            a.data.as_ptr(),
            rsa,
            csa,
            b.data.as_ptr(),
            rsb,
            csb,
            0.0,
            c.data.as_mut_ptr(),
            1,
            m as isize,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn product_with_and_without_transposes() {
        // a = [[1, 2], [3, 4]] (rows), stored by columns.
        let a = Matrix {
            rows: 2,
            cols: 2,
            data: vec![1.0, 3.0, 2.0, 4.0],
        };
        let mut c = Matrix::zeros(2, 2);
        product(&a, false, &a, false, &mut c);
        assert_eq!(c.data, vec![7.0, 15.0, 10.0, 22.0]);
        product(&a, true, &a, false, &mut c);
        assert_eq!(c.data, vec![10.0, 14.0, 14.0, 20.0]);
        assert_eq!(a.select_columns(&[1]).data, vec![2.0, 4.0]);
    }
}
