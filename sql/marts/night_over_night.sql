-- marts/night_over_night: each point on a label's frontier in the run, against the previous run
-- of the same (model, hardware, precision, scenario) (intermediate/int_group_runs): the previous
-- run's frontier tok_s_gpu for that label interpolated at the same tok_s_user. prev_tok_s_gpu is
-- NULL when the label is new or the interactivity is outside its previous curve.
-- delta_pct = 100 * (tok_s_gpu - prev_tok_s_gpu) / prev_tok_s_gpu. $run_id: NULL = latest with points.
WITH
current_front AS (
    SELECT run_id, run_date, model, hardware, precision, scenario, label, max_concurrency,
           tok_s_user, tok_s_gpu
    FROM int_point_metrics
    WHERE run_id = points_run($run_id) AND on_label_frontier
),
with_prev AS (
    SELECT c.*, g.prev_run_id, g.prev_run_date
    FROM current_front c
    LEFT JOIN int_group_runs g USING (run_id, model, hardware, precision, scenario)
),
matched AS (
    SELECT
        w.*,
        max(CASE WHEN s.x2 = s.x1 THEN s.y1
                 ELSE s.y1 + (s.y2 - s.y1) * (w.tok_s_user - s.x1) / (s.x2 - s.x1) END) AS prev_tok_s_gpu
    FROM with_prev w
    LEFT JOIN int_label_segments s
        ON s.run_id = w.prev_run_id
       AND s.model = w.model AND s.hardware = w.hardware AND s.precision = w.precision
       AND s.scenario = w.scenario AND s.label = w.label
       AND w.tok_s_user BETWEEN s.x1 AND s.x2
    GROUP BY ALL
)
SELECT
    run_id, run_date, prev_run_id, prev_run_date, model, hardware, precision, scenario, label,
    max_concurrency, tok_s_user, tok_s_gpu, prev_tok_s_gpu,
    tok_s_gpu - prev_tok_s_gpu AS delta_tok_s_gpu,
    100.0 * (tok_s_gpu - prev_tok_s_gpu) / nullif(prev_tok_s_gpu, 0) AS delta_pct
FROM matched
ORDER BY model, hardware, precision, scenario, label, tok_s_user
