-- staging/requests: typed view over the requests Parquet files (raw_requests = files UNION ALL BY NAME the current
-- empty schema, so every column exists even before any file is written). Rows of an unsupported
-- schema_version never reach here: connect() fails on them with the file named.
WITH
source AS (
    SELECT * FROM raw_requests
),
supported AS (
    SELECT * FROM source
    WHERE schema_version IN (SELECT version FROM supported_versions)
)
-- a deployment run with speculative decoding is its own label downstream ("DEP8 MTP"), so charts,
-- marts and reports keep it apart from its twin without it; `speculative` keeps the raw setting
SELECT * REPLACE (
    CASE WHEN speculative IS NULL THEN label ELSE label || ' ' || upper(speculative) END AS label
)
FROM supported
