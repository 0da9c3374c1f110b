DROP TABLE mail_preferences;
DROP TABLE mail_attempts;
DROP TABLE mail_messages;
DROP TABLE mail_outbox;
