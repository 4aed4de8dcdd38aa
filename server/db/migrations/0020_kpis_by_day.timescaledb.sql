-- TimescaleDB keeps kpi_daily current itself (a real-time continuous aggregate, 0010): nothing
-- to do. The plain PostgreSQL twin replaces its materialized view with a table kept day by day.
SELECT 1;
