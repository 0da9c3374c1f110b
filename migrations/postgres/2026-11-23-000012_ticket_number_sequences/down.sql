UPDATE ticket_sequences SET last_value = (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM ticket_number_incident) WHERE kind = 'incident';
UPDATE ticket_sequences SET last_value = (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM ticket_number_problem) WHERE kind = 'problem';
UPDATE ticket_sequences SET last_value = (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM ticket_number_change) WHERE kind = 'change';
DROP SEQUENCE ticket_number_incident;
DROP SEQUENCE ticket_number_problem;
DROP SEQUENCE ticket_number_change;
