-- marts/cost: per ok point of one run, price and energy. Assumptions per hardware: the run's spec
-- (`cost:` section, recorded as runs.cost_json) where it sets them, else the hardware catalog table
-- `hardware` (registered from frontier.catalog by connect()); assumption_source says which.
--   usd_per_mtok        = usd_per_gpu_hour / (tok_s_gpu * 3600) * 1e6          (all tokens)
--   usd_per_mtok_output = usd_per_gpu_hour / (tok_s_gpu_output * 3600) * 1e6   (output tokens)
--   tok_s_per_mw        = tok_s_gpu / power_w * 1e6 (power per GPU as assumed: catalog = board only)
-- Hardware missing from both, or priced 0, gives NULL cost. $run_id: NULL = latest with points.
WITH
run_points AS (
    SELECT * FROM int_point_metrics
    WHERE run_id = points_run($run_id) AND status = 'ok'
),
run_cost AS (
    SELECT run_id, any_value(cost_json) FILTER (WHERE cost_json IS NOT NULL) AS cost_json
    FROM runs WHERE run_id = points_run($run_id) GROUP BY run_id
),
assumed AS (
    SELECT
        p.*,
        TRY_CAST(json_extract_string(c.cost_json, '$."' || p.hardware || '".usd_per_gpu_hour') AS DOUBLE) AS spec_usd,
        TRY_CAST(json_extract_string(c.cost_json, '$."' || p.hardware || '".power_w') AS DOUBLE) AS spec_power_w,
        h.usd_per_gpu_hour AS catalog_usd, h.power_w AS catalog_power_w
    FROM run_points p
    LEFT JOIN run_cost c USING (run_id)
    LEFT JOIN hardware h USING (hardware)
),
priced AS (
    SELECT
        *,
        coalesce(spec_usd, catalog_usd) AS usd_per_gpu_hour,
        coalesce(spec_power_w, catalog_power_w) AS power_w,
        CASE WHEN spec_usd IS NOT NULL OR spec_power_w IS NOT NULL THEN 'spec'
             WHEN catalog_usd IS NOT NULL THEN 'catalog' END AS assumption_source
    FROM assumed
)
SELECT
    run_id, model, hardware, precision, scenario, label, gpus, max_concurrency,
    tok_s_user, tok_s_gpu, tok_s_gpu_output, usd_per_gpu_hour, power_w,
    CASE WHEN usd_per_gpu_hour > 0 THEN usd_per_gpu_hour / nullif(tok_s_gpu * 3600.0, 0) * 1e6 END AS usd_per_mtok,
    CASE WHEN usd_per_gpu_hour > 0 THEN usd_per_gpu_hour / nullif(tok_s_gpu_output * 3600.0, 0) * 1e6 END AS usd_per_mtok_output,
    tok_s_gpu / nullif(power_w, 0) * 1e6 AS tok_s_per_mw,
    tok_s_gpu_output / nullif(power_w, 0) * 1e6 AS tok_s_output_per_mw,
    on_label_frontier, on_overall_frontier, assumption_source
FROM priced
ORDER BY model, hardware, precision, scenario, label, tok_s_user
