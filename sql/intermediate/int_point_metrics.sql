-- intermediate/int_point_metrics: every point of every run with the chart axes and frontier flags.
--   tok_s_gpu        = total_token_throughput / gpus     (gpus from the point, else from its label)
--   tok_s_gpu_output = output_throughput / gpus
--   tok_s_user       = 1000 / median_tpot_ms;  tok_s_user_mean = 1000 / mean_tpot_ms
-- Pareto frontier (maximize tok_s_user and tok_s_gpu), per (run, model, hardware, precision,
-- scenario) and label (on_label_frontier) and across labels (on_overall_frontier). Only
-- status = 'ok' points with finite axes are candidates. A point is on the frontier when no other
-- candidate has x >= and y >= with one strictly greater; an (x, y) position shared by several
-- points is kept once: the lowest max_concurrency (then label) wins.
-- Method, O(n log n): per x keep the best y; walking x from high to low, a position is on the
-- frontier when its y beats every y seen at a strictly higher x.
WITH
labelled AS (
    SELECT p.* REPLACE (coalesce(p.gpus, l.gpus) AS gpus)
    FROM points p
    LEFT JOIN labels l USING (label)
),
metrics AS (
    SELECT
        *,
        total_token_throughput / nullif(gpus, 0) AS tok_s_gpu,
        output_throughput / nullif(gpus, 0) AS tok_s_gpu_output,
        CASE WHEN median_tpot_ms > 0 THEN 1000.0 / median_tpot_ms END AS tok_s_user,
        CASE WHEN mean_tpot_ms > 0 THEN 1000.0 / mean_tpot_ms END AS tok_s_user_mean,
        row_number() OVER (
            ORDER BY run_id, model, hardware, precision, scenario, label, max_concurrency, request_rate
        ) AS point_id
    FROM labelled
),
candidates AS (
    SELECT point_id, run_id, model, hardware, precision, scenario, label, max_concurrency,
           tok_s_user AS x, tok_s_gpu AS y
    FROM metrics
    WHERE status = 'ok' AND isfinite(tok_s_user) AND isfinite(tok_s_gpu)
),
-- per label ----------------------------------------------------------------------------------
label_best_y_at_x AS (
    SELECT run_id, model, hardware, precision, scenario, label, x, max(y) AS y
    FROM candidates GROUP BY ALL
),
label_running AS (
    SELECT *, max(y) OVER (
        PARTITION BY run_id, model, hardware, precision, scenario, label ORDER BY x DESC ROWS UNBOUNDED PRECEDING
    ) AS best_y_so_far
    FROM label_best_y_at_x
),
label_walk AS (
    SELECT * EXCLUDE (best_y_so_far), lag(best_y_so_far) OVER (
        PARTITION BY run_id, model, hardware, precision, scenario, label ORDER BY x DESC
    ) AS best_y_right
    FROM label_running
),
label_positions AS (
    SELECT * EXCLUDE (best_y_right) FROM label_walk WHERE best_y_right IS NULL OR y > best_y_right
),
label_front AS (
    SELECT c.point_id, row_number() OVER (
        PARTITION BY c.run_id, c.model, c.hardware, c.precision, c.scenario, c.label, c.x, c.y
        ORDER BY c.max_concurrency NULLS LAST, c.point_id
    ) AS keep
    FROM candidates c
    JOIN label_positions f USING (run_id, model, hardware, precision, scenario, label, x, y)
),
-- across labels --------------------------------------------------------------------------------
overall_best_y_at_x AS (
    SELECT run_id, model, hardware, precision, scenario, x, max(y) AS y
    FROM candidates GROUP BY ALL
),
overall_running AS (
    SELECT *, max(y) OVER (
        PARTITION BY run_id, model, hardware, precision, scenario ORDER BY x DESC ROWS UNBOUNDED PRECEDING
    ) AS best_y_so_far
    FROM overall_best_y_at_x
),
overall_walk AS (
    SELECT * EXCLUDE (best_y_so_far), lag(best_y_so_far) OVER (
        PARTITION BY run_id, model, hardware, precision, scenario ORDER BY x DESC
    ) AS best_y_right
    FROM overall_running
),
overall_positions AS (
    SELECT * EXCLUDE (best_y_right) FROM overall_walk WHERE best_y_right IS NULL OR y > best_y_right
),
overall_front AS (
    SELECT c.point_id, row_number() OVER (
        PARTITION BY c.run_id, c.model, c.hardware, c.precision, c.scenario, c.x, c.y
        ORDER BY c.max_concurrency NULLS LAST, c.label, c.point_id
    ) AS keep
    FROM candidates c
    JOIN overall_positions f USING (run_id, model, hardware, precision, scenario, x, y)
)
SELECT
    m.*,
    coalesce(lf.keep = 1, false) AS on_label_frontier,
    coalesce(ovf.keep = 1, false) AS on_overall_frontier
FROM metrics m
LEFT JOIN label_front lf ON lf.point_id = m.point_id AND lf.keep = 1
LEFT JOIN overall_front ovf ON ovf.point_id = m.point_id AND ovf.keep = 1
