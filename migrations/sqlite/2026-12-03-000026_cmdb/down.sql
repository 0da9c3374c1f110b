DROP TABLE ticket_cis;
DROP TABLE ci_details;
DROP TABLE cis;
DROP TABLE ci_classes;
