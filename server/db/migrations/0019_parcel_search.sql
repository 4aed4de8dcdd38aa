-- The ops search box finds a parcel by the start of its tracking number (in any case), its EPC or
-- its SSCC, among tens of millions. The "C" collation makes a prefix (LIKE 'ab%') one index range
-- in every database locale. A specific query is answered from the plain indexes; a short one that
-- many keys start, from the indexes led by the key's length, which give the closest completions
-- (TS-9 before TS-10) first, without reading everything it matches.
CREATE INDEX parcels_number_search ON parcels ((lower(tracking_number) COLLATE "C"));
CREATE INDEX parcels_number_closest ON parcels (length(tracking_number), (lower(tracking_number) COLLATE "C"));
CREATE INDEX parcels_epc_search ON parcels ((epc COLLATE "C")) WHERE epc IS NOT NULL;
CREATE INDEX parcels_epc_closest ON parcels (length(epc), (epc COLLATE "C")) WHERE epc IS NOT NULL;
CREATE INDEX parcels_gs1_search ON parcels ((gs1_key COLLATE "C")) WHERE gs1_key IS NOT NULL;
