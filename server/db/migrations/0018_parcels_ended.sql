-- A parcel's journey ends with its first final milestone (delivered, returned to sender). Only
-- parcels still on their way are the tracking engine's working set: this is what tells them apart
-- (status alone does not: a cash-collected milestone may come after the delivery).
ALTER TABLE parcels ADD COLUMN ended_at timestamptz;
UPDATE parcels p SET ended_at = e.first_end
  FROM (SELECT parcel_id, min(time) AS first_end FROM milestones
         WHERE code IN ('delivered', 'returned_to_sender') GROUP BY parcel_id) e
 WHERE e.parcel_id = p.id;
-- the working set, loaded at start in pages in id order: their milestones are then read through
-- milestones_once (parcel_id, ...) in its own order, leaf after leaf, not by random probes
CREATE INDEX parcels_active ON parcels (id) WHERE ended_at IS NULL;
-- the most recently ended, whose journeys teach the lanes how long each step takes
CREATE INDEX parcels_ended ON parcels (ended_at DESC) WHERE ended_at IS NOT NULL;
-- Every milestone moves its parcel's status. With no index on status or status_at, PostgreSQL can
-- make that a heap-only update (no index touched) when the row's page has room, which the fill
-- factor leaves; ops list parcels newest first, by this index, filtering a status as they go.
DROP INDEX parcels_status;
CREATE INDEX parcels_newest ON parcels (created_at DESC, id DESC);
ALTER TABLE parcels SET (fillfactor = 85);
