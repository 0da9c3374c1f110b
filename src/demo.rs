//! `mamori demo`: a realistic data set for a newcomer to explore — five teams, thirteen people,
//! four months of incidents, problems and post-mortems in Japanese and English.
//!
//! The story is planned first: every step (an incident filed, acknowledged, escalated, worked
//! around, resolved, closed; a problem opened and analysed; a post-mortem drafted and published)
//! with the moment it happened, drawn from a small seeded generator so every run tells the same
//! story. It is then replayed in time order through the service layer with that moment as the
//! services' `now`, so the timeline events and audit rows are the ones the app writes itself and
//! every rule holds (a P1 closes only after its post-mortem is published; an incident restored
//! only by a workaround closes only once linked to a problem). Nothing is dated after the real
//! current time.
//!
//! Safety: it refuses to run when the database holds any ticket (or a demo account), so it never
//! mixes invented incidents into a live system. Each use case commits on its own, as in the app: a
//! server running beside it keeps working (one transaction around thousands of steps would hold
//! SQLite's write lock for the whole run and overflow PostgreSQL's subtransaction cache), and a
//! run that failed half-way is not repeated, since the next one refuses. Demo people share one
//! password generated at run time; only its argon2 hash is stored, and the caller prints it once.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, Timelike, Weekday};
use diesel::prelude::*;

use crate::audit::model::Actor;
use crate::db::{write_transaction, DbConnection};
use crate::error::AppError;
use crate::incidents::model::IncidentInput;
use crate::incidents::rules::{Action, Level, Priority};
use crate::incidents::service::{
    self as incidents, AssignInput, CommentInput, EscalationInput, StatusUpdateInput, TransitionInput,
};
use crate::postmortems::model::{ActionItemInput, SectionsPatch};
use crate::postmortems::rules::Step as PostmortemStep;
use crate::postmortems::service as postmortems;
use crate::problems::model::{AnalysisInput, ProblemInput};
use crate::problems::rules::Action as ProblemAction;
use crate::problems::service as problems;
use crate::teams::model::TeamInput;
use crate::users::model::UserInput;

/// Where the demo accounts live; `.example` is reserved, so no mail can reach a real person.
pub const EMAIL_DOMAIN: &str = "demo.mamori.example";

/// The generator's seed: the same seed, the same story.
const SEED: u64 = 0x6d61_6d6f_7269_0001;

/// How far back the story starts (days before today, Tokyo time).
const HISTORY_DAYS: i64 = 120;

/// What `load` did, for the command line to print (the password exactly once; no `Debug`, so it
/// cannot end up in a log by accident).
pub struct Report {
    pub password: String,
    /// (e-mail, role, display name) of every demo account.
    pub accounts: Vec<(String, &'static str, &'static str)>,
    pub teams: usize,
    pub incidents: usize,
    pub problems: usize,
    pub postmortems: usize,
}

/// Fills an empty database with the demo story. Refuses (409) when any ticket exists, deleted or
/// not, so it never mixes invented incidents into a live system.
pub fn load(conn: &mut DbConnection, now: NaiveDateTime) -> Result<Report, AppError> {
    if holds_tickets(conn)? {
        return Err(AppError::Conflict(
            "the database already holds tickets; `mamori demo` only fills an empty system".into(),
        ));
    }
    for person in PEOPLE.iter() {
        let email = person.email();
        if crate::users::queries::find_by_email(conn, &email)?.is_some() {
            return Err(AppError::Conflict(format!(
                "a user {email} already exists; `mamori demo` only fills an empty system"
            )));
        }
    }
    let password = new_password();
    let mut report = replay(conn, Planner::new(now).plan(), now, &password)?;
    report.password = password;
    let counts = serde_json::json!({
        "teams": report.teams, "people": report.accounts.len(), "incidents": report.incidents,
        "problems": report.problems, "postmortems": report.postmortems,
    });
    write_transaction(conn, |conn| {
        crate::audit::service::record(
            conn,
            &Actor::system("demo"),
            now,
            "demo.load",
            "demo",
            "*",
            None::<&()>,
            Some(&counts),
        )
    })?;
    Ok(report)
}

/// Whether any ticket row exists, softly deleted ones included.
fn holds_tickets(conn: &mut DbConnection) -> QueryResult<bool> {
    use crate::db::schema::tickets;
    Ok(tickets::table
        .select(tickets::id)
        .first::<i64>(conn)
        .optional()?
        .is_some())
}

/// Sixteen random hex digits in groups of four: easy to type, never stored in the clear.
fn new_password() -> String {
    let hex = crate::auth::tokens::random_hex(16);
    hex.as_bytes()
        .chunks(4)
        .map(|c| std::str::from_utf8(c).expect("hex is ascii"))
        .collect::<Vec<_>>()
        .join("-")
}

// ---------------------------------------------------------------------------------------------
// The cast.

const SD: usize = 0;
const NW: usize = 1;
const DB: usize = 2;
const APP: usize = 3;
const SEC: usize = 4;

/// Teams: (name, description).
const TEAMS: [(&str, &str); 5] = [
    (
        "サービスデスク",
        "一次対応：電話・メール・監視からの受付と手順書による初動 / Service desk: first-line support",
    ),
    (
        "ネットワーク",
        "社内 LAN・Wi-Fi・VPN・コアスイッチ / Network: LAN, Wi-Fi, VPN and core switches",
    ),
    (
        "データベース",
        "基幹 DB・レプリケーション・バックアップ / Database: core databases, replication, backups",
    ),
    (
        "アプリ基盤",
        "業務アプリ・メール・ファイルサーバ・夜間バッチ / Application platform: business apps, mail, file servers, batch",
    ),
    (
        "セキュリティ",
        "認証・証明書・セキュリティ監視 / Security: identity, certificates, security monitoring",
    ),
];

struct Person {
    local: &'static str,
    name: &'static str,
    role: &'static str,
    locale: &'static str,
    time_zone: &'static str,
    teams: &'static [usize],
}

impl Person {
    fn email(&self) -> String {
        format!("{}@{EMAIL_DOMAIN}", self.local)
    }

    fn ja(&self) -> bool {
        self.locale == "ja"
    }
}

const SATO: usize = 0;
const KOBAYASHI: usize = 1;
const EMILY: usize = 2;
const SUZUKI: usize = 3;
const TAKAHASHI: usize = 4;
const TOM: usize = 5;
const TANAKA: usize = 6;
const RAJ: usize = 7;
const ITO: usize = 8;
const WATANABE: usize = 9;
const YAMAMOTO: usize = 10;
const SARAH: usize = 11;
const NAKAMURA: usize = 12;

const PEOPLE: [Person; 13] = [
    Person {
        local: "misaki.sato",
        name: "佐藤 美咲",
        role: "helpdesk",
        locale: "ja",
        time_zone: "Asia/Tokyo",
        teams: &[SD],
    },
    Person {
        local: "ai.kobayashi",
        name: "小林 愛",
        role: "helpdesk",
        locale: "ja",
        time_zone: "Asia/Tokyo",
        teams: &[SD],
    },
    Person {
        local: "emily.clarke",
        name: "Emily Clarke",
        role: "helpdesk",
        locale: "en",
        time_zone: "Europe/London",
        teams: &[SD],
    },
    Person {
        local: "kenta.suzuki",
        name: "鈴木 健太",
        role: "engineer",
        locale: "ja",
        time_zone: "Asia/Tokyo",
        teams: &[SD],
    },
    Person {
        local: "sho.takahashi",
        name: "高橋 翔",
        role: "engineer",
        locale: "ja",
        time_zone: "Asia/Tokyo",
        teams: &[NW],
    },
    Person {
        local: "tom.walker",
        name: "Tom Walker",
        role: "engineer",
        locale: "en",
        time_zone: "Europe/London",
        teams: &[NW],
    },
    Person {
        local: "yumi.tanaka",
        name: "田中 由美",
        role: "engineer",
        locale: "ja",
        time_zone: "Asia/Tokyo",
        teams: &[DB],
    },
    Person {
        local: "raj.patel",
        name: "Raj Patel",
        role: "engineer",
        locale: "en",
        time_zone: "Asia/Tokyo",
        teams: &[DB, APP],
    },
    Person {
        local: "daisuke.ito",
        name: "伊藤 大輔",
        role: "engineer",
        locale: "ja",
        time_zone: "Asia/Tokyo",
        teams: &[APP],
    },
    Person {
        local: "sakura.watanabe",
        name: "渡辺 さくら",
        role: "engineer",
        locale: "ja",
        time_zone: "Asia/Tokyo",
        teams: &[SEC],
    },
    Person {
        local: "makoto.yamamoto",
        name: "山本 誠",
        role: "manager",
        locale: "ja",
        time_zone: "Asia/Tokyo",
        teams: &[SD, APP],
    },
    Person {
        local: "sarah.mitchell",
        name: "Sarah Mitchell",
        role: "manager",
        locale: "en",
        time_zone: "Asia/Tokyo",
        teams: &[NW, DB, SEC],
    },
    Person {
        local: "naoki.nakamura",
        name: "中村 直樹",
        role: "admin",
        locale: "ja",
        time_zone: "Asia/Tokyo",
        teams: &[],
    },
];

/// A text in Japanese and English; the person writing it picks their language.
type T = (&'static str, &'static str);

fn say(person: usize, text: T) -> &'static str {
    if PEOPLE[person].ja() {
        text.0
    } else {
        text.1
    }
}

/// Fills `{name}` placeholders.
fn fill(text: &str, vars: &[(&str, &str)]) -> String {
    let mut out = text.to_string();
    for (name, value) in vars {
        out = out.replace(&format!("{{{name}}}"), value);
    }
    out
}

const DEPARTMENTS: [T; 7] = [
    ("経理部", "Accounting"),
    ("営業部", "Sales"),
    ("人事部", "HR"),
    ("物流センター", "the logistics centre"),
    ("大阪支社", "the Osaka branch"),
    ("開発部", "Development"),
    ("購買部", "Purchasing"),
];

// ---------------------------------------------------------------------------------------------
// What goes wrong, again and again: the recurring kinds of incident.

struct Scenario {
    category: &'static str,
    service: &'static str,
    /// The team that handles it at second line.
    team: usize,
    weight: u64,
    priority: Priority,
    channels: &'static [&'static str],
    /// Raised by monitoring, often outside office hours.
    night: bool,
    /// Percent the service desk fixes from its runbook without escalating.
    desk: u64,
    titles: &'static [T],
    description: T,
    tried: T,
    desk_fix: T,
    finding: T,
    workaround: T,
    resolution: T,
}

const S_VPN: usize = 0;
const S_MAIL: usize = 1;
const S_KINTAI: usize = 2;
const S_REPL: usize = 3;
const S_CERT: usize = 4;
const S_BATCH: usize = 5;
const S_AD: usize = 6;
const S_FILE: usize = 7;
const S_WIFI: usize = 8;
const S_PRINT: usize = 9;
const S_EXPENSE: usize = 10;
const S_BACKUP: usize = 14;
const S_ORDER: usize = 15;
const S_PC: usize = 17;

