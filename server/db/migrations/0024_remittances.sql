-- Remittance to merchants (server/ledger/remittance.ts, server/db/build-remittances.ts): each
-- merchant's batch of parcels whose cash on delivery is due to it, approved, then paid with the
-- bank's reference. Amounts are integer minor units of the batch's currency.

-- Exchange rates, as finance enters them (POST /api/cash/fx-rates): `rate` units of to_currency
-- for one unit of from_currency, exact (numeric, never float), from valid_from on. Never changed: a
-- new rate is a new row, and the rate a batch line used is copied onto the line.
CREATE TABLE fx_rates (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  from_currency text NOT NULL CHECK (from_currency ~ '^[A-Z]{3}$'),
  to_currency   text NOT NULL CHECK (to_currency ~ '^[A-Z]{3}$'),
  rate          numeric NOT NULL CHECK (rate > 0 AND scale(rate) <= 12),
  valid_from    timestamptz NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  created_by    text NOT NULL,
  CHECK (from_currency <> to_currency),
  UNIQUE (from_currency, to_currency, valid_from)
);
CREATE TRIGGER fx_rates_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON fx_rates
  FOR EACH STATEMENT EXECUTE FUNCTION append_only();

CREATE TABLE remittance_batches (
  id             uuid PRIMARY KEY,
  merchant_id    text NOT NULL REFERENCES merchants (id),
  currency       text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  -- the moment the cycle was judged at: what was payable then is in the batch
  cutoff         timestamptz NOT NULL,
  -- the earliest and latest delivery (or return) among its lines
  period_from    timestamptz NOT NULL,
  period_to      timestamptz NOT NULL,
  state          text NOT NULL DEFAULT 'created' CHECK (state IN ('created', 'approved', 'paid')),
  gross          bigint NOT NULL,
  fees           bigint NOT NULL,
  deductions     bigint NOT NULL,
  reversals      bigint NOT NULL,
  net            bigint NOT NULL,
  line_count     integer NOT NULL,
  created_at     timestamptz NOT NULL,
  created_by     text NOT NULL,
  approved_at    timestamptz,
  approved_by    text,
  paid_at        timestamptz,
  paid_by        text,
  bank_reference text,
  CHECK (net = gross - fees - deductions - reversals),
  CHECK ((state = 'created') = (approved_at IS NULL)),
  CHECK ((state = 'paid') = (paid_at IS NOT NULL AND bank_reference IS NOT NULL))
);
CREATE INDEX remittance_batches_merchant ON remittance_batches (merchant_id, created_at DESC);
CREATE INDEX remittance_batches_newest ON remittance_batches (created_at DESC);

-- A batch only moves forward (created → approved → paid), and what it says it pays never changes.
CREATE FUNCTION remittance_batch_moves () RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'UPDATE' THEN
    RAISE EXCEPTION 'remittance_batches: % refused', TG_OP;
  END IF;
  IF (NEW.id, NEW.merchant_id, NEW.currency, NEW.cutoff, NEW.gross, NEW.fees, NEW.deductions, NEW.reversals, NEW.net, NEW.line_count, NEW.created_at, NEW.created_by)
     IS DISTINCT FROM (OLD.id, OLD.merchant_id, OLD.currency, OLD.cutoff, OLD.gross, OLD.fees, OLD.deductions, OLD.reversals, OLD.net, OLD.line_count, OLD.created_at, OLD.created_by)
     OR NOT ((OLD.state = 'created' AND NEW.state = 'approved') OR (OLD.state = 'approved' AND NEW.state = 'paid')) THEN
    RAISE EXCEPTION 'remittance batch %: % → % refused', OLD.id, OLD.state, NEW.state;
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER remittance_batches_move BEFORE UPDATE OR DELETE ON remittance_batches
  FOR EACH ROW EXECUTE FUNCTION remittance_batch_moves();
