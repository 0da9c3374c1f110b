DROP TABLE sla_recompute_queue;
