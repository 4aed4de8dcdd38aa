-- The ops search box finds a parcel by the start of its tracking number (in any case), its EPC or
-- its SSCC, among tens of millions. Each index leads with the key's length: a query reads one
-- index range per length, shortest first, so the closest completions (TS-9 before TS-10) come
-- first and a one-letter query reads only what it shows. The "C" collation makes a prefix
-- (LIKE 'ab%') an index range in every database locale.
CREATE INDEX parcels_number_search ON parcels (length(tracking_number), (lower(tracking_number) COLLATE "C"));
CREATE INDEX parcels_epc_search ON parcels (length(epc), (epc COLLATE "C")) WHERE epc IS NOT NULL;
CREATE INDEX parcels_gs1_search ON parcels ((gs1_key COLLATE "C")) WHERE gs1_key IS NOT NULL;