const SCENARIOS: [Scenario; 18] = [
    Scenario {
        category: "ネットワーク",
        service: "VPN",
        team: NW,
        weight: 10,
        priority: Priority::P3,
        channels: &["phone", "mail"],
        night: false,
        desk: 30,
        titles: &[
            ("VPN に接続できない", "Cannot connect to the VPN"),
            ("在宅勤務中に VPN が頻繁に切断される", "VPN keeps dropping while working from home"),
            ("VPN 接続後に社内システムへアクセスできない", "Connected to the VPN but internal systems are unreachable"),
        ],
        description: (
            "{dept}の利用者から連絡。VPN クライアントで「認証は成功したがトンネルを確立できません」と表示され接続できない。同様の問い合わせが複数件あり。",
            "Reported by {dept}: the VPN client says \"authenticated, but the tunnel could not be established\". Several users report the same.",
        ),
        tried: (
            "手順書 NW-01 に沿ってクライアントの再起動・再接続、クライアント証明書の有効期限を確認したが改善せず。",
            "Followed runbook NW-01: restarted the client, reconnected and checked the client certificate. No change.",
        ),
        desk_fix: (
            "VPN クライアントの再インストール（手順書 NW-01）で接続できることを確認。",
            "Reinstalled the VPN client (runbook NW-01); the user can connect again.",
        ),
        finding: (
            "VPN 装置のセッション数が上限付近で、新規セッションが拒否されている。切断済みのセッションが解放されていない。",
            "The VPN appliance is close to its session limit and refuses new sessions; dropped sessions are not released.",
        ),
        workaround: (
            "VPN 装置でアイドル状態のセッションをクリアし（手順書 NW-07）、接続を回復。",
            "Cleared idle sessions on the VPN appliance (runbook NW-07); connections work again.",
        ),
        resolution: (
            "VPN 装置の設定を見直し、利用者に接続できることを確認いただいた。",
            "Corrected the VPN appliance settings; users confirmed they can connect.",
        ),
    },
    Scenario {
        category: "メール",
        service: "社内メール",
        team: APP,
        weight: 6,
        priority: Priority::P3,
        channels: &["phone", "mail", "web"],
        night: false,
        desk: 0,
        titles: &[
            ("社外宛てメールの送信が遅延している", "Outgoing mail to external addresses is delayed"),
            ("メールが 30 分以上届かない", "Mail takes more than 30 minutes to arrive"),
            ("取引先からのメールが受信できない", "Mail from a customer is not arriving"),
        ],
        description: (
            "{dept}から、社外宛てに送信したメールが相手に届くまで 30 分以上かかるとの連絡。送信済みフォルダには入っている。",
            "{dept} reports that mail sent to external addresses takes over 30 minutes to arrive. The messages are in Sent Items.",
        ),
        tried: (
            "手順書 ML-02 に沿って利用者側の送信トレイとメールクライアントの設定を確認。クライアント側の問題ではない。",
            "Runbook ML-02: checked the user's outbox and client settings. Not a client-side problem.",
        ),
        desk_fix: ("", ""),
        finding: (
            "メールリレーサーバのキューに 4,000 通以上が滞留。応答の遅い一部の宛先ドメインへの再送で配送スレッドが埋まっている。",
            "Over 4,000 messages are queued on the mail relay; retries to a few slow destination domains hold every delivery thread.",
        ),
        workaround: (
            "滞留の原因となっている宛先ドメイン向けのキューを一時保留し、他の宛先の配送を再開。",
            "Deferred the queue for the slow destination domains so that other mail flows again.",
        ),
        resolution: (
            "キューが解消し、遅延していたメールが配送されたことを確認。",
            "The queue drained and the delayed mail was delivered.",
        ),
    },
    Scenario {
        category: "業務アプリ",
        service: "勤怠システム",
        team: APP,
        weight: 2,
        priority: Priority::P3,
        channels: &["phone", "web"],
        night: false,
        desk: 0,
        titles: &[
            ("勤怠システムで打刻できない（タイムアウト）", "Attendance system times out when clocking in"),
            ("勤怠システムの月次締め画面が表示されない", "Attendance system: the monthly closing page does not load"),
            ("勤怠システムが非常に遅い", "Attendance system is very slow"),
        ],
        description: (
            "朝 9 時前後から{dept}で勤怠システムの打刻がタイムアウトする。画面は表示されるが、登録ボタンを押すと 60 秒待って失敗する。",
            "Since around 9:00 {dept} cannot clock in: the page loads, but saving waits 60 seconds and fails.",
        ),
        tried: (
            "ブラウザのキャッシュ削除、別端末での操作を確認。全利用者で発生しており端末の問題ではない。",
            "Cleared the browser cache and tried another PC. Everyone is affected, so it is not the client.",
        ),
        desk_fix: ("", ""),
        finding: (
            "月初の締め処理と朝の打刻が重なり、アプリサーバの DB 接続プールが枯渇している。",
            "The month-start closing jobs overlap with the morning clock-in peak and exhaust the app servers' connection pool.",
        ),
        workaround: (
            "締め処理のバッチを昼休みに延期し、アプリサーバを 1 台追加して負荷を分散。",
            "Postponed the closing batch to lunchtime and added one app server to spread the load.",
        ),
        resolution: (
            "ピークを過ぎてレスポンスが平常値（1 秒未満）に戻ったことを確認。",
            "After the peak, response times are back to normal (under one second).",
        ),
    },
    Scenario {
        category: "データベース",
        service: "受注システム",
        team: DB,
        weight: 6,
        priority: Priority::P3,
        channels: &["monitoring"],
        night: true,
        desk: 0,
        titles: &[
            ("DB レプリケーション遅延（db-prd-02）", "DB replication lag on db-prd-02"),
            ("受注照会画面に最新の注文が表示されない", "Latest orders missing from the order inquiry screen"),
            ("[監視] レプリケーション遅延が 300 秒を超過", "[Monitoring] Replication lag above 300 s"),
        ],
        description: (
            "監視から通知: db-prd-02 のレプリケーション遅延が 300 秒を超過（critical）。参照系の受注照会画面で直近の注文が表示されない。",
            "Monitoring alert: replication lag on db-prd-02 is above 300 s (critical). The read-only order inquiry screen does not show recent orders.",
        ),
        tried: (
            "手順書 DB-03 に沿ってレプリケーションの状態を確認。IO スレッドは稼働しているが遅延が縮まらない。",
            "Runbook DB-03: checked the replication status. The IO thread is running but the lag is not shrinking.",
        ),
        desk_fix: ("", ""),
        finding: (
            "夜間の一括更新バッチで大量の更新が発生し、レプリカ側の適用が追いついていない。",
            "The nightly bulk update produces more changes than the replica can apply.",
        ),
        workaround: (
            "受注照会の参照先を一時的にプライマリへ切り替え、遅延解消後に戻した。",
            "Pointed the inquiry screen at the primary for the time being and switched back once the replica caught up.",
        ),
        resolution: (
            "バッチ完了後に遅延が解消し、照会画面に最新の注文が表示されることを確認。",
            "The lag cleared after the batch finished; the inquiry screen shows current orders.",
        ),
    },
    Scenario {
        category: "セキュリティ",
        service: "社外ポータル",
        team: SEC,
        weight: 3,
        priority: Priority::P4,
        channels: &["monitoring"],
        night: true,
        desk: 0,
        titles: &[
            (
                "SSL 証明書の有効期限が 14 日以内（portal.example.co.jp）",
                "TLS certificate expires within 14 days (portal.example.co.jp)",
            ),
            ("証明書期限切れ間近の警告がブラウザに表示される", "Browsers warn about an expiring certificate"),
        ],
        description: (
            "監視から通知: 社外ポータルのサーバ証明書の有効期限が 14 日を切った（warning）。",
            "Monitoring: the customer portal's server certificate expires in less than 14 days (warning).",
        ),
        tried: (
            "証明書の有効期限と利用しているサーバを確認。更新作業はセキュリティチームの担当。",
            "Checked the expiry date and the servers using the certificate. Renewal belongs to the security team.",
        ),
        desk_fix: ("", ""),
        finding: (
            "更新申請は済んでいるが発行待ち。ロードバランサ 2 台への配置が必要。",
            "The renewal was requested but not issued yet; it has to go onto both load balancers.",
        ),
        workaround: (
            "期限まで余裕があるため、発行後に計画どおり更新する。",
            "There is time before expiry; renew as planned once issued.",
        ),
        resolution: (
            "新しい証明書をロードバランサ 2 台に配置し、有効期限が更新されたことを確認。",
            "Deployed the new certificate to both load balancers and verified the new expiry date.",
        ),
    },
    Scenario {
        category: "バッチ",
        service: "夜間バッチ",
        team: APP,
        weight: 7,
        priority: Priority::P3,
        channels: &["monitoring"],
        night: true,
        desk: 25,
        titles: &[
            ("夜間バッチ異常終了（売上集計 JOB-SAL-010）", "Nightly batch failed (sales summary JOB-SAL-010)"),
            ("バッチ異常終了: 在庫連携ジョブ", "Batch job failed: inventory sync"),
            ("夜間バッチが予定時刻に終了しない", "Nightly batch still running past its window"),
        ],
        description: (
            "ジョブ管理から通知: 夜間バッチが終了コード 12 で異常終了し、後続ジョブが待機状態。朝 8 時の日報配信に影響する可能性あり。",
            "Job scheduler: the nightly batch ended with exit code 12 and the following jobs are waiting. The 8:00 daily report may be late.",
        ),
        tried: (
            "手順書 BT-05 に沿ってジョブログを確認し、1 回再実行したが同じエラーで終了。",
            "Runbook BT-05: read the job log and re-ran the job once; same error.",
        ),
        desk_fix: (
            "手順書 BT-05 に沿って再実行し正常終了。後続ジョブの完了を確認。",
            "Re-ran the job per runbook BT-05; it succeeded and the following jobs completed.",
        ),
        finding: (
            "一時作業領域（/work）の使用率が 100%。前日分の中間ファイルが削除されていない。",
            "The scratch area (/work) is 100% full; yesterday's intermediate files were never cleaned up.",
        ),
        workaround: (
            "不要な中間ファイルを削除して容量を確保し、ジョブを再実行。",
            "Removed stale intermediate files and re-ran the job.",
        ),
        resolution: (
            "再実行で正常終了し、後続ジョブと日報配信の完了を確認。中間ファイルの削除処理を修正。",
            "The re-run succeeded and the daily report went out; fixed the clean-up step for intermediate files.",
        ),
    },
    Scenario {
        category: "認証",
        service: "Active Directory",
        team: SEC,
        weight: 8,
        priority: Priority::P4,
        channels: &["phone", "mail"],
        night: false,
        desk: 90,
        titles: &[
            ("アカウントがロックされてログインできない", "Account locked, cannot sign in"),
            ("パスワード変更後に PC にログインできない", "Cannot sign in to the PC after a password change"),
            ("パスワードの有効期限切れでメールを開けない", "Password expired; no access to mail"),
        ],
        description: (
            "{dept}の利用者から電話。パスワードを複数回間違えてアカウントがロックされた。",
            "Phone call from {dept}: the user mistyped the password several times and the account is locked.",
        ),
        tried: (
            "本人確認のうえ手順書 AD-01 に沿ってロックを解除したが、数分後に再びロックされる。",
            "Verified the caller's identity and unlocked the account per runbook AD-01, but it locks again within minutes.",
        ),
        desk_fix: (
            "手順書 AD-01 に沿ってアカウントロックを解除し、ログインできることを本人と確認。",
            "Unlocked the account per runbook AD-01 and confirmed with the user that sign-in works.",
        ),
        finding: (
            "古いパスワードを保存したままのスマートフォンのメールアプリが認証を繰り返し、ロックを発生させていた。",
            "A phone mail app still holding the old password kept retrying and locking the account.",
        ),
        workaround: ("アカウントロックを解除。", "Unlocked the account."),
        resolution: (
            "スマートフォンのメールアプリのパスワードを更新し、ロックが再発しないことを確認。",
            "Updated the password in the phone's mail app; the lock-outs stopped.",
        ),
    },
    Scenario {
        category: "ファイル共有",
        service: "ファイルサーバ",
        team: APP,
        weight: 6,
        priority: Priority::P3,
        channels: &["phone", "mail", "web"],
        night: false,
        desk: 20,
        titles: &[
            ("共有フォルダにアクセスできない（アクセス拒否）", "Access denied on a shared folder"),
            ("ファイルサーバの応答が遅い", "File server is slow"),
            ("共有フォルダのファイルを誤って削除したので復元したい", "Need to restore a file deleted from a shared folder"),
        ],
        description: (
            "{dept}の共有フォルダを開くと「アクセスが拒否されました」と表示される。昨日までは開けていた。",
            "{dept}'s shared folder says \"Access is denied\". It opened fine yesterday.",
        ),
        tried: (
            "別の利用者でも同じ事象を確認。ネットワークドライブの再接続では改善せず。",
            "Other users see the same. Reconnecting the network drive does not help.",
        ),
        desk_fix: (
            "スナップショットから前日版のファイルを復元し、利用者に確認いただいた。",
            "Restored yesterday's version from the snapshot; the user confirmed it.",
        ),
        finding: (
            "昨夜のアクセス権棚卸しで、部署グループの権限が誤って外れていた。",
            "Last night's permission review removed the department group's access by mistake.",
        ),
        workaround: ("一時的に個別ユーザーへ読み取り権限を付与。", "Granted read access to the individual users for now."),
        resolution: (
            "部署グループのアクセス権を元に戻し、利用者にアクセスできることを確認。",
            "Restored the department group's permissions; users confirmed access.",
        ),
    },
    Scenario {
        category: "ネットワーク",
        service: "社内 Wi-Fi",
        team: NW,
        weight: 5,
        priority: Priority::P3,
        channels: &["phone", "web"],
        night: false,
        desk: 10,
        titles: &[
            ("3 階会議室で Wi-Fi がつながらない", "Wi-Fi not working in the 3F meeting rooms"),
            ("社内 Wi-Fi が頻繁に切れる", "Office Wi-Fi keeps disconnecting"),
            ("来客用 Wi-Fi にログインできない", "Guest Wi-Fi login fails"),
        ],
        description: (
            "{dept}から、3 階の会議室で社内 Wi-Fi に接続できない、または数分で切れるとの連絡。",
            "{dept} reports that in the 3F meeting rooms the office Wi-Fi does not connect or drops after a few minutes.",
        ),
        tried: (
            "端末の Wi-Fi 再接続・再起動を案内。複数の端末で発生しているため、アクセスポイント側の可能性。",
            "Had the users reconnect and restart. Several devices are affected, so probably the access point.",
        ),
        desk_fix: (
            "端末の Wi-Fi プロファイルを削除して再設定したところ接続できた。",
            "Removed and re-created the Wi-Fi profile on the device; it connects now.",
        ),
        finding: (
            "3 階のアクセスポイント 1 台が応答せず、隣接するアクセスポイントに接続が集中している。",
            "One 3F access point is not responding and its clients crowd onto the neighbouring ones.",
        ),
        workaround: (
            "応答しないアクセスポイントを再起動して接続を回復。",
            "Restarted the unresponsive access point; clients connect again.",
        ),
        resolution: (
            "故障したアクセスポイントを予備機と交換し、電波状況を確認。",
            "Replaced the faulty access point with a spare and checked the coverage.",
        ),
    },
    Scenario {
        category: "PC・周辺機器",
        service: "複合機",
        team: SD,
        weight: 5,
        priority: Priority::P4,
        channels: &["phone", "web"],
        night: false,
        desk: 90,
        titles: &[
            ("複合機で印刷できない", "Cannot print to the multifunction printer"),
            ("複合機のスキャン to メールが届かない", "Scan-to-mail from the printer does not arrive"),
        ],
        description: (
            "{dept}の複合機に印刷ジョブを送っても出力されない。",
            "Print jobs sent to {dept}'s multifunction printer never come out.",
        ),
        tried: (
            "印刷キューの状態と複合機のエラー表示を確認。",
            "Checked the print queue and the printer's error display.",
        ),
        desk_fix: (
            "印刷キューを削除し、プリンタドライバを再設定したところ印刷できた。",
            "Cleared the print queue and reinstalled the printer driver; printing works.",
        ),
        finding: (
            "複合機の IP アドレスが DHCP で変わっていた。",
            "The printer's IP address had changed through DHCP.",
        ),
        workaround: ("IP アドレスを直接指定して印刷。", "Printing to the IP address directly."),
        resolution: ("複合機の IP アドレスを固定設定に戻した。", "Set the printer back to a fixed IP address."),
    },
    Scenario {
        category: "業務アプリ",
        service: "経費精算システム",
        team: APP,
        weight: 5,
        priority: Priority::P3,
        channels: &["phone", "mail", "web"],
        night: false,
        desk: 0,
        titles: &[
            ("経費精算で申請が保存できない", "Expense claims cannot be saved"),
            ("経費精算システムで承認ボタンがエラーになる", "Expense system: the approve button returns an error"),
            ("経費精算の CSV 出力が文字化けする", "Expense CSV export shows garbled characters"),
        ],
        description: (
            "{dept}から、経費精算の申請画面で保存すると「システムエラーが発生しました」と表示されるとの連絡。",
            "{dept} reports \"A system error occurred\" when saving an expense claim.",
        ),
        tried: (
            "別ブラウザ・別利用者でも再現することを確認。エラー発生時刻と画面キャプチャを取得。",
            "Reproduced with another browser and another user; noted the times and took screenshots.",
        ),
        desk_fix: ("", ""),
        finding: (
            "先週のバージョンアップ以降、添付ファイルが 10 MB を超えると保存処理が失敗する。",
            "Since last week's upgrade, saving fails when the attachments exceed 10 MB.",
        ),
        workaround: (
            "添付ファイルを分割して申請するよう案内。",
            "Asked users to split large attachments across several claims.",
        ),
        resolution: (
            "ベンダー提供の修正パッチを適用し、10 MB を超える添付でも保存できることを確認。",
            "Applied the vendor's patch; claims with attachments over 10 MB save again.",
        ),
    },
    Scenario {
        category: "データベース",
        service: "受注システム",
        team: DB,
        weight: 3,
        priority: Priority::P3,
        channels: &["monitoring"],
        night: true,
        desk: 0,
        titles: &[
            ("[監視] db-prd-01 のディスク使用率が 85% を超過", "[Monitoring] db-prd-01 disk usage above 85%"),
            ("アーカイブログ領域の使用率が上昇している", "Archive log area is filling up"),
        ],
        description: (
            "監視から通知: db-prd-01 の /u02（アーカイブログ）の使用率が 85% を超過（warning）。",
            "Monitoring: /u02 (archive logs) on db-prd-01 is above 85% (warning).",
        ),
        tried: (
            "手順書 DB-07 に沿って使用率の推移を確認。増加が続いている。",
            "Runbook DB-07: checked the usage trend. Still growing.",
        ),
        desk_fix: ("", ""),
        finding: (
            "バックアップが失敗しており、アーカイブログが削除されずに残っている。",
            "Backups have been failing, so the archive logs are never purged.",
        ),
        workaround: (
            "バックアップ済みのアーカイブログを手動で削除。",
            "Deleted the archive logs that are already backed up.",
        ),
        resolution: (
            "バックアップを再実行し、アーカイブログの自動削除が動いたことを確認（使用率 40%）。",
            "Re-ran the backup and confirmed the automatic purge (usage now 40%).",
        ),
    },
    Scenario {
        category: "セキュリティ",
        service: "社内メール",
        team: SEC,
        weight: 4,
        priority: Priority::P2,
        channels: &["phone", "mail"],
        night: false,
        desk: 0,
        titles: &[
            ("不審なメールを受信した（請求書を装った添付あり）", "Suspicious e-mail received (fake invoice attachment)"),
            ("フィッシングメールのリンクをクリックしてしまった", "Clicked a link in a phishing e-mail"),
        ],
        description: (
            "{dept}の利用者から、取引先を装った請求書メールを受信したとの連絡。添付ファイルは開いていない。",
            "A user in {dept} received an invoice e-mail pretending to come from a supplier. The attachment was not opened.",
        ),
        tried: (
            "メールヘッダを取得し、同じ送信元からのメールを受信した利用者を確認。",
            "Collected the message headers and looked for other recipients of the same sender.",
        ),
        desk_fix: ("", ""),
        finding: (
            "送信元はなりすまし。同様のメールを社内 14 名が受信しており、添付はマクロ付き文書。",
            "The sender is spoofed; 14 people received the same mail, and the attachment is a document with macros.",
        ),
        workaround: (
            "該当メールを全メールボックスから削除し、送信元ドメインを受信拒否に設定。",
            "Purged the message from every mailbox and blocked the sending domain.",
        ),
        resolution: (
            "受信者全員の端末をスキャンし、感染がないことを確認。全社に注意喚起を送付。",
            "Scanned every recipient's PC (clean) and sent a warning to all staff.",
        ),
    },
    Scenario {
        category: "コラボレーション",
        service: "Web 会議",
        team: NW,
        weight: 3,
        priority: Priority::P4,
        channels: &["phone", "web"],
        night: false,
        desk: 60,
        titles: &[
            ("Web 会議で音声が途切れる", "Audio keeps cutting out in video meetings"),
            ("Web 会議に参加できない", "Cannot join video meetings"),
        ],
        description: (
            "{dept}から、Web 会議で相手の音声が途切れる、または映像が止まるとの連絡。",
            "{dept} reports choppy audio and frozen video in meetings.",
        ),
        tried: (
            "有線接続での参加と、会議アプリの再起動を案内。",
            "Asked the user to join over a wired connection and to restart the meeting app.",
        ),
        desk_fix: (
            "会議アプリを最新版に更新したところ改善。",
            "Updating the meeting app to the current version fixed it.",
        ),
        finding: (
            "拠点の回線で QoS 設定が外れており、会議の通信が優先されていない。",
            "QoS was missing on the site's uplink, so meeting traffic was not prioritised.",
        ),
        workaround: ("有線接続での参加を案内。", "Users join over a wired connection."),
        resolution: ("拠点ルータの QoS 設定を修正。", "Restored the QoS settings on the site router."),
    },
    Scenario {
        category: "バッチ",
        service: "バックアップ",
        team: DB,
        weight: 3,
        priority: Priority::P3,
        channels: &["monitoring"],
        night: true,
        desk: 0,
        titles: &[
            ("バックアップジョブ失敗（ファイルサーバ）", "Backup job failed (file server)"),
            ("[監視] 日次バックアップが未完了", "[Monitoring] Daily backup did not complete"),
        ],
        description: (
            "ジョブ管理から通知: 日次バックアップがタイムアウトで失敗。",
            "Job scheduler: the daily backup failed with a timeout.",
        ),
        tried: (
            "手順書 BK-02 に沿ってバックアップ装置の状態を確認。容量は十分。",
            "Runbook BK-02: checked the backup appliance. Enough free space.",
        ),
        desk_fix: ("", ""),
        finding: (
            "バックアップ対象のボリュームで差分が急増し、時間内に終わらなかった。",
            "The changed data on the source volume jumped, so the job could not finish in its window.",
        ),
        workaround: (
            "日中に手動でバックアップを再実行。",
            "Re-ran the backup manually during the day.",
        ),
        resolution: (
            "再実行が正常終了。ジョブのタイムアウトを見直し、翌日の正常終了を確認。",
            "The re-run succeeded; adjusted the job timeout and the next run completed normally.",
        ),
    },
    Scenario {
        category: "業務アプリ",
        service: "受注システム",
        team: APP,
        weight: 4,
        priority: Priority::P3,
        channels: &["phone", "mail"],
        night: false,
        desk: 0,
        titles: &[
            ("受注システムの画面表示が遅い", "Order system pages are slow"),
            ("受注データの CSV 取込でエラーになる", "Order CSV import fails"),
        ],
        description: (
            "{dept}から、受注システムの一覧画面の表示に 30 秒以上かかるとの連絡。",
            "{dept} reports that the order list takes over 30 seconds to show.",
        ),
        tried: (
            "複数拠点で再現することを確認。AP サーバの CPU 使用率は平常。",
            "Reproduced from several sites. App server CPU looks normal.",
        ),
        desk_fix: ("", ""),
        finding: (
            "統計情報の更新が止まっており、一覧のクエリが全件走査になっている。",
            "Table statistics stopped updating, so the list query does a full scan.",
        ),
        workaround: ("検索条件に期間を指定して表示するよう案内。", "Asked users to filter the list by date."),
        resolution: (
            "統計情報を再取得し、自動更新ジョブを修正。表示は 1 秒以内に戻った。",
            "Refreshed the statistics and fixed the job that keeps them current; the list shows in under a second.",
        ),
    },
    Scenario {
        category: "認証",
        service: "SSO",
        team: SEC,
        weight: 3,
        priority: Priority::P3,
        channels: &["phone", "mail"],
        night: false,
        desk: 20,
        titles: &[
            ("SSO でログインすると画面がリダイレクトを繰り返す", "SSO sign-in loops endlessly"),
            ("多要素認証のコードが届かない", "MFA code does not arrive"),
        ],
        description: (
            "{dept}の利用者が SSO で社内ポータルにログインしようとすると、ログイン画面に戻り続ける。",
            "A user in {dept} keeps being sent back to the sign-in page when using SSO.",
        ),
        tried: (
            "ブラウザの Cookie 削除とプライベートウィンドウでの確認を実施。",
            "Cleared cookies and tried a private window.",
        ),
        desk_fix: (
            "端末の時刻がずれていたため時刻同期を実施し、ログインできることを確認。",
            "The PC's clock was off; after a time sync the user can sign in.",
        ),
        finding: (
            "IdP の署名証明書ローテーション後、一部アプリのメタデータが更新されていない。",
            "After the IdP signing certificate rotation, some apps still hold the old metadata.",
        ),
        workaround: (
            "対象アプリに旧証明書を一時的に併記。",
            "Temporarily trusted both the old and the new certificate in the affected apps.",
        ),
        resolution: (
            "対象アプリのメタデータを更新し、ログインできることを確認。",
            "Updated the apps' metadata; sign-in works.",
        ),
    },
    Scenario {
        category: "PC・周辺機器",
        service: "社用 PC",
        team: SD,
        weight: 5,
        priority: Priority::P4,
        channels: &["phone", "web"],
        night: false,
        desk: 85,
        titles: &[
            ("PC が起動しない", "PC does not boot"),
            ("BitLocker の回復キーを求められる", "PC asks for the BitLocker recovery key"),
            ("PC の動作が極端に遅い", "PC is extremely slow"),
        ],
        description: (
            "{dept}の利用者から、PC の電源を入れてもメーカーロゴから先に進まないとの連絡。",
            "A user in {dept} says the PC stops at the maker's logo after power-on.",
        ),
        tried: (
            "電源の再投入と周辺機器を外しての起動を案内。",
            "Had the user power-cycle and start without peripherals.",
        ),
        desk_fix: (
            "代替機を貸し出し、データを移行。故障機はメーカー修理へ。",
            "Lent a replacement PC and moved the data; the faulty one goes to the maker for repair.",
        ),
        finding: (
            "ストレージの故障。メーカー保守の対象。",
            "The SSD has failed; covered by the maker's warranty.",
        ),
        workaround: ("代替機を貸し出し。", "Lent a replacement PC."),
        resolution: ("メーカー修理から戻った PC を返却。", "Returned the repaired PC to the user."),
    },
];

