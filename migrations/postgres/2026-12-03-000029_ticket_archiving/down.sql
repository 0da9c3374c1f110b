DROP TABLE ticket_archive;
