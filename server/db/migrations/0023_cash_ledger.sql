-- The cash ledger (server/ledger/): cash on delivery from the buyer's door to the merchant's bank.
-- Double-entry, in integer minor units of ISO 4217 currencies; appended to, never changed: a
-- correction is a new entry. Balances are sums of lines.

-- how a merchant is paid: its settlement currency, cycle and fees (server/ledger/settlement.ts)
ALTER TABLE merchants ADD COLUMN settlement_currency text CHECK (settlement_currency ~ '^[A-Z]{3}$');
ALTER TABLE merchants ADD COLUMN timezone text NOT NULL DEFAULT 'UTC';
ALTER TABLE merchants ADD COLUMN settlement_cycle jsonb NOT NULL DEFAULT '{"kind": "days_after_delivery", "days": 2}';
ALTER TABLE merchants ADD COLUMN fees jsonb NOT NULL DEFAULT '{}';

-- One entry per thing that happened to the cash; `key` is that thing's own identity (the
-- milestone, the handover, the settlement file line), so recording it twice records it once.
CREATE TABLE ledger_entries (
  id          bigserial PRIMARY KEY,
  key         text NOT NULL UNIQUE,
  at          timestamptz NOT NULL,
  cause       text NOT NULL,
  cause_ref   text,
  parcel_id   uuid,
  merchant_id text,
  detail      jsonb NOT NULL DEFAULT '{}',
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ledger_entries_parcel ON ledger_entries (parcel_id) WHERE parcel_id IS NOT NULL;

-- Debits positive, credits negative; an entry's lines sum to zero in each currency (checked below).
CREATE TABLE ledger_lines (
  entry_id  bigint NOT NULL REFERENCES ledger_entries (id),
  account   text NOT NULL CHECK (account IN ('cod_due', 'driver_cash', 'hub_cash', 'partner_cash', 'provider',
                                             'bank', 'merchant_payable', 'fees', 'shortage')),
  -- whose it is: the driver, the hub, the partner, the merchant; '' where there is one
  holder    text NOT NULL DEFAULT '',
  currency  text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  amount    bigint NOT NULL CHECK (amount <> 0),
  parcel_id uuid
);
CREATE INDEX ledger_lines_account ON ledger_lines (account, holder, currency);
CREATE INDEX ledger_lines_parcel ON ledger_lines (parcel_id) WHERE parcel_id IS NOT NULL;
CREATE INDEX ledger_lines_entry ON ledger_lines (entry_id);

CREATE FUNCTION append_only () RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP;
END $$;
CREATE TRIGGER ledger_entries_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON ledger_entries
  FOR EACH STATEMENT EXECUTE FUNCTION append_only();
CREATE TRIGGER ledger_lines_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON ledger_lines
  FOR EACH STATEMENT EXECUTE FUNCTION append_only();

-- An entry that does not balance is refused, whoever writes it, checked once per statement on the
-- statement's own rows: each statement's lines of an entry must balance, and lines join only an
-- entry written in the same transaction (created_at is the transaction's now()), so no later
-- statement can unbalance an entry that was whole. server/db/queries/ledger.ts writes an entry and
-- all its lines in one statement.
CREATE FUNCTION ledger_entries_balance () RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  refused bigint;
BEGIN
  SELECT entry_id INTO refused FROM new_lines GROUP BY entry_id, currency HAVING sum(amount) <> 0 LIMIT 1;
  IF refused IS NOT NULL THEN
    RAISE EXCEPTION 'ledger entry % does not balance', refused;
  END IF;
  SELECT n.entry_id INTO refused FROM new_lines n JOIN ledger_entries e ON e.id = n.entry_id WHERE e.created_at <> now() LIMIT 1;
  IF refused IS NOT NULL THEN
    RAISE EXCEPTION 'ledger entry % was written by an earlier transaction: it takes no more lines (a correction is a new entry)', refused;
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER ledger_lines_balance AFTER INSERT ON ledger_lines
  REFERENCING NEW TABLE AS new_lines FOR EACH STATEMENT EXECUTE FUNCTION ledger_entries_balance();
