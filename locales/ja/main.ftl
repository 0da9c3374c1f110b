# Mamori — 日本語メッセージ。id は locales/en/main.ftl と同じにすること（テストで確認）。

## ブランド・ナビゲーション
brand-tagline = ITサービスマネジメント
nav-home = ホーム
nav-users = ユーザー
nav-teams = チーム
nav-audit = 監査ログ
nav-profile = プロフィール
nav-logout = ログアウト
nav-main = メインナビゲーション
lang-switch = 言語
footer-text = Mamori { $version } — システムを守る運用保守のために

## ページタイトル
page-login = ログイン
page-setup = 初期設定
page-home = ホーム
page-users = ユーザー
page-user-new = ユーザーの追加
page-user-edit = ユーザーの編集
page-teams = チーム
page-team-new = チームの追加
page-team-edit = チームの編集
page-audit = 監査ログ
page-profile = プロフィール
page-error = エラー

## 共通
action-save = 保存
action-create = 作成
action-cancel = キャンセル
action-filter = 絞り込み
action-clear = クリア
action-edit = 編集
next-page = 次のページ
first-page = 最初のページ
none-yet = まだありません。
yes = はい
no = いいえ
never = なし

## 項目
field-email = メールアドレス
field-password = パスワード
field-display-name = 表示名
field-role = ロール
field-locale = 言語
field-time-zone = タイムゾーン
field-active = 有効
field-teams = 所属チーム
field-team-name = チーム名
field-description = 説明
field-new-password = 新しいパスワード
field-current-password = 現在のパスワード
field-token-name = トークン名
hint-time-zone = Asia/Tokyo や UTC などの IANA タイムゾーン名です。
hint-password = 10文字以上。複数の単語を並べたパスフレーズがおすすめです。
hint-password-edit = 空欄なら現在のパスワードのままです。設定するとこのユーザーは全端末でログアウトされます。

## ロール・言語
role-helpdesk = ヘルプデスク
role-engineer = 保守担当
role-manager = システム責任者
role-admin = システム管理者
role-all = すべてのロール
locale-ja = 日本語
locale-en = English

## ログイン・初期設定
login-intro = Mamori にログインします。
login-submit = ログイン
login-failed = メールアドレスまたはパスワードが正しくありません。
login-throttled = ログインの失敗が続いたため、一時的にロックしています。{ $minutes } 分後に再度お試しください。
session-expired = 一定時間操作がなかったため、ログアウトしました。再度ログインしてください。
setup-intro = 最初のシステム管理者アカウントを作成します。作成後、このページは表示されなくなります。
setup-submit = 管理者を作成

## ホーム
home-greeting = ようこそ、{ $name } さん
home-role = { $role } としてログインしています。
home-your-teams = 所属チーム
home-no-teams = まだどのチームにも所属していません。
home-stat-users = ユーザー数
home-stat-teams = チーム数
home-queues = 対応キュー
home-queues-empty = インシデントのキューはここに表示されます。

## ユーザー
users-new = ユーザーを追加
users-search = 名前またはメールアドレスで検索
users-inactive = 無効
users-last-login = 最終ログイン
users-empty = 該当するユーザーはいません。

## チーム
teams-new = チームを追加
teams-members = メンバー
teams-member-count = 人数
teams-members-hint = 所属は各ユーザーの編集画面で変更します。
teams-empty = チームはまだありません。

## 監査ログ
audit-time = 日時
audit-actor = 操作者
audit-action = 操作
audit-entity = 対象
audit-entity-type = 対象の種類
audit-entity-id = 対象のID
audit-ip = 接続元
audit-changes = 変更内容
audit-before = 変更前
audit-after = 変更後
audit-empty = 該当する記録はありません。

## プロフィール
profile-preferences = 表示設定
profile-password = パスワードの変更
profile-password-submit = パスワードを変更
profile-tokens = APIトークン
profile-tokens-intro = スクリプトや外部連携で使う個人用トークンです。「Authorization: Bearer トークン」の形で送信します。
profile-token-create = トークンを作成
profile-token-revoke = 失効
profile-token-revoked = 失効済み
profile-token-prefix = 先頭
profile-token-created-at = 作成日時
profile-token-last-used = 最終使用
profile-token-new = 新しいトークンです。今すぐコピーしてください。表示はこの一度だけです。
profile-no-tokens = トークンはまだありません。

