//! Trigram similarity as PostgreSQL's pg_trgm computes it, for ranking search hits on SQLite
//! the way `similarity()` ranks them on PostgreSQL (FTS5 has bm25, but bm25 over a window of
//! hits needs the MATCH evaluated over the whole index first, seconds for a common word at a
//! million incidents). Written here because no maintained crate follows pg_trgm's rules: words
//! are runs of alphanumeric characters (kana and kanji included), lowercased, padded with two
//! spaces before and one after; similarity is shared trigrams over all distinct trigrams.

use std::collections::HashSet;

fn trigrams(text: &str) -> HashSet<[char; 3]> {
    let mut grams = HashSet::new();
    for word in text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()) {
        let padded: Vec<char> = "  "
            .chars()
            .chain(word.chars().flat_map(char::to_lowercase))
            .chain(" ".chars())
            .collect();
        for w in padded.windows(3) {
            grams.insert([w[0], w[1], w[2]]);
        }
    }
    grams
}

/// pg_trgm's `similarity(a, b)`: 0 (nothing shared) to 1 (the same trigrams).
pub fn similarity(a: &str, b: &str) -> f64 {
    let (a, b) = (trigrams(a), trigrams(b));
    let union = a.union(&b).count();
    if union == 0 {
        return 0.0;
    }
    a.intersection(&b).count() as f64 / union as f64
}

#[cfg(test)]
mod tests {
    use super::similarity;

    #[test]
    fn matches_pg_trgm() {
        // SELECT similarity('word', 'words') = 0.5714286 (4 shared of 7).
        assert!((similarity("word", "words") - 4.0 / 7.0).abs() < 1e-9);
        assert_eq!(similarity("VPN", "vpn"), 1.0);
        assert_eq!(similarity("abc", "xyz"), 0.0);
        assert_eq!(similarity("", ""), 0.0);
        // Punctuation separates words; the order of words does not matter.
        assert_eq!(similarity("db-server down", "down, DB server"), 1.0);
        // Japanese: one word of kana/kanji.
        assert!(similarity("VPN", "VPN 接続障害") > similarity("VPN", "定例作業の記録。VPN の設定見直し"));
    }
}
