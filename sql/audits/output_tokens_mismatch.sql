-- audits/output_tokens_mismatch: successful requests whose output_tokens differ from what they asked
-- for (the load runs with ignore_eos, so every success yields exactly its max_tokens: the request's
-- own drawn length, else the scenario's OSL for rows written before max_tokens was recorded; a
-- mismatch means the server stopped early or tokens were miscounted). OSL comes from the request's
-- point (same run, model, hardware, precision, scenario, label, max_concurrency), else from its
-- deployment row; requests with neither are not checked, nor those of points run without
-- ignore_eos (load.ignore_eos: false lets a server stop at EOS). $run_id: NULL = all runs.
WITH
point_osl AS (
    SELECT run_id, model, hardware, precision, scenario, label, max_concurrency, any_value(osl) AS osl,
        bool_or(ignore_eos IS NOT DISTINCT FROM false) AS no_ignore_eos
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
        r.request_index, r.is_warmup, r.output_tokens, coalesce(r.max_tokens, p.osl, d.osl) AS osl
    FROM requests r
    LEFT JOIN point_osl p USING (run_id, model, hardware, precision, scenario, label, max_concurrency)
    LEFT JOIN deployment_osl d USING (run_id, model, hardware, precision, scenario, label)
    WHERE coalesce(p.osl, d.osl) IS NOT NULL AND ($run_id IS NULL OR r.run_id = $run_id)
      AND r.success AND NOT coalesce(p.no_ignore_eos, false)
)
SELECT * FROM checked
WHERE output_tokens IS DISTINCT FROM osl
ORDER BY run_id, model, hardware, precision, scenario, label, max_concurrency, request_index
