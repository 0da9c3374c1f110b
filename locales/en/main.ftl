# Mamori — English messages. Keep the ids identical to locales/ja/main.ftl (a test checks).

## Brand, navigation, layout
brand-tagline = IT service management
nav-home = Home
nav-users = Users
nav-teams = Teams
nav-audit = Audit log
nav-profile = Profile
nav-logout = Sign out
nav-main = Main navigation
lang-switch = Language
footer-text = Mamori { $version } — keeping systems running

## Page titles
page-login = Sign in
page-setup = First-time setup
page-home = Home
page-users = Users
page-user-new = New user
page-user-edit = Edit user
page-teams = Teams
page-team-new = New team
page-team-edit = Edit team
page-audit = Audit log
page-profile = Profile
page-error = Error

## Common
action-save = Save
action-create = Create
action-cancel = Cancel
action-filter = Filter
action-clear = Clear
action-edit = Edit
next-page = Next page
field-sort = Order
sort-newest = Newest first
sort-oldest = Oldest first
sort-priority = By priority (P1 first, longest waiting first)
sort-updated = Recently updated first
sort-relevance = Best match first (when searching)
error-sort-invalid = Choose newest, oldest, priority, updated or relevance.
first-page = First page
none-yet = Nothing here yet.
yes = Yes
no = No
never = Never

## Fields
field-email = Email
field-password = Password
field-display-name = Display name
field-role = Role
field-locale = Language
field-time-zone = Time zone
field-active = Active
field-teams = Teams
field-team-name = Team name
field-description = Description
field-new-password = New password
field-current-password = Current password
field-token-name = Token name
hint-time-zone = An IANA zone such as Asia/Tokyo or UTC.
hint-password = At least 10 characters. A passphrase of several words is best.
hint-password-edit = Leave empty to keep the current password. Setting one signs the user out everywhere.

## Roles and languages
role-helpdesk = Helpdesk
role-engineer = Engineer
role-manager = Manager
role-admin = Administrator
role-all = All roles
locale-ja = 日本語
locale-en = English

## Sign-in and setup
login-intro = Sign in to Mamori.
login-submit = Sign in
login-failed = Email or password is incorrect.
login-throttled = Too many failed attempts. Try again in { $minutes } minutes.
session-expired = Your session has expired. Please sign in again.
setup-intro = Create the first administrator account. This page disappears once it is done.
setup-submit = Create administrator

## Home
home-greeting = Welcome, { $name }
home-role = You are signed in as { $role }.
home-your-teams = Your teams
home-no-teams = You are not in any team yet.
home-stat-users = Users
home-stat-teams = Teams
home-queues = Work queues
home-queues-empty = Incident queues will appear here.

## Sessions and sign-in security
action-end-sessions = End all sessions
hint-end-sessions = Signs this user out everywhere at once, for example after a lost laptop. They can sign in again with their password.
flash-sessions-ended = All sessions of the user have been ended.
password-change-throttled = Too many wrong current passwords. Try again in { $minutes } minutes.
error-password-contains-name = The password must not contain your name.
profile-sessions = Signed-in browsers
profile-sessions-intro = Where you are signed in now. End a session you do not recognise, then change your password.
profile-session-started = Signed in
profile-session-last-seen = Last used
profile-session-browser = Browser
profile-session-current = This browser
profile-session-end = Sign out
flash-session-ended = The session has been ended.
audit-event-session-end = Session ended by its user
audit-event-login-failed = Sign-in failed
audit-event-login-lockout = Sign-in locked after repeated failures
audit-event-user-login = Signed in
audit-event-session-logout = Signed out
audit-event-session-end-all = All sessions ended by an administrator
audit-event-user-password-change = Password changed
audit-event-user-password-reset = Password reset by an administrator

## Users
users-new = New user
users-search = Search name or email
users-inactive = Inactive
users-last-login = Last sign-in
users-empty = No users match.

## Teams
teams-new = New team
teams-members = Members
teams-member-count = Members
teams-members-hint = Membership is edited on each user's page.
teams-empty = No teams yet.

