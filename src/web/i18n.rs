//! Japanese and English through Fluent (fluent-templates). Message files live in
//! `locales/{ja,en}/main.ftl` and are compiled into the binary. Templates call
//! `fluent(key=..., lang=lang)`; Rust code calls [`translate`].

use std::borrow::Cow;
use std::collections::HashMap;

use fluent_templates::fluent_bundle::FluentValue;
use fluent_templates::{LanguageIdentifier, Loader};

fluent_templates::static_loader! {
    pub static LOCALES = {
        locales: "./locales",
        fallback_language: "en",
        // Unicode isolation marks around arguments would end up in HTML and mails.
        customise: |bundle| bundle.set_use_isolating(false),
    };
}

/// The languages of the UI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    Ja,
    En,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::Ja, Lang::En];

    pub fn code(self) -> &'static str {
        match self {
            Lang::Ja => "ja",
            Lang::En => "en",
        }
    }

    pub fn parse(code: &str) -> Option<Lang> {
        match code.trim().to_ascii_lowercase().as_str() {
            "ja" | "ja-jp" => Some(Lang::Ja),
            "en" | "en-us" | "en-gb" => Some(Lang::En),
            _ => None,
        }
    }

    fn identifier(self) -> LanguageIdentifier {
        self.code().parse().expect("static language code")
    }

    /// The browser's preferred language among ours: highest `q` wins, the first listed on a tie.
    /// No header means Japanese (Mamori's home); a header naming neither language means English.
    pub fn from_accept_language(header: Option<&str>) -> Lang {
        let Some(header) = header else { return Lang::Ja };
        let mut best: Option<(f32, Lang)> = None;
        for part in header.split(',') {
            let mut pieces = part.split(';');
            let tag = pieces.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = pieces
                .find_map(|p| p.trim().strip_prefix("q=").and_then(|v| v.parse::<f32>().ok()))
                .unwrap_or(1.0);
            let primary = tag.split('-').next().unwrap_or("");
            let Some(lang) = Lang::parse(primary) else { continue };
            if q > 0.0 && best.is_none_or(|(best_q, _)| q > best_q) {
                best = Some((q, lang));
            }
        }
        best.map(|(_, lang)| lang).unwrap_or(Lang::En)
    }
}

/// Translates a message id.
pub fn translate(lang: Lang, key: &str) -> String {
    LOCALES.lookup(&lang.identifier(), key)
}

/// Translates a message id with numeric arguments.
pub fn translate_with(lang: Lang, key: &str, args: &[(&'static str, i64)]) -> String {
    if args.is_empty() {
        return translate(lang, key);
    }
    let args: HashMap<Cow<'static, str>, FluentValue> = args
        .iter()
        .map(|(name, value)| (Cow::Borrowed(*name), FluentValue::from(*value)))
        .collect();
    LOCALES.lookup_with_args(&lang.identifier(), key, &args)
}

/// Translates a message id with string arguments (names and the like).
pub fn translate_text(lang: Lang, key: &str, args: &[(&'static str, &str)]) -> String {
    let args: HashMap<Cow<'static, str>, FluentValue> = args
        .iter()
        .map(|(name, value)| (Cow::Borrowed(*name), FluentValue::from(value.to_string())))
        .collect();
    LOCALES.lookup_with_args(&lang.identifier(), key, &args)
}

/// Whether a message id exists in the given language (used by tests and start-up checks).
pub fn has_message(lang: Lang, key: &str) -> bool {
    LOCALES
        .lookup_single_language::<&str>(&lang.identifier(), key, None)
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_picks_our_best_match() {
        assert_eq!(Lang::from_accept_language(None), Lang::Ja);
        assert_eq!(Lang::from_accept_language(Some("ja,en-US;q=0.9")), Lang::Ja);
        assert_eq!(Lang::from_accept_language(Some("en-US,en;q=0.9,ja;q=0.8")), Lang::En);
        assert_eq!(Lang::from_accept_language(Some("fr-FR,ja;q=0.5")), Lang::Ja);
        assert_eq!(Lang::from_accept_language(Some("de-DE")), Lang::En);
        assert_eq!(Lang::from_accept_language(Some("ja;q=0, en")), Lang::En);
    }

    #[test]
    fn messages_exist_in_both_languages() {
        for lang in Lang::ALL {
            assert!(has_message(lang, "login-failed"), "{lang:?}");
        }
        assert_ne!(translate(Lang::Ja, "login-failed"), translate(Lang::En, "login-failed"));
        let ja = translate_with(Lang::Ja, "error-too-long", &[("max", 100)]);
        assert!(ja.contains("100"), "{ja}");
    }
}
