DROP TABLE ticket_cis;
DROP TABLE ci_relationships;
DROP TABLE ci_redundancy_groups;
DROP TABLE ci_details;
DROP TABLE cis;
DROP TABLE ci_classes;
