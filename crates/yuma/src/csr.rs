//! Compressed sparse rows: the production epoch's matrix layout.
//!
//! Row `i` holds `cols[starts[i]..starts[i + 1]]` (uids, ascending) and the matching `vals`.
//! Two flat arrays instead of a vector per row: one allocation per matrix, 10 bytes per entry
//! instead of 16, and sequential passes the hardware prefetches well.

use tao_primitives::I32F32;

/// One row: its uids (ascending) and their values.
pub(crate) type CsrRow<'m> = (&'m [u16], &'m [I32F32]);

/// A sparse fixed-point matrix in compressed-row form.
#[derive(Clone, Debug)]
pub(crate) struct Csr {
    starts: Vec<usize>,
    cols: Vec<u16>,
    vals: Vec<I32F32>,
}

impl Default for Csr {
    /// An empty matrix with no rows.
    fn default() -> Self {
        Self {
            starts: vec![0],
            cols: Vec::new(),
            vals: Vec::new(),
        }
    }
}

impl Csr {
    /// Appends entries to the row being built, from two iterators of equal length (tests
    /// build small matrices this way; epochs write rows by position).
    #[cfg(test)]
    pub(crate) fn extend(
        &mut self,
        cols: impl IntoIterator<Item = u16>,
        vals: impl IntoIterator<Item = I32F32>,
    ) {
        self.cols.extend(cols);
        self.vals.extend(vals);
    }

    /// Closes the row being built with [`Self::extend`].
    #[cfg(test)]
    pub(crate) fn end_row(&mut self) {
        self.starts.push(self.cols.len());
    }

    /// Empties the matrix for rows written by position ([`Self::push_slots`]), keeping the
    /// old uids and values as scratch to be overwritten: in the steady state nothing is
    /// zeroed. Makes room for `rows` rows and `nnz` entries in all, so that each array grows
    /// at most once.
    pub(crate) fn clear_for_slots(&mut self, rows: usize, nnz: usize) {
        self.starts.clear();
        self.starts.push(0);
        self.starts.reserve(rows);
        // The stale entries count towards the room: reserve only what is missing.
        self.cols.reserve(nnz.saturating_sub(self.cols.len()));
        self.vals.reserve(nnz.saturating_sub(self.vals.len()));
    }

    /// Appends and closes a row of `len` entries, returning its uids and values to be
    /// written in full by position (until then they hold stale entries). After the last row,
    /// [`Self::finish_slots`] drops the stale entries past the end.
    pub(crate) fn push_slots(&mut self, len: usize) -> (&mut [u16], &mut [I32F32]) {
        let start = self.nnz();
        let end = start.saturating_add(len);
        if self.cols.len() < end {
            self.cols.resize(end, 0);
        }
        if self.vals.len() < end {
            self.vals.resize(end, I32F32::from_bits(0));
        }
        self.starts.push(end);
        (
            self.cols.get_mut(start..end).unwrap_or_default(),
            self.vals.get_mut(start..end).unwrap_or_default(),
        )
    }

    /// [`Self::push_slots`] for a row with the uids `cols`: returns its values.
    pub(crate) fn push_row_slot(&mut self, cols: &[u16]) -> &mut [I32F32] {
        let (uids, vals) = self.push_slots(cols.len());
        uids.copy_from_slice(cols);
        vals
    }

    /// Ends a matrix written with [`Self::push_slots`].
    pub(crate) fn finish_slots(&mut self) {
        let end = self.nnz();
        self.cols.truncate(end);
        self.vals.truncate(end);
    }

    /// Number of rows.
    pub(crate) fn row_count(&self) -> usize {
        self.starts.len().saturating_sub(1)
    }

    /// Number of entries (while rows are written by position, up to the last row's end).
    pub(crate) fn nnz(&self) -> usize {
        self.starts.last().copied().unwrap_or(0)
    }

