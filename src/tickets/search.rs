//! Text matching rules shared by every search (the incident list's `q`, `/search`): pure logic,
//! no diesel. Stored text and queries go through the same [`normalize`], so ＶＰＮ, VPN and vpn
//! match each other, as do ｶﾀｶﾅ and カタカナ or ① and 1. The index keeps, per ticket, the
//! normalised text (served by a trigram index for words of three characters or more) and its
//! distinct one- and two-character [`grams`] (served by a gram index for shorter words, which a
//! trigram index cannot serve: 障害, 復旧, ＤＢ). A query is words and quoted phrases, all required
//! ([`parse`]); a hit is confirmed by substring matches on the normalised text, so both backends
//! return the same tickets whatever index found the candidates.

use std::collections::HashSet;

use unicode_normalization::UnicodeNormalization;

/// The longest query accepted, in characters (a pasted error message fits).
pub const MAX_QUERY_CHARS: usize = 1000;
/// The most words and phrases a query may hold.
pub const MAX_TERMS: usize = 32;

/// How many of the newest matches a text search ranks: its best matches are chosen among them.
/// A common word matches a large share of a million tickets, and scoring them all would take
/// seconds; the recent cases are the useful ones (as for similar incidents). The incident list
/// and the unified search use the same window.
pub const RANK_WINDOW: i64 = 200;

/// NFKC, then lower case (Unicode's lower-case mapping), control characters (NUL included) as
/// spaces, runs of white space as one space, no space at either end.
pub fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut after_space = true;
    for c in text.nfkc().flat_map(char::to_lowercase) {
        if c.is_whitespace() || c.is_control() {
            if !after_space {
                out.push(' ');
                after_space = true;
            }
        } else {
            out.push(c);
            after_space = false;
        }
    }
    if out.ends_with(' ') {
        out.pop();
    }
    out
}

/// The text a ticket is searched by: its normalised number, title and description on separate
/// lines (a query never holds a line break, so no phrase spans two). With the number in it, a
/// number typed into a search box (「INC-000123」, or 「000123」) finds its ticket like any text.
pub fn indexed_text(reference: &str, title: &str, description: &str) -> String {
    let mut text = normalize(reference);
    for part in [title, description] {
        let part = normalize(part);
        if !part.is_empty() {
            text.push('\n');
            text.push_str(&part);
        }
    }
    text
}

/// The distinct one- and two-character grams of normalised text, space-separated: every letter or
/// digit, and every pair of adjacent letters or digits. Other characters (spaces, punctuation)
/// separate, as they do for SQLite's `unicode61` tokenizer that indexes this list.
pub fn grams(normalized: &str) -> String {
    let mut seen: HashSet<&str> = HashSet::new();
    let mut out: Vec<&str> = Vec::new();
    let mut previous: Option<usize> = None;
    for (at, c) in normalized.char_indices() {
        if !c.is_alphanumeric() {
            previous = None;
            continue;
        }
        let end = at + c.len_utf8();
        if let Some(start) = previous {
            let pair = &normalized[start..end];
            if seen.insert(pair) {
                out.push(pair);
            }
        }
        let single = &normalized[at..end];
        if seen.insert(single) {
            out.push(single);
        }
        previous = Some(at);
    }
    out.join(" ")
}

/// A word or a quoted phrase of a query, normalised; the text must contain it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Term {
    pub text: String,
}

impl Term {
    /// Shorter than a trigram: served by the gram index, not the trigram index.
    pub fn is_short(&self) -> bool {
        self.text.chars().count() < 3
    }

    /// The gram index can find it: short, and letters or digits only (`c#` cannot be looked up).
    pub fn is_gram(&self) -> bool {
        self.is_short() && self.text.chars().all(char::is_alphanumeric)
    }
}

/// A parsed query: its terms, all required, in the order typed, without repeats.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    pub terms: Vec<Term>,
    /// The whole query normalised (for ranking and for a ticket number typed in).
    pub normalized: String,
}

/// Why a query was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryError {
    /// Nothing to look for (empty, spaces or control characters only).
    Empty,
    /// Longer than [`MAX_QUERY_CHARS`].
    TooLong,
    /// More than [`MAX_TERMS`] words and phrases.
    TooManyTerms,
}

impl QueryError {
    /// The message key of the field error.
    pub fn message_key(self) -> &'static str {
        match self {
            QueryError::Empty => "search-error-q-empty",
            QueryError::TooLong => "search-error-q-too-long",
            QueryError::TooManyTerms => "search-error-q-too-many-words",
        }
    }
}

