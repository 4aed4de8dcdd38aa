-- Each subscription is a queue of its own: a delivery being attempted holds a lease, and a
-- subscription has at most WEBHOOK_CONCURRENCY leases at once, so a receiver that hangs delays
-- only its own deliveries. See server/db/queries/webhook-dispatch.ts.
ALTER TABLE webhook_deliveries ADD COLUMN leased_until timestamptz;
-- the oldest due deliveries of one subscription
CREATE INDEX webhook_deliveries_queue ON webhook_deliveries (subscription_id, next_attempt_at) WHERE status = 'pending';
-- the attempts in flight of one subscription
CREATE INDEX webhook_deliveries_leased ON webhook_deliveries (subscription_id) WHERE status = 'pending' AND leased_until IS NOT NULL;
