-- Plain PostgreSQL: kpi_daily becomes a table kept current day by day. Refreshing the whole
-- materialized view re-read every outcome ever recorded, once a minute: with nine million that
-- was most of the idle database's work. Now every statement that writes parcel_outcomes notes
-- the days it touched, in the same transaction, and a refresh recounts only those days.
-- Days are UTC, as the KPI API says (and as TimescaleDB's time_bucket is).

CREATE TABLE kpi_days_touched (day timestamptz NOT NULL);

-- one row per statement and day, never a unique key: concurrent writers never wait on each other here
CREATE FUNCTION kpi_note_days() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    INSERT INTO kpi_days_touched (day) SELECT DISTINCT date_trunc('day', time, 'UTC') FROM new_rows;
  END IF;
  IF TG_OP IN ('DELETE', 'UPDATE') THEN
    INSERT INTO kpi_days_touched (day) SELECT DISTINCT date_trunc('day', time, 'UTC') FROM old_rows;
  END IF;
  RETURN NULL;
END
$$;

CREATE TRIGGER parcel_outcomes_inserted AFTER INSERT ON parcel_outcomes
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION kpi_note_days();
CREATE TRIGGER parcel_outcomes_deleted AFTER DELETE ON parcel_outcomes
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION kpi_note_days();
CREATE TRIGGER parcel_outcomes_updated AFTER UPDATE ON parcel_outcomes
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION kpi_note_days();

DROP MATERIALIZED VIEW kpi_daily;
CREATE TABLE kpi_daily (
  day            timestamptz NOT NULL,
  partner        text NOT NULL,
  lane           text NOT NULL,
  station_id     text NOT NULL,
  currency       text NOT NULL,
  parcels        integer NOT NULL,
  delivered      integer NOT NULL,
  promised       integer NOT NULL,
  on_time        integer NOT NULL,
  first_attempt  integer NOT NULL,
  with_exception integer NOT NULL,
  lost           integer NOT NULL,
  damaged        integer NOT NULL,
  cod_expected   numeric NOT NULL,
  cod_collected  numeric NOT NULL,
  PRIMARY KEY (day, partner, lane, station_id, currency)
);
-- what the view held, counted once here; from now on only the days written are recounted
INSERT INTO kpi_daily
SELECT date_trunc('day', time, 'UTC'), partner, lane, station_id, currency,
       count(*), count(*) FILTER (WHERE outcome = 'delivered'),
       count(*) FILTER (WHERE outcome = 'delivered' AND on_time IS NOT NULL),
       count(*) FILTER (WHERE outcome = 'delivered' AND on_time),
       count(*) FILTER (WHERE outcome = 'delivered' AND attempts = 0),
       count(*) FILTER (WHERE had_exception), count(*) FILTER (WHERE outcome = 'lost'),
       count(*) FILTER (WHERE damaged), sum(cod_expected), sum(cod_collected)
  FROM parcel_outcomes
 GROUP BY 1, 2, 3, 4, 5;
