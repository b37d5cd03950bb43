-- marts/run_compare: run against run. For every (model, hardware, precision, scenario, label) in
-- run $run_a or run $run_b (both required), the two frontier curves compared at matched
-- interactivity: each frontier point of either run is matched with the other run's frontier curve
-- interpolated linearly at the same tok_s_user (points outside the other curve's range are not
-- matched). a_tok_s_gpu / b_tok_s_gpu = mean tok_s_gpu of A / B over the matched positions,
-- change_pct = 100 * (b / a - 1); peaks and point counts of each side; status: compared | no overlap
-- | only in A | only in B.
WITH
front AS (
    SELECT run_id, model, hardware, precision, scenario, label, tok_s_user AS x, tok_s_gpu AS y
    FROM int_point_metrics
    WHERE on_label_frontier AND run_id IN (CAST($run_a AS VARCHAR), CAST($run_b AS VARCHAR))
),
segs AS (
    SELECT * FROM int_label_segments WHERE run_id IN (CAST($run_a AS VARCHAR), CAST($run_b AS VARCHAR))
),
matched AS (  -- a point of one side, the other side's curve at its x
    SELECT
        f.model, f.hardware, f.precision, f.scenario, f.label, f.x,
        f.run_id = CAST($run_a AS VARCHAR) AS from_a,
        f.y AS own_y,
        max(CASE WHEN s.x2 = s.x1 THEN s.y1
                 ELSE s.y1 + (s.y2 - s.y1) * (f.x - s.x1) / (s.x2 - s.x1) END) AS other_y
    FROM front f
    JOIN segs s
        ON s.run_id <> f.run_id AND s.model = f.model AND s.hardware = f.hardware
       AND s.precision = f.precision AND s.scenario = f.scenario AND s.label = f.label
       AND f.x BETWEEN s.x1 AND s.x2
    GROUP BY ALL
),
per_label_match AS (
    SELECT
        model, hardware, precision, scenario, label,
        count(*) AS matched,
        min(x) AS from_tok_s_user,
        max(x) AS to_tok_s_user,
        avg(CASE WHEN from_a THEN own_y ELSE other_y END) AS a_tok_s_gpu,
        avg(CASE WHEN from_a THEN other_y ELSE own_y END) AS b_tok_s_gpu
    FROM matched
    GROUP BY ALL
),
sides AS (
    SELECT
        model, hardware, precision, scenario, label,
        max(tok_s_gpu) FILTER (WHERE run_id = CAST($run_a AS VARCHAR) AND status = 'ok') AS a_peak_tok_s_gpu,
        max(tok_s_gpu) FILTER (WHERE run_id = CAST($run_b AS VARCHAR) AND status = 'ok') AS b_peak_tok_s_gpu,
        count(*) FILTER (WHERE run_id = CAST($run_a AS VARCHAR)) AS a_points,
        count(*) FILTER (WHERE run_id = CAST($run_b AS VARCHAR)) AS b_points
    FROM int_point_metrics
    WHERE run_id IN (CAST($run_a AS VARCHAR), CAST($run_b AS VARCHAR))
    GROUP BY ALL
)
SELECT
    s.model, s.hardware, s.precision, s.scenario, s.label,
    CASE WHEN s.a_points = 0 THEN 'only in B'
         WHEN s.b_points = 0 THEN 'only in A'
         WHEN m.matched IS NULL THEN 'no overlap'
         ELSE 'compared' END AS status,
    m.a_tok_s_gpu, m.b_tok_s_gpu,
    100.0 * (m.b_tok_s_gpu / nullif(m.a_tok_s_gpu, 0) - 1.0) AS change_pct,
    coalesce(m.matched, 0) AS matched, m.from_tok_s_user, m.to_tok_s_user,
    s.a_peak_tok_s_gpu, s.b_peak_tok_s_gpu,
    100.0 * (s.b_peak_tok_s_gpu / nullif(s.a_peak_tok_s_gpu, 0) - 1.0) AS peak_change_pct,
    s.a_points, s.b_points,
    CAST($run_a AS VARCHAR) AS run_a, CAST($run_b AS VARCHAR) AS run_b
FROM sides s
LEFT JOIN per_label_match m USING (model, hardware, precision, scenario, label)
ORDER BY s.model, s.hardware, s.precision, s.scenario, s.label
