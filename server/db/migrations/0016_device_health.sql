-- What a reader (or any device) last said of its own health: its heartbeat, each antenna port
-- connected or not, each GPI/GPO pin, its inventory state, its last alert. One row per aspect
-- and key (a port, a pin), newest wins: a late message never undoes a newer one.
CREATE TABLE device_health (
  device_id text NOT NULL,
  aspect    text NOT NULL CHECK (aspect IN ('heartbeat', 'online', 'antenna', 'gpi', 'gpo', 'inventory', 'alert')),
  key       text NOT NULL DEFAULT '',
  value     jsonb NOT NULL,
  since     timestamptz NOT NULL,
  PRIMARY KEY (device_id, aspect, key)
);

-- a reader's antenna that is disconnected is an exception of the reader's
ALTER TABLE exceptions ADD COLUMN device_id text;
ALTER TABLE exceptions DROP CONSTRAINT exceptions_kind_check;
ALTER TABLE exceptions ADD CONSTRAINT exceptions_kind_check
  CHECK (kind IN ('stalled', 'suspected_lost', 'customs_dwell', 'vehicle_silent', 'antenna_disconnected'));
ALTER TABLE exceptions DROP CONSTRAINT exceptions_check;
ALTER TABLE exceptions ADD CONSTRAINT exceptions_one_subject CHECK (num_nonnulls(parcel_id, vehicle_id, device_id) = 1);
DROP INDEX exceptions_open;
-- one open exception of a kind per parcel, vehicle, or device port
CREATE UNIQUE INDEX exceptions_open ON exceptions (kind, (coalesce(parcel_id::text, vehicle_id, device_id)), (coalesce(detail->>'port', '')))
  WHERE cleared_at IS NULL;
