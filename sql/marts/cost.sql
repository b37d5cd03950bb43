-- marts/cost: per ok point of one run, price and energy from the hardware catalog table
-- `hardware` (registered from frontier.catalog by connect()):
--   usd_per_mtok        = usd_per_gpu_hour / (tok_s_gpu * 3600) * 1e6          (all tokens)
--   usd_per_mtok_output = usd_per_gpu_hour / (tok_s_gpu_output * 3600) * 1e6   (output tokens)
--   tok_s_per_mw        = tok_s_gpu / power_w * 1e6 (board power only; no cooling or host)
-- Hardware missing from the catalog, or priced 0, gives NULL cost. $run_id: NULL = latest with points.
WITH
run_points AS (
    SELECT * FROM int_point_metrics
    WHERE run_id = points_run($run_id) AND status = 'ok'
),
priced AS (
    SELECT p.*, h.usd_per_gpu_hour, h.power_w
    FROM run_points p
    LEFT JOIN hardware h USING (hardware)
)
SELECT
    run_id, model, hardware, precision, scenario, label, gpus, max_concurrency,
    tok_s_user, tok_s_gpu, tok_s_gpu_output, usd_per_gpu_hour, power_w,
    CASE WHEN usd_per_gpu_hour > 0 THEN usd_per_gpu_hour / nullif(tok_s_gpu * 3600.0, 0) * 1e6 END AS usd_per_mtok,
    CASE WHEN usd_per_gpu_hour > 0 THEN usd_per_gpu_hour / nullif(tok_s_gpu_output * 3600.0, 0) * 1e6 END AS usd_per_mtok_output,
    tok_s_gpu / nullif(power_w, 0) * 1e6 AS tok_s_per_mw,
    tok_s_gpu_output / nullif(power_w, 0) * 1e6 AS tok_s_output_per_mw,
    on_label_frontier, on_overall_frontier
FROM priced
ORDER BY model, hardware, precision, scenario, label, tok_s_user
