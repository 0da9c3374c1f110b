DROP TABLE mail_inbound;
