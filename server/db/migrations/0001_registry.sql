-- Devices, places and parcels: the configuration the pipeline reads.

CREATE TABLE devices (
  id          text PRIMARY KEY,
  kind        text NOT NULL CHECK (kind IN ('tracker', 'reader')),
  name        text,
  secret_hash text NOT NULL,
  disabled    boolean NOT NULL DEFAULT false,
  created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE stations (
  id         text PRIMARY KEY,
  name       text NOT NULL,
  kind       text NOT NULL,
  lat        double precision NOT NULL CHECK (lat BETWEEN -90 AND 90),
  lon        double precision NOT NULL CHECK (lon BETWEEN -180 AND 180),
  city       text,
  country    text,
  timezone   text,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE readers (
  device_id  text PRIMARY KEY REFERENCES devices (id),
  station_id text NOT NULL REFERENCES stations (id),
  milestone  text NOT NULL,
  name       text,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE vehicles (
  id         text PRIMARY KEY,
  name       text NOT NULL,
  plate      text,
  device_id  text UNIQUE REFERENCES devices (id),
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE parcels (
  id              uuid PRIMARY KEY,
  tracking_number text NOT NULL UNIQUE,
  epc             text UNIQUE,
  public_token    text NOT NULL UNIQUE,
  status          text NOT NULL,
  status_at       timestamptz NOT NULL,
  dest_name       text,
  dest_address    text,
  dest_city       text NOT NULL,
  dest_postcode   text,
  dest_country    text NOT NULL,
  dest_lat        double precision,
  dest_lon        double precision,
  cod_amount      numeric(14, 2),
  cod_currency    text,
  created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX parcels_status ON parcels (status, status_at DESC);

CREATE TABLE milestones (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  parcel_id   uuid NOT NULL REFERENCES parcels (id),
  code        text NOT NULL,
  time        timestamptz NOT NULL,
  station_id  text,
  lat         double precision,
  lon         double precision,
  source      text NOT NULL,
  device_id   text,
  note        text,
  recorded_at timestamptz NOT NULL DEFAULT now()
);
-- a redelivered scan or a repeated API call records a milestone once
CREATE UNIQUE INDEX milestones_once ON milestones (parcel_id, code, time);
