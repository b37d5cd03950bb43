-- intermediate/int_label_changes: for every run and label, the change of its frontier against the
-- previous run of the same (model, hardware, precision, scenario) (intermediate/int_group_runs),
-- at matched interactivity: each frontier point of either run is matched with the other run's
-- frontier curve interpolated linearly at the same tok_s_user (intermediate/int_label_segments);
-- points outside the other curve's tok_s_user range are not matched. Per label:
--   matched      = matched (tok_s_user) positions (both directions)
--   before/after = mean tok_s_gpu of the previous / this run over those positions
--   change_pct   = 100 * (after / before - 1)
--   from/to_tok_s_user = the interactivity range compared.
-- All runs (no parameters): marts/regressions picks one run and reads the earlier pairs as noise.
WITH
pairs AS (
    SELECT run_id, prev_run_id, run_seq, model, hardware, precision, scenario
    FROM int_group_runs
    WHERE prev_run_id IS NOT NULL
),
front AS (
    SELECT run_id, model, hardware, precision, scenario, label, tok_s_user AS x, tok_s_gpu AS y
    FROM int_point_metrics
    WHERE on_label_frontier
),
forward AS (  -- this run's frontier points against the previous run's curve
    SELECT
        p.run_id, p.prev_run_id, p.run_seq, f.model, f.hardware, f.precision, f.scenario, f.label, f.x,
        f.y AS after_y,
        max(CASE WHEN s.x2 = s.x1 THEN s.y1
                 ELSE s.y1 + (s.y2 - s.y1) * (f.x - s.x1) / (s.x2 - s.x1) END) AS before_y
    FROM pairs p
    JOIN front f USING (run_id, model, hardware, precision, scenario)
    JOIN int_label_segments s
        ON s.run_id = p.prev_run_id AND s.model = f.model AND s.hardware = f.hardware
       AND s.precision = f.precision AND s.scenario = f.scenario AND s.label = f.label
       AND f.x BETWEEN s.x1 AND s.x2
    GROUP BY ALL
),
backward AS (  -- the previous run's frontier points against this run's curve
    SELECT
        p.run_id, p.prev_run_id, p.run_seq, f.model, f.hardware, f.precision, f.scenario, f.label, f.x,
        f.y AS before_y,
        max(CASE WHEN s.x2 = s.x1 THEN s.y1
                 ELSE s.y1 + (s.y2 - s.y1) * (f.x - s.x1) / (s.x2 - s.x1) END) AS after_y
    FROM pairs p
    JOIN front f
        ON f.run_id = p.prev_run_id AND f.model = p.model AND f.hardware = p.hardware
       AND f.precision = p.precision AND f.scenario = p.scenario
    JOIN int_label_segments s
        ON s.run_id = p.run_id AND s.model = f.model AND s.hardware = f.hardware
       AND s.precision = f.precision AND s.scenario = f.scenario AND s.label = f.label
       AND f.x BETWEEN s.x1 AND s.x2
    GROUP BY ALL
),
matched AS (
    SELECT * FROM forward
    UNION ALL BY NAME
    SELECT * FROM backward
)
SELECT
    run_id, prev_run_id, run_seq, model, hardware, precision, scenario, label,
    count(*) AS matched,
    min(x) AS from_tok_s_user,
    max(x) AS to_tok_s_user,
    avg(before_y) AS before,
    avg(after_y) AS after,
    100.0 * (avg(after_y) / nullif(avg(before_y), 0) - 1.0) AS change_pct
FROM matched
GROUP BY ALL