## 入力エラー
error-required = 必須項目です。
error-too-long = { $max } 文字以内で入力してください。
error-email-invalid = メールアドレスの形式が正しくありません。
error-email-taken = このメールアドレスは既に使われています。
error-password-too-short = { $min } 文字以上で入力してください。
error-password-common = 推測されやすいパスワードです。
error-password-contains-email = メールアドレスの名前部分を含まないパスワードにしてください。
error-role-invalid = helpdesk・engineer・manager・admin のいずれかを選んでください。
error-locale-invalid = 日本語 (ja) か English (en) を選んでください。
error-timezone-invalid = 不明なタイムゾーンです。
error-team-unknown = 選択したチームの中に存在しないものがあります。
error-team-name-taken = 同じ名前のチームが既にあります。
error-current-password-wrong = 現在のパスワードが正しくありません。
error-own-account = 自分自身のロール変更や無効化はできません。
csrf-failed = フォームの有効期限が切れたか、別のサイトから送信されました。ページを再読み込みしてやり直してください。

## 完了メッセージ
flash-user-created = ユーザーを追加しました。
flash-user-updated = ユーザーを更新しました。
flash-team-created = チームを追加しました。
flash-team-updated = チームを更新しました。
flash-token-created = トークンを作成しました。
flash-token-revoked = トークンを失効させました。
flash-profile-updated = 表示設定を保存しました。
flash-password-changed = パスワードを変更しました。他の端末のセッションはログアウトされました。
flash-logged-out = ログアウトしました。
flash-setup-done = システム管理者を作成しました。Mamori へようこそ。
flash-language-changed = 表示言語を切り替えました。

## エラーページ
error-back-home = トップページへ戻る
error-page-title-400 = 不正なリクエスト
error-page-body-400 = リクエストを解釈できませんでした。
error-page-title-401 = ログインが必要です
error-page-body-401 = 続けるにはログインしてください。
error-page-title-403 = 権限がありません
error-page-body-403 = このページまたは操作は、あなたのロールでは利用できません。
error-page-title-404 = ページが見つかりません
error-page-body-404 = このアドレスには何もありません。
error-page-title-409 = 競合が発生しました
error-page-body-409 = 先に他の人が変更しました。再読み込みしてやり直してください。
error-page-title-413 = サイズが大きすぎます
error-page-body-413 = アップロードまたはフォームの内容が上限を超えています。
error-page-title-422 = 入力内容に誤りがあります
error-page-body-422 = 正しくない項目があります。
error-page-title-429 = リクエストが多すぎます
error-page-body-429 = しばらく待ってから再度お試しください。
error-page-title-500 = エラーが発生しました
error-page-body-500 = 予期しないエラーが発生しました。記録済みです。
error-page-title-503 = 一時的に利用できません
error-page-body-503 = 現在データベースに接続できません。しばらくしてから再度お試しください。