fn is_quote(c: char) -> bool {
    matches!(c, '"' | '“' | '”')
}

/// Parses a query: words separated by spaces are all required; text in double quotes (ASCII,
/// full-width or curly) is one phrase; an unclosed quote runs to the end. Control characters
/// count as spaces.
pub fn parse(raw: &str) -> Result<Query, QueryError> {
    if raw.chars().count() > MAX_QUERY_CHARS {
        return Err(QueryError::TooLong);
    }
    let query = parse_unchecked(raw);
    if query.terms.is_empty() {
        return Err(QueryError::Empty);
    }
    if query.terms.len() > MAX_TERMS {
        return Err(QueryError::TooManyTerms);
    }
    Ok(query)
}

/// [`parse`] for a list's filter box, which never refuses: nothing to look for is no search
/// (`None`), and a query past the limits keeps what fits in them.
pub fn parse_lenient(raw: &str) -> Option<Query> {
    let raw: String = raw.chars().take(MAX_QUERY_CHARS).collect();
    let mut query = parse_unchecked(&raw);
    query.terms.truncate(MAX_TERMS);
    (!query.terms.is_empty()).then_some(query)
}

fn parse_unchecked(raw: &str) -> Query {
    let normalized = normalize(raw);
    let mut terms: Vec<Term> = Vec::new();
    let mut push = |text: &str| {
        let text = text.trim();
        if !text.is_empty() && !terms.iter().any(|t| t.text == text) {
            terms.push(Term { text: text.to_string() });
        }
    };
    for (i, part) in normalized.split(is_quote).enumerate() {
        if i % 2 == 1 {
            push(part);
        } else {
            part.split(' ').for_each(&mut push);
        }
    }
    let normalized = normalized.replace(is_quote, "").trim().to_string();
    Query { terms, normalized }
}

/// Characters of context a snippet shows before the first match, and its whole length.
const SNIPPET_BEFORE: usize = 30;
const SNIPPET_LENGTH: usize = 120;

