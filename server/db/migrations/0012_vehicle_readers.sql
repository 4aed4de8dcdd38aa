-- A reader mounted in a vehicle: whatever tag it reads is aboard. It stands at no station.
ALTER TABLE readers ALTER COLUMN station_id DROP NOT NULL;
ALTER TABLE readers ADD COLUMN mounted boolean NOT NULL DEFAULT false;
