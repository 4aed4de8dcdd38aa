-- Exceptions that raise and clear themselves, and what a parcel's lane and promise are.

-- the lane a parcel travels (origin country → destination country), whose history sets when it counts as stalled
ALTER TABLE parcels ADD COLUMN origin_country text;
ALTER TABLE parcels ADD COLUMN last_mile_partner text;
-- the delivery date promised to the buyer: on time means delivered by then
ALTER TABLE parcels ADD COLUMN promised_by timestamptz;

CREATE TABLE exceptions (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  kind       text NOT NULL CHECK (kind IN ('stalled', 'suspected_lost', 'customs_dwell', 'vehicle_silent')),
  parcel_id  uuid REFERENCES parcels (id),
  vehicle_id text,
  opened_at  timestamptz NOT NULL,
  cleared_at timestamptz,
  detail     jsonb NOT NULL DEFAULT '{}',
  CHECK ((parcel_id IS NULL) <> (vehicle_id IS NULL))
);
-- one open exception of a kind per parcel or vehicle
CREATE UNIQUE INDEX exceptions_open ON exceptions (kind, (coalesce(parcel_id::text, vehicle_id))) WHERE cleared_at IS NULL;
CREATE INDEX exceptions_recent ON exceptions (opened_at DESC);

-- the exceptions list shows each parcel's last read
CREATE INDEX rfid_reads_parcel ON rfid_reads (parcel_id, time DESC) WHERE parcel_id IS NOT NULL;