// ---------------------------------------------------------------------------------------------
// Problems: the causes behind the recurring incidents.

/// Indices into `PROBLEMS` that other definitions refer to.
const P_CERT: usize = 0;
const P_VPN: usize = 2;

struct ProblemDef {
    /// The scenario whose incidents it is behind: those of the 30 days before it was opened are
    /// linked when it opens.
    family: usize,
    opened_by: usize,
    owner: usize,
    team: usize,
    priority: Priority,
    /// Days before today it was opened (16:00 Tokyo).
    opened: i64,
    /// New incidents of the family are worked around and linked to it while it is open and not
    /// yet fixed.
    links_workarounds: bool,
    title: &'static str,
    description: &'static str,
    /// (days before today, contributing factors, five whys).
    investigate: Option<(i64, &'static str, &'static str)>,
    /// (days before today, root cause, workaround, fix due: days from that day).
    known_error: Option<(i64, &'static str, &'static str, i64)>,
    /// (days before today, resolution).
    resolve: Option<(i64, &'static str)>,
    /// Days before today.
    close: Option<i64>,
}

const PROBLEMS: [ProblemDef; 5] = [
    ProblemDef {
        family: S_CERT,
        opened_by: WATANABE,
        owner: WATANABE,
        team: SEC,
        priority: Priority::P2,
        opened: 105,
        links_workarounds: false,
        title: "証明書の更新漏れによる社外ポータル停止",
        description: "社外ポータルのサーバ証明書が期限切れとなり、約 2 時間半サービスが停止した（P1）。証明書の管理方法に起因する問題として根本原因を調査する。",
        investigate: Some((
            104,
            "証明書が 14 枚あり、更新時期・担当者・配置先がチームごとにばらばら。",
            "なぜ停止した？→証明書が期限切れ。なぜ切れた？→更新されなかった。なぜ？→担当者のカレンダー通知だけが頼りで、異動で通知が失われた。なぜ気付かない？→期限の監視がない。",
        )),
        known_error: Some((
            101,
            "証明書の更新が担当者個人のカレンダー通知と手作業に依存しており、担当者の異動で通知が失われた。有効期限の監視もなかった。",
            "証明書台帳で期限を週次確認し、30 日前までに更新を申請する（手順書 SEC-04）。",
            40,
        )),
        resolve: Some((
            60,
            "ACME による証明書の自動更新を導入し、全証明書の期限監視（30/14/7 日前）を追加した。",
        )),
        close: Some(55),
    },
    ProblemDef {
        family: S_MAIL,
        opened_by: ITO,
        owner: ITO,
        team: APP,
        priority: Priority::P3,
        opened: 82,
        links_workarounds: true,
        title: "メールリレーのキュー滞留による社外宛てメール遅延",
        description: "社外宛てメールの遅延が繰り返し発生している（関連インシデント参照）。メールリレーの配送設定を中心に原因を調査する。",
        investigate: Some((
            81,
            "取引先の一部ドメインでメールサーバの応答が極端に遅い。リレーの配送スレッド数が既定値のまま。",
            "",
        )),
        known_error: Some((
            76,
            "応答の遅い宛先ドメインへの再送処理が、メールリレーの配送スレッドをすべて占有する設定になっていた。",
            "滞留が発生したら、原因の宛先ドメイン向けキューを一時保留する（手順書 ML-05）。",
            30,
        )),
        resolve: Some((
            44,
            "宛先ドメインごとに配送スレッドを分離する設定変更と、メールリレー 1 台の増設を実施。変更後 1 週間、滞留なし。",
        )),
        close: None,
    },
    ProblemDef {
        family: S_VPN,
        opened_by: TAKAHASHI,
        owner: TAKAHASHI,
        team: NW,
        priority: Priority::P2,
        opened: 62,
        links_workarounds: true,
        title: "VPN 装置のセッション枯渇による接続障害の再発",
        description: "VPN に接続できない事象が繰り返し発生している（関連インシデント参照）。VPN 装置側の原因を調査する。",
        investigate: Some((
            62,
            "在宅勤務者の増加で、ピーク時のセッション数が装置の上限の 9 割に達している。",
            "",
        )),
        known_error: Some((
            52,
            "VPN 装置ファームウェア 9.1 系の不具合により、切断されたセッションが解放されずセッションテーブルが枯渇する（ベンダー確認済み、不具合 ID FW-2231）。",
            "VPN 装置の管理画面で 24 時間以上アイドルのセッションをクリアする（手順書 NW-07）。セッション数が 80% を超えたら監視から通知。",
            73,
        )),
        resolve: None,
        close: None,
    },
    ProblemDef {
        family: S_REPL,
        opened_by: RAJ,
        owner: RAJ,
        team: DB,
        priority: Priority::P3,
        opened: 26,
        links_workarounds: true,
        title: "Replication lag on db-prd-02 during the nightly bulk update",
        description: "The read replica falls minutes behind during the nightly bulk update, again and again (see the linked incidents). Find out why and fix it for good.",
        investigate: Some((
            25,
            "The nightly update volume has doubled in six months. The replica sits on slower disks than the primary. The bulk update runs as one huge transaction.",
            "",
        )),
        known_error: None,
        resolve: None,
        close: None,
    },
    ProblemDef {
        family: S_KINTAI,
        opened_by: YAMAMOTO,
        owner: ITO,
        team: APP,
        priority: Priority::P3,
        opened: 2,
        links_workarounds: false,
        title: "月初に勤怠システムがタイムアウトする",
        description: "月初（第 1〜3 営業日）の朝に勤怠システムのタイムアウトが毎月発生している。問題候補の一覧で検出したため、問題として管理する。",
        investigate: None,
        known_error: None,
        resolve: None,
        close: None,
    },
];

// ---------------------------------------------------------------------------------------------
// Major incidents (P1), written out one by one.

enum When {
    /// Days before today, hour and minute in Tokyo.
    Day(i64, u32, u32),
    /// Minutes before now.
    MinutesAgo(i64),
}

struct Item {
    title: &'static str,
    owner: usize,
    /// Days after the item is written.
    due: i64,
    /// Done this many days after it was written; `None` = still open.
    done: Option<i64>,
    problem: Option<usize>,
}

struct Postmortem {
    author: usize,
    publisher: usize,
    /// Published this many days after review; `None` = still in review.
    publish: Option<i64>,
    impact: &'static str,
    root_cause: &'static str,
    went_well: &'static str,
    went_badly: &'static str,
    lucky: &'static str,
    items: &'static [Item],
}

/// Where a major incident went next at second line: (team, reason, what that team found).
type Handover = (usize, T, T);

struct Major {
    when: When,
    /// `None`: whoever is on duty.
    reporter: Option<usize>,
    channel: &'static str,
    category: &'static str,
    service: &'static str,
    team: usize,
    engineer: Option<usize>,
    handover: Option<Handover>,
    family: Option<usize>,
    title: T,
    description: T,
    tried: T,
    finding: T,
    /// (workaround, minutes after the finding).
    workaround: Option<(T, i64)>,
    /// (reason, minutes on hold), after the workaround.
    hold: Option<(T, i64)>,
    resolution: T,
    /// Minutes from the workaround (or the finding) to resolution.
    resolve_after: i64,
    postmortem: Option<Postmortem>,
    /// Still being worked on.
    ongoing: bool,
}

const MAJORS: [Major; 6] = [
    Major {
        when: When::Day(105, 10, 5),
        reporter: Some(SATO),
        channel: "phone",
        category: "セキュリティ",
        service: "社外ポータル",
        team: SEC,
        engineer: Some(WATANABE),
        handover: None,
        family: Some(S_CERT),
        title: (
            "社外ポータルにアクセスできない（証明書エラー）",
            "Customer portal unreachable (certificate error)",
        ),
        description: (
            "取引先 3 社から、社外ポータルを開くと「この接続ではプライバシーが保護されません」と表示され、受発注と請求書のダウンロードができないとの電話。外形監視も HTTPS エラーを検知。",
            "Three customers called: the portal shows \"Your connection is not private\" and they cannot order or download invoices. Synthetic monitoring reports HTTPS errors too.",
        ),
        tried: (
            "社内からも同じエラーを確認。証明書の有効期限が本日 10:00 で切れている。",
            "Same error from inside the company. The certificate expired today at 10:00.",
        ),
        finding: (
            "サーバ証明書の期限切れ。更新申請がされていなかった。認証局へ緊急発行を依頼中（社内承認が必要）。",
            "The server certificate has expired and was never renewed. Emergency issuance requested from the CA (needs internal approval).",
        ),
        workaround: None,
        hold: None,
        resolution: (
            "証明書を緊急発行し、ロードバランサ 2 台に配置。取引先からのアクセスと外形監視の正常化を確認。",
            "Emergency certificate issued and deployed to both load balancers; customers and synthetic monitoring confirm access.",
        ),
        resolve_after: 110,
        postmortem: Some(Postmortem {
            author: WATANABE,
            publisher: SARAH,
            publish: Some(2),
            impact: "社外ポータル（取引先向けの受発注・請求書ダウンロード）が 10:00〜12:31 の約 2 時間 30 分利用できなかった。取引先からの問い合わせ 23 件、電話での受注 41 件。",
            root_cause: "サーバ証明書の有効期限切れ。更新作業が担当者個人のカレンダー通知に依存しており、前任者の異動で通知が失われた。有効期限の監視もなかった。",
            went_well: "外形監視と取引先からの電話で 5 分以内に検知し、15 分以内に第 1 報を送付できた。",
            went_badly: "証明書の緊急発行に必要な社内承認に 1 時間以上かかった。ロードバランサへの配置手順が手順書になかった。",
            lucky: "月末ではなかったため、請求書ダウンロードの利用が少なかった。",
            items: &[
                Item {
                    title: "全サーバ証明書の有効期限監視（30/14/7 日前に通知）を追加する",
                    owner: WATANABE,
                    due: 14,
                    done: Some(10),
                    problem: None,
                },
                Item {
                    title: "ACME による証明書の自動更新を導入する",
                    owner: ITO,
                    due: 40,
                    done: Some(44),
                    problem: Some(P_CERT),
                },
                Item {
                    title: "証明書台帳を整備し、証明書ごとに所有チームを明記する",
                    owner: NAKAMURA,
                    due: 30,
                    done: None,
                    problem: None,
                },
            ],
        }),
        ongoing: false,
    },
    Major {
        when: When::Day(75, 2, 38),
        reporter: Some(EMILY),
        channel: "monitoring",
        category: "データベース",
        service: "受注システム",
        team: DB,
        engineer: Some(RAJ),
        handover: None,
        family: None,
        title: (
            "受注システム停止（DB サーバのディスク容量枯渇）",
            "Order system down: database server disk full",
        ),
        description: (
            "監視から通知: db-prd-01 の /u02 が 100%。受注登録がすべてエラーになり、物流センターの出荷処理が止まっている。",
            "Monitoring: /u02 on db-prd-01 is at 100%. Every order entry fails and the logistics centre cannot ship.",
        ),
        tried: (
            "手順書 DB-07 で使用率を確認。アーカイブログ領域が満杯。DBA 以外のアーカイブログ削除は手順書で禁止されている。",
            "Runbook DB-07: the archive log area is full. The runbook forbids deleting archive logs without a DBA.",
        ),
        finding: (
            "直近 3 晩のバックアップが失敗しており、アーカイブログが削除されていなかった。02:31 にディスクが満杯になった。",
            "The last three nightly backups failed, so the archive logs were never purged. The disk filled up at 02:31.",
        ),
        workaround: Some((
            (
                "バックアップ済みのアーカイブログをバックアップ装置へ移動して 180 GB を確保し、DB が処理を再開。",
                "Moved already backed-up archive logs to the backup appliance, freeing 180 GB; the database resumed.",
            ),
            45,
        )),
        hold: None,
        resolution: (
            "バックアップジョブのサービスアカウントのパスワード期限切れを修正し、フルバックアップを取得。アーカイブログの自動削除を確認。",
            "Fixed the backup job's expired service-account password, took a full backup and confirmed the automatic purge.",
        ),
        resolve_after: 240,
        postmortem: Some(Postmortem {
            author: RAJ,
            publisher: SARAH,
            publish: Some(3),
            impact: "Order entry was unavailable from 02:31 to 04:12 JST (1 h 41 min). 312 orders from the night shift were keyed in by hand the next morning; two shipments left late.",
            root_cause: "The backup job's service-account password expired. Backups failed three nights in a row, so the archive logs they purge piled up until the disk was full. Backup failures only sent mail to a shared mailbox nobody reads at night.",
            went_well: "Monitoring alerted within a minute and the on-call DBA knew the purge procedure.",
            went_badly: "Three days of failed backups went unnoticed. The 85% disk warning fired on a Saturday and was acknowledged without action.",
            lucky: "It happened at night, outside the main ordering hours.",
            items: &[
                Item {
                    title: "Raise backup job failures as incidents instead of mail",
                    owner: RAJ,
                    due: 10,
                    done: Some(6),
                    problem: None,
                },
                Item {
                    title: "Predictive disk-usage alert (days until full) for database servers",
                    owner: TANAKA,
                    due: 21,
                    done: Some(30),
                    problem: None,
                },
                Item {
                    title: "Review password expiry of every service account used by batch jobs",
                    owner: NAKAMURA,
                    due: 30,
                    done: None,
                    problem: None,
                },
            ],
        }),
        ongoing: false,
    },
    Major {
        when: When::Day(45, 13, 4),
        reporter: Some(KOBAYASHI),
        channel: "phone",
        category: "ネットワーク",
        service: "社内 LAN",
        team: NW,
        engineer: Some(TAKAHASHI),
        handover: None,
        family: None,
        title: ("本社 5〜8 階でネットワーク通信断", "Network outage on floors 5–8 at head office"),
        description: (
            "13 時過ぎから本社 5〜8 階で、社内システム・インターネットともに接続できないとの電話が多数。",
            "Since just after 13:00 many calls from floors 5–8: neither internal systems nor the internet can be reached.",
        ),
        tried: (
            "手順書 NW-02 に沿ってフロアスイッチを確認。フロアスイッチは正常で、上位のコアスイッチ側の可能性が高い。",
            "Runbook NW-02: the floor switches are fine; the core switch is the likely culprit.",
        ),
        finding: (
            "コアスイッチ 1 号機の電源ユニットが故障。冗長構成の 2 号機への自動切替が、VRRP 優先度の設定誤りで動作していない。",
            "The power supply of core switch 1 failed. Automatic failover to switch 2 did not happen because of a wrong VRRP priority.",
        ),
        workaround: Some((
            (
                "2 号機を手動でマスターに切り替え、通信を回復。",
                "Made switch 2 master by hand; traffic flows again.",
            ),
            15,
        )),
        hold: Some((
            (
                "保守ベンダーの技術者と交換部品の到着待ち（16:00 到着予定）。",
                "Waiting for the vendor's engineer with the replacement part (ETA 16:00).",
            ),
            150,
        )),
        resolution: (
            "保守ベンダーが電源ユニットを交換。VRRP 設定を修正し、切替試験で自動切替を確認した。",
            "The vendor replaced the power supply; the VRRP setting was corrected and a failover test passed.",
        ),
        resolve_after: 60,
        postmortem: Some(Postmortem {
            author: TAKAHASHI,
            publisher: SARAH,
            publish: Some(2),
            impact: "本社 5〜8 階（約 420 名）で 13:02〜13:58 の 56 分間、すべてのネットワーク通信が断。Web 会議 14 件が中断した。",
            root_cause: "コアスイッチ 1 号機の電源ユニット故障。本来は 2 号機へ自動で切り替わるはずが、昨年の構成変更で VRRP 優先度の設定を誤っており、切替が発生しなかった。導入時以降、切替試験を実施していなかった。",
            went_well: "フロアごとの問い合わせ状況から、15 分でコアスイッチに絞り込めた。",
            went_badly: "冗長構成が機能していないことに誰も気付いていなかった。構成変更の手順に切替試験が含まれていなかった。",
            lucky: "交換用の電源ユニットが保守ベンダーの都内倉庫にあった。",
            items: &[
                Item {
                    title: "コアスイッチの冗長切替試験を四半期ごとに実施する",
                    owner: TAKAHASHI,
                    due: 60,
                    done: None,
                    problem: None,
                },
                Item {
                    title: "構成変更の手順書に切替試験を追加する",
                    owner: TAKAHASHI,
                    due: 14,
                    done: Some(12),
                    problem: None,
                },
                Item {
                    title: "Review the maintenance contract's on-site response time (4 hours)",
                    owner: SARAH,
                    due: 30,
                    done: Some(20),
                    problem: None,
                },
            ],
        }),
        ongoing: false,
    },
    Major {
        when: When::Day(20, 9, 14),
        reporter: Some(SATO),
        channel: "phone",
        category: "ファイル共有",
        service: "ファイルサーバ",
        team: APP,
        engineer: Some(RAJ),
        handover: None,
        family: None,
        title: ("全社の共有フォルダにアクセスできない", "Shared folders unavailable company-wide"),
        description: (
            "9 時過ぎから全部署で共有フォルダ（\\\\fs01）が開けないとの問い合わせが殺到している。",
            "Since just after 9:00 every department calls: the shared folders (\\\\fs01) will not open.",
        ),
        tried: (
            "手順書 FS-01 に沿ってファイルサーバへの疎通と共有サービスの状態を確認。サーバは応答するが共有にアクセスできない。",
            "Runbook FS-01: the file server answers ping, but the shares cannot be reached.",
        ),
        finding: (
            "ストレージのコントローラ A が故障。ファームウェアの不具合でコントローラ B への切替が起きていない。",
            "Controller A of the storage array failed; a firmware bug kept the volumes from failing over to controller B.",
        ),
        workaround: Some((
            (
                "ボリュームをコントローラ B へ強制的に切り替え、共有サービスを再起動。読み書きとも回復。",
                "Forced the volumes onto controller B and restarted the file service; shares are back, read and write.",
            ),
            40,
        )),
        hold: Some((
            (
                "ストレージベンダーの技術者と交換用コントローラの到着待ち（14:00 到着予定）。",
                "Waiting for the storage vendor's engineer with a replacement controller (ETA 14:00).",
            ),
            180,
        )),
        resolution: (
            "ベンダーがコントローラ A を交換し、不具合を修正したファームウェア 7.4.2 を適用。切替試験を実施。",
            "The vendor replaced controller A and applied firmware 7.4.2, which fixes the failover bug; failover tested.",
        ),
        resolve_after: 90,
        postmortem: Some(Postmortem {
            author: RAJ,
            publisher: YAMAMOTO,
            publish: Some(3),
            impact: "All shared folders were unavailable from 09:12 to 10:48 JST (1 h 36 min) for about 1,200 people. Some Excel files open at the time were saved as conflicted copies.",
            root_cause: "Controller A of the storage array failed (hardware). Automatic failover to controller B did not happen because of a known firmware bug fixed in 7.4.2; we were two releases behind because storage firmware is not part of the regular patch cycle.",
            went_well: "The service desk sent the first notice within 10 minutes. Forcing the failover was documented in the vendor's knowledge base.",
            went_badly: "Nothing monitored the controllers; the first signal was people calling. The vendor advisory for the bug had been out for three months.",
            lucky: "It was not accounting's month-end closing day.",
            items: &[
                Item {
                    title: "Monitor storage controller health (SNMP traps into monitoring)",
                    owner: RAJ,
                    due: 25,
                    done: None,
                    problem: None,
                },
                Item {
                    title: "ストレージ切替の手順書を作成し、試験する",
                    owner: ITO,
                    due: 7,
                    done: None,
                    problem: None,
                },
                Item {
                    title: "Add storage firmware to the quarterly patch review",
                    owner: SARAH,
                    due: 14,
                    done: Some(5),
                    problem: None,
                },
            ],
        }),
        ongoing: false,
    },
    Major {
        when: When::Day(8, 8, 41),
        reporter: Some(KOBAYASHI),
        channel: "phone",
        category: "ネットワーク",
        service: "VPN",
        team: NW,
        engineer: Some(TAKAHASHI),
        handover: None,
        family: Some(S_VPN),
        title: ("VPN に全く接続できない（在宅勤務者全員）", "VPN completely down for all remote workers"),
        description: (
            "8 時半頃から、在宅勤務者が VPN に接続できないとの連絡が相次いでいる。既に 40 件以上。",
            "Since about 8:30 remote workers cannot connect to the VPN; more than 40 calls so far.",
        ),
        tried: (
            "既知のエラー（VPN セッション枯渇）の記事を確認。回避策のセッションクリアはネットワークチームの作業。",
            "Checked the known error (VPN session exhaustion). Its workaround, clearing sessions, is the network team's job.",
        ),
        finding: (
            "VPN 装置のセッションテーブルが上限に達している（既知のエラー）。月曜朝の一斉接続で想定より早く枯渇した。",
            "The VPN appliance's session table is full (the known error); the Monday-morning rush exhausted it sooner than expected.",
        ),
        workaround: Some((
            (
                "既知のエラーの回避策どおりアイドルセッションをクリアし、接続を回復。",
                "Cleared idle sessions as the known error's workaround says; connections are back.",
            ),
            12,
        )),
        hold: None,
        resolution: (
            "回避策で復旧。恒久対策（ファームウェア 9.2 の適用）は問題管理で実施する。",
            "Restored by the workaround; the permanent fix (firmware 9.2) is tracked in the problem.",
        ),
        resolve_after: 30,
        postmortem: Some(Postmortem {
            author: TAKAHASHI,
            publisher: SARAH,
            publish: None,
            impact: "在宅勤務者 約 600 名が 08:30〜09:41 の 71 分間、VPN に接続できなかった。",
            root_cause: "VPN 装置ファームウェアの既知の不具合によりセッションが解放されず、月曜朝の一斉接続でセッションテーブルが枯渇した。",
            went_well: "既知のエラーとして回避策が文書化されていたため、判断が早かった。",
            went_badly: "セッション数 80% の通知が日曜夜に出ていたが、週末の当番が対応対象と認識していなかった。",
            lucky: "",
            items: &[Item {
                title: "Add the VPN session alert to the weekend on-call checklist",
                owner: TOM,
                due: 5,
                done: None,
                problem: Some(P_VPN),
            }],
        }),
        ongoing: false,
    },
    Major {
        when: When::MinutesAgo(170),
        reporter: None,
        channel: "monitoring",
        category: "業務アプリ",
        service: "受注システム",
        team: APP,
        engineer: None,
        handover: Some((
            DB,
            (
                "DB 側のロック競合の調査のため、データベースチームへエスカレーションします。",
                "Escalating to the database team to investigate lock contention.",
            ),
            (
                "在庫引当テーブルに長時間ロックを保持しているセッションを確認。発行元のジョブを調査中。",
                "Found a session holding a long lock on the stock allocation table; tracing the job that opened it.",
            ),
        )),
        family: None,
        title: (
            "受注システムで注文確定がエラーになる（全拠点）",
            "Order system: confirming an order fails at every site",
        ),
        description: (
            "外形監視と複数拠点からの電話: 注文確定ボタンで「タイムアウトしました」と表示され、注文が登録できない。",
            "Synthetic monitoring and calls from several sites: \"Confirm order\" times out and orders are not saved.",
        ),
        tried: (
            "手順書 AP-03 に沿って AP サーバのプロセス状態を確認し、1 台ずつ再起動したが改善せず。",
            "Runbook AP-03: checked the app server processes and restarted them one by one. No change.",
        ),
        finding: (
            "AP サーバは正常。DB へのクエリがすべてロック待ちで止まっている。",
            "The app servers are healthy; every query to the database is waiting on a lock.",
        ),
        workaround: None,
        hold: None,
        resolution: ("", ""),
        resolve_after: 0,
        postmortem: None,
        ongoing: true,
    },
];

// ---------------------------------------------------------------------------------------------
// Words used across incidents.

const RECEIVED: T = (
    "お問い合わせを受け付けました。担当者が確認しています。進展があり次第ご連絡します。",
    "We have received your report and are looking into it. We will get back to you as soon as we know more.",
);
const DONE: T = (
    "対応が完了しました。お手数ですが動作をご確認ください。再発した場合はサービスデスク（内線 4100）までご連絡ください。",
    "This has been fixed; please check on your side. If it happens again, call the service desk (ext. 4100).",
);
const CONFIRMED: T = (
    "依頼者に動作確認いただき、問題ないとの回答を得たためクローズします。",
    "The requester confirmed everything works; closing.",
);
const RUNBOOK: T = (
    "手順書の対象のため、サービスデスクで一次対応を実施します。",
    "Covered by the runbook; the service desk handles it.",
);
const HANDOVER: T = (
    "手順書の範囲外のため、{team}チームへ二次対応を依頼します。",
    "Not covered by the runbook; handing over to the {team} team for second-line investigation.",
);
const MAJOR_HANDOVER: T = (
    "P1（重大障害）。{team}チームへ緊急で二次対応を依頼します。",
    "P1 major incident: urgent handover to the {team} team.",
);
const INFORM: T = (
    "業務影響が大きいため、システム責任者へ状況を報告します。",
    "Significant business impact; informing the system owner.",
);
const INFORM_TRIED: T = (
    "二次対応で原因を調査中。暫定対応を検討しています。",
    "Second line is investigating the cause and looking for a workaround.",
);
const MANAGER_ACK: T = (
    "承知しました。関係部門へは 30 分ごとに状況を連絡してください。役員への報告は私から行います。",
    "Understood. Please update the affected departments every 30 minutes; I will brief the executives.",
);
const STILL_INVESTIGATING: T = (
    "【第3報】原因の調査を継続しています。データベースのロック競合が発生しており、発生元を特定中です。当面、注文は電話・FAX での受付をお願いします。次回は 30 分後にご連絡します。",
    "[Update 3] Still investigating: there is lock contention in the database and we are tracing its source. Please take orders by phone or fax for now. Next update within 30 minutes.",
);
const WORKED_AROUND: T = (
    "{workaround}暫定対応で復旧。恒久対応は関連する問題チケットで管理します。",
    "{workaround} Restored by a workaround; the permanent fix is tracked in the linked problem.",
);
const LINKED: T = (
    "既知の問題と同じ事象のため、問題チケットに関連付けました。",
    "Same symptoms as a known problem; linked it.",
);
const HOLDS: [T; 3] = [
    (
        "保守ベンダーの調査結果待ち（回答予定: 2 営業日以内）。",
        "Waiting for the vendor's analysis (answer promised within two business days).",
    ),
    (
        "依頼者が不在のため、動作確認の日程を調整中。",
        "The requester is away; arranging a time to check together.",
    ),
    (
        "一時領域用ディスクの増設待ち（納品予定: 来週）。",
        "Waiting for the extra scratch disk to be delivered (due next week).",
    ),
];
const HOLD_VENDOR: usize = 0;
const HOLD_REQUESTER: usize = 1;
const HOLD_PARTS: usize = 2;

/// Status-update texts by state; `{service}` and `{time}` (Tokyo) are filled in.
fn update_text(state: &str) -> T {
    match state {
        "confirming" => (
            "【第1報】{time} 頃より{service}で障害が発生しています。現在、影響範囲を確認しています。次回は 30 分後にご連絡します。",
            "[Update 1] Since about {time} JST {service} has been affected. We are confirming the scope of the impact and will update you within 30 minutes.",
        ),
        "investigating" => (
            "【第2報】{service}の障害について、担当チームが原因を調査しています。業務への影響が続いております。次回は 1 時間後にご連絡します。",
            "[Update 2] The responsible team is investigating the cause of the {service} incident; the impact continues. Next update within one hour.",
        ),
        "identified" => (
            "原因を特定し、{service}の復旧作業を進めています。",
            "The cause has been identified; recovery of {service} is in progress.",
        ),
        "monitoring" => (
            "暫定対応により{service}は利用できる状態に戻りました。恒久対応まで引き続き監視します。",
            "{service} is available again thanks to a workaround; we keep watching it until the permanent fix.",
        ),
        _ => (
            "【復旧報】{service}は {time} に復旧しました。ご不便をおかけし申し訳ありません。原因と再発防止策は後日ご報告します。",
            "[Resolved] {service} was restored at {time} JST. We apologise for the disruption; the cause and prevention measures will follow.",
        ),
    }
}

// ---------------------------------------------------------------------------------------------
// The generator.

/// xorshift64*: tiny, seeded, good enough to pick titles and minutes.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1) as u64) as i64
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn pick<'a, X>(&mut self, items: &'a [X]) -> &'a X {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// Tokyo has no daylight saving time: UTC+9 all year.
const TOKYO: i64 = 9;

