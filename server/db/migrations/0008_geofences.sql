-- Geofences around stations, customs zones and delivery areas. A vehicle entering or leaving one
-- gives every parcel aboard the fence's milestone.

CREATE TABLE geofences (
  id         text PRIMARY KEY,
  name       text NOT NULL,
  kind       text NOT NULL CHECK (kind IN ('station', 'customs', 'delivery_area', 'other')),
  station_id text REFERENCES stations (id),
  -- {"type":"circle","lat":…,"lon":…,"radiusM":…} or {"type":"polygon","ring":[[lon,lat],…]}
  shape      jsonb NOT NULL,
  -- the milestone for parcels aboard a vehicle entering / leaving; null for none
  on_enter   text,
  on_exit    text,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- which fences each vehicle is inside: the geofence rules' memory across restarts
CREATE TABLE vehicle_geofences (
  vehicle_id text NOT NULL,
  fence_id   text NOT NULL,
  inside     boolean NOT NULL,
  since      timestamptz NOT NULL,
  PRIMARY KEY (vehicle_id, fence_id)
);
