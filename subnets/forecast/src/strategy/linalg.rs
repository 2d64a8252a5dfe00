//! Least squares by the normal equations, for the small systems (≤ 16 unknowns) the models
//! fit. Indexing is into arrays sized here, never into untrusted input.
#![allow(clippy::indexing_slicing, reason = "d × d arrays sized in this module")]

/// Accumulates `XᵀX` and `Xᵀy` one row at a time.
pub(crate) struct NormalEquations {
    dim: usize,
    xtx: Vec<f64>,
    xty: Vec<f64>,
    rows: usize,
}

impl NormalEquations {
    pub(crate) fn new(dim: usize) -> Self {
        Self {
            dim,
            xtx: vec![0.0; dim * dim],
            xty: vec![0.0; dim],
            rows: 0,
        }
    }

    /// Add the row `x` with target `y` (ignored when `x` has the wrong length).
    pub(crate) fn add(&mut self, x: &[f64], y: f64) {
        if x.len() != self.dim {
            return;
        }
        for (a, xa) in x.iter().enumerate() {
            for (b, xb) in x.iter().enumerate().skip(a) {
                self.xtx[a * self.dim + b] += xa * xb;
            }
            self.xty[a] += xa * y;
        }
        self.rows += 1;
    }

    /// The ridge solution `(XᵀX + λ·n·I)⁻¹ Xᵀy`, `None` when singular or not finite.
    pub(crate) fn solve(&self, ridge: f64) -> Option<Vec<f64>> {
        let d = self.dim;
        let mut a = self.xtx.clone();
        for row in 0..d {
            for col in 0..row {
                a[row * d + col] = a[col * d + row];
            }
            a[row * d + row] += ridge * self.rows.max(1) as f64;
        }
        let mut b = self.xty.clone();
        // Gaussian elimination with partial pivoting.
        for col in 0..d {
            let pivot =
                (col..d).max_by(|&r, &s| a[r * d + col].abs().total_cmp(&a[s * d + col].abs()))?;
            if a[pivot * d + col].abs() < 1e-12 {
                return None;
            }
            if pivot != col {
                for k in 0..d {
                    a.swap(pivot * d + k, col * d + k);
                }
                b.swap(pivot, col);
            }
            for row in col + 1..d {
                let factor = a[row * d + col] / a[col * d + col];
                for k in col..d {
                    a[row * d + k] -= factor * a[col * d + k];
                }
                b[row] -= factor * b[col];
            }
        }
        let mut x = vec![0.0; d];
        for row in (0..d).rev() {
            let tail: f64 = (row + 1..d).map(|k| a[row * d + k] * x[k]).sum();
            x[row] = (b[row] - tail) / a[row * d + row];
        }
        x.iter().all(|v| v.is_finite()).then_some(x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_a_plane() {
        let mut eq = NormalEquations::new(3);
        for i in 0..50 {
            let (u, v) = (f64::from(i % 7), f64::from(i % 5) * 0.5);
            eq.add(&[1.0, u, v], 2.0 - 3.0 * u + 0.25 * v);
        }
        let x = eq.solve(0.0).unwrap();
        for (got, want) in x.iter().zip([2.0, -3.0, 0.25]) {
            assert!((got - want).abs() < 1e-9, "{x:?}");
        }
        assert!(NormalEquations::new(2).solve(0.0).is_none());
    }
}
