//! One-shot messages shown on the next page, kept in the session as message ids and
//! translated when shown (the user may switch language in between).

use actix_session::Session;
use serde::{Deserialize, Serialize};

use super::i18n::{translate, Lang};

const SESSION_KEY: &str = "flash";

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Success,
    Error,
    Info,
}

#[derive(Serialize, Deserialize)]
struct Stored {
    kind: Kind,
    key: String,
}

#[derive(Serialize)]
pub struct Shown {
    pub kind: Kind,
    pub message: String,
}

pub fn push(session: &Session, kind: Kind, key: &str) {
    let mut list: Vec<Stored> = session.get(SESSION_KEY).ok().flatten().unwrap_or_default();
    list.push(Stored {
        kind,
        key: key.to_string(),
    });
    list.truncate(5);
    if let Err(e) = session.insert(SESSION_KEY, &list) {
        tracing::warn!(error = %e, "cannot store flash message");
    }
}

pub fn take(session: &Session, lang: Lang) -> Vec<Shown> {
    let list: Vec<Stored> = session.get(SESSION_KEY).ok().flatten().unwrap_or_default();
    if list.is_empty() {
        return Vec::new();
    }
    session.remove(SESSION_KEY);
    list.into_iter()
        .map(|s| Shown {
            kind: s.kind,
            message: translate(lang, &s.key),
        })
        .collect()
}
