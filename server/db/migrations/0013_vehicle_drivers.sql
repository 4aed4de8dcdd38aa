-- Who drives the vehicle now: the ops desk names them when a shift starts, so a stalled van's
-- popup says whom to call. Never shown to buyers.
ALTER TABLE vehicles ADD COLUMN driver_name text;
ALTER TABLE vehicles ADD COLUMN driver_phone text;
ALTER TABLE vehicles ADD COLUMN driver_since timestamptz;
