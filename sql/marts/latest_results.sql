-- marts/latest_results: the index of everything. One row per (model, hardware, precision,
-- scenario) ever measured: the latest run that measured it (up to $run_id, NULL = all runs), its
-- kind (nightly | adhoc | imported, intermediate/int_run_kind) and date, the best tok_s_gpu of
-- that run's points with the label and tok_s_user where it occurs, and point counts. An ad-hoc or
-- imported run of one group never hides the others: each keeps its own latest run.
WITH
latest AS (
    SELECT run_id, run_date, model, hardware, precision, scenario, run_seq AS runs FROM latest_group_runs($run_id)
),
per_group AS (
    SELECT
        l.model, l.hardware, l.precision, l.scenario, l.run_id, l.run_date, l.runs,
        max(p.tok_s_gpu) FILTER (WHERE p.status = 'ok') AS best_tok_s_gpu,
        arg_max(p.label, p.tok_s_gpu) FILTER (WHERE p.status = 'ok') AS best_label,
        arg_max(p.tok_s_user, p.tok_s_gpu) FILTER (WHERE p.status = 'ok') AS tok_s_user_at_best,
        max(p.tok_s_user) FILTER (WHERE p.status = 'ok') AS best_tok_s_user,
        count(DISTINCT p.label) AS labels,
        count(*) FILTER (WHERE p.status = 'ok') AS ok_points,
        count(*) AS points
    FROM latest l
    JOIN int_point_metrics p USING (run_id, model, hardware, precision, scenario)
    GROUP BY ALL
)
SELECT g.*, k.run_kind
FROM per_group g
LEFT JOIN int_run_kind k USING (run_id)
ORDER BY model, hardware, precision, scenario
