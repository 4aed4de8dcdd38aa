-- Accounts and access (server/auth/, server/plugins/auth.ts): merchants own parcels and webhook
-- subscriptions; API keys and ops users act for the installation or for one merchant; sessions
-- live here so that logout and disabling a user end them on every instance at once.

CREATE TABLE merchants (
  id         text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
  name       text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE parcels ADD COLUMN merchant_id text REFERENCES merchants (id);
CREATE INDEX parcels_by_merchant ON parcels (merchant_id, created_at DESC, id DESC) WHERE merchant_id IS NOT NULL;
ALTER TABLE webhook_subscriptions ADD COLUMN merchant_id text REFERENCES merchants (id);

-- A key is shown once, as ts_<id>_<secret>: the id finds the row, the secret's SHA-256 proves it.
-- Keys are 32 random bytes, so a fast hash is enough (argon2 is for guessable passwords).
CREATE TABLE api_keys (
  id           text PRIMARY KEY,
  secret_hash  bytea NOT NULL,
  name         text NOT NULL,
  merchant_id  text REFERENCES merchants (id),
  scopes       text[] NOT NULL,
  created_by   text NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  expires_at   timestamptz,
  last_used_at timestamptz,
  revoked_at   timestamptz
);

CREATE TABLE users (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  email         text NOT NULL,
  name          text,
  password_hash text NOT NULL,
  role          text NOT NULL CHECK (role IN ('admin', 'dispatcher', 'finance', 'claims', 'viewer', 'merchant')),
  merchant_id   text REFERENCES merchants (id),
  disabled      boolean NOT NULL DEFAULT false,
  -- wrong passwords in a row, and until when the account answers "wait" without checking
  failed_logins integer NOT NULL DEFAULT 0,
  locked_until  timestamptz,
  created_at    timestamptz NOT NULL DEFAULT now(),
  CHECK ((role = 'merchant') = (merchant_id IS NOT NULL))
);
CREATE UNIQUE INDEX users_email ON users (lower(email));

-- The cookie holds a random token; only its SHA-256 is kept. user_id is null for a session opened
-- with the installation key.
CREATE TABLE sessions (
  token_hash   bytea PRIMARY KEY,
  user_id      uuid REFERENCES users (id) ON DELETE CASCADE,
  created_at   timestamptz NOT NULL DEFAULT now(),
  last_seen_at timestamptz NOT NULL DEFAULT now(),
  expires_at   timestamptz NOT NULL,
  ended_at     timestamptz,
  ip           text,
  user_agent   text
);
CREATE INDEX sessions_by_user ON sessions (user_id) WHERE ended_at IS NULL;

-- Who did what, from where: appended to, never changed (the trigger refuses UPDATE and DELETE).
CREATE TABLE audit_log (
  id          bigserial PRIMARY KEY,
  at          timestamptz NOT NULL DEFAULT now(),
  actor       text NOT NULL,
  merchant_id text,
  ip          text,
  action      text NOT NULL,
  target      text,
  outcome     text NOT NULL CHECK (outcome IN ('ok', 'refused', 'failed')),
  detail      jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_at ON audit_log (at DESC, id DESC);
CREATE INDEX audit_log_actor ON audit_log (actor, at DESC);

CREATE FUNCTION audit_log_append_only () RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP;
END $$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