## Audit
audit-time = Time
audit-actor = Actor
audit-action = Action
audit-entity = Record
audit-entity-type = Record type
audit-entity-id = Record id
audit-ip = From
audit-changes = Changes
audit-before = Before
audit-after = After
audit-empty = No entries match.

## Audit chain and metrics
audit-chain-title = Tamper check
audit-chain-checked-at = Last verified
audit-chain-result = Result
audit-chain-intact = Intact
audit-chain-broken = Broken at entry { $id }
audit-chain-rows = Entries checked
audit-chain-rows-count = { $count } entries
audit-chain-by = Started by
audit-chain-never = The log has not been verified yet.
audit-chain-verify = Verify now
flash-audit-chain-intact = The audit log is intact.
flash-audit-chain-broken = The audit log has been tampered with. See the first broken entry below.

## Profile
profile-preferences = Preferences
profile-password = Change password
profile-password-submit = Change password
profile-tokens = API tokens
profile-tokens-intro = Personal tokens for scripts and integrations. Send them as "Authorization: Bearer TOKEN".
profile-token-create = Create token
profile-token-revoke = Revoke
profile-token-revoked = Revoked
profile-token-prefix = Starts with
profile-token-created-at = Created
profile-token-last-used = Last used
profile-token-new = Your new token. Copy it now: it is shown only once.
profile-no-tokens = No tokens yet.

## Validation messages
error-required = This field is required.
error-too-long = Must be at most { $max } characters.
error-email-invalid = Not a valid email address.
error-email-taken = This email address is already in use.
error-password-too-short = Must be at least { $min } characters.
error-password-common = This password is too easy to guess: it is on a list of common or leaked passwords.
error-password-contains-email = The password must not contain your email name.
error-role-invalid = Choose one of: helpdesk, engineer, manager, admin.
error-locale-invalid = Choose Japanese (ja) or English (en).
error-timezone-invalid = Unknown time zone.
error-team-unknown = One of the chosen teams does not exist.
error-team-name-taken = A team with this name already exists.
error-current-password-wrong = The current password is not correct.
error-own-account = You cannot change the role or deactivate your own account.
error-json-type = Wrong type of value for this field (for example text where a number belongs).
error-json-choice = Not one of the values this field accepts.
error-json-value = Not a valid value for this field.
csrf-failed = The form expired or came from another site. Reload the page and try again.

## Flash messages
flash-user-created = User created.
flash-user-updated = User updated.
flash-team-created = Team created.
flash-team-updated = Team updated.
flash-token-created = Token created.
flash-token-revoked = Token revoked.
flash-profile-updated = Preferences saved.
flash-password-changed = Password changed. Your other sessions were signed out.
flash-logged-out = You have signed out.
flash-setup-done = Administrator created. Welcome to Mamori.
flash-language-changed = Language changed.

## Error pages
error-back-home = Back to the start page
error-page-title-400 = Bad request
error-page-body-400 = The request could not be understood.
error-page-title-401 = Sign-in required
error-page-body-401 = Please sign in to continue.
error-page-title-403 = Not allowed
error-page-body-403 = Your role does not allow this page or action.
error-page-title-404 = Not found
error-page-body-404 = There is nothing at this address.
error-page-title-409 = Conflict
error-page-body-409 = Someone else changed this first. Reload and try again.
error-page-title-413 = Too large
error-page-body-413 = The upload or form is larger than allowed.
error-page-title-422 = Invalid input
error-page-body-422 = Some fields are not valid.
error-page-title-429 = Too many requests
error-page-body-429 = Please wait a moment and try again.
error-page-title-500 = Something went wrong
error-page-body-500 = An unexpected error occurred. It has been logged.
error-page-title-503 = Temporarily unavailable
error-page-body-503 = The database cannot be reached right now. Please try again shortly.
error-page-title-507 = Out of storage space
error-page-body-507 = There is no room left to store this. An administrator has to free space or raise the quota.
error-page-back-to-form = Go back with your browser's Back button: what you typed is still in the form. Correct it there and send it again.

