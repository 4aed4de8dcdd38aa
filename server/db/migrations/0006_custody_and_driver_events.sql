-- The tracking engine: parcels ride in containers and vehicles, drivers record deliveries, and
-- each milestone says where it happened and what was recorded with it.

-- { "reason": "recipient_not_available" } | { "proof": { "kind": "photo", "ref": "…" }, "cod": { "amount": "25.00", "currency": "THB" } } …
ALTER TABLE milestones ADD COLUMN detail jsonb;
-- the vehicle the parcel was on, or was loaded onto or unloaded from
ALTER TABLE milestones ADD COLUMN vehicle_id text;

-- totes, bags, pallets, ULDs: things parcels (and other containers) ride in
CREATE TABLE containers (
  id         text PRIMARY KEY,
  kind       text NOT NULL CHECK (kind IN ('tote', 'bag', 'pallet', 'uld', 'container')),
  name       text,
  epc        text UNIQUE,
  gs1_key    text UNIQUE,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- What each parcel or container rides in now: "container:<id>", "vehicle:<id>", or null once it
-- is off. `since` orders changes, so a late scan never undoes a newer move. History is in milestones.
CREATE TABLE custody (
  item    text PRIMARY KEY,
  carrier text,
  since   timestamptz NOT NULL
);
CREATE INDEX custody_carrier ON custody (carrier) WHERE carrier IS NOT NULL;

-- a dock-door reader serving a vehicle: tags it reads are loaded onto (or unloaded from) that vehicle
ALTER TABLE readers ADD COLUMN vehicle_id text REFERENCES vehicles (id);