    /// The rows, in order, as `(uids, values)`.
    pub(crate) fn rows(&self) -> impl Iterator<Item = CsrRow<'_>> {
        self.starts.windows(2).map(|w| {
            let range = w.first().copied().unwrap_or(0)..w.get(1).copied().unwrap_or(0);
            (
                self.cols.get(range.clone()).unwrap_or_default(),
                self.vals.get(range).unwrap_or_default(),
            )
        })
    }

    /// Calls `f(row, uids, values)` on every row, letting it change the values.
    pub(crate) fn for_each_row_mut(&mut self, mut f: impl FnMut(usize, &[u16], &mut [I32F32])) {
        let mut start = 0usize;
        for (row, &end) in self.starts.iter().skip(1).enumerate() {
            if let (Some(cols), Some(vals)) =
                (self.cols.get(start..end), self.vals.get_mut(start..end))
            {
                f(row, cols, vals);
            }
            start = end;
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn fx(x: i32) -> I32F32 {
        I32F32::from_num(x)
    }

    #[test]
    fn build_iterate_update() {
        let mut m = Csr::default();
        m.extend([0, 2], [fx(1), fx(2)]);
        m.end_row();
        m.end_row();
        m.extend([1, 2], [fx(3), fx(4)]);
        m.end_row();
        let rows: Vec<(Vec<u16>, Vec<I32F32>)> =
            m.rows().map(|(c, v)| (c.to_vec(), v.to_vec())).collect();
        assert_eq!(
            rows,
            vec![
                (vec![0, 2], vec![fx(1), fx(2)]),
                (vec![], vec![]),
                (vec![1, 2], vec![fx(3), fx(4)])
            ]
        );
        m.for_each_row_mut(|row, cols, vals| {
            for (c, v) in cols.iter().zip(vals) {
                *v *= fx(10 * (row as i32 + 1) + i32::from(*c));
            }
        });
        m.extend([0, 3], [fx(5), fx(6)]);
        m.end_row();
        let rows: Vec<(Vec<u16>, Vec<I32F32>)> =
            m.rows().map(|(c, v)| (c.to_vec(), v.to_vec())).collect();
        assert_eq!(
            rows,
            vec![
                (vec![0, 2], vec![fx(10), fx(24)]),
                (vec![], vec![]),
                (vec![1, 2], vec![fx(93), fx(128)]),
                (vec![0, 3], vec![fx(5), fx(6)])
            ]
        );
        assert_eq!(m.nnz(), 6);
    }

    #[test]
    fn slots_overwrite_stale_values_and_trim() {
        let mut m = Csr::default();
        m.extend([0, 1, 2], [fx(7), fx(7), fx(7)]);
        m.end_row();
        // Reuse: the old values stay as scratch, every slot is written, the tail is dropped.
        m.clear_for_slots(3, 4);
        m.push_row_slot(&[1]).copy_from_slice(&[fx(1)]);
        m.push_row_slot(&[]);
        // Past the old length the slot grows the values.
        m.push_row_slot(&[0, 2, 3])
            .copy_from_slice(&[fx(2), fx(3), fx(4)]);
        m.finish_slots();
        let rows: Vec<(Vec<u16>, Vec<I32F32>)> =
            m.rows().map(|(c, v)| (c.to_vec(), v.to_vec())).collect();
        assert_eq!(
            rows,
            vec![
                (vec![1], vec![fx(1)]),
                (vec![], vec![]),
                (vec![0, 2, 3], vec![fx(2), fx(3), fx(4)])
            ]
        );
        m.clear_for_slots(3, 4);
        m.push_row_slot(&[5]).copy_from_slice(&[fx(9)]);
        m.finish_slots();
        assert_eq!(m.nnz(), 1);
        assert_eq!(m.rows().next(), Some((&[5u16][..], &[fx(9)][..])));
        // Uids by position too: stale uids past the old length are overwritten or dropped.
        m.clear_for_slots(2, 2);
        let (uids, vals) = m.push_slots(2);
        uids.copy_from_slice(&[3, 4]);
        vals.copy_from_slice(&[fx(5), fx(6)]);
        assert_eq!(m.nnz(), 2);
        m.finish_slots();
        let rows: Vec<(Vec<u16>, Vec<I32F32>)> =
            m.rows().map(|(c, v)| (c.to_vec(), v.to_vec())).collect();
        assert_eq!(rows, vec![(vec![3, 4], vec![fx(5), fx(6)])]);
    }
}