fn tokyo(day: NaiveDate, hour: u32, minute: u32) -> NaiveDateTime {
    day.and_hms_opt(hour, minute, 0).expect("valid time") - Duration::hours(TOKYO)
}

fn tokyo_hour(at: NaiveDateTime) -> u32 {
    (at + Duration::hours(TOKYO)).hour()
}

fn tokyo_clock(at: NaiveDateTime) -> String {
    (at + Duration::hours(TOKYO)).format("%H:%M").to_string()
}

fn tokyo_date(at: NaiveDateTime) -> NaiveDate {
    (at + Duration::hours(TOKYO)).date()
}

/// Where an incident's story ends (for now).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    New,
    Acknowledged,
    InProgress,
    OnHold,
    Mitigated,
    Resolved,
    Closed,
}

struct IncidentPlan {
    reporter: usize,
    family: Option<usize>,
    created: NaiveDateTime,
    input: IncidentInput,
    team: Option<usize>,
    assignee: Option<usize>,
}

#[derive(Debug)]
enum Step {
    Create(usize),
    Move {
        inc: usize,
        action: Action,
        input: TransitionInput,
    },
    Comment {
        inc: usize,
        body: String,
        stakeholder: bool,
    },
    Update {
        inc: usize,
        state: &'static str,
        message: String,
    },
    Escalate {
        inc: usize,
        kind: &'static str,
        to_team: Option<usize>,
        reason: String,
        tried: String,
    },
    Assign {
        inc: usize,
        team: usize,
        assignee: usize,
    },
    OpenProblem(usize),
    LinkProblem {
        problem: usize,
        inc: usize,
    },
    MoveProblem {
        problem: usize,
        action: ProblemAction,
        analysis: AnalysisInput,
        resolution: String,
    },
    DraftPostmortem(usize),
    EditPostmortem {
        inc: usize,
        step: PostmortemStep,
        patch: SectionsPatch,
    },
    AddItem {
        inc: usize,
        item: usize,
        input: ActionItemInput,
        owner: usize,
        problem: Option<usize>,
    },
    CompleteItem(usize),
}