CREATE TRIGGER remittance_batches_no_truncate BEFORE TRUNCATE ON remittance_batches
  FOR EACH STATEMENT EXECUTE FUNCTION append_only();

-- One line per parcel, ever: parcel_id is UNIQUE, so each parcel's COD is paid out exactly once,
-- whatever retries, restarts or concurrent builders do (the second one's transaction fails).
CREATE TABLE remittance_lines (
  batch_id     uuid NOT NULL REFERENCES remittance_batches (id),
  parcel_id    uuid NOT NULL UNIQUE REFERENCES parcels (id),
  delivered_at timestamptz,
  -- what the cycle counted from: the delivery, or the return
  event_at     timestamptz NOT NULL,
  returned     boolean NOT NULL,
  -- the cash collected, in its own currency (null currency: a return that collected nothing)
  cod_currency text CHECK (cod_currency ~ '^[A-Z]{3}$'),
  cod_minor    bigint NOT NULL DEFAULT 0,
  -- cod_currency → the batch's currency, as used; null when they are the same
  fx_rate      numeric CHECK (fx_rate > 0),
  gross        bigint NOT NULL,
  fee          bigint NOT NULL,
  deduction    bigint NOT NULL,
  reversal     bigint NOT NULL,
  net          bigint NOT NULL,
  detail       jsonb NOT NULL DEFAULT '{}',
  CHECK (net = gross - fee - deduction - reversal)
);
CREATE INDEX remittance_lines_batch ON remittance_lines (batch_id, event_at);
CREATE TRIGGER remittance_lines_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON remittance_lines
  FOR EACH STATEMENT EXECUTE FUNCTION append_only();

-- The parcels waiting to be remitted, so that a build reads what is pending and not every parcel
-- ever collected: a parcel is queued when its cash is collected (a collection ledger entry) or
-- when it is returned to the sender, whoever writes those; a build takes out the ones it remits.
CREATE TABLE remittance_due (
  parcel_id   uuid PRIMARY KEY,
  merchant_id text NOT NULL,
  queued_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX remittance_due_merchant ON remittance_due (merchant_id);

CREATE FUNCTION queue_for_remittance () RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO remittance_due (parcel_id, merchant_id)
  SELECT p.id, p.merchant_id FROM parcels p WHERE p.id = NEW.parcel_id AND p.merchant_id IS NOT NULL
  ON CONFLICT (parcel_id) DO NOTHING;
  RETURN NULL;
END $$;
CREATE TRIGGER ledger_collections_queue AFTER INSERT ON ledger_entries
  FOR EACH ROW WHEN (NEW.cause = 'collection' AND NEW.parcel_id IS NOT NULL) EXECUTE FUNCTION queue_for_remittance();
CREATE TRIGGER milestone_returns_queue AFTER INSERT ON milestones
  FOR EACH ROW WHEN (NEW.code = 'returned_to_sender') EXECUTE FUNCTION queue_for_remittance();

INSERT INTO remittance_due (parcel_id, merchant_id)
SELECT p.id, p.merchant_id FROM parcels p
 WHERE p.merchant_id IS NOT NULL
   AND (EXISTS (SELECT 1 FROM ledger_entries e WHERE e.parcel_id = p.id AND e.cause = 'collection')
        OR EXISTS (SELECT 1 FROM milestones m WHERE m.parcel_id = p.id AND m.code = 'returned_to_sender'))
ON CONFLICT (parcel_id) DO NOTHING;

-- Remittance events concern a merchant, not one parcel: a merchant's webhook subscription hears of
-- its own (server/db/queries/webhook-dispatch.ts); one event per batch and type, ever.
ALTER TABLE webhook_outbox ADD COLUMN merchant_id text;
CREATE UNIQUE INDEX webhook_outbox_remittance_once ON webhook_outbox (type, ((payload -> 'remittance' ->> 'id')))
  WHERE type LIKE 'remittance.%';