## API description
api-docs-title = API reference
api-docs-intro = The JSON API under /api/v1: every operation with its parameters, body and answers. It is generated from the application's code, so it always matches what the server does.
api-docs-auth = Every operation except the description itself needs an API token (create one on your profile page), sent as
api-docs-errors = Errors answer with a status and a body naming the code and each refused field:
api-docs-versioning = Within /api/v1 changes only add: new paths, new optional inputs, new fields in answers. Removing or renaming a path, field or value, making an input required, or changing a type or the meaning of a status comes as /api/v2.
api-docs-json-link = The description as JSON
api-docs-contents = Contents
api-docs-operation-count = { $count ->
    [one] 1 operation
   *[other] { $count } operations
}
api-docs-schemas = Types
api-docs-public = no token needed
api-docs-parameters = Parameters
api-docs-body = Request body
api-docs-responses = Responses
api-docs-name = Name
api-docs-in = In
api-docs-in-path = path
api-docs-in-query = query string
api-docs-type = Type
api-docs-description = Description
api-docs-status = Status
api-docs-required = required
api-docs-example = Example
api-docs-includes = Includes every field of
api-docs-field = Field

## Incidents
nav-incidents = Incidents
page-incidents = Incidents
page-incident-new = New incident
incidents-new = New incident
incidents-create = File incident
incidents-views = Queues
incidents-view-open = All open
incidents-view-mine = My work
incidents-view-team = My teams' queue
incidents-view-unassigned = Unassigned
incidents-view-major = Major incidents
incidents-view-all = Everything
incidents-search = Search title, description or number
incidents-any-status = Any status
incidents-any-priority = Any priority
incidents-any-team = Any team
incidents-any-assignee = Anyone
incidents-without-problem = Not covered by a problem
incidents-empty = No incidents match.
field-status = Status
field-priority = Priority
field-team = Team
field-number = Number
field-title = Title
field-assignee = Assignee
field-reported-at = Reported at
field-impact = Impact
field-urgency = Urgency
field-channel = Channel
field-category = Category
field-service = Affected service
field-hold-reason = Waiting for
field-workaround = Workaround
field-resolution = Resolution
field-resolution-kind = Fixed by
field-visibility = Visibility
field-update-state = State
field-message = Message
field-tried = What was tried
field-reason = Reason
field-escalation-level = Escalation level
field-escalation-kind = Escalation
field-to-team = To team
field-acknowledged-at = First response
field-mitigated-at = Service restored
field-resolved-at = Resolved
field-closed-at = Closed
status-new = New
status-acknowledged = Acknowledged
status-in_progress = Investigating
status-mitigated = Mitigated (workaround)
status-resolved = Resolved
status-closed = Closed
status-on_hold = On hold
level-high = High
level-medium = Medium
level-low = Low
channel-phone = Phone
channel-mail = Mail
channel-web = Web
channel-monitoring = Monitoring
channel-api = API
hint-incident-description = What is affected, what users see, since when. Facts first.
hint-reported-at = Leave empty for now; set it earlier when a call is logged late.
hint-priority-matrix = Priority follows from impact × urgency: high/high is P1, a major incident.
hint-status-update = A short update for the affected departments; it is visible to stakeholders.
incident-major = Major incident (P1): a post-mortem is required before closing.
incident-timeline = Timeline
incident-comment = Comment
incident-comment-submit = Add comment
incident-status-update = Status update
incident-status-update-submit = Post update
incident-actions = Actions
incident-details = Details
incident-escalate = Escalate
incident-escalate-submit = Escalate
incident-assign = Assignment
event-created = Filed
event-state_changed = Status changed
event-comment = Comment
event-status_update = Status update
event-escalated = Escalated
event-deescalated = De-escalated
event-assigned = Assignment changed
update-state-confirming = Confirming
update-state-investigating = Investigating
update-state-identified = Cause identified
update-state-monitoring = Monitoring
update-state-recovered = Recovered
update-template-service-unknown = the affected service
update-template-use = Start from a template:
update-template-confirming = [First notice] { $reference } { $title }
    As of { $time } we have received reports of a problem with { $service } and are confirming the situation.
    We will update you as soon as we know the impact and the expected recovery.
