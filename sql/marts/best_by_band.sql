-- marts/best_by_band: at interactivity bands 20, 50, 100 tok/s/user, each label's frontier
-- tok_s_gpu interpolated linearly along its frontier curve (intermediate/int_band_values), ranked
-- per (model, hardware, precision, scenario, band); is_best marks the winner (ties share rank 1).
-- A band outside a label's curve gives no row for that label. $run_id: NULL = latest with points.
WITH
values_at_band AS (
    SELECT * FROM int_band_values WHERE run_id = points_run($run_id)
),
ranked AS (
    SELECT *, rank() OVER (
        PARTITION BY model, hardware, precision, scenario, band ORDER BY tok_s_gpu DESC
    ) AS rank
    FROM values_at_band
)
SELECT
    run_id, model, hardware, precision, scenario, band AS band_tok_s_user, label, tok_s_gpu,
    rank, rank = 1 AS is_best
FROM ranked
ORDER BY model, hardware, precision, scenario, band_tok_s_user, rank, label
