DROP TABLE sla_rollup_dirty;
DROP TABLE sla_rollup;