update-template-investigating = [Update] { $reference } { $title }
    As of { $time } we are investigating the cause of the problem with { $service }.
    We apologise for the inconvenience and will update you as we make progress.
update-template-identified = [Update] { $reference } { $title }
    As of { $time } we have identified the cause of the problem with { $service } and are working on recovery.
    We will update you when we can estimate the recovery time.
update-template-monitoring = [Update] { $reference } { $title }
    As of { $time } { $service } is available again through a workaround.
    We are monitoring it and working on a permanent fix.
update-template-recovered = [Recovered] { $reference } { $title }
    At { $time } we confirmed that { $service } has recovered.
    We apologise for the inconvenience. We will report the cause and the measures against recurrence separately.
visibility-internal = Internal
visibility-stakeholder = For stakeholders
action-acknowledge = Acknowledge
action-start = Start investigating
action-hold = Put on hold
action-resume = Resume
action-mitigate = Restored by workaround
action-resolve = Resolve
action-close = Close
action-reopen = Reopen
resolution-kind-permanent = A permanent fix
resolution-kind-workaround = Only a workaround (needs a problem)
escalation-functional = Functional (to another team, one level up)
escalation-hierarchical = Hierarchical (inform the manager)
escalation-down = De-escalate
flash-incident-created = Incident filed.
flash-incident-updated = Incident updated.
flash-comment-added = Comment added.
flash-status-update-posted = Status update posted.
flash-incident-escalated = Escalation recorded.
error-level-invalid = Choose high, medium or low.
error-channel-invalid = Choose phone, mail, web, monitoring or api.
error-reported-in-future = The reported time cannot be in the future.
error-datetime-invalid = Not a valid date and time.
error-user-unknown = No active user with this id.
error-view-invalid = Unknown queue.
error-status-invalid = Unknown status.
error-priority-invalid = Choose P1, P2, P3 or P4.
error-resolution-kind-invalid = Choose permanent or workaround.
error-visibility-invalid = Choose internal or stakeholder.
error-update-state-invalid = Choose confirming, investigating, identified, monitoring or recovered.
error-escalation-kind-invalid = Choose functional, hierarchical or down.

## Problems
nav-problems = Problems
page-problems = Problems
page-problem-new = New problem
problems-new = New problem
problems-new-from-incident = Open a problem from this incident
problems-open = Open
problems-empty = No problems.
problems-candidates = Problem candidates
hint-problem-candidates = Categories and services with 3 or more incidents in the last 30 days that no problem covers yet.
problems-candidate-count = { $count } incidents in 30 days without a problem
problem-status-new = New
problem-status-investigating = Investigating
problem-status-known_error = Known error
problem-status-resolved = Resolved
problem-status-closed = Closed
problem-analysis = Root-cause analysis
problem-incidents = Incidents
problem-link-incident = Link
problem-action-investigate = Start investigation
problem-action-known-error = Record as known error
problem-action-resolve = Resolve
problem-action-close = Close
problem-action-reopen = Reopen
field-owner = Owner
field-fix-due-on = Permanent fix due
field-root-cause = Root cause
field-contributing-factors = Contributing factors
field-five-whys = 5 whys
incident-problems = Problems
incident-no-problem = Not linked to a problem.
event-linked = Linked to a problem
flash-problem-created = Problem opened.
flash-problem-updated = Problem updated.
error-date-invalid = Not a valid date (YYYY-MM-DD).
error-incident-unknown = No such incident.

## Watchers, requester and ticket lists
flash-ticket-assigned = Assignment saved.