## インシデント
nav-incidents = インシデント
page-incidents = インシデント
page-incident-new = インシデントの起票
incidents-new = 起票
incidents-create = 起票する
incidents-views = キュー
incidents-view-open = 未完了すべて
incidents-view-mine = 自分の担当
incidents-view-team = 所属チームのキュー
incidents-view-unassigned = 担当者未割当
incidents-view-major = 重大インシデント
incidents-view-all = すべて
incidents-search = 件名・内容・番号で検索
incidents-any-status = すべての状態
incidents-any-priority = すべての優先度
incidents-any-team = すべてのチーム
incidents-empty = 該当するインシデントはありません。
field-status = 状態
field-priority = 優先度
field-team = 担当チーム
field-number = 番号
field-title = 件名
field-assignee = 担当者
field-reported-at = 受付日時
field-impact = 影響度
field-urgency = 緊急度
field-channel = 受付経路
field-category = カテゴリ
field-service = 影響サービス
field-hold-reason = 保留理由
field-workaround = 暫定対応
field-resolution = 対応内容
field-resolution-kind = 対応の種類
field-visibility = 公開範囲
field-update-state = 状況
field-message = 連絡内容
field-tried = 実施済みの対応
field-reason = 理由
field-escalation-level = エスカレーションレベル
field-escalation-kind = エスカレーション種別
field-to-team = エスカレーション先チーム
field-acknowledged-at = 一次対応
field-mitigated-at = 暫定復旧
field-resolved-at = 解決
field-closed-at = クローズ
status-new = 新規
status-acknowledged = 受付済
status-in_progress = 調査中
status-mitigated = 暫定復旧
status-resolved = 解決済
status-closed = クローズ
status-on_hold = 保留中
level-high = 高
level-medium = 中
level-low = 低
channel-phone = 電話
channel-mail = メール
channel-web = Web
channel-monitoring = 監視
channel-api = API
hint-incident-description = 何が影響を受け、利用者に何が起きているか、いつからかを、事実から書いてください。
hint-reported-at = 空欄なら現在時刻です。電話の記録が遅れた場合は実際の受付時刻を入れてください。
hint-priority-matrix = 優先度は影響度×緊急度で決まります。高×高は P1（重大インシデント）です。
hint-status-update = 関係部門への短い状況連絡です。関係者に公開されます。
incident-major = 重大インシデント（P1）です。クローズ前に事後報告（ポストモーテム）の公開が必要です。
incident-timeline = タイムライン
incident-comment = コメント
incident-comment-submit = コメントを追加
incident-status-update = 状況連絡
incident-status-update-submit = 連絡を投稿
incident-actions = 操作
incident-details = 詳細
incident-escalate = エスカレーション
incident-escalate-submit = エスカレーションする
incident-assign = 担当
event-created = 起票
event-state_changed = 状態変更
event-comment = コメント
event-status_update = 状況連絡
event-escalated = エスカレーション
event-deescalated = デエスカレーション
event-assigned = 担当変更
update-state-confirming = 確認中
update-state-investigating = 調査中
update-state-identified = 原因特定
update-state-monitoring = 経過観察中
update-state-recovered = 復旧済
update-template-service-unknown = 対象サービス
update-template-use = テンプレートから作成:
update-template-confirming = 【第一報】{ $reference } { $title }
    { $time } 現在、{ $service }に関する障害の連絡を受け、状況を確認しています。
    影響範囲と復旧の見込みが分かり次第、改めてご連絡します。
update-template-investigating = 【続報】{ $reference } { $title }
    { $time } 現在、{ $service }の障害について原因を調査しています。
    ご不便をおかけしております。進展があり次第ご連絡します。
update-template-identified = 【続報】{ $reference } { $title }
    { $time } 現在、{ $service }の障害の原因を特定し、復旧作業を進めています。
    復旧の見込みが立ち次第ご連絡します。
update-template-monitoring = 【続報】{ $reference } { $title }
    { $time } 現在、{ $service }は暫定対応により利用できる状態です。
    引き続き経過を観察し、恒久対応を進めます。
update-template-recovered = 【復旧報】{ $reference } { $title }
    { $time } に{ $service }の復旧を確認しました。
    ご不便をおかけし申し訳ございませんでした。原因と再発防止策は別途ご報告します。
visibility-internal = 社内のみ
visibility-stakeholder = 関係者に公開
action-acknowledge = 受付（一次対応）
action-start = 調査開始
action-hold = 保留にする
action-resume = 再開
action-mitigate = 暫定復旧
action-resolve = 解決
action-close = クローズ
action-reopen = 再オープン
resolution-kind-permanent = 恒久対応
resolution-kind-workaround = 暫定対応のみ（問題管理が必要）
escalation-functional = 機能的（他チームへ・レベルを上げる）
escalation-hierarchical = 階層的（責任者へ報告）
escalation-down = デエスカレーション
flash-incident-created = インシデントを起票しました。
flash-incident-updated = インシデントを更新しました。
flash-comment-added = コメントを追加しました。
flash-status-update-posted = 状況連絡を投稿しました。
flash-incident-escalated = エスカレーションを記録しました。
error-level-invalid = 高・中・低のいずれかを選んでください。
error-channel-invalid = 電話・メール・Web・監視・API のいずれかを選んでください。
error-reported-in-future = 受付日時に未来の時刻は指定できません。
error-datetime-invalid = 日時の形式が正しくありません。
error-user-unknown = 該当する有効なユーザーがいません。
error-view-invalid = 不明なキューです。
error-status-invalid = 不明な状態です。
error-priority-invalid = P1〜P4 のいずれかを選んでください。
error-resolution-kind-invalid = 恒久対応か暫定対応を選んでください。
error-visibility-invalid = 社内のみか関係者に公開を選んでください。
error-update-state-invalid = 確認中・調査中・原因特定・経過観察中・復旧済のいずれかを選んでください。
error-escalation-kind-invalid = 機能的・階層的・デエスカレーションのいずれかを選んでください。

