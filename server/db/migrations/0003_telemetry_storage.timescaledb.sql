-- Hypertables partitioned by day, compressed per device. Policies (when to compress, how long to
-- keep) come from settings and are applied at every start: see server/db/policies.ts.

SELECT create_hypertable('positions', by_range('time', INTERVAL '1 day'));
ALTER TABLE positions SET (
  timescaledb.compress,
  timescaledb.compress_segmentby = 'device_id',
  timescaledb.compress_orderby = 'time DESC'
);

SELECT create_hypertable('rfid_reads', by_range('time', INTERVAL '1 day'));
ALTER TABLE rfid_reads SET (
  timescaledb.compress,
  timescaledb.compress_segmentby = 'reader_id',
  timescaledb.compress_orderby = 'time DESC'
);

SELECT create_hypertable('ingest_rejects', by_range('received_at', INTERVAL '7 days'));
