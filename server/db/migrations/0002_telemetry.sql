-- Telemetry tables. 0003 turns them into hypertables on TimescaleDB.

CREATE TABLE positions (
  device_id   text NOT NULL,
  time        timestamptz NOT NULL,
  lat         double precision NOT NULL,
  lon         double precision NOT NULL,
  speed       real,
  heading     real,
  accuracy    real,
  altitude    real,
  battery     real,
  seq         bigint,
  vehicle_id  text,
  received_at timestamptz NOT NULL
);
-- a fix is (device, time, seq); redeliveries hit this index and are dropped
CREATE UNIQUE INDEX positions_once ON positions (device_id, time DESC, seq) NULLS NOT DISTINCT;
CREATE INDEX positions_vehicle ON positions (vehicle_id, time DESC) WHERE vehicle_id IS NOT NULL;

CREATE TABLE rfid_reads (
  reader_id   text NOT NULL,
  time        timestamptz NOT NULL,
  antenna     integer NOT NULL,
  epc         text NOT NULL,
  rssi        real,
  station_id  text,
  parcel_id   uuid,
  received_at timestamptz NOT NULL
);
CREATE UNIQUE INDEX rfid_reads_once ON rfid_reads (reader_id, epc, antenna, time DESC);
CREATE INDEX rfid_reads_epc ON rfid_reads (epc, time DESC);

-- the newest fix of each device: the live map's starting point and the pipeline's memory after a restart
CREATE TABLE device_latest (
  device_id   text PRIMARY KEY,
  time        timestamptz NOT NULL,
  lat         double precision NOT NULL,
  lon         double precision NOT NULL,
  speed       real,
  heading     real,
  accuracy    real,
  battery     real,
  vehicle_id  text,
  received_at timestamptz NOT NULL
);

-- messages refused in whole or in part, with their payload: acknowledged, so kept
CREATE TABLE ingest_rejects (
  received_at timestamptz NOT NULL,
  device_id   text NOT NULL,
  topic       text NOT NULL,
  reasons     text[] NOT NULL,
  detail      text NOT NULL,
  payload     bytea
);
CREATE INDEX ingest_rejects_device ON ingest_rejects (device_id, received_at DESC);
