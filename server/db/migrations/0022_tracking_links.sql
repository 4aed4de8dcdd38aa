-- A buyer's tracking link can be taken back (revoked: it answers 410 until a new one is made) or
-- replaced (rotated: a new random token, and the old one stops working at once). The token a
-- rotation replaced is kept, one per parcel, so its page can say the link was replaced instead of
-- that there is no such parcel. No index touches token_revoked_at: milestone updates stay HOT.
ALTER TABLE parcels ADD COLUMN token_revoked_at timestamptz;
ALTER TABLE parcels ADD COLUMN previous_token text;
CREATE UNIQUE INDEX parcels_previous_token ON parcels (previous_token) WHERE previous_token IS NOT NULL;
