-- Webhooks: merchants and ERPs subscribe to milestones; every milestone becomes an outbox event in
-- the transaction that records it, and a dispatcher fans events out and delivers them with retries.
-- See server/webhooks/ and server/plugins/webhooks.ts.

CREATE TABLE webhook_subscriptions (
  id          uuid PRIMARY KEY,
  url         text NOT NULL CHECK (url ~ '^https?://'),
  -- kept in the clear: it signs every delivery
  secret      text NOT NULL,
  -- milestone codes, or '*' for every milestone
  event_types text[] NOT NULL DEFAULT '{*}',
  description text,
  enabled     boolean NOT NULL DEFAULT true,
  created_at  timestamptz NOT NULL DEFAULT now()
);

-- one row per event; dispatched_at is set once the event has been fanned out into deliveries
CREATE TABLE webhook_outbox (
  id            uuid PRIMARY KEY,
  type          text NOT NULL,
  payload       jsonb NOT NULL,
  -- the milestone an event stands for (null for a ping): a milestone redelivered after it was
  -- recorded finds its event here and makes no second one
  parcel_id     uuid,
  occurred_at   timestamptz NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  dispatched_at timestamptz
);
CREATE UNIQUE INDEX webhook_outbox_once ON webhook_outbox (parcel_id, type, occurred_at);
CREATE INDEX webhook_outbox_undispatched ON webhook_outbox (created_at) WHERE dispatched_at IS NULL;

-- one row per (event, subscription): the delivery log
CREATE TABLE webhook_deliveries (
  id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  event_id         uuid NOT NULL REFERENCES webhook_outbox (id) ON DELETE CASCADE,
  subscription_id  uuid NOT NULL REFERENCES webhook_subscriptions (id) ON DELETE CASCADE,
  status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
  attempts         integer NOT NULL DEFAULT 0,
  next_attempt_at  timestamptz NOT NULL,
  last_status_code integer,
  last_error       text,
  last_attempt_at  timestamptz,
  delivered_at     timestamptz,
  created_at       timestamptz NOT NULL,
  UNIQUE (event_id, subscription_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_log ON webhook_deliveries (subscription_id, created_at DESC);
