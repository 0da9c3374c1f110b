DROP TABLE audit_log;
DROP FUNCTION audit_log_append_only();
DROP TABLE app_flags;
DROP TABLE login_attempts;
DROP TABLE api_tokens;
DROP TABLE team_members;
DROP TABLE users;
DROP TABLE teams;
