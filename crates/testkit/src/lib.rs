//! Test helpers shared by Tao's crates (a dev-dependency only).
//!
//! [`mutate`]: random edits of a text document — a scenario, a chain spec — for tests that
//! feed decoders hostile input. Most edits swap a number for another, which keeps the document
//! well-formed so that the decoder's validation and what runs after it are reached; the rest
//! break its syntax.

pub mod mutate {
    //! Random edits of a text document.

    use proptest::prelude::*;

    /// One edit of a document.
    #[derive(Debug, Clone)]
    pub enum Edit {
        /// Replace the n-th number (a run of digits not inside a word) with this text.
        Number(usize, String),
        /// Replace the byte at this position (modulo the length).
        Flip(usize, u8),
        /// Cut the document at this position (modulo the length).
        Cut(usize),
        /// Copy up to this many bytes from the first position to the second (both modulo the
        /// length).
        Splice(usize, usize, usize),
    }

    /// Edits: numbers swapped for small integers or for one of `extremes` (edge values of the
    /// types the decoder reads, and values of other types), bytes flipped, cuts and splices.
    pub fn edit(extremes: &'static [&'static str]) -> impl Strategy<Value = Edit> {
        let extreme = proptest::sample::select(extremes);
        prop_oneof![
            4 => (any::<usize>(), 0u64..100_000).prop_map(|(n, v)| Edit::Number(n, v.to_string())),
            3 => (any::<usize>(), extreme).prop_map(|(n, v)| Edit::Number(n, v.to_owned())),
            1 => (any::<usize>(), any::<u8>()).prop_map(|(at, byte)| Edit::Flip(at, byte)),
            1 => any::<usize>().prop_map(Edit::Cut),
            1 => (any::<usize>(), 0usize..64, any::<usize>()).prop_map(|(at, n, to)| Edit::Splice(at, n, to)),
        ]
    }

    /// The document with the edit applied (invalid UTF-8 replaced, so the result is text).
    pub fn apply(document: &str, edit: &Edit) -> String {
        let mut bytes = document.as_bytes().to_vec();
        let len = bytes.len().max(1);
        match edit {
            Edit::Number(n, text) => {
                let numbers = number_spans(&bytes);
                if let Some(span) = numbers.get(n.checked_rem(numbers.len()).unwrap_or(0)) {
                    bytes.splice(span.clone(), text.bytes());
                }
            }
            Edit::Flip(at, byte) => {
                if let Some(b) = bytes.get_mut(at % len) {
                    *b = *byte;
                }
            }
            Edit::Cut(at) => bytes.truncate(at % len),
            Edit::Splice(at, count, to) => {
                let copied: Vec<u8> = bytes.iter().skip(at % len).take(*count).copied().collect();
                let to = (to % len).min(bytes.len());
                bytes.splice(to..to, copied);
            }
        }
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// The byte ranges of the runs of digits that do not continue a word (`yuma3`, hex).
    fn number_spans(bytes: &[u8]) -> Vec<std::ops::Range<usize>> {
        let mut spans = Vec::new();
        let mut previous = b' ';
        let mut start = None;
        for (i, &b) in bytes.iter().enumerate() {
            match (b.is_ascii_digit(), start) {
                (true, None) if !previous.is_ascii_alphanumeric() => start = Some(i),
                (false, Some(s)) => {
                    spans.push(s..i);
                    start = None;
                }
                _ => {}
            }
            previous = b;
        }
        if let Some(s) = start {
            spans.push(s..bytes.len());
        }
        spans
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn edits_do_what_they_say() {
            let doc = r#"{"n": 12, "yuma3": true, "stake": [5, 0x1f]}"#;
            assert_eq!(
                apply(doc, &Edit::Number(1, "7".into())),
                r#"{"n": 12, "yuma3": true, "stake": [7, 0x1f]}"#
            );
            // The numbers are 12, 5 and the 0 of `0x1f` (the digit in `yuma3` and the hex
            // digits after `0x` continue words); the count wraps.
            assert_eq!(
                apply(doc, &Edit::Number(5, "9".into())),
                r#"{"n": 12, "yuma3": true, "stake": [5, 9x1f]}"#
            );
            assert_eq!(apply(doc, &Edit::Cut(4)), r#"{"n""#);
            assert_eq!(
                apply(doc, &Edit::Flip(0, b'[')),
                r#"["n": 12, "yuma3": true, "stake": [5, 0x1f]}"#
            );
            assert_eq!(apply("abc", &Edit::Splice(1, 2, 0)), "bcabc");
            assert_eq!(apply("", &Edit::Number(0, "1".into())), "");
        }
    }
}