## 問題管理
nav-problems = 問題管理
page-problems = 問題管理
page-problem-new = 問題の起票
problems-new = 問題を起票
problems-new-from-incident = このインシデントから問題を起票
problems-open = 未完了
problems-empty = 問題はありません。
problems-candidates = 問題管理の候補
hint-problem-candidates = 直近30日間にインシデントが3件以上あるカテゴリとサービスです。
problems-candidate-count = 30日間で { $count } 件
problem-status-new = 新規
problem-status-investigating = 原因調査中
problem-status-known_error = 既知のエラー
problem-status-resolved = 解決済
problem-status-closed = クローズ
problem-analysis = 根本原因分析
problem-incidents = 関連インシデント
problem-link-incident = 紐付け
problem-action-investigate = 原因調査を開始
problem-action-known-error = 既知のエラーとして記録
problem-action-resolve = 解決
problem-action-close = クローズ
problem-action-reopen = 再オープン
field-owner = 担当者
field-fix-due-on = 恒久対策の期限
field-root-cause = 根本原因
field-contributing-factors = 寄与要因
field-five-whys = なぜなぜ分析
incident-problems = 問題
incident-no-problem = 問題に紐付いていません。
event-linked = 問題に紐付け
flash-problem-created = 問題を起票しました。
flash-problem-updated = 問題を更新しました。
error-date-invalid = 日付の形式が正しくありません（YYYY-MM-DD）。
error-incident-unknown = 該当するインシデントがありません。

## 事後対応
nav-action-items = 自分の対策項目
postmortem = 事後報告（ポストモーテム）
postmortem-open = 事後報告を開く
postmortem-create = 事後報告の下書きを作成
postmortem-status-draft = 下書き
postmortem-status-in_review = レビュー中
postmortem-status-published = 公開済
postmortem-blameless = 非難しない（ブレームレス）記述で：システムとプロセスに何が起き、当時なぜその判断が妥当だったかを書きます。原因に個人名は書きません。
postmortem-impact-start = 影響開始
postmortem-duration = 復旧までの時間
postmortem-minutes = { $count } 分
postmortem-section-summary = 概要
postmortem-section-impact = 影響範囲
postmortem-section-detection = 検知
postmortem-section-root_cause = 根本原因
postmortem-section-resolution = 対応内容
postmortem-section-timeline = 時系列
postmortem-section-went_well = うまくいったこと
postmortem-section-went_badly = うまくいかなかったこと
postmortem-section-lucky = 幸運だったこと
postmortem-submit = レビューに回す
postmortem-publish = 公開する
postmortem-published-at = 公開日時
action-items = 再発防止策
action-item-add = 追加
action-item-done = 完了
action-item-overdue = 期限切れ
action-item-status-open = 未完了
action-item-status-done = 完了
field-due-on = 期限
event-postmortem = 事後報告
flash-postmortem-created = インシデントの記録から事後報告の下書きを作成しました。
flash-postmortem-updated = 事後報告を保存しました。
flash-action-item-done = 対策項目を完了にしました。
error-problem-unknown = 該当する問題がありません。

## 添付ファイル
incident-attachments = 添付ファイル
attachment-upload = アップロード
field-file = ファイル
event-attachment = 添付
flash-attachment-added = ファイルを添付しました。
error-file-too-large = ファイルが { $max } MB を超えています。
error-file-empty = ファイルが空です。

## 類似インシデント・出力
incident-similar = 類似する過去のインシデント
incident-no-similar = 類似するインシデントは見つかりませんでした。
similar-reason-field = 同じカテゴリ・サービス
similar-reason-text = 内容が類似
incidents-export = CSV 出力
field-reported-from = 受付日（から）
field-reported-to = 受付日（まで）

ticket-delete-title = チケットの削除
ticket-delete-hint = 削除したチケットは一覧や画面から消えますが、履歴は残ります。管理者は「削除済みチケット」から復元できます。理由は監査ログに記録されます。
ticket-delete-submit = 削除する
ticket-delete-link = 削除…
field-delete-reason = 削除の理由
page-deleted = 削除済みチケット
nav-deleted = 削除済み
deleted-hint = 管理者が削除したチケットです(新しい順)。復元するとタイムラインごと元に戻ります。
deleted-at = 削除日時
deleted-empty = 削除済みのチケットはありません。
action-restore = 復元
flash-ticket-deleted = チケットを削除しました。ここから復元できます。
flash-ticket-restored = チケットを復元しました。
event-deleted = 削除
event-restored = 復元