## Search
search-title = Search
search-label = Search every ticket
search-placeholder = Search incidents and problems
search-submit = Search
search-kind = Kind
search-kind-any = All kinds
search-kind-incident = Incident
search-kind-problem = Problem
search-status-all = Open and closed
search-status-open = Open only
search-updated = Updated
search-empty = Nothing matches. Try fewer words, or another spelling.
search-error-q-empty = Enter something to search for.
search-error-q-too-long = Search for at most 1,000 characters.
search-error-q-too-many-words = Search for at most 32 words.
search-error-kinds-invalid = Choose kinds from incident and problem, separated by commas.
search-error-status-invalid = Choose open or all.
search-error-sort-invalid = Choose relevance or newest.
search-error-limit-invalid = Ask for 1 to { $max } results per page.
search-error-cursor-invalid = This page link is no longer valid; start the search again.

## Post-mortems
nav-action-items = My action items
postmortem = Post-mortem
postmortem-open = Open the post-mortem
postmortem-create = Draft the post-mortem
postmortem-status-draft = Draft
postmortem-status-in_review = In review
postmortem-status-published = Published
postmortem-blameless = Blameless: describe what the systems and the process did, and why decisions made sense at the time. No names in the causes.
postmortem-impact-start = Impact started
postmortem-duration = Time to restore
postmortem-minutes = { $count } minutes
postmortem-section-summary = Summary
postmortem-section-impact = Impact
postmortem-section-detection = Detection
postmortem-section-root_cause = Root cause
postmortem-section-resolution = Resolution
postmortem-section-timeline = Timeline
postmortem-section-went_well = What went well
postmortem-section-went_badly = What went badly
postmortem-section-lucky = Where we were lucky
postmortem-submit = Submit for review
postmortem-publish = Publish
postmortem-return = Return to draft
postmortem-review-first = A manager publishes the report once it is in review.
error-postmortem-publish-needs-review = Only a post-mortem in review can be published: submit it for review first.
error-postmortem-step-not-allowed = This step is not possible while the post-mortem is in its current state.
postmortem-published-at = Published
action-items = Action items
action-item-add = Add
action-item-done = Done
action-item-overdue = Overdue
action-item-status-open = Open
action-item-status-done = Done
field-due-on = Due
event-postmortem = Post-mortem
flash-postmortem-created = Post-mortem drafted from the incident.
flash-postmortem-updated = Post-mortem saved.
flash-action-item-done = Action item done.
error-problem-unknown = No such problem.

## Input safety

error-control-character = Contains a control character (such as NUL) that cannot be stored. Remove it and try again.
event-edited = Text corrected
event-postmortem_edited = Post-mortem edited
list-separator = {", "}
error-assignee-not-member = This person is not a member of the team that holds the incident.
error-upload-rate = You can upload { $max } files a minute. Try again in { $seconds } seconds.
error-storage-full = The storage for attachments is full. Ask an administrator to free space or raise the quota.
error-idempotency-key-invalid = Give a key of 1 to 255 visible characters.
error-idempotency-key-reused = This key was already used for a different request.

## Attachments
incident-attachments = Attachments
attachment-upload = Upload
field-file = File
event-attachment = Attachment
flash-attachment-added = File attached.
error-file-too-large = The file is larger than { $max } MB.
error-file-empty = The file is empty.

## Similar incidents and export
incident-similar = Similar past incidents
incident-no-similar = No similar incidents found.
similar-reason-field = same category or service
similar-reason-text = similar text
incidents-export = Export CSV
field-reported-from = Reported from
field-reported-to = Reported until

ticket-delete-title = Delete ticket
ticket-delete-hint = Deleted tickets leave every list and page but keep their history; an administrator can restore them from "Deleted tickets". The reason is kept in the audit log.
ticket-delete-submit = Delete
ticket-delete-link = Delete…
field-delete-reason = Reason for deleting
page-deleted = Deleted tickets
nav-deleted = Deleted
deleted-hint = Tickets deleted by administrators, most recent first. Restoring brings a ticket back with its timeline.
deleted-at = Deleted at
deleted-empty = No deleted tickets.
action-restore = Restore
flash-ticket-deleted = The ticket was deleted. It can be restored here.
flash-ticket-restored = The ticket was restored.
event-deleted = Deleted
event-restored = Restored

