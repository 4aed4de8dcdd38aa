-- The (vehicle_id, time) index cost about a tenth of every position insert and no query uses it:
-- a vehicle's track is read through its tracker's device_id, which positions_once covers.
DROP INDEX IF EXISTS positions_vehicle;
