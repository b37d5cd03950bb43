-- intermediate/int_point_metrics: every point of every run with the chart axes and frontier flags.
--   tok_s_gpu        = total_token_throughput / gpus     (gpus from the point, else from its label)
--   tok_s_gpu_output = output_throughput / gpus
--   tok_s_user       = 1000 / median_tpot_ms;  tok_s_user_mean = 1000 / mean_tpot_ms
-- Pareto frontier (maximize x = tok_s_user and y = tok_s_gpu), per (run, model, hardware,
-- precision, scenario) and label (on_label_frontier) and across labels (on_overall_frontier).
-- Only status = 'ok' points with finite axes are candidates. A point is on the frontier when no
-- other candidate has x >= and y >= with one strictly greater; an (x, y) position shared by
-- several points is kept once: the lowest max_concurrency (then label, then request_rate) wins.
-- Same rule as frontier/pareto.py (tests/unit/test_pareto.py checks them equal).
--
-- Method: one sort per frontier, no self-join. Order each group by x DESC, y DESC, then the
-- tie-break. The rows before a point are then every candidate with a strictly greater x, plus
-- those at the same x with y >= (and, at the same (x, y), the ones that win the tie-break). So a
-- point is on the frontier exactly when its y beats the max y of the rows before it: the first
-- row of an x has the best y there (rows after it at the same x see a y >= theirs), and a
-- duplicate (x, y) after the first sees an equal y. Non-candidates have NULL _x/_y: max() skips
-- them and they sort last. Every window partitions by run_id, so a mart's run filter is applied
-- before the windows (the view is never windowed over other runs).
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
        CASE WHEN mean_tpot_ms > 0 THEN 1000.0 / mean_tpot_ms END AS tok_s_user_mean
    FROM labelled
),
candidates AS (
    SELECT
        *,
        CASE WHEN status = 'ok' AND isfinite(tok_s_user) AND isfinite(tok_s_gpu) THEN tok_s_user END AS _x,
        CASE WHEN status = 'ok' AND isfinite(tok_s_user) AND isfinite(tok_s_gpu) THEN tok_s_gpu END AS _y
    FROM metrics
),
walked AS (
    SELECT
        *,
        max(_y) OVER (
            PARTITION BY run_id, model, hardware, precision, scenario, label
            ORDER BY _x DESC NULLS LAST, _y DESC NULLS LAST, max_concurrency ASC NULLS LAST,
                     request_rate ASC NULLS LAST
            ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
        ) AS _label_best_before,
        max(_y) OVER (
            PARTITION BY run_id, model, hardware, precision, scenario
            ORDER BY _x DESC NULLS LAST, _y DESC NULLS LAST, max_concurrency ASC NULLS LAST, label,
                     request_rate ASC NULLS LAST
            ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
        ) AS _overall_best_before
    FROM candidates
)
SELECT
    * EXCLUDE (_x, _y, _label_best_before, _overall_best_before),
    _y IS NOT NULL AND (_label_best_before IS NULL OR _y > _label_best_before) AS on_label_frontier,
    _y IS NOT NULL AND (_overall_best_before IS NULL OR _y > _overall_best_before) AS on_overall_frontier
FROM walked
