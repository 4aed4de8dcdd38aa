-- Readers report heartbeats, antenna and GPI changes as device events, so device_events grows like
-- telemetry now, and is kept like it (RETENTION_DAYS). Two antennas can change in the same
-- instant: the port (or pin) is part of what makes an event one.
DROP INDEX device_events_once;
CREATE UNIQUE INDEX device_events_once ON device_events (device_id, time, type, (coalesce(detail->>'port', detail->>'pin', '')));
SELECT create_hypertable('device_events', by_range('time', INTERVAL '7 days'), migrate_data => true);
