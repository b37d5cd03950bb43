-- marts/label_summary: one row per (model, hardware, precision, scenario, label) of one run:
-- best tok_s_gpu and the tok_s_user where it occurs, best tok_s_user, point counts, failed points
-- (status <> 'ok') and deployment/point failures recorded in the failures table.
-- $run_id: the run (NULL = the latest run that has points). The CLI prints this after a run.
WITH
run_points AS (
    SELECT * FROM int_point_metrics WHERE run_id = points_run($run_id)
),
per_label AS (
    SELECT
        run_id, model, hardware, precision, scenario, label,
        any_value(gpus) AS gpus,
        max(tok_s_gpu) FILTER (WHERE status = 'ok') AS best_tok_s_gpu,
        arg_max(tok_s_user, tok_s_gpu) FILTER (WHERE status = 'ok') AS tok_s_user_at_best,
        max(tok_s_user) FILTER (WHERE status = 'ok') AS best_tok_s_user,
        count(*) AS points,
        count(*) FILTER (WHERE status = 'ok') AS ok_points,
        count(*) FILTER (WHERE status IS DISTINCT FROM 'ok') AS failed_points,
        count(*) FILTER (WHERE on_label_frontier) AS frontier_points,
        count(*) FILTER (WHERE on_overall_frontier) AS overall_frontier_points
    FROM run_points
    GROUP BY ALL
),
run_failures AS (
    SELECT run_id, model, hardware, precision, scenario, label, count(*) AS failures
    FROM failures
    WHERE run_id = points_run($run_id) AND stage IS DISTINCT FROM 'skipped'  -- adaptive skips are no failures
    GROUP BY ALL
)
SELECT
    coalesce(p.run_id, f.run_id) AS run_id,
    coalesce(p.model, f.model) AS model,
    coalesce(p.hardware, f.hardware) AS hardware,
    coalesce(p.precision, f.precision) AS precision,
    coalesce(p.scenario, f.scenario) AS scenario,
    coalesce(p.label, f.label) AS label,
    p.gpus,
    p.best_tok_s_gpu,
    p.tok_s_user_at_best,
    p.best_tok_s_user,
    coalesce(p.points, 0) AS points,
    coalesce(p.ok_points, 0) AS ok_points,
    coalesce(p.failed_points, 0) AS failed_points,
    coalesce(f.failures, 0) AS failures,
    coalesce(p.frontier_points, 0) AS frontier_points,
    coalesce(p.overall_frontier_points, 0) AS overall_frontier_points
FROM per_label p
FULL OUTER JOIN run_failures f USING (run_id, model, hardware, precision, scenario, label)
ORDER BY model, hardware, precision, scenario, best_tok_s_gpu DESC NULLS LAST, label
