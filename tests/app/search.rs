//! One search over every ticket kind (issue 12): the matching rules on both backends through a
//! table of queries, the refusals, the header box in a browser, and the index kept in step.

use fantoccini::Locator;
use mamori::auth::permissions::Role;
use serde_json::{json, Value};
use std::collections::BTreeSet;

use crate::on_both;
use crate::support::api::Api;
use crate::support::browser::{sign_in, Browser};
use crate::support::TestApp;

fn encode(q: &str) -> String {
    url::form_urlencoded::byte_serialize(q.as_bytes()).collect()
}

/// A description of exactly 1,000 characters, pasted whole as a query in the corpus.
fn long_text() -> String {
    let base = "障害報告：夜間の定期処理で応答が遅れ、利用者から問い合わせが続いた。原因はディスク容量の逼迫。";
    let text: String = base.chars().cycle().take(1000).collect();
    assert_eq!(text.chars().count(), 1000);
    text
}

/// Files the corpus: (label, id) for seven incidents (the first closed) and two problems.
async fn corpus(app: &TestApp, api: &Api<'_>) -> Vec<(&'static str, i64)> {
    let incidents = [
        ("vpn", "ＶＰＮ 接続障害", "拠点から社内に入れない。復旧まで 30 分"),
        ("db", "基幹DB停止", "データベースサーバが停止。障害対応中"),
        ("login", "Login page returns 503", "ログイン画面で HTTP 503 エラー"),
        ("printer", "ﾌﾟﾘﾝﾀ 印刷遅延", "3階のプリンタ①で遅延"),
        ("mail", "ﾒｰﾙ配送遅延", "Mail delivery delayed for 2 hours"),
        ("batch", "夜間バッチ異常終了", "ジョブ ＡＢＣ-１２３ (C# 製) が異常終了"),
        ("long", "障害報告書", ""),
    ];
    let mut ids = Vec::new();
    for (label, title, description) in incidents {
        let description = if label == "long" {
            long_text()
        } else {
            description.to_string()
        };
        let (status, body) = api
            .post(
                "/api/v1/incidents",
                json!({"title": title, "description": description, "impact": "low", "urgency": "low", "category": "network"}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        ids.push((label, body["id"].as_i64().unwrap()));
    }
    let problems = [
        ("prb-db", "ＤＢ接続の断続的な障害", ids[1].1),
        ("prb-vpn", "VPN 装置の復旧手順", ids[0].1),
    ];
    for (label, title, incident) in problems {
        let (status, body) = api
            .post(
                "/api/v1/problems",
                json!({"title": title, "incident_ids": [incident], "fix_due_on": "2026-12-31"}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        ids.push((label, body["id"].as_i64().unwrap()));
    }
    // The VPN incident is long closed: a search finds closed tickets by default.
    let closed = ids[0].1;
    app.with_db(move |conn| {
        use diesel::prelude::*;
        use mamori::db::schema::tickets;
        diesel::update(tickets::table.find(closed))
            .set(tickets::status.eq("closed"))
            .execute(conn)
            .unwrap();
    })
    .await;
    ids
}

fn labels_of(ids: &[(&'static str, i64)], page: &Value) -> BTreeSet<&'static str> {
    page["items"]
        .as_array()
        .unwrap_or_else(|| panic!("{page}"))
        .iter()
        .map(|item| {
            let id = item["id"].as_i64().unwrap();
            ids.iter().find(|(_, i)| *i == id).map(|(l, _)| *l).unwrap_or("?")
        })
        .collect()
}

/// Every query of the table finds exactly its tickets, through `/api/v1/search` (both orders)
/// and through the incident list's `q` (its incidents).
async fn the_query_corpus_finds_what_it_should(app: TestApp) {
    let api = Api::new(&app, Role::Engineer).await;
    let ids = corpus(&app, &api).await;
    let long = long_text();
    let all_incidents = ["vpn", "db", "login", "printer", "mail", "batch", "long"];
    let cases: Vec<(String, Vec<&str>)> = vec![
        // Two-character Japanese words.
        ("障害".into(), vec!["vpn", "db", "long", "prb-db"]),
        ("復旧".into(), vec!["vpn", "prb-vpn"]),
        ("停止".into(), vec!["db"]),
        ("遅延".into(), vec!["printer", "mail"]),
        ("接続".into(), vec!["vpn", "prb-db"]),
        ("ＤＢ".into(), vec!["db", "prb-db"]),
        ("db".into(), vec!["db", "prb-db"]),
        ("DB".into(), vec!["db", "prb-db"]),
        // One-character words.
        ("障".into(), vec!["vpn", "db", "long", "prb-db"]),
        ("停".into(), vec!["db"]),
        ("#".into(), vec!["batch"]),
        // Full-width, half-width and compatibility forms.
        ("ＶＰＮ".into(), vec!["vpn", "prb-vpn"]),
        ("vpn".into(), vec!["vpn", "prb-vpn"]),
        ("Vpn".into(), vec!["vpn", "prb-vpn"]),
        ("ﾌﾟﾘﾝﾀ".into(), vec!["printer"]),
        ("プリンタ".into(), vec!["printer"]),
        ("メール".into(), vec!["mail"]),
        ("プリンタ1".into(), vec!["printer"]),
        ("ａｂｃ－１２３".into(), vec!["batch"]),
        ("ABC-123".into(), vec!["batch"]),
        ("c#".into(), vec!["batch"]),
        // Numbers.
        ("503".into(), vec!["login"]),
        ("５０３".into(), vec!["login"]),
        // Mixed Japanese and English, several words (all required).
        ("VPN 障害".into(), vec!["vpn"]),
        ("ＤＢ 障害".into(), vec!["db", "prb-db"]),
        ("login 503".into(), vec!["login"]),
        ("メール delayed".into(), vec!["mail"]),
        ("障害 復旧".into(), vec!["vpn"]),
        ("障害 存在しない語".into(), vec![]),
        // Phrases.
        ("\"login page\"".into(), vec!["login"]),
        ("\"page login\"".into(), vec![]),
        ("\"LOGIN  PAGE\"".into(), vec!["login"]),
        ("＂異常終了＂".into(), vec!["batch"]),
        // Ticket numbers.
        ("INC-000002".into(), vec!["db"]),
        ("prb-000001".into(), vec!["prb-db"]),
        // Control characters count as spaces.
        ("障\0害".into(), vec!["vpn", "db", "long", "prb-db"]),
        // A pasted text of 1,000 characters.
        (long.clone(), vec!["long"]),
        ("存在しない語".into(), vec![]),
    ];
    assert!(cases.len() >= 30);
    for (q, expected) in &cases {
        let expected: BTreeSet<&str> = expected.iter().copied().collect();
        for sort in ["relevance", "newest"] {
            let (status, page) = api
                .get(&format!("/api/v1/search?q={}&sort={sort}&limit=50", encode(q)))
                .await;
            assert_eq!(status, 200, "{q}: {page}");
            assert_eq!(labels_of(&ids, &page), expected, "/api/v1/search q={q:?} sort={sort}");
        }
        let incidents: BTreeSet<&str> = expected.iter().copied().filter(|l| !l.starts_with("prb-")).collect();
        let (status, page) = api.get(&format!("/api/v1/incidents?view=all&q={}", encode(q))).await;
        assert_eq!(status, 200, "{q}: {page}");
        assert_eq!(labels_of(&ids, &page), incidents, "/api/v1/incidents q={q:?}");
    }
    // A query of only spaces is no filter for the list, and refused by the search (below).
    let (_, page) = api.get("/api/v1/incidents?view=all&q=%20%E3%80%80%20").await;
    assert_eq!(labels_of(&ids, &page), all_incidents.into_iter().collect());
    // Kinds and states filter; relevance puts the title match first.
    let (_, page) = api
        .get(&format!("/api/v1/search?q={}&kinds=problem", encode("障害")))
        .await;
    assert_eq!(labels_of(&ids, &page), ["prb-db"].into_iter().collect());
    let (_, page) = api
        .get(&format!("/api/v1/search?q={}&status=open", encode("VPN")))
        .await;
    assert_eq!(labels_of(&ids, &page), ["prb-vpn"].into_iter().collect());
    let (_, page) = api.get(&format!("/api/v1/search?q={}", encode("ＤＢ停止"))).await;
    assert_eq!(page["items"][0]["id"].as_i64(), Some(ids[1].1), "{page}");
    let hit = &page["items"][0];
    for field in [
        "kind",
        "id",
        "number",
        "title",
        "snippet",
        "status",
        "updated_at",
        "score",
    ] {
        assert!(!hit[field].is_null(), "{field}: {hit}");
    }
    assert_eq!(hit["kind"], "incident");
    assert_eq!(hit["number"], "INC-000002");
    assert!(hit["updated_at"].as_str().unwrap().ends_with('Z'));
    // The CSV export of a search carries the same matches.
    let (client, _) = app.login_as(Role::Engineer).await;
    let csv = app
        .get(&client, &format!("/incidents/export.csv?view=all&q={}", encode("ＤＢ")))
        .await
        .text()
        .await
        .unwrap();
    assert!(csv.contains("基幹DB停止") && !csv.contains("ＶＰＮ"), "{csv}");
}

/// Pages follow `next_cursor` to the end, each hit once, in both orders.
async fn search_pages_walk_with_a_cursor(app: TestApp) {
    let api = Api::new(&app, Role::Helpdesk).await;
    let mut filed = Vec::new();
    for n in 0..5 {
        let (status, body) = api
            .post(
                "/api/v1/incidents",
                json!({"title": format!("障害 {n}"), "description": "", "impact": "low", "urgency": "low"}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        filed.push(body["id"].as_i64().unwrap());
    }
    for sort in ["newest", "relevance"] {
        let mut seen = Vec::new();
        let mut path = format!("/api/v1/search?q={}&limit=2&sort={sort}", encode("障害"));
        loop {
            let (status, page) = api.get(&path).await;
            assert_eq!(status, 200, "{page}");
            seen.extend(
                page["items"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|i| i["id"].as_i64().unwrap()),
            );
            match page["next_cursor"].as_str() {
                Some(cursor) => {
                    path = format!(
                        "/api/v1/search?q={}&limit=2&sort={sort}&cursor={cursor}",
                        encode("障害")
                    )
                }
                None => break,
            }
            assert!(seen.len() <= 5, "{seen:?}");
        }
        seen.sort();
        assert_eq!(seen, filed, "{sort}");
    }
}

/// Bad parameters are 422s naming the parameter, never a 500.
async fn bad_search_input_is_refused_by_name(app: TestApp) {
    let api = Api::new(&app, Role::Helpdesk).await;
    let too_long = encode(&"あ".repeat(1001));
    let too_many = encode(&(0..33).map(|i| format!("w{i}")).collect::<Vec<_>>().join(" "));
    let cases = [
        ("/api/v1/search".to_string(), "q"),
        ("/api/v1/search?q=".to_string(), "q"),
        ("/api/v1/search?q=%20%20%E3%80%80".to_string(), "q"),
        ("/api/v1/search?q=%00".to_string(), "q"),
        (format!("/api/v1/search?q={too_long}"), "q"),
        (format!("/api/v1/search?q={too_many}"), "q"),
        ("/api/v1/search?q=vpn&kinds=incident,ci".to_string(), "kinds"),
        ("/api/v1/search?q=vpn&kinds=,".to_string(), "kinds"),
        ("/api/v1/search?q=vpn&cursor=abc".to_string(), "cursor"),
        ("/api/v1/search?q=vpn&cursor=t-5".to_string(), "cursor"),
        ("/api/v1/search?q=vpn&status=closed".to_string(), "status"),
        ("/api/v1/search?q=vpn&sort=oldest".to_string(), "sort"),
        ("/api/v1/search?q=vpn&limit=0".to_string(), "limit"),
        ("/api/v1/search?q=vpn&limit=51".to_string(), "limit"),
    ];
    for (path, field) in cases {
        let (status, body) = api.get(&path).await;
        assert_eq!(status, 422, "{path}: {body}");
        assert!(body["error"]["fields"][field].is_string(), "{path}: {body}");
    }
    // A NUL in the incident list's q is a space, not a 500 from the text index.
    let (status, body) = api.get("/api/v1/incidents?view=all&q=vpn%00%E9%9A%9C").await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = api.get("/api/v1/search?q=vpn%00%E9%9A%9C%E5%AE%B3").await;
    assert_eq!(status, 200, "{body}");
    // The page keeps the text and says what is wrong, in Japanese for a Japanese user.
    let (client, _) = app.login_as(Role::Helpdesk).await;
    let page = app.get(&client, &format!("/search?q={too_long}")).await;
    assert_eq!(page.status(), 422);
    let html = page.text().await.unwrap();
    assert!(html.contains("aria-invalid=\"true\""), "{html}");
}

/// A ticket's text edits move its search entry in the same transaction, and the page escapes
/// the ticket's text in its snippet.
async fn edits_move_the_index_and_snippets_are_escaped(app: TestApp) {
    let api = Api::new(&app, Role::Engineer).await;
    let (_, created) = api
        .post(
            "/api/v1/incidents",
            json!({"title": "ストレージ警告", "description": "<script>alert(1)</script> ディスク障害", "impact": "low", "urgency": "low"}),
        )
        .await;
    let id = created["id"].as_i64().unwrap();
    let (_, page) = api.get(&format!("/api/v1/search?q={}", encode("障害"))).await;
    assert_eq!(page["items"][0]["id"].as_i64(), Some(id), "{page}");
    let snippet = page["items"][0]["snippet"].as_str().unwrap();
    assert!(
        snippet.contains("&lt;script&gt;") && snippet.contains("<mark>障害</mark>"),
        "{snippet}"
    );
    let (status, edited) = api
        .patch(
            &format!("/api/v1/incidents/{id}"),
            json!({"version": created["version"], "title": "ストレージ復旧", "description": "完了"}),
        )
        .await;
    assert_eq!(status, 200, "{edited}");
    let (_, page) = api.get(&format!("/api/v1/search?q={}", encode("障害"))).await;
    assert!(page["items"].as_array().unwrap().is_empty(), "{page}");
    let (_, page) = api.get(&format!("/api/v1/search?q={}", encode("復旧"))).await;
    assert_eq!(page["items"][0]["id"].as_i64(), Some(id), "{page}");
    let (client, _) = app.login_as(Role::Helpdesk).await;
    let html = app
        .get(&client, &format!("/search?q={}", encode("ストレージ")))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("ストレージ復旧") && !html.contains("<script>alert"),
        "{html}"
    );
}

/// Seeded incidents get the search entries the application would write for them, and tickets
/// stored without one get theirs at start-up.
async fn seeded_and_earlier_tickets_are_indexed_like_new_ones(app: TestApp) {
    use diesel::prelude::*;
    use mamori::db::schema::{ticket_search, tickets};
    let api = Api::new(&app, Role::Engineer).await;
    let rows = app
        .with_db(|conn| {
            use mamori::db::schema::users;
            let reporter: i64 = users::table.select(users::id).order(users::id).first(conn).unwrap();
            mamori::incidents::queries::bulk_seed(conn, 24, reporter, mamori::db::now()).unwrap();
            // An earlier ticket: its entry is gone, as before the search migration.
            let first: i64 = tickets::table
                .select(tickets::id)
                .order(tickets::id)
                .first(conn)
                .unwrap();
            diesel::delete(ticket_search::table.find(first)).execute(conn).unwrap();
            assert_eq!(mamori::tickets::queries::backfill_search(conn).unwrap(), 1);
            tickets::table
                .inner_join(ticket_search::table)
                .select((
                    tickets::reference,
                    tickets::title,
                    tickets::description,
                    ticket_search::body,
                    ticket_search::grams,
                ))
                .load::<(String, String, String, String, String)>(conn)
                .unwrap()
        })
        .await;
    assert_eq!(rows.len(), 24);
    for (reference, title, description, body, grams) in rows {
        use mamori::tickets::search;
        let expected = search::indexed_text(&reference, &title, &description);
        assert_eq!(body, expected);
        let set = |g: &str| -> BTreeSet<String> { g.split(' ').filter(|g| !g.is_empty()).map(String::from).collect() };
        assert_eq!(set(&grams), set(&search::grams(&expected)), "{reference}");
    }
    // Half of the generated descriptions mention 障害.
    let (_, page) = api.get(&format!("/api/v1/search?q={}&limit=50", encode("障害"))).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 12, "{page}");
}

/// A bulk load's chunks leave the index exact, and the FTS5 merge settings the load switches off
/// inside its transaction are back to FTS5's defaults afterwards (SQLite; nothing to check on
/// PostgreSQL). A page of a frequent word behind a rare filter is filled from growing batches
/// of the index, every hit once.
async fn bulk_loads_keep_the_index_exact_and_pages_fill_across_batches(app: TestApp) {
    use diesel::prelude::*;
    use diesel::sql_types::{BigInt, Text};
    #[derive(QueryableByName)]
    struct Setting {
        #[diesel(sql_type = Text)]
        k: String,
        #[diesel(sql_type = BigInt)]
        v: i64,
    }
    let api = Api::new(&app, Role::Engineer).await;
    let backend = app.backend;
    let expected = app
        .with_db(move |conn| {
            use mamori::db::schema::{ticket_search, tickets, users};
            let reporter: i64 = users::table.select(users::id).order(users::id).first(conn).unwrap();
            for _ in 0..2 {
                mamori::incidents::queries::bulk_seed(conn, 1500, reporter, mamori::db::now()).unwrap();
            }
            if backend == mamori::db::Backend::Sqlite {
                for table in ["ticket_search_fts_text", "ticket_search_fts_grams"] {
                    let settings: Vec<Setting> = diesel::sql_query(format!(
                        "SELECT k, CAST(v AS INTEGER) AS v FROM {table}_config \
                         WHERE k IN ('automerge', 'crisismerge') ORDER BY k"
                    ))
                    .load(conn)
                    .unwrap();
                    let settings: Vec<(String, i64)> = settings.into_iter().map(|s| (s.k, s.v)).collect();
                    let expected = [("automerge".to_string(), 4), ("crisismerge".to_string(), 16)];
                    assert_eq!(settings, expected, "{table}");
                }
            }
            let mut ids: Vec<i64> = tickets::table
                .inner_join(ticket_search::table)
                .filter(tickets::status.eq("mitigated"))
                .filter(ticket_search::body.like("%障害%"))
                .select(tickets::id)
                .load(conn)
                .unwrap();
            ids.sort_unstable_by(|a, b| b.cmp(a));
            ids
        })
        .await;
    // 30 of the 3,000: one in a hundred of the incidents with 障害, which is in half of them.
    assert_eq!(expected.len(), 30);
    let first = format!(
        "/api/v1/incidents?view=all&status=mitigated&q={}&limit=7",
        encode("障害")
    );
    let mut seen: Vec<i64> = Vec::new();
    let mut path = first.clone();
    loop {
        let (status, page) = api.get(&path).await;
        assert_eq!(status, 200, "{page}");
        seen.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["id"].as_i64().unwrap()),
        );
        match page["next_before"].as_i64() {
            Some(before) => path = format!("{first}&before={before}"),
            None => break,
        }
        assert!(seen.len() <= expected.len(), "{seen:?}");
    }
    assert_eq!(seen, expected);
}

/// A pool's SQLite connections share out one page-cache budget: 16 connections keep 1 MiB each
/// instead of SQLite's default of 2,000 KiB (the server's memory under a benchmark). Nothing to
/// check on PostgreSQL, whose cache is the server's own.
async fn pooled_sqlite_connections_share_one_page_cache_budget(app: TestApp) {
    use diesel::prelude::*;
    #[derive(QueryableByName)]
    struct CacheSize {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        cache_size: i64,
    }
    if app.backend != mamori::db::Backend::Sqlite {
        return;
    }
    assert_eq!(mamori::db::sqlite_cache_kib(16), 1024);
    assert_eq!(mamori::db::sqlite_cache_kib(1), 2000);
    assert_eq!(mamori::db::sqlite_cache_kib(256), 512);
    let url = mamori::db::DatabaseUrl::parse(&app.database_url).unwrap();
    let sizes = tokio::task::spawn_blocking(move || {
        let pool = mamori::db::build_pool(&url, 16, std::time::Duration::from_secs(5)).unwrap();
        let mut conn = pool.get().unwrap();
        let big: Vec<CacheSize> = diesel::sql_query("PRAGMA cache_size").load(&mut **conn).unwrap();
        let pool = mamori::db::build_pool(&url, 2, std::time::Duration::from_secs(5)).unwrap();
        let mut conn = pool.get().unwrap();
        let small: Vec<CacheSize> = diesel::sql_query("PRAGMA cache_size").load(&mut **conn).unwrap();
        (big[0].cache_size, small[0].cache_size)
    })
    .await
    .unwrap();
    assert_eq!(sizes, (-1024, -2000));
}

/// The header's search box on every page: typing 障害 finds a closed incident and a problem.
async fn the_header_box_finds_closed_incidents_and_problems(app: TestApp) {
    let Some(browser) = Browser::start().await else { return };
    let api = Api::new(&app, Role::Engineer).await;
    let ids = corpus(&app, &api).await;
    let user = app.create_user(Role::Helpdesk).await;
    let c = &browser.client;
    sign_in(c, &app.url("/login"), &user.email, &user.password).await;
    c.goto(&app.url("/incidents")).await.unwrap();
    let input = c.find(Locator::Id("header-search-q")).await.unwrap();
    input.send_keys("障害").await.unwrap();
    input.send_keys("\u{E007}").await.unwrap();
    let results = c.wait().for_element(Locator::Id("search-results")).await.unwrap();
    let html = results.html(false).await.unwrap();
    let closed = ids.iter().find(|(l, _)| *l == "vpn").unwrap().1;
    let problem = ids.iter().find(|(l, _)| *l == "prb-db").unwrap().1;
    assert!(html.contains(&format!("href=\"/incidents/{closed}\"")), "{html}");
    assert!(html.contains(&format!("href=\"/problems/{problem}\"")), "{html}");
    assert!(html.contains("<mark>障害</mark>"), "{html}");
    // On a phone the box and the result cards fit the width (the navigation is not this test's).
    c.set_window_size(390, 844).await.unwrap();
    let overflowing = c
        .execute(
            "var w = document.documentElement.clientWidth; \
             return Array.from(document.querySelectorAll('#header-search, #header-search *, #search-form, #search-form *, #search-results, #search-results *')) \
             .filter(e => e.getBoundingClientRect().right > w + 1).map(e => e.tagName + '#' + e.id + '.' + e.className).join(' | ');",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(overflowing.as_str(), Some(""), "wider than 390 px");
    browser.client.clone().close().await.unwrap();
}

on_both!(
    the_query_corpus_finds_what_it_should,
    search_pages_walk_with_a_cursor,
    bad_search_input_is_refused_by_name,
    edits_move_the_index_and_snippets_are_escaped,
    seeded_and_earlier_tickets_are_indexed_like_new_ones,
    the_header_box_finds_closed_incidents_and_problems,
    bulk_loads_keep_the_index_exact_and_pages_fill_across_batches,
    pooled_sqlite_connections_share_one_page_cache_budget,
);