/// An HTML fragment of `text` around the first match of the query's terms, every match inside it
/// wrapped in `<mark>`. The ticket's text is escaped first and only the marks are markup, so the
/// fragment is safe to insert as is. Without a match it is the start of the text.
pub fn snippet(text: &str, query: &Query) -> String {
    // Each character normalised on its own, with where its normalised form starts, so a match
    // in the normalised text maps back to the characters it came from.
    let chars: Vec<char> = text.chars().collect();
    let mut folded = String::new();
    let mut starts: Vec<usize> = Vec::with_capacity(chars.len() + 1);
    for &c in &chars {
        starts.push(folded.len());
        if c.is_whitespace() || c.is_control() {
            folded.push(' ');
        } else {
            folded.extend(c.to_string().nfkc().flat_map(char::to_lowercase));
        }
    }
    starts.push(folded.len());
    // The character holding byte `at` of `folded`.
    let char_at = |at: usize| starts.partition_point(|&s| s <= at).saturating_sub(1);
    let mut marked = vec![false; chars.len()];
    let mut first: Option<usize> = None;
    for term in &query.terms {
        for (at, found) in folded.match_indices(term.text.as_str()) {
            let (from, to) = (char_at(at), char_at(at + found.len() - 1));
            first = Some(first.map_or(from, |f| f.min(from)));
            marked[from..=to].iter_mut().for_each(|m| *m = true);
        }
    }
    let start = first.map_or(0, |f| f.saturating_sub(SNIPPET_BEFORE));
    let end = (start + SNIPPET_LENGTH).min(chars.len());
    let mut html = String::new();
    if start > 0 {
        html.push('…');
    }
    let mut open = false;
    for i in start..end {
        if marked[i] != open {
            html.push_str(if marked[i] { "<mark>" } else { "</mark>" });
            open = marked[i];
        }
        match chars[i] {
            '&' => html.push_str("&amp;"),
            '<' => html.push_str("&lt;"),
            '>' => html.push_str("&gt;"),
            '"' => html.push_str("&quot;"),
            '\'' => html.push_str("&#39;"),
            c if c.is_control() || c.is_whitespace() => html.push(' '),
            c => html.push(c),
        }
    }
    if open {
        html.push_str("</mark>");
    }
    if end < chars.len() {
        html.push('…');
    }
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms(raw: &str) -> Vec<String> {
        parse(raw).unwrap().terms.into_iter().map(|t| t.text).collect()
    }

    #[test]
    fn width_case_and_compatibility_forms_fold_together() {
        assert_eq!(normalize("ＶＰＮ"), "vpn");
        assert_eq!(normalize("VPN"), "vpn");
        assert_eq!(normalize("ｶﾀｶﾅ"), "カタカナ");
        assert_eq!(normalize("ｶﾞｲﾄﾞ"), "ガイド");
        assert_eq!(normalize("①"), "1");
        assert_eq!(normalize("１２３"), "123");
        assert_eq!(normalize("ＤＢ停止"), "db停止");
        assert_eq!(normalize("㈱"), "(株)");
    }

    #[test]
    fn control_characters_and_space_runs_become_one_space() {
        assert_eq!(normalize("a\0b"), "a b");
        assert_eq!(normalize("  障害\t\r\n 復旧\u{7f}  "), "障害 復旧");
        assert_eq!(normalize("全角\u{3000}空白"), "全角 空白");
        assert_eq!(normalize("\0\0"), "");
    }

    #[test]
    fn indexed_text_keeps_title_and_description_apart() {
        assert_eq!(
            indexed_text("INC-000001", "ＶＰＮ 障害", "接続\nできない"),
            "inc-000001\nvpn 障害\n接続 できない"
        );
        assert_eq!(indexed_text("PRB-000002", "題", ""), "prb-000002\n題");
    }

    #[test]
    fn grams_are_letters_digits_and_adjacent_pairs_once() {
        assert_eq!(grams("障害 障害"), "障 障害 害");
        assert_eq!(grams("db-1"), "d db b 1");
        assert_eq!(grams("a\nb"), "a b");
        assert_eq!(grams(""), "");
    }

    #[test]
    fn words_are_all_required_and_quotes_make_a_phrase() {
        assert_eq!(terms("VPN 障害"), ["vpn", "障害"]);
        assert_eq!(terms("\"login page\" 503"), ["login page", "503"]);
        assert_eq!(terms("＂ｌｏｇｉｎ　ｐａｇｅ＂"), ["login page"]);
        assert_eq!(terms("“接続 できない”"), ["接続 できない"]);
        assert_eq!(terms("\"unclosed phrase"), ["unclosed phrase"]);
        assert_eq!(terms("障害 障害 ＶＰＮ vpn"), ["障害", "vpn"]);
        assert_eq!(terms("a\0b"), ["a", "b"]);
    }

    #[test]
    fn empty_long_and_wordy_queries_are_refused() {
        assert_eq!(parse(""), Err(QueryError::Empty));
        assert_eq!(parse("   \u{3000} "), Err(QueryError::Empty));
        assert_eq!(parse("\0"), Err(QueryError::Empty));
        assert_eq!(parse("\"\""), Err(QueryError::Empty));
        assert!(parse(&"あ".repeat(MAX_QUERY_CHARS)).is_ok());
        assert_eq!(parse(&"あ".repeat(MAX_QUERY_CHARS + 1)), Err(QueryError::TooLong));
        let words: Vec<String> = (0..=MAX_TERMS).map(|i| format!("w{i}")).collect();
        assert_eq!(parse(&words.join(" ")), Err(QueryError::TooManyTerms));
        assert_eq!(parse_lenient(&words.join(" ")).unwrap().terms.len(), MAX_TERMS);
        assert_eq!(parse_lenient(" \0 "), None);
        assert!(parse_lenient(&"あ".repeat(MAX_QUERY_CHARS + 1)).is_some());
    }

    #[test]
    fn short_terms_go_to_the_gram_index_when_they_can() {
        let query = parse("障 ＤＢ c# 復旧作業").unwrap();
        let kinds: Vec<(bool, bool)> = query.terms.iter().map(|t| (t.is_short(), t.is_gram())).collect();
        assert_eq!(kinds, [(true, true), (true, true), (true, false), (false, false)]);
    }

    #[test]
    fn snippets_escape_the_text_and_mark_matches() {
        let query = parse("vpn").unwrap();
        assert_eq!(
            snippet("<b>ＶＰＮ</b> & vpn", &query),
            "&lt;b&gt;<mark>ＶＰＮ</mark>&lt;/b&gt; &amp; <mark>vpn</mark>"
        );
        let query = parse("障害").unwrap();
        let long = format!("{}障害{}", "あ".repeat(100), "い".repeat(200));
        let html = snippet(&long, &query);
        assert!(html.starts_with('…') && html.ends_with('…'), "{html}");
        assert!(html.contains("<mark>障害</mark>"), "{html}");
        assert_eq!(snippet("no match here", &query), "no match here");
        let query = parse("<script>").unwrap();
        assert_eq!(snippet("x<script>y", &query), "x<mark>&lt;script&gt;</mark>y");
    }
}
