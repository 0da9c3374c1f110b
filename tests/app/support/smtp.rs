//! A real SMTP server on loopback for the mail tests: Python's aiosmtpd running
//! `smtp_sink.py`, which writes every accepted message to a folder. `scripts/test.sh` installs
//! aiosmtpd into `target/smtp-sink-venv`; with `CI=true` a missing sink fails the test.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The sink: its port stays the same across [`SmtpSink::stop`] and [`SmtpSink::start`].
pub struct SmtpSink {
    pub port: u16,
    pub folder: PathBuf,
    python: PathBuf,
    child: Option<Child>,
}

fn python() -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("MAMORI_SMTP_SINK_PYTHON").map(PathBuf::from),
        Some(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/smtp-sink-venv/bin/python")),
        Some(PathBuf::from("python3")),
    ];
    candidates.into_iter().flatten().find(|python| {
        Command::new(python)
            .args(["-c", "import aiosmtpd"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

impl SmtpSink {
    /// Starts a sink, or `None` (outside CI only) when aiosmtpd is not installed.
    pub fn start_new() -> Option<SmtpSink> {
        let Some(python) = python() else {
            if super::in_ci() {
                panic!("CI=true but aiosmtpd is missing: run scripts/test.sh (it installs it)");
            }
            eprintln!("SKIPPED: aiosmtpd is not installed (scripts/test.sh installs it)");
            return None;
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let folder = super::unique_dir("smtp-sink");
        std::fs::create_dir_all(&folder).expect("sink folder");
        let mut sink = SmtpSink {
            port,
            folder,
            python,
            child: None,
        };
        sink.start();
        Some(sink)
    }

    /// The URL the app sends to.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// (Re)starts the server on the same port and waits until it listens.
    pub fn start(&mut self) {
        assert!(self.child.is_none(), "already running");
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/app/support/smtp_sink.py");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let mut child = Command::new(&self.python)
                .arg(&script)
                .arg(self.port.to_string())
                .arg(&self.folder)
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .expect("start the SMTP sink");
            let mut line = String::new();
            let _ = BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line);
            if line.trim() == "ready" {
                self.child = Some(child);
                return;
            }
            // The port may still be in TIME_WAIT after a stop: try again.
            let _ = child.kill();
            let _ = child.wait();
            assert!(Instant::now() < deadline, "the SMTP sink did not start");
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Stops the server: connections to its port are refused until [`SmtpSink::start`].
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Every message received so far, raw, oldest first.
    pub fn messages(&self) -> Vec<Vec<u8>> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&self.folder)
            .expect("sink folder")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.extension().is_some_and(|x| x == "eml") && !p.file_name().unwrap().to_string_lossy().starts_with('.')
            })
            .collect();
        files.sort();
        files.into_iter().map(|p| std::fs::read(p).expect("message")).collect()
    }

    /// Waits up to 20 s until at least `n` messages arrived; all of them.
    pub async fn wait_for(&self, n: usize) -> Vec<Vec<u8>> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let messages = self.messages();
            if messages.len() >= n || Instant::now() > deadline {
                return messages;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.stop();
    }
}
