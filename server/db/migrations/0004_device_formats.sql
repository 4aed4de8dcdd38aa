-- Devices speak their own formats, belong to an owner (tenant), and network servers report for
-- the trackers behind them. Readers can give each antenna its own meaning. Tags are matched by
-- their GS1 identity too.

ALTER TABLE devices ADD COLUMN format text NOT NULL DEFAULT 'trackstream';
ALTER TABLE devices ADD COLUMN owner text NOT NULL DEFAULT 'default';
-- for a LoRaWAN network server: the application it reports for (TTS app@tenant, ChirpStack application id)
ALTER TABLE devices ADD COLUMN scope text;
ALTER TABLE devices DROP CONSTRAINT devices_kind_check;
ALTER TABLE devices ADD CONSTRAINT devices_kind_check CHECK (kind IN ('tracker', 'reader', 'network_server'));
CREATE UNIQUE INDEX devices_scope ON devices (format, scope) WHERE scope IS NOT NULL;

-- [{ "port": 1, "milestone": "loaded", "stationId": "BKK-DOCK" }]: a port not listed means what the reader means
ALTER TABLE readers ADD COLUMN antennas jsonb NOT NULL DEFAULT '[]';

-- what a device reports that is neither a position nor a read: offline, geofence enter/leave
CREATE TABLE device_events (
  time        timestamptz NOT NULL,
  device_id   text NOT NULL,
  type        text NOT NULL,
  detail      jsonb NOT NULL DEFAULT '{}',
  received_at timestamptz NOT NULL
);
CREATE UNIQUE INDEX device_events_once ON device_events (device_id, time, type);

-- per-device counters, saved every few seconds so a restart does not zero them
CREATE TABLE device_stats (
  device_id    text PRIMARY KEY,
  last_seen_at timestamptz,
  messages     bigint NOT NULL DEFAULT 0,
  fixes        bigint NOT NULL DEFAULT 0,
  scans        bigint NOT NULL DEFAULT 0,
  events       bigint NOT NULL DEFAULT 0,
  duplicates   bigint NOT NULL DEFAULT 0,
  rejects      jsonb NOT NULL DEFAULT '{}',
  updated_at   timestamptz NOT NULL DEFAULT now()
);

-- a GS1 key: "sscc:<18 digits>" or "sgtin:<14-digit GTIN>.<serial>"
ALTER TABLE parcels ADD COLUMN gs1_key text UNIQUE;
ALTER TABLE rfid_reads ADD COLUMN gs1_key text;