struct Timed {
    at: NaiveDateTime,
    by: usize,
    step: Step,
}

struct Plan {
    incidents: Vec<IncidentPlan>,
    /// The incidents each problem links when it opens.
    problem_links: Vec<Vec<usize>>,
    items: usize,
    steps: Vec<Timed>,
}

struct Planner {
    rng: Rng,
    now: NaiveDateTime,
    today: NaiveDate,
    incidents: Vec<IncidentPlan>,
    items: usize,
    steps: Vec<Timed>,
}

fn mins(n: i64) -> Duration {
    Duration::minutes(n)
}

fn problem_opened(today: NaiveDate, p: usize) -> NaiveDateTime {
    tokyo(today - Duration::days(PROBLEMS[p].opened), 16, 0)
}

impl Step {
    fn name(&self) -> &'static str {
        match self {
            Step::Create(_) => "create incident",
            Step::Move { .. } => "move incident",
            Step::Comment { .. } => "comment",
            Step::Update { .. } => "status update",
            Step::Escalate { .. } => "escalate",
            Step::Assign { .. } => "assign",
            Step::OpenProblem(_) => "open problem",
            Step::LinkProblem { .. } => "link problem",
            Step::MoveProblem { .. } => "move problem",
            Step::DraftPostmortem(_) => "draft post-mortem",
            Step::EditPostmortem { .. } => "edit post-mortem",
            Step::AddItem { .. } => "add action item",
            Step::CompleteItem(_) => "complete action item",
        }
    }
}

