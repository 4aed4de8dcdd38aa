-- The hands cash passes after the door (server/ledger/handover.ts, deposit.ts, partner-settlement.ts):
-- a driver's end-of-shift handover at a hub, counted blind; the hub's bank deposit; a last-mile
-- partner's settlement file, matched parcel by parcel. The money itself is in the ledger
-- (0023_cash_ledger.sql); these tables keep what was declared, counted and imported, and who did it.

-- One handover, recorded once: `id` is the client's idempotency key (its ledger entry is handover:<id>).
CREATE TABLE cash_handovers (
  id           text PRIMARY KEY,
  driver       text NOT NULL,
  station_id   text NOT NULL,
  at           timestamptz NOT NULL,
  -- the cashier who counted (the principal's actor: user:<email>, key:<id>, installation)
  counted_by   text NOT NULL,
  -- what the request said, so that a retry with other amounts under the same id is refused
  request_hash text NOT NULL,
  recorded_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX cash_handovers_driver ON cash_handovers (driver, at DESC);
CREATE INDEX cash_handovers_station ON cash_handovers (station_id, at DESC);

-- Per currency: what the ledger said the driver held (expected), what the driver declared and
-- what the cashier counted, each without seeing the others. Integer minor units.
CREATE TABLE cash_handover_lines (
  handover_id text NOT NULL REFERENCES cash_handovers (id),
  currency    text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  expected    bigint NOT NULL,
  declared    bigint NOT NULL CHECK (declared >= 0),
  counted     bigint NOT NULL CHECK (counted >= 0),
  PRIMARY KEY (handover_id, currency)
);

CREATE TABLE cash_deposits (
  id           text PRIMARY KEY,
  station_id   text NOT NULL,
  -- the bank's deposit slip: one deposit per slip and hub
  reference    text NOT NULL,
  at           timestamptz NOT NULL,
  recorded_by  text NOT NULL,
  request_hash text NOT NULL,
  recorded_at  timestamptz NOT NULL DEFAULT now(),
  UNIQUE (station_id, reference)
);
CREATE INDEX cash_deposits_recent ON cash_deposits (at DESC);

CREATE TABLE cash_deposit_lines (
  deposit_id text NOT NULL REFERENCES cash_deposits (id),
  currency   text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  amount     bigint NOT NULL CHECK (amount > 0),
  PRIMARY KEY (deposit_id, currency)
);

-- How to read a partner's settlement file: which column is what (PartnerMapping).
CREATE TABLE partner_settlement_mappings (
  partner    text PRIMARY KEY,
  mapping    jsonb NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  updated_by text NOT NULL
);

-- Each import of a settlement file, with its counts; the same file imported again is a new import
-- (that books nothing new: the ledger keys are the lines').
CREATE TABLE partner_settlement_imports (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  partner     text NOT NULL,
  reference   text NOT NULL,
  imported_at timestamptz NOT NULL,
  imported_by text NOT NULL,
  file_sha256 text NOT NULL,
  -- parcels delivered before this were due in the file; those not in any file are missing
  cutoff      timestamptz,
  summary     jsonb NOT NULL
);
CREATE INDEX partner_settlement_imports_partner ON partner_settlement_imports (partner, imported_at DESC);

-- What became of each line of a file (line_no null: a parcel the file should have had and did not).
CREATE TABLE partner_settlement_lines (
  import_id       bigint NOT NULL REFERENCES partner_settlement_imports (id),
  partner         text NOT NULL,
  line_no         integer,
  tracking_number text,
  parcel_id       uuid,
  delivered_at    timestamptz,
  status          text NOT NULL CHECK (status IN ('matched', 'short_paid', 'over_paid', 'paid_twice', 'not_ours', 'not_delivered',
                                                  'wrong_currency', 'invalid', 'already_imported', 'missing')),
  currency        text CHECK (currency ~ '^[A-Z]{3}$'),
  paid            bigint,
  expected        bigint,
  partner_ref     text,
  problem         text,
  -- the line's ledger entry, when this import booked it
  ledger_key      text,
  booked          boolean NOT NULL DEFAULT false
);
CREATE INDEX partner_settlement_lines_import ON partner_settlement_lines (import_id, line_no);
-- what settled a parcel: paid twice and missing are decided by these
CREATE INDEX partner_settlement_lines_settled ON partner_settlement_lines (partner, parcel_id) WHERE booked;

-- a partner's delivered parcels, for the ones its files are missing
CREATE INDEX parcels_partner_ended ON parcels (last_mile_partner, ended_at)
  WHERE last_mile_partner IS NOT NULL AND ended_at IS NOT NULL;

-- A handover whose count does not match what the driver should hold is an exception of the
-- driver's device: cash_discrepancy, one per handover and currency. The kinds another migration
-- may have added since 0016 are kept: the list is read back from the constraint itself.
DO $$
DECLARE
  kinds text[];
BEGIN
  SELECT array_agg(DISTINCT m[1]) INTO kinds
    FROM pg_constraint c, regexp_matches(pg_get_constraintdef(c.oid), '''([a-z_]+)''', 'g') AS m
   WHERE c.conrelid = 'exceptions'::regclass AND c.conname = 'exceptions_kind_check';
  ALTER TABLE exceptions DROP CONSTRAINT exceptions_kind_check;
  EXECUTE format('ALTER TABLE exceptions ADD CONSTRAINT exceptions_kind_check CHECK (kind = ANY (%L::text[]))',
                 array_append(array_remove(kinds, 'cash_discrepancy'), 'cash_discrepancy'));
END $$;
-- a driver may be short at one handover while an earlier one is still open: those are not "the
-- same exception still holding", so they leave the one-open-per-subject rule
DROP INDEX exceptions_open;
CREATE UNIQUE INDEX exceptions_open ON exceptions (kind, (coalesce(parcel_id::text, vehicle_id, device_id)), (coalesce(detail->>'port', '')))
  WHERE cleared_at IS NULL AND kind <> 'cash_discrepancy';
CREATE UNIQUE INDEX exceptions_cash_discrepancy ON exceptions ((detail->>'handover'), (detail->>'currency'))
  WHERE kind = 'cash_discrepancy';
