//! Headless Chromium over WebDriver (chromedriver + fantoccini). Missing browser: a failure
//! under CI=true, a loud skip elsewhere.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct Browser {
    pub client: fantoccini::Client,
    driver: Child,
    _profile: std::path::PathBuf,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn find(candidates: &[&str]) -> Option<String> {
    candidates
        .iter()
        .find(|p| std::path::Path::new(p).is_file())
        .map(|p| p.to_string())
}

impl Browser {
    pub async fn start() -> Option<Browser> {
        let chromium = std::env::var("MAMORI_CHROMIUM").ok().or_else(|| {
            find(&[
                "/usr/bin/chromium",
                "/usr/bin/chromium-browser",
                "/usr/bin/google-chrome",
            ])
        });
        let driver_bin = std::env::var("MAMORI_CHROMEDRIVER")
            .ok()
            .or_else(|| find(&["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]));
        let (Some(chromium), Some(driver_bin)) = (chromium, driver_bin) else {
            let message = "headless Chromium or chromedriver not found (Debian: apt-get install chromium chromium-driver fonts-noto-cjk; scripts/test.sh installs them)";
            if super::in_ci() {
                panic!("CI=true: {message}");
            }
            eprintln!("SKIPPED browser test: {message}");
            return None;
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("bind")
            .local_addr()
            .expect("addr")
            .port();
        let driver = Command::new(&driver_bin)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let profile = std::env::temp_dir().join(format!("mamori-chrome-{}", mamori::auth::tokens::random_hex(8)));
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({
                "binary": chromium,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-quic", "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--lang=en-US",
                    "--window-size=1280,900",
                    format!("--user-data-dir={}", profile.display()),
                ],
                "prefs": { "intl.accept_languages": "en-US,en" }
            }),
        );
        let url = format!("http://127.0.0.1:{port}");
        let mut last_error = None;
        for _ in 0..100 {
            match fantoccini::ClientBuilder::native()
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(client) => {
                    return Some(Browser {
                        client,
                        driver,
                        _profile: profile,
                    })
                }
                Err(e) => {
                    last_error = Some(e);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
        panic!("cannot start a WebDriver session: {last_error:?}");
    }
}

/// Clicks something that loads a new page and waits until the old page is gone, so the next
/// look-up cannot find an element of the page being left.
pub async fn click_to_navigate(client: &fantoccini::Client, target: fantoccini::Locator<'_>) {
    let old = client.find(fantoccini::Locator::Css("html")).await.expect("page");
    client
        .find(target)
        .await
        .expect("element to click")
        .click()
        .await
        .expect("click");
    for _ in 0..200 {
        if old.tag_name().await.is_err() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the click did not load a new page within 5 s");
}

/// Signs in through the login page and waits for the navigation of the first page.
pub async fn sign_in(client: &fantoccini::Client, login_url: &str, email: &str, password: &str) {
    use fantoccini::Locator;
    client.goto(login_url).await.expect("login page");
    client
        .find(Locator::Css("input[name=email]"))
        .await
        .expect("email field")
        .send_keys(email)
        .await
        .expect("type email");
    client
        .find(Locator::Css("input[name=password]"))
        .await
        .expect("password field")
        .send_keys(password)
        .await
        .expect("type password");
    click_to_navigate(client, Locator::Css("form[action='/login'] button[type=submit]")).await;
    client
        .wait()
        .for_element(Locator::Id("main-nav"))
        .await
        .expect("signed in");
}