error-week-shape = Give seven lists of intervals, Monday first.
error-interval-invalid = An interval on day { $day } is not HH:MM-HH:MM.
error-interval-overlap = Intervals overlap on day { $day } (1 = Monday).
error-week-empty = The week needs some working time.
error-closure-invalid = A holiday needs a start date (YYYY-MM-DD), an end on or after it, and at most a year.
error-name-taken = This name is already in use.
error-kind-invalid = Only incident policies exist so far.
error-policy-no-targets = Give a response target, a resolution target, or both.
error-minutes-range = Between 1 minute and one year.
error-percent-range = Between 1 and 99.
error-calendar-unknown = No such calendar.
error-ics-invalid = This is not an iCalendar (.ics) file with events.

incident-edit = Correct the record
event-priority_changed = Priority changed
sla-title = SLA
sla-level-ok = On track
sla-level-warning = At risk
sla-level-breached = Breached
sla-level-met = Met
sla-level-paused = Paused
sla-response = First response
sla-resolution = Resolution
sla-due = due
sla-met-at = met
sla-left = left
sla-overdue = over by
sla-explain = How these figures were reached
sla-calendar = Calendar
sla-japanese-holidays = Japanese holidays off
sla-started = Clock started
sla-mitigation-stops = a workaround stops the resolution clock
sla-business-minutes = business minutes
sla-from = From
sla-to = To
sla-state = State
sla-now = now
sla-elapsed = Elapsed
sla-stretch-running = running
sla-stretch-paused = paused (on hold)
sla-stretch-stopped = stopped

page-notifications = Notifications
nav-notifications = Notifications
notifications-empty = No notifications.
action-mark-read = Mark read
flash-notification-read = Marked as read.
notification-sla_response_warning = First response at risk
notification-sla_response_breach = First response overdue
notification-sla_resolution_warning = Resolution at risk
notification-sla_resolution_breach = Resolution overdue
event-sla_warning = SLA warning
event-sla_breach = SLA breached
error-rule-clock-invalid = Choose response or resolution.
error-rule-kind-invalid = Choose warning, breach, unacknowledged or unresolved.
error-rule-notify-invalid = Choose assignee, team or managers.

