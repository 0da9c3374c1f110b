DROP TABLE ticket_facts;
