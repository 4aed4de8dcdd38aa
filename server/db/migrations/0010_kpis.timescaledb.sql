-- KPIs. Each parcel's outcome, once it has one (delivered, returned, or suspected lost), is a row
-- here, rewritten if the outcome changes; kpi_daily sums them per day, partner, lane, station and
-- currency. TimescaleDB: a hypertable and a real-time continuous aggregate refreshed by a policy.

CREATE TABLE parcel_outcomes (
  time          timestamptz NOT NULL,
  parcel_id     uuid NOT NULL,
  outcome       text NOT NULL CHECK (outcome IN ('delivered', 'returned', 'lost')),
  partner       text NOT NULL,
  lane          text NOT NULL,
  station_id    text NOT NULL,
  on_time       boolean,
  attempts      integer NOT NULL,
  had_exception boolean NOT NULL,
  damaged       boolean NOT NULL,
  currency      text NOT NULL,
  cod_expected  numeric(14, 2) NOT NULL,
  cod_collected numeric(14, 2) NOT NULL,
  PRIMARY KEY (parcel_id, time)
);
SELECT create_hypertable('parcel_outcomes', by_range('time', INTERVAL '30 days'));

CREATE MATERIALIZED VIEW kpi_daily WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT time_bucket(INTERVAL '1 day', time) AS day, partner, lane, station_id, currency,
       count(*)::int AS parcels,
       count(*) FILTER (WHERE outcome = 'delivered')::int AS delivered,
       count(*) FILTER (WHERE outcome = 'delivered' AND on_time IS NOT NULL)::int AS promised,
       count(*) FILTER (WHERE outcome = 'delivered' AND on_time)::int AS on_time,
       count(*) FILTER (WHERE outcome = 'delivered' AND attempts = 0)::int AS first_attempt,
       count(*) FILTER (WHERE had_exception)::int AS with_exception,
       count(*) FILTER (WHERE outcome = 'lost')::int AS lost,
       count(*) FILTER (WHERE damaged)::int AS damaged,
       sum(cod_expected) AS cod_expected,
       sum(cod_collected) AS cod_collected
  FROM parcel_outcomes
 GROUP BY 1, 2, 3, 4, 5
WITH NO DATA;
-- materialize what is older than an hour; newer rows are read live (materialized_only = false)
SELECT add_continuous_aggregate_policy('kpi_daily', start_offset => INTERVAL '400 days', end_offset => INTERVAL '1 hour', schedule_interval => INTERVAL '5 minutes');
