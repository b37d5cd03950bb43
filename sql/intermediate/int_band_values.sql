-- intermediate/int_band_values: each label's frontier tok_s_gpu at the interactivity bands
-- 20, 50, 100 tok/s/user, interpolated linearly between the two frontier points around the band.
-- A band outside the label's curve (below its lowest or above its highest tok_s_user) has no row.
WITH
bands AS (
    SELECT unnest([20.0, 50.0, 100.0]) AS band
),
hits AS (
    SELECT
        s.run_id, s.model, s.hardware, s.precision, s.scenario, s.label, b.band,
        CASE WHEN s.x2 = s.x1 THEN s.y1
             ELSE s.y1 + (s.y2 - s.y1) * (b.band - s.x1) / (s.x2 - s.x1) END AS tok_s_gpu
    FROM int_label_segments s
    JOIN bands b ON b.band BETWEEN s.x1 AND s.x2
)
SELECT run_id, model, hardware, precision, scenario, label, band, max(tok_s_gpu) AS tok_s_gpu
FROM hits
GROUP BY ALL
