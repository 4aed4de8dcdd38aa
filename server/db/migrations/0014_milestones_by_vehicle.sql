-- A vehicle's history replay reads the milestones recorded with it over a time range.
CREATE INDEX milestones_vehicle_time ON milestones (vehicle_id, time) WHERE vehicle_id IS NOT NULL;