error-week-shape = 月曜日から順に 7 日分の時間帯を指定してください。
error-interval-invalid = { $day } 日目の時間帯が HH:MM-HH:MM の形式ではありません。
error-interval-overlap = { $day } 日目(1 = 月曜日)の時間帯が重なっています。
error-week-empty = 稼働時間が 1 つもありません。
error-closure-invalid = 休日には開始日(YYYY-MM-DD)と、それ以降の終了日が必要です(最長 1 年)。
error-name-taken = この名前はすでに使われています。
error-kind-invalid = 現在はインシデントのポリシーのみ作成できます。
error-policy-no-targets = 初動目標・解決目標の少なくとも一方を指定してください。
error-minutes-range = 1 分から 1 年の間で指定してください。
error-percent-range = 1 から 99 の間で指定してください。
error-calendar-unknown = そのカレンダーは存在しません。
error-ics-invalid = イベントを含む iCalendar (.ics) ファイルではありません。

incident-edit = 記録の修正
event-priority_changed = 優先度の変更
sla-title = SLA
sla-level-ok = 順調
sla-level-warning = 要注意
sla-level-breached = 違反
sla-level-met = 達成
sla-level-paused = 停止中
sla-response = 初動
sla-resolution = 解決
sla-due = 期限
sla-met-at = 達成
sla-left = 残り
sla-overdue = 超過
sla-explain = 数値の根拠
sla-calendar = カレンダー
sla-japanese-holidays = 祝日は休み
sla-started = 計測開始
sla-mitigation-stops = 暫定対応で解決時間の計測を止める
sla-business-minutes = 営業分
sla-from = 開始
sla-to = 終了
sla-state = 状態
sla-now = 現在
sla-elapsed = 経過
sla-stretch-running = 計測中
sla-stretch-paused = 停止(保留中)
sla-stretch-stopped = 停止

page-notifications = 通知
nav-notifications = 通知
notifications-empty = 通知はありません。
action-mark-read = 既読にする
flash-notification-read = 既読にしました。
notification-sla_response_warning = 初動期限が迫っています
notification-sla_response_breach = 初動期限を超過しました
notification-sla_resolution_warning = 解決期限が迫っています
notification-sla_resolution_breach = 解決期限を超過しました
event-sla_warning = SLA 警告
event-sla_breach = SLA 違反
error-rule-clock-invalid = response(初動)か resolution(解決)を選んでください。
error-rule-kind-invalid = warning(警告)か breach(違反)を選んでください。
error-rule-notify-invalid = assignee(担当者)・team(チーム)・managers(マネージャー)のいずれかを選んでください。

page-sla-report = SLA レポート
page-dashboard = マネージャーダッシュボード
nav-dashboard = ダッシュボード
report-from = 開始日
report-to = 終了日
report-group-by = 集計単位
report-dim-month = 月
report-dim-team = チーム
report-dim-priority = 優先度
report-tickets = 件数
report-response-met = 初動達成率
report-resolution-met = 解決達成率
report-breaches = 違反
report-mtta = MTTA(営業分 / 実時間分)
report-mttr = MTTR(営業分 / 実時間分)
report-minutes-hint = 時間は分単位です。営業分は各チケットの SLA カレンダー上の時間、実時間分は経過時間です。達成率は達成または違反が確定した計測のみを対象とし、ポリシーのないチケットは件数にのみ含まれます。
report-empty = この期間のデータはありません。
report-breach-list = 違反したチケット
report-no-breaches = この期間の違反はありません。
report-backlog = 未解決インシデントの滞留状況
report-age = 経過
report-age-a_lt_1d = 1 日未満
report-age-b_1_3d = 1〜3 日
report-age-c_3_7d = 3〜7 日
report-age-d_7_30d = 7〜30 日
report-age-e_gt_30d = 30 日超
report-chart-met = SLA 達成率(%)
report-chart-mttr = 平均解決時間(分)
report-mttr-business = 営業分
report-mttr-wall = 実時間分
dashboard-open = 優先度別の未解決インシデント
dashboard-breached-month = 今月の違反
dashboard-at-risk = 期限が迫っているもの
dashboard-none-at-risk = 期限が迫っているチケットはありません。
dashboard-trend = 直近 6 か月
error-period-inverted = 開始日は終了日以前にしてください。
error-period-too-long = 期間は最長 3 年です。
error-group-by-invalid = 月・チーム・優先度から選んでください。
