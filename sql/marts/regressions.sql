-- marts/regressions: the morning-after check. Per label of one run, its frontier against the
-- previous run of the same (model, hardware, precision, scenario) at matched interactivity
-- (intermediate/int_label_changes: tok_s_gpu on both frontier curves, interpolated at the same
-- tok_s_user). A label is flagged when it dropped by more than
--     limit_pct = greatest($threshold_pct, $noise_factor * noise_pct)
-- where noise_pct is the run-to-run noise the history shows: the median |change_pct| of the same
-- label over the earlier pairs of consecutive runs (0 with no history, so a single good night
-- before a bad one is enough). Defaults: $threshold_pct NULL = 10, $noise_factor NULL = 3.
-- One row per flagged label, worst first. $run_id: NULL = the latest run with points.
-- (The asv-style step detector over longer series is marts/regression_steps.)
WITH
params AS (
    SELECT
        coalesce(CAST($threshold_pct AS DOUBLE), 10.0) AS threshold_pct,
        coalesce(CAST($noise_factor AS DOUBLE), 3.0) AS noise_factor
),
current_change AS (
    SELECT * FROM int_label_changes WHERE run_id = points_run($run_id)
),
history AS (
    SELECT
        c.run_id, c.model, c.hardware, c.precision, c.scenario, c.label,
        median(abs(h.change_pct)) AS noise_pct,
        count(h.change_pct) AS history_pairs
    FROM current_change c
    JOIN int_label_changes h
        ON h.model = c.model AND h.hardware = c.hardware AND h.precision = c.precision
       AND h.scenario = c.scenario AND h.label = c.label AND h.run_seq < c.run_seq
    GROUP BY ALL
),
judged AS (
    SELECT
        c.*,
        coalesce(h.noise_pct, 0.0) AS noise_pct,
        coalesce(h.history_pairs, 0) AS history_pairs,
        greatest(p.threshold_pct, p.noise_factor * coalesce(h.noise_pct, 0.0)) AS limit_pct
    FROM current_change c
    LEFT JOIN history h USING (run_id, model, hardware, precision, scenario, label)
    CROSS JOIN params p
)
SELECT
    model, hardware, precision, scenario, label,
    'tok/s/GPU at matched tok/s/user' AS metric,
    run_id, prev_run_id, run_id AS latest_run_id,
    before, after, change_pct, noise_pct, limit_pct, matched,
    from_tok_s_user, to_tok_s_user,
    history_pairs + 2 AS runs
FROM judged
WHERE change_pct < -limit_pct
ORDER BY change_pct, model, hardware, precision, scenario, label