impl Planner {
    fn new(now: NaiveDateTime) -> Self {
        Self {
            rng: Rng(SEED),
            now,
            today: tokyo_date(now),
            incidents: Vec::new(),
            items: 0,
            steps: Vec::new(),
        }
    }

    fn push(&mut self, at: NaiveDateTime, by: usize, step: Step) {
        self.steps.push(Timed { at, by, step });
    }

    /// A few minutes and some seconds, so times do not all fall on the minute.
    fn wait(&mut self, lo: i64, hi: i64) -> Duration {
        mins(self.rng.range(lo, hi)) + Duration::seconds(self.rng.range(0, 59))
    }

    /// Who answers the phone: the Tokyo desk in office hours, London outside them. (The roll is
    /// made either way, so the story does not depend on the hour it is told at.)
    fn on_duty(&mut self, at: NaiveDateTime) -> usize {
        let tokyo_desk = *self.rng.pick(&[SATO, KOBAYASHI]);
        match tokyo_hour(at) {
            9..=17 => tokyo_desk,
            _ => EMILY,
        }
    }

    /// Who picks up at second line; at night the on-call engineer.
    fn engineer(&mut self, team: usize, at: NaiveDateTime) -> usize {
        let night = !(8..20).contains(&tokyo_hour(at));
        let roll = self.rng.below(3);
        match (team, night) {
            (SD, _) => SUZUKI,
            (NW, true) => TOM,
            (NW, false) => TAKAHASHI,
            (DB | APP, true) => RAJ,
            (DB, false) => [TANAKA, TANAKA, RAJ][roll as usize],
            (APP, false) => [ITO, ITO, RAJ][roll as usize],
            _ => WATANABE,
        }
    }

    fn manager(team: usize) -> usize {
        if matches!(team, SD | APP) {
            YAMAMOTO
        } else {
            SARAH
        }
    }

    fn levels(&mut self, priority: Priority) -> (Level, Level) {
        use Level::*;
        let choices: &[(Level, Level)] = match priority {
            Priority::P1 => &[(High, High)],
            Priority::P2 => &[(High, Medium), (Medium, High)],
            Priority::P3 => &[(Medium, Medium), (Medium, Medium), (High, Low), (Low, High)],
            Priority::P4 => &[(Low, Medium), (Medium, Low), (Low, Low)],
        };
        *self.rng.pick(choices)
    }

    /// Whether a problem of this family is open and unfixed at `at`, so the incident is worked
    /// around and linked to it.
    fn window(&self, family: Option<usize>, at: NaiveDateTime) -> Option<usize> {
        let p = PROBLEMS
            .iter()
            .position(|p| Some(p.family) == family && p.links_workarounds)?;
        let opened = problem_opened(self.today, p);
        let fixed = PROBLEMS[p]
            .resolve
            .map(|(days, _)| tokyo(self.today - Duration::days(days), 15, 0));
        (at > opened + mins(60) && fixed.is_none_or(|f| at < f)).then_some(p)
    }

    fn plan(mut self) -> Plan {
        self.calendar();
        self.recent();
        for m in MAJORS.iter() {
            self.major(m);
        }
        let problem_links = self.problems();
        Plan {
            incidents: self.incidents,
            problem_links,
            items: self.items,
            steps: self.steps,
        }
    }

    /// Everything from four months ago to six days ago, day by day in Tokyo: office-hours calls,
    /// night-time monitoring, a month-start rush on the attendance system, quiet weekends.
    fn calendar(&mut self) {
        let total: u64 = SCENARIOS.iter().map(|s| s.weight).sum();
        for days_ago in (6..=HISTORY_DAYS).rev() {
            let day = self.today - Duration::days(days_ago);
            let weekend = matches!(day.weekday(), Weekday::Sat | Weekday::Sun);
            let count = if weekend {
                *self.rng.pick(&[0, 0, 1])
            } else {
                *self.rng.pick(&[1, 1, 1, 2, 2, 3])
            };
            for _ in 0..count {
                let s = loop {
                    let mut roll = self.rng.below(total);
                    let s = SCENARIOS
                        .iter()
                        .position(|s| {
                            let hit = roll < s.weight;
                            roll = roll.saturating_sub(s.weight);
                            hit
                        })
                        .unwrap_or(0);
                    if !weekend || SCENARIOS[s].night {
                        break s;
                    }
                };
                let sc = &SCENARIOS[s];
                let at = if sc.night && self.rng.chance(60) {
                    let minute = self.rng.range(19 * 60, 29 * 60) % (24 * 60);
                    tokyo(day, (minute / 60) as u32, (minute % 60) as u32)
                } else {
                    let minute = self.rng.range(8 * 60 + 45, 18 * 60 + 30);
                    tokyo(day, (minute / 60) as u32, (minute % 60) as u32)
                };
                self.ordinary(s, at, Target::Closed, None, None);
            }
            // Long-running open incidents, so the queues hold some older work too.
            match days_ago {
                12 => self.ordinary(S_BATCH, tokyo(day, 3, 12), Target::OnHold, Some(HOLD_PARTS), None),
                9 => self.ordinary(S_EXPENSE, tokyo(day, 10, 47), Target::Mitigated, None, None),
                _ => {}
            }
            // 勤怠: the first business days of a month are busy.
            if !weekend && day.day() <= 3 {
                let minute = self.rng.range(8 * 60 + 50, 9 * 60 + 40);
                let at = tokyo(day, (minute / 60) as u32, (minute % 60) as u32);
                let priority = if self.rng.chance(50) {
                    Priority::P2
                } else {
                    Priority::P3
                };
                self.ordinary(S_KINTAI, at, Target::Closed, None, Some(priority));
            }
        }
    }

    /// The last few days, counted back from now: the open queues.
    fn recent(&mut self) {
        let recent: [(i64, usize, Target, Option<usize>); 11] = [
            (25, S_PRINT, Target::New, None),
            (50, S_EXPENSE, Target::New, None),
            (90, S_AD, Target::Acknowledged, None),
            (300, S_WIFI, Target::InProgress, None),
            (540, S_REPL, Target::Mitigated, None),
            (1_200, S_VPN, Target::Resolved, None),
            (1_700, S_FILE, Target::Resolved, None),
            (3_000, S_EXPENSE, Target::OnHold, Some(HOLD_VENDOR)),
            (4_400, S_PC, Target::OnHold, Some(HOLD_REQUESTER)),
            (5_900, S_BACKUP, Target::InProgress, None),
            (7_100, S_ORDER, Target::Resolved, None),
        ];
        for (minutes_ago, s, target, hold) in recent {
            let at = self.now - mins(minutes_ago);
            self.ordinary(s, at, target, hold, None);
        }
    }

