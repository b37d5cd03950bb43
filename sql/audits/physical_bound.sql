-- audits/physical_bound: points faster than the hardware can physically be (a unit or GPU-count
-- bug, or a client counting tokens wrong). Facts from the catalog tables `hardware` and `models`.
--
-- compute bound (throughput): every token, prompt or output, costs at least 2 x active params
-- FLOPs in the linear layers (attention ignored: the bound stays lenient), so
--     tok_s_gpu <= peak dense TFLOPS (fp8 or bf16 by precision) * 1e12 / (2 * active_params)
-- bandwidth bound (interactivity): a decode step of one sequence reads every active weight at
-- least once, spread over at most all the deployment's GPUs, so
--     tok_s_user <= gpus * HBM_BW / active_weight_bytes
-- Each bound is multiplied by a generous factor: $compute_factor (NULL = 1.5, for catalog error)
-- and $bandwidth_factor (NULL = 4, room for speculative decoding accepting several tokens per
-- step). (HBM_BW / active bytes per token bounds one sequence, not a batch: batching reuses a
-- weight read for many sequences, so it cannot bound tok_s_gpu.) Points whose model or hardware
-- is not in the catalog are not checked. $run_id: NULL = all runs.
-- A simulated server run with `--time-scale F` (spec `sim.time_scale`) plays F times faster than the
-- hardware it models, so its points are checked against F times the bounds (`time_scale` column:
-- the factor read from the deployment's launch command, `--time-scale F` or `--time-scale=F`; 1
-- when it has none).
WITH
params AS (
    SELECT
        coalesce(CAST($compute_factor AS DOUBLE), 1.5) AS compute_factor,
        coalesce(CAST($bandwidth_factor AS DOUBLE), 4.0) AS bandwidth_factor
),
time_scales AS (
    SELECT
        run_id, model, hardware, precision, scenario, label,
        max(coalesce(
            try_cast(regexp_extract(commands_json, '"--time-scale(?:",\s*"|=)([^"]+)"', 1) AS DOUBLE), 1.0
        )) AS time_scale
    FROM deployments
    GROUP BY ALL
),
checked AS (
    SELECT
        p.run_id, p.model, p.hardware, p.precision, p.scenario, p.label, p.gpus, p.max_concurrency,
        p.tok_s_gpu, p.tok_s_user, coalesce(t.time_scale, 1.0) AS time_scale,
        (CASE WHEN p.precision IN ('fp8', 'fp4') THEN h.fp8_tflops ELSE h.bf16_tflops END) * 1e12
            / (2.0 * m.active_params_b * 1e9) * (SELECT compute_factor FROM params)
            * coalesce(t.time_scale, 1.0) AS max_tok_s_gpu,
        p.gpus * h.hbm_bw_tbs * 1e12 / m.active_weight_bytes
            * (SELECT bandwidth_factor FROM params) * coalesce(t.time_scale, 1.0) AS max_tok_s_user
    FROM int_point_metrics p
    JOIN hardware h USING (hardware)
    JOIN models m ON m.model = p.model AND m.precision = p.precision
    LEFT JOIN time_scales t
        ON t.run_id = p.run_id AND t.model = p.model AND t.hardware = p.hardware
       AND t.precision = p.precision AND t.scenario = p.scenario AND t.label = p.label
    WHERE ($run_id IS NULL OR p.run_id = $run_id)
      AND p.status = 'ok'
)
SELECT
    *,
    CASE WHEN tok_s_gpu > max_tok_s_gpu THEN 'compute: tok_s_gpu above peak FLOPs / (2 x active params)'
         ELSE 'bandwidth: tok_s_user above GPUs x HBM bandwidth / active weight bytes' END AS bound
FROM checked
WHERE tok_s_gpu > max_tok_s_gpu OR tok_s_user > max_tok_s_user
ORDER BY run_id, model, hardware, precision, scenario, label, max_concurrency
