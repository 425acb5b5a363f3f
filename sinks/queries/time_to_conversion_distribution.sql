-- Time-to-conversion distribution: conversions per first-touch channel in time-to-outcome buckets (<1h, 1-6h, 6-24h, 1-3d, 3d+).
WITH
    [3600000, 21600000, 86400000, 259200000] AS bounds_ms,
    ['<1h', '1-6h', '6-24h', '1-3d', '3d+'] AS labels
SELECT
    first_touch_channel,
    bucket_no,
    labels[bucket_no] AS bucket,
    count() AS conversions
FROM
(
    SELECT first_touch_channel, 1 + arrayCount(b -> time_to_outcome_ms >= b, bounds_ms) AS bucket_no
    FROM v_journeys
    WHERE status IN ('purchase', 'pickup') AND time_to_outcome_ms IS NOT NULL
)
GROUP BY first_touch_channel, bucket_no
ORDER BY first_touch_channel, bucket_no
