//! "Did you mean": the nearest of some names to what was typed.

/// Levenshtein distance.
pub(crate) fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

/// The name nearest to `typed` when it is close enough to be a typo (at most 2 edits, and
/// fewer than half of its letters).
pub(crate) fn nearest<'a>(
    typed: &str,
    names: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    names
        .into_iter()
        .map(|n| (distance(typed, n), n))
        .filter(|(d, _)| *d <= 2 && *d * 2 < typed.chars().count().max(2))
        .min()
        .map(|(_, n)| n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances_and_nearest() {
        assert_eq!(distance("reveiw", "review"), 2);
        assert_eq!(distance("modle", "model"), 2);
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(
            nearest("modle", ["model", "models", "store"]),
            Some("model")
        );
        assert_eq!(nearest("sesion", ["session", "run"]), Some("session"));
        assert_eq!(nearest("hello", ["session", "run"]), None);
        assert_eq!(nearest("ab", ["ls"]), None);
    }
}