    fn add_incident(&mut self, plan: IncidentPlan) -> usize {
        self.incidents.push(plan);
        self.incidents.len() - 1
    }

    /// The usual life of an incident: filed and acknowledged by the service desk; fixed there
    /// from the runbook, or escalated to the team that owns the service; maybe put on hold or
    /// worked around; resolved; closed a day or two later once the requester confirms.
    fn ordinary(
        &mut self,
        s: usize,
        created: NaiveDateTime,
        target: Target,
        hold: Option<usize>,
        priority: Option<Priority>,
    ) {
        let sc = &SCENARIOS[s];
        // Now and then a notch more or less urgent than usual (never a P1: those are written out).
        let priority = priority.unwrap_or_else(|| match (self.rng.below(100), sc.priority) {
            (0..=14, Priority::P3) => Priority::P2,
            (0..=14, Priority::P4) => Priority::P3,
            (85.., Priority::P2) => Priority::P3,
            (85.., Priority::P3) => Priority::P4,
            (_, usual) => usual,
        });
        let reporter = self.on_duty(created);
        let dept = *self.rng.pick(&DEPARTMENTS);
        let title = say(reporter, *self.rng.pick(sc.titles)).to_string();
        let description = fill(say(reporter, sc.description), &[("dept", say(reporter, dept))]);
        let channel = *self.rng.pick(sc.channels);
        let reported = match channel {
            "monitoring" | "web" => created - Duration::seconds(self.rng.range(0, 90)),
            "mail" => created - self.wait(5, 50),
            _ => created - self.wait(1, 4),
        };
        let (impact, urgency) = self.levels(priority);
        let (team, assignee) = match target {
            Target::New if s == S_EXPENSE => (None, None),
            Target::New => (Some(SD), None),
            _ => (Some(SD), Some(reporter)),
        };
        let inc = self.add_incident(IncidentPlan {
            reporter,
            family: Some(s),
            created,
            input: IncidentInput {
                title,
                description,
                impact: impact.as_str().into(),
                urgency: urgency.as_str().into(),
                channel: channel.into(),
                category: sc.category.into(),
                service: sc.service.into(),
                reported_at: format!("{}Z", reported.format("%Y-%m-%dT%H:%M:%S")),
                ..Default::default()
            },
            team,
            assignee,
        });
        let mut t = created;
        self.push(t, reporter, Step::Create(inc));
        if target == Target::New {
            return;
        }
        t += match priority {
            Priority::P1 => self.wait(1, 3),
            Priority::P2 => self.wait(2, 8),
            Priority::P3 => self.wait(3, 20),
            Priority::P4 => self.wait(5, 45),
        };
        self.push(
            t,
            reporter,
            transition(inc, Action::Acknowledge, TransitionInput::default()),
        );
        if priority <= Priority::P2 {
            t += self.wait(2, 6);
            let message = fill(
                say(reporter, update_text("confirming")),
                &[("service", sc.service), ("time", &tokyo_clock(reported))],
            );
            self.push(
                t,
                reporter,
                Step::Update {
                    inc,
                    state: "confirming",
                    message,
                },
            );
        } else if self.rng.chance(30) {
            t += self.wait(1, 5);
            self.push(t, reporter, comment(inc, say(reporter, RECEIVED), true));
        }
        if target == Target::Acknowledged {
            return;
        }
        let window = self.window(Some(s), t);
        let desk = window.is_none() && self.rng.chance(sc.desk) || sc.team == SD;
        let worker = if desk {
            t += self.wait(3, 15);
            self.push(t, reporter, comment(inc, say(reporter, RUNBOOK), false));
            SUZUKI
        } else {
            t += self.wait(10, 40);
            let reason = fill(say(reporter, HANDOVER), &[("team", TEAMS[sc.team].0)]);
            self.push(
                t,
                reporter,
                Step::Escalate {
                    inc,
                    kind: "functional",
                    to_team: Some(sc.team),
                    reason,
                    tried: say(reporter, sc.tried).into(),
                },
            );
            let engineer = self.engineer(sc.team, t);
            t += self.wait(5, 30);
            self.push(
                t,
                engineer,
                Step::Assign {
                    inc,
                    team: sc.team,
                    assignee: engineer,
                },
            );
            engineer
        };
        t += self.wait(1, 10);
        self.push(t, worker, transition(inc, Action::Start, TransitionInput::default()));
        if !desk {
            t += self.wait(10, 60);
            self.push(t, worker, comment(inc, say(worker, sc.finding), false));
            if priority <= Priority::P2 {
                t += self.wait(5, 15);
                self.push(
                    t,
                    worker,
                    Step::Escalate {
                        inc,
                        kind: "hierarchical",
                        to_team: None,
                        reason: say(worker, INFORM).into(),
                        tried: say(worker, INFORM_TRIED).into(),
                    },
                );
                t += self.wait(5, 20);
                let message = fill(say(reporter, update_text("investigating")), &[("service", sc.service)]);
                self.push(
                    t,
                    reporter,
                    Step::Update {
                        inc,
                        state: "investigating",
                        message,
                    },
                );
            }
        }
        if target == Target::InProgress {
            return;
        }
        if let Some(h) = hold {
            t += self.wait(5, 30);
            let input = TransitionInput {
                reason: say(worker, HOLDS[h]).into(),
                ..Default::default()
            };
            self.push(t, worker, transition(inc, Action::Hold, input));
            if target == Target::OnHold {
                return;
            }
            t += self.wait(4 * 60, 40 * 60);
            self.push(t, worker, transition(inc, Action::Resume, TransitionInput::default()));
        }
        let window = if desk { None } else { self.window(Some(s), t) };
        if target == Target::Mitigated || window.is_some() || (!desk && self.rng.chance(30)) {
            t += self.wait(20, 120);
            let input = TransitionInput {
                workaround: say(worker, sc.workaround).into(),
                ..Default::default()
            };
            self.push(t, worker, transition(inc, Action::Mitigate, input));
            if priority <= Priority::P2 {
                t += self.wait(2, 10);
                let message = fill(say(reporter, update_text("monitoring")), &[("service", sc.service)]);
                self.push(
                    t,
                    reporter,
                    Step::Update {
                        inc,
                        state: "monitoring",
                        message,
                    },
                );
            }
        }
        if let Some(problem) = window {
            t += self.wait(3, 15);
            self.push(t, worker, Step::LinkProblem { problem, inc });
            self.push(t, worker, comment(inc, say(worker, LINKED), false));
        }
        if target == Target::Mitigated {
            return;
        }
        t += if desk { self.wait(5, 40) } else { self.wait(30, 360) };
        let input = match (desk, window) {
            (true, _) => resolved(say(worker, sc.desk_fix), "permanent"),
            (false, Some(_)) => resolved(
                &fill(
                    say(worker, WORKED_AROUND),
                    &[("workaround", say(worker, sc.workaround))],
                ),
                "workaround",
            ),
            (false, None) => resolved(say(worker, sc.resolution), "permanent"),
        };
        self.push(t, worker, transition(inc, Action::Resolve, input));
        if priority <= Priority::P2 {
            t += self.wait(2, 10);
            let message = fill(
                say(reporter, update_text("recovered")),
                &[("service", sc.service), ("time", &tokyo_clock(t))],
            );
            self.push(
                t,
                reporter,
                Step::Update {
                    inc,
                    state: "recovered",
                    message,
                },
            );
        }
        t += self.wait(2, 20);
        self.push(t, reporter, comment(inc, say(reporter, DONE), true));
        if target == Target::Resolved {
            return;
        }
        t += self.wait(18 * 60, 50 * 60);
        if self.rng.chance(40) {
            self.push(t, SUZUKI, comment(inc, say(SUZUKI, CONFIRMED), false));
        }
        t += self.wait(0, 2);
        self.push(t, SUZUKI, transition(inc, Action::Close, TransitionInput::default()));
    }

