-- Plain PostgreSQL: no chunks to drop, so retention deletes by time; BRIN keeps that cheap on
-- append-mostly tables. See server/db/policies.ts.

CREATE INDEX positions_time_brin ON positions USING brin (time);
CREATE INDEX rfid_reads_time_brin ON rfid_reads USING brin (time);
CREATE INDEX ingest_rejects_time_brin ON ingest_rejects USING brin (received_at);
