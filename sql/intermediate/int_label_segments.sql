-- intermediate/int_label_segments: each label's frontier curve as line segments (x = tok_s_user,
-- y = tok_s_gpu) between consecutive frontier points in x order, plus one zero-length segment per
-- frontier point (so a band that hits a point exactly, or a single-point curve, has a value).
WITH
front AS (
    SELECT run_id, model, hardware, precision, scenario, label, tok_s_user AS x, tok_s_gpu AS y
    FROM int_point_metrics
    WHERE on_label_frontier
),
ordered AS (
    SELECT *, lead(x) OVER w AS x2, lead(y) OVER w AS y2
    FROM front
    WINDOW w AS (PARTITION BY run_id, model, hardware, precision, scenario, label ORDER BY x)
)
SELECT run_id, model, hardware, precision, scenario, label, x AS x1, y AS y1, x2, y2
FROM ordered WHERE x2 IS NOT NULL
UNION ALL
SELECT run_id, model, hardware, precision, scenario, label, x, y, x, y
FROM front