page-sla-report = SLA report
page-dashboard = Manager dashboard
nav-dashboard = Dashboard
report-from = From
report-to = To
report-group-by = Group by
report-dim-month = Month
report-dim-team = Team
report-dim-priority = Priority
report-tickets = Tickets
report-response-met = Response met
report-resolution-met = Resolution met
report-breaches = Breaches
report-mtta = MTTA (business / wall min)
report-mttr = MTTR (business / wall min)
report-minutes-hint = Times are minutes: business minutes on each ticket's SLA calendar, and wall-clock minutes. Met percentages count clocks that were met or breached; tickets without a policy count only as tickets.
report-empty = Nothing in this period.
report-breach-list = Breached tickets
report-no-breaches = No breaches in this period.
report-backlog = Backlog ageing (open incidents)
report-age = Age
report-age-a_lt_1d = under 1 day
report-age-b_1_3d = 1–3 days
report-age-c_3_7d = 3–7 days
report-age-d_7_30d = 7–30 days
report-age-e_gt_30d = over 30 days
report-chart-met = SLA met (%)
report-chart-mttr = Mean time to resolve (minutes)
report-mttr-business = business minutes
report-mttr-wall = wall-clock minutes
dashboard-open = Open incidents by priority
dashboard-breached-month = Breached this month
dashboard-at-risk = At risk now
dashboard-none-at-risk = Nothing is at risk right now.
dashboard-trend = The last six months
error-period-inverted = The start must not be after the end.
error-period-too-long = At most three years at a time.
error-group-by-invalid = Group by month, team and/or priority.
page-calendars = Business calendars
page-sla-policies = SLA policies
nav-sla = SLA
field-name = Name
calendar-japanese-holidays = Japanese national holidays are days off
calendar-week = Working hours
calendar-week-hint = Intervals per day, comma-separated, e.g. 09:00-12:00, 13:00-18:00. An end before the start runs past midnight (22:00-06:00). Empty: not a working day.
calendar-closures = Company holidays and closures
calendar-closures-hint = One per line: a date or a range and a name, e.g. 2026-12-29..2027-01-03 Year-end closure.
calendar-new = New calendar
calendar-import = Import holidays from an .ics file
calendar-import-submit = Import
calendar-used-by = Used by
calendar-in-use-hint = A calendar in use cannot be deleted; move these policies to another calendar first.
calendar-previous = Previous month
calendar-next = Next month
weekday-mon = Monday
weekday-tue = Tuesday
weekday-wed = Wednesday
weekday-thu = Thursday
weekday-fri = Friday
weekday-sat = Saturday
weekday-sun = Sunday
weekday-short-mon = Mon
weekday-short-tue = Tue
weekday-short-wed = Wed
weekday-short-thu = Thu
weekday-short-fri = Fri
weekday-short-sat = Sat
weekday-short-sun = Sun
policy-response-minutes = First response target (business minutes)
policy-resolution-minutes = Resolution target (business minutes)
policy-warn-percent = Warn at (% of the target)
policy-position = Order (lower is tried first)
policy-active = Active
policy-inactive = Off
policy-any = Any
policy-new = New policy
policy-order-hint = For each incident the first active policy that matches its priority (and team or category, when set) applies. Changing or switching off a policy recomputes the open incidents it covered.
action-delete = Delete
flash-saved = Saved.
flash-deleted = Deleted.
flash-imported = Holidays imported.
flash-calendar-in-use = This calendar is used by a policy and cannot be deleted.
error-number-invalid = Enter a whole number.
event-action_item_done = Action item done

page-escalation-policy = Escalation policy: { $team }
teams-escalation = Escalation policy
escalation-policy-hint = The levels apply in order to this team's open incidents that have SLA clocks. A delay counts business minutes on the incident's SLA calendar from the time it was reported; it pauses while the incident is on hold, and "not acknowledged" stops at the first response. Each level fires once per incident. When a level hands an incident to another team, this policy keeps escalating it there. Without warning or breach levels, a warning goes to the assignee and a breach to the managers.
escalation-policy-empty = No levels yet: warnings go to the assignee, breaches to the managers.
escalation-level-new = New level
escalation-position = Order
escalation-position-hint = Smaller first; empty puts the level last.
escalation-trigger = When
escalation-trigger-unacknowledged = Not acknowledged
escalation-trigger-unresolved = Not resolved
escalation-trigger-response_warning = First response at risk (SLA warning)
escalation-trigger-response_breach = First response overdue (SLA breach)
escalation-trigger-resolution_warning = Resolution at risk (SLA warning)
escalation-trigger-resolution_breach = Resolution overdue (SLA breach)
escalation-after-minutes = after { $minutes } business minutes
escalation-delay-minutes = Delay (business minutes after the report)
escalation-delay-hint = Only for "not acknowledged" and "not resolved".
escalation-to-team = Hand to team
escalation-to-team-none = Keep with the team
escalation-to-level = Raise to level
escalation-to-level-keep = Keep the level
escalation-notify = Notify
escalation-notify-assignee = Assignee
escalation-notify-team = Team members
escalation-notify-managers = Team managers
escalation-automatic = automatic
notification-escalation_unacknowledged = Escalated: not acknowledged in time
notification-escalation_unresolved = Escalated: not resolved in time
error-rule-clock-fixed = This trigger watches its own clock; leave the clock out.
error-rule-delay-not-allowed = A delay is only for "not acknowledged" and "not resolved".
error-rule-level-invalid = Choose level 1, 2 or 3.
error-rule-same-team = A level cannot hand the incident to the team whose policy it is.
error-position-range = Between 1 and 1000000.
policy-escalation-hint = Who is told and where an incident goes when it warns, breaches or waits too long is each team's escalation policy:
