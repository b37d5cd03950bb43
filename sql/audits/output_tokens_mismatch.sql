-- audits/output_tokens_mismatch: successful requests whose output_tokens differ from the scenario's
-- OSL (the load runs with ignore_eos and max_tokens = OSL, so every success yields exactly OSL
-- tokens; a mismatch means the server stopped early or tokens were miscounted). OSL comes from
-- the request's point (same run, model, hardware, precision, scenario, label, max_concurrency),
-- else from its deployment row; requests with neither are not checked. $run_id: NULL = all runs.
WITH
point_osl AS (
    SELECT run_id, model, hardware, precision, scenario, label, max_concurrency, any_value(osl) AS osl
    FROM points
    WHERE osl IS NOT NULL
    GROUP BY ALL
),
deployment_osl AS (
    SELECT run_id, model, hardware, precision, scenario, label, any_value(osl) AS osl
    FROM deployments
    WHERE osl IS NOT NULL
    GROUP BY ALL
),
checked AS (
    SELECT
        r.run_id, r.model, r.hardware, r.precision, r.scenario, r.label, r.max_concurrency,
        r.request_index, r.is_warmup, r.output_tokens, coalesce(p.osl, d.osl) AS osl
    FROM requests r
    LEFT JOIN point_osl p USING (run_id, model, hardware, precision, scenario, label, max_concurrency)
    LEFT JOIN deployment_osl d USING (run_id, model, hardware, precision, scenario, label)
    WHERE coalesce(p.osl, d.osl) IS NOT NULL AND ($run_id IS NULL OR r.run_id = $run_id)
      AND r.success
)
SELECT * FROM checked
WHERE output_tokens IS DISTINCT FROM osl
ORDER BY run_id, model, hardware, precision, scenario, label, max_concurrency, request_index
