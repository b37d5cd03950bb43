-- intermediate/int_run_order: every run id seen in any table, newest first.
-- Order: run_date DESC, runs.started_at DESC (NULLs last), run_id DESC.
-- run_rank 1 = the latest run; points_rank 1 = the latest run that has points (what marts use
-- when $run_id is NULL).
-- Which runs hold points, deployments or failures comes from `partitions` (one row per live run
-- folder, registered by connect() from the file listing: the writer puts every row of a run in
-- its run_date=/run_id= folder), so no data file is read here: the marts' "latest run" costs
-- O(runs), not O(rows).
WITH
seen AS (
    SELECT run_id, run_date FROM runs
    UNION ALL
    SELECT run_id, run_date FROM partitions WHERE table_name IN ('points', 'deployments', 'failures')
),
per_run AS (
    SELECT run_id, max(run_date) AS run_date FROM seen GROUP BY run_id
),
started AS (
    SELECT run_id, min(started_at) AS started_at FROM runs GROUP BY run_id
),
with_points AS (
    SELECT DISTINCT run_id FROM partitions WHERE table_name = 'points'
),
joined AS (
    SELECT r.run_id, r.run_date, s.started_at, w.run_id IS NOT NULL AS has_points
    FROM per_run r
    LEFT JOIN started s USING (run_id)
    LEFT JOIN with_points w USING (run_id)
)
SELECT
    run_id,
    run_date,
    started_at,
    has_points,
    row_number() OVER (ORDER BY run_date DESC, started_at DESC NULLS LAST, run_id DESC) AS run_rank,
    CASE WHEN has_points THEN row_number() OVER (
        PARTITION BY has_points ORDER BY run_date DESC, started_at DESC NULLS LAST, run_id DESC
    ) END AS points_rank
FROM joined
