//! Trigram similarity as PostgreSQL's pg_trgm computes it, for ranking search hits on both
//! backends the way pg_trgm's `similarity()` would (FTS5 has bm25, but bm25 over a window of
//! hits needs the MATCH evaluated over the whole index first, seconds for a common word at a
//! million incidents). Written here because no maintained crate follows pg_trgm's rules: words
//! are runs of alphanumeric characters (kana and kanji included), lowercased, padded with two
//! spaces before and one after; similarity is shared trigrams over all distinct trigrams.

/// The distinct trigrams of `text`, sorted (sets are small: a title has a few dozen).
fn trigrams(text: &str) -> Vec<[char; 3]> {
    let mut grams = Vec::new();
    let mut padded: Vec<char> = Vec::new();
    for word in text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()) {
        padded.clear();
        padded.extend(
            "  ".chars()
                .chain(word.chars().flat_map(char::to_lowercase))
                .chain(" ".chars()),
        );
        grams.extend(padded.windows(3).map(|w| [w[0], w[1], w[2]]));
    }
    grams.sort_unstable();
    grams.dedup();
    grams
}

/// How many trigrams two sorted sets share.
fn shared(a: &[[char; 3]], b: &[[char; 3]]) -> usize {
    let (mut i, mut j, mut count) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                count += 1;
                i += 1;
                j += 1;
            }
        }
    }
    count
}

/// Shared trigrams over all distinct trigrams of both sets.
fn ratio(a: &[[char; 3]], b: &[[char; 3]]) -> f64 {
    let both = shared(a, b);
    let union = a.len() + b.len() - both;
    if union == 0 {
        0.0
    } else {
        both as f64 / union as f64
    }
}

/// pg_trgm's `similarity(a, b)`.
pub fn similarity(a: &str, b: &str) -> f64 {
    ratio(&trigrams(a), &trigrams(b))
}

/// Scores texts against one search: its trigrams are taken once.
pub struct Scorer {
    query: Vec<[char; 3]>,
}

impl Scorer {
    pub fn new(query: &str) -> Self {
        Self { query: trigrams(query) }
    }

    /// `2 * similarity(q, title) + similarity(q, title || ' ' || description)`: the title
    /// weighs double. Words never span the space between the two, so the whole text's trigrams
    /// are the union of the title's and the description's.
    pub fn title_and_text(&self, title: &str, description: &str) -> f64 {
        let title = trigrams(title);
        let mut whole = trigrams(description);
        whole.extend_from_slice(&title);
        whole.sort_unstable();
        whole.dedup();
        2.0 * ratio(&self.query, &title) + ratio(&self.query, &whole)
    }
}

/// A window of search hits (id, number, title, description) as (score, id), best first, equal
/// scores newest first. The score is twice the trigram similarity to the title plus that to the
/// whole text, both normalised as the search matched them: pg_trgm's measure, computed here on
/// both backends. In PostgreSQL, `similarity()` over a window of 200 hits cost 5 ms of the
/// database's CPU per search (it takes the query's trigrams again for every call); here the
/// query's are taken once. A number typed in ("INC-000123") is the best match.
pub fn rank(q: &super::search::Query, window: Vec<(i64, String, String, String)>) -> Vec<(f64, i64)> {
    use super::search::normalize;
    let reference = q.normalized.to_uppercase();
    let scorer = Scorer::new(&q.normalized);
    let mut ranked: Vec<(f64, i64)> = window
        .into_iter()
        .map(|(id, number, title, description)| {
            let score = if number == reference {
                f64::INFINITY
            } else {
                scorer.title_and_text(&normalize(&title), &normalize(&description))
            };
            (score, id)
        })
        .collect();
    ranked.sort_by(|(a, x), (b, y)| b.total_cmp(a).then(y.cmp(x)));
    ranked
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

    #[test]
    fn the_scorer_weighs_the_title_double_over_the_whole_text() {
        use super::Scorer;
        let cases = [
            (
                "データベース",
                "基幹データベースの応答遅延",
                "夜間バッチ後に DB 接続がタイムアウト",
            ),
            ("VPN", "拠点間 VPN 断", "vpn-gw01 の再起動で復旧。VPN"),
            ("backup job", "Backup job failed", "the nightly job; backup target full"),
            ("503", "Web 503", ""),
        ];
        for (q, title, description) in cases {
            let expected = 2.0 * similarity(q, title) + similarity(q, &format!("{title} {description}"));
            let got = Scorer::new(q).title_and_text(title, description);
            assert!((got - expected).abs() < 1e-12, "{q}: {got} != {expected}");
        }
    }
}
