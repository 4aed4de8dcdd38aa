-- The ops search box finds a parcel by the start of its tracking number (in any case), its EPC or
-- its SSCC, among tens of millions. Each index leads with the key's length, so the closest
-- completions (TS-9 before TS-10) are read first and a one-letter query reads only what it shows.
-- The "C" collation makes a prefix (LIKE 'ab%') an index range in every database locale.
CREATE INDEX parcels_number_prefix ON parcels (length(tracking_number), (lower(tracking_number) COLLATE "C"));
CREATE INDEX parcels_epc_prefix ON parcels (length(epc), (epc COLLATE "C")) WHERE epc IS NOT NULL;
CREATE INDEX parcels_gs1_prefix ON parcels ((gs1_key COLLATE "C")) WHERE gs1_key IS NOT NULL;
