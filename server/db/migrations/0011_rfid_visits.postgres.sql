-- One row per visit of a tag at a reader (the reads within RFID_WINDOW_MS of each other), with
-- which way it passed a dock door. The reads themselves stay in rfid_reads.
CREATE TABLE rfid_visits (
  reader_id  text NOT NULL,
  epc        text NOT NULL,
  parcel_id  uuid,
  station_id text,
  first_seen timestamptz NOT NULL,
  last_seen  timestamptz NOT NULL,
  reads      integer NOT NULL,
  peak_rssi  real,
  antennas   integer[] NOT NULL,
  direction  text CHECK (direction IN ('loading', 'unloading'))
);
CREATE INDEX rfid_visits_reader ON rfid_visits (reader_id, last_seen DESC);
CREATE INDEX rfid_visits_parcel ON rfid_visits (parcel_id, last_seen DESC) WHERE parcel_id IS NOT NULL;
CREATE INDEX rfid_visits_time_brin ON rfid_visits USING brin (last_seen);