    /// A major incident: every step of the 障害対応フロー, a post-mortem reviewed and published
    /// before the incident closes.
    fn major(&mut self, m: &'static Major) {
        let created = match m.when {
            When::Day(days, hour, minute) => tokyo(self.today - Duration::days(days), hour, minute),
            When::MinutesAgo(n) => self.now - mins(n),
        };
        let reporter = match m.reporter {
            Some(r) => r,
            None => self.on_duty(created),
        };
        let reported = created - self.wait(1, 3);
        let inc = self.add_incident(IncidentPlan {
            reporter,
            family: m.family,
            created,
            input: IncidentInput {
                title: say(reporter, m.title).into(),
                description: say(reporter, m.description).into(),
                impact: "high".into(),
                urgency: "high".into(),
                channel: m.channel.into(),
                category: m.category.into(),
                service: m.service.into(),
                reported_at: format!("{}Z", reported.format("%Y-%m-%dT%H:%M:%S")),
                ..Default::default()
            },
            team: Some(SD),
            assignee: Some(reporter),
        });
        let update = |state: &'static str, at: NaiveDateTime| Step::Update {
            inc,
            state,
            message: fill(
                say(reporter, update_text(state)),
                &[("service", m.service), ("time", &tokyo_clock(at))],
            ),
        };
        let mut t = created;
        self.push(t, reporter, Step::Create(inc));
        t += self.wait(1, 3);
        self.push(
            t,
            reporter,
            transition(inc, Action::Acknowledge, TransitionInput::default()),
        );
        t += self.wait(2, 4);
        self.push(t, reporter, update("confirming", reported));
        t += self.wait(2, 5);
        self.push(
            t,
            reporter,
            Step::Escalate {
                inc,
                kind: "functional",
                to_team: Some(m.team),
                reason: fill(say(reporter, MAJOR_HANDOVER), &[("team", TEAMS[m.team].0)]),
                tried: say(reporter, m.tried).into(),
            },
        );
        let engineer = match m.engineer {
            Some(e) => e,
            None => self.engineer(m.team, t),
        };
        t += self.wait(2, 5);
        self.push(
            t,
            engineer,
            Step::Assign {
                inc,
                team: m.team,
                assignee: engineer,
            },
        );
        t += self.wait(0, 2);
        self.push(t, engineer, transition(inc, Action::Start, TransitionInput::default()));
        t += self.wait(5, 10);
        self.push(
            t,
            engineer,
            Step::Escalate {
                inc,
                kind: "hierarchical",
                to_team: None,
                reason: say(engineer, INFORM).into(),
                tried: say(engineer, INFORM_TRIED).into(),
            },
        );
        let manager = Self::manager(m.team);
        t += self.wait(1, 4);
        self.push(t, manager, comment(inc, say(manager, MANAGER_ACK), false));
        t += self.wait(10, 20);
        self.push(t, reporter, update("investigating", t));
        t += self.wait(10, 25);
        self.push(t, engineer, comment(inc, say(engineer, m.finding), false));
        let mut worker = engineer;
        if let Some((team, reason, found)) = m.handover {
            t += self.wait(5, 10);
            self.push(
                t,
                engineer,
                Step::Escalate {
                    inc,
                    kind: "functional",
                    to_team: Some(team),
                    reason: say(engineer, reason).into(),
                    tried: say(engineer, m.finding).into(),
                },
            );
            worker = match self.engineer(team, t) {
                // Someone else is called in rather than handing over to oneself.
                same if same == engineer => (0..PEOPLE.len())
                    .find(|&n| n != same && PEOPLE[n].role == "engineer" && PEOPLE[n].teams.contains(&team))
                    .unwrap_or(same),
                other => other,
            };
            t += self.wait(3, 8);
            self.push(
                t,
                worker,
                Step::Assign {
                    inc,
                    team,
                    assignee: worker,
                },
            );
            t += self.wait(10, 20);
            self.push(t, worker, comment(inc, say(worker, found), false));
        }
        if m.ongoing {
            t += self.wait(5, 15);
            let message = say(reporter, STILL_INVESTIGATING).to_string();
            self.push(
                t,
                reporter,
                Step::Update {
                    inc,
                    state: "investigating",
                    message,
                },
            );
            return;
        }
        let mut window = None;
        if let Some((workaround, after)) = m.workaround {
            t += mins(after) + self.wait(0, 5);
            let input = TransitionInput {
                workaround: say(worker, workaround).into(),
                ..Default::default()
            };
            self.push(t, worker, transition(inc, Action::Mitigate, input));
            t += self.wait(2, 5);
            self.push(t, reporter, update("monitoring", t));
            window = self.window(m.family, t);
            if let Some(problem) = window {
                t += self.wait(3, 8);
                self.push(t, worker, Step::LinkProblem { problem, inc });
            }
        }
        if let Some((reason, minutes)) = m.hold {
            t += self.wait(5, 10);
            let input = TransitionInput {
                reason: say(worker, reason).into(),
                ..Default::default()
            };
            self.push(t, worker, transition(inc, Action::Hold, input));
            t += mins(minutes) + self.wait(0, 10);
            self.push(t, worker, transition(inc, Action::Resume, TransitionInput::default()));
        }
        t += mins(m.resolve_after) + self.wait(0, 10);
        let kind = if window.is_some() { "workaround" } else { "permanent" };
        self.push(
            t,
            worker,
            transition(inc, Action::Resolve, resolved(say(worker, m.resolution), kind)),
        );
        t += self.wait(2, 5);
        self.push(t, reporter, update("recovered", t));
        let Some(pm) = &m.postmortem else {
            return;
        };
        t += self.wait(20 * 60, 22 * 60);
        self.push(t, pm.author, Step::DraftPostmortem(inc));
        t += self.wait(90, 180);
        let patch = SectionsPatch {
            impact: Some(pm.impact.into()),
            root_cause: Some(pm.root_cause.into()),
            went_well: Some(pm.went_well.into()),
            went_badly: Some(pm.went_badly.into()),
            lucky: Some(pm.lucky.into()),
            ..Default::default()
        };
        self.push(
            t,
            pm.author,
            Step::EditPostmortem {
                inc,
                step: PostmortemStep::Edit,
                patch,
            },
        );
        let written = t;
        for item in pm.items {
            t += self.wait(2, 8);
            let key = self.items;
            self.items += 1;
            let input = ActionItemInput {
                title: item.title.into(),
                due_on: (tokyo_date(written) + Duration::days(item.due)).to_string(),
                ..Default::default()
            };
            self.push(
                t,
                pm.author,
                Step::AddItem {
                    inc,
                    item: key,
                    input,
                    owner: item.owner,
                    problem: item.problem,
                },
            );
            if let Some(done) = item.done {
                let at = written + Duration::days(done) + self.wait(60, 300);
                self.push(at, item.owner, Step::CompleteItem(key));
            }
        }
        t += self.wait(20 * 60, 26 * 60);
        self.push(
            t,
            pm.author,
            Step::EditPostmortem {
                inc,
                step: PostmortemStep::Submit,
                patch: SectionsPatch::default(),
            },
        );
        let Some(days) = pm.publish else {
            return;
        };
        t += Duration::days(days) + self.wait(0, 120);
        self.push(
            t,
            pm.publisher,
            Step::EditPostmortem {
                inc,
                step: PostmortemStep::Publish,
                patch: SectionsPatch::default(),
            },
        );
        t += self.wait(10, 40);
        self.push(
            t,
            pm.publisher,
            transition(inc, Action::Close, TransitionInput::default()),
        );
    }

    /// Problems: opened from recurring incidents (linking the family's incidents of the 30 days
    /// before), analysed, and some known, fixed or closed.
    fn problems(&mut self) -> Vec<Vec<usize>> {
        let mut links = Vec::new();
        for (p, def) in PROBLEMS.iter().enumerate() {
            let opened = problem_opened(self.today, p);
            let mut family: Vec<usize> = self
                .incidents
                .iter()
                .enumerate()
                .filter(|(_, i)| {
                    i.family == Some(def.family) && i.created < opened && i.created > opened - Duration::days(30)
                })
                .map(|(n, _)| n)
                .collect();
            family.sort_by_key(|n| std::cmp::Reverse(self.incidents[*n].created));
            family.truncate(6);
            family.sort_by_key(|n| self.incidents[*n].created);
            links.push(family);
            self.push(opened, def.opened_by, Step::OpenProblem(p));
            let day = |days: i64, hour: u32| tokyo(self.today - Duration::days(days), hour, 0);
            let mut steps = Vec::new();
            if let Some((days, factors, whys)) = def.investigate {
                let analysis = AnalysisInput {
                    contributing_factors: factors.into(),
                    five_whys: whys.into(),
                    ..Default::default()
                };
                steps.push((day(days, 17), ProblemAction::Investigate, analysis, ""));
            }
            if let Some((days, cause, workaround, fix_in)) = def.known_error {
                let analysis = AnalysisInput {
                    root_cause: cause.into(),
                    workaround: workaround.into(),
                    fix_due_on: (self.today - Duration::days(days) + Duration::days(fix_in)).to_string(),
                    ..Default::default()
                };
                steps.push((day(days, 11), ProblemAction::KnownError, analysis, ""));
            }
            if let Some((days, resolution)) = def.resolve {
                steps.push((
                    day(days, 15),
                    ProblemAction::Resolve,
                    AnalysisInput::default(),
                    resolution,
                ));
            }
            if let Some(days) = def.close {
                steps.push((day(days, 10), ProblemAction::Close, AnalysisInput::default(), ""));
            }
            for (at, action, analysis, resolution) in steps {
                self.push(
                    at,
                    def.owner,
                    Step::MoveProblem {
                        problem: p,
                        action,
                        analysis,
                        resolution: resolution.into(),
                    },
                );
            }
        }
        links
    }
}

fn transition(inc: usize, action: Action, input: TransitionInput) -> Step {
    Step::Move { inc, action, input }
}

fn comment(inc: usize, body: &str, stakeholder: bool) -> Step {
    Step::Comment {
        inc,
        body: body.into(),
        stakeholder,
    }
}

fn resolved(resolution: &str, kind: &str) -> TransitionInput {
    TransitionInput {
        resolution: resolution.into(),
        resolution_kind: kind.into(),
        ..Default::default()
    }
}

// ---------------------------------------------------------------------------------------------
// The replay.

/// Plays the plan through the services in time order.
fn replay(conn: &mut DbConnection, plan: Plan, now: NaiveDateTime, password: &str) -> Result<Report, AppError> {
    let setup = Actor::system("demo");
    let founded = tokyo(tokyo_date(now) - Duration::days(HISTORY_DAYS + 10), 9, 0);
    let mut team_ids = Vec::new();
    for (n, (name, description)) in TEAMS.iter().enumerate() {
        let id = match crate::teams::queries::find_by_name(conn, name)? {
            Some(existing) => existing.id,
            None => {
                let input = TeamInput {
                    name: (*name).into(),
                    description: (*description).into(),
                };
                crate::teams::service::create(conn, &setup, founded + mins(n as i64), &input)?.id
            }
        };
        team_ids.push(id);
    }
    let mut state = Replay {
        planned: &plan.incidents,
        problem_links: &plan.problem_links,
        team_ids,
        actors: Vec::new(),
        incidents: vec![None; plan.incidents.len()],
        problems: vec![None; PROBLEMS.len()],
        items: vec![None; plan.items],
        report: Report {
            password: String::new(),
            accounts: Vec::new(),
            teams: TEAMS.len(),
            incidents: 0,
            problems: 0,
            postmortems: 0,
        },
    };
    for (n, person) in PEOPLE.iter().enumerate() {
        let input = UserInput {
            email: person.email(),
            display_name: person.name.into(),
            role: person.role.into(),
            locale: person.locale.into(),
            time_zone: person.time_zone.into(),
            password: password.into(),
            team_ids: person.teams.iter().map(|t| state.team_ids[*t]).collect(),
        };
        let user = crate::users::service::create(conn, &setup, founded + mins(10 + n as i64), &input)?;
        state.actors.push(Actor::user(user.id, &user.email, None));
        state.report.accounts.push((user.email, person.role, person.name));
    }
    let mut steps = plan.steps;
    // Stable: steps planned for the same moment keep the order they were planned in.
    steps.sort_by_key(|s| s.at);
    for (n, Timed { at, by, step }) in steps.into_iter().enumerate() {
        // The story is told up to now; whatever would come later has not happened yet.
        if at > now {
            continue;
        }
        let at = crate::db::truncate(at);
        let name = step.name();
        state
            .apply(conn, at, by, step)
            .map_err(|e| AppError::internal(anyhow::anyhow!("demo step {n} ({name}, {at}) failed: {e:?}")))?;
    }
    Ok(state.report)
}

/// What the replay has created so far: plan indices → database ids.
struct Replay<'p> {
    planned: &'p [IncidentPlan],
    problem_links: &'p [Vec<usize>],
    team_ids: Vec<i64>,
    actors: Vec<Actor>,
    incidents: Vec<Option<i64>>,
    problems: Vec<Option<i64>>,
    items: Vec<Option<i64>>,
    report: Report,
}

fn created(ids: &[Option<i64>], n: usize) -> Result<i64, AppError> {
    ids[n].ok_or_else(|| AppError::internal(anyhow::anyhow!("the demo plan uses something before it exists")))
}

impl Replay<'_> {
    fn user(&self, person: usize) -> i64 {
        self.actors[person].user_id.expect("demo people are users")
    }

    fn apply(&mut self, conn: &mut DbConnection, at: NaiveDateTime, by: usize, step: Step) -> Result<(), AppError> {
        let actor = self.actors[by].clone();
        let actor = &actor;
        match step {
            Step::Create(inc) => {
                let plan = &self.planned[inc];
                let mut input = plan.input.clone();
                input.team_id = plan.team.map(|t| self.team_ids[t]);
                input.assignee_id = plan.assignee.map(|p| self.user(p));
                let view = incidents::create(conn, actor, at, PEOPLE[plan.reporter].time_zone, &input)?;
                self.incidents[inc] = Some(view.id);
                self.report.incidents += 1;
            }
            Step::Move { inc, action, input } => {
                incidents::transition(conn, actor, at, created(&self.incidents, inc)?, action, &input)?;
            }
            Step::Comment { inc, body, stakeholder } => {
                let input = CommentInput {
                    body,
                    visibility: if stakeholder { "stakeholder" } else { "internal" }.into(),
                };
                incidents::comment(conn, actor, at, created(&self.incidents, inc)?, &input)?;
            }
            Step::Update { inc, state, message } => {
                let input = StatusUpdateInput {
                    state: state.into(),
                    message,
                };
                incidents::status_update(conn, actor, at, created(&self.incidents, inc)?, &input)?;
            }
            Step::Escalate {
                inc,
                kind,
                to_team,
                reason,
                tried,
            } => {
                let input = EscalationInput {
                    version: None,
                    kind: kind.into(),
                    to_team: to_team.map(|t| self.team_ids[t]),
                    reason,
                    tried,
                };
                incidents::escalate(conn, actor, at, created(&self.incidents, inc)?, &input)?;
            }
            Step::Assign { inc, team, assignee } => {
                let input = AssignInput {
                    version: None,
                    team_id: Some(Some(self.team_ids[team])),
                    assignee_id: Some(Some(self.user(assignee))),
                };
                incidents::assign(conn, actor, at, created(&self.incidents, inc)?, &input)?;
            }
            Step::OpenProblem(p) => {
                let def = &PROBLEMS[p];
                let incident_ids = self.problem_links[p]
                    .iter()
                    .map(|inc| created(&self.incidents, *inc))
                    .collect::<Result<Vec<_>, _>>()?;
                let input = ProblemInput {
                    title: def.title.into(),
                    description: def.description.into(),
                    priority: def.priority.as_str().into(),
                    team_id: Some(self.team_ids[def.team]),
                    owner_id: Some(self.user(def.owner)),
                    incident_ids,
                    fix_due_on: String::new(),
                    ..Default::default()
                };
                let view = problems::create(conn, actor, at, &input)?;
                self.problems[p] = Some(view.id);
                self.report.problems += 1;
            }
            Step::LinkProblem { problem, inc } => {
                let incident = created(&self.incidents, inc)?;
                problems::link_incidents(conn, actor, at, created(&self.problems, problem)?, &[incident])?;
            }
            Step::MoveProblem {
                problem,
                action,
                analysis,
                resolution,
            } => {
                let id = created(&self.problems, problem)?;
                problems::transition(conn, actor, at, id, action, &analysis, &resolution)?;
            }
            Step::DraftPostmortem(inc) => {
                postmortems::create(conn, actor, at, created(&self.incidents, inc)?)?;
                self.report.postmortems += 1;
            }
            Step::EditPostmortem { inc, step, patch } => {
                postmortems::change(conn, actor, at, created(&self.incidents, inc)?, step, &patch)?;
            }
            Step::AddItem {
                inc,
                item,
                mut input,
                owner,
                problem,
            } => {
                input.owner_id = Some(self.user(owner));
                input.problem_id = problem.map(|p| created(&self.problems, p)).transpose()?;
                let view = postmortems::add_item(conn, actor, at, created(&self.incidents, inc)?, &input)?;
                // The newest item with this title is the one just added.
                self.items[item] = view
                    .action_items
                    .iter()
                    .filter(|i| i.item.title == input.title)
                    .map(|i| i.item.id)
                    .max();
            }
            Step::CompleteItem(item) => postmortems::complete_item(conn, actor, at, created(&self.items, item)?, true)?,
        }
        Ok(())
    }
}
