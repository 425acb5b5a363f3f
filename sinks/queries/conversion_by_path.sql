-- Conversion by channel path (top 20 paths by journeys): journeys, still open, conversions (purchase or pickup), rate of all.
SELECT
    arrayStringConcat(if(empty(channel_path), [first_touch_channel], channel_path), ' > ') AS path,
    length(if(empty(channel_path), [first_touch_channel], channel_path)) AS channels,
    count() AS journeys,
    countIf(status = 'open') AS still_open,
    countIf(status IN ('purchase', 'pickup')) AS conversions,
    round(100 * conversions / journeys, 1) AS conversion_pct
FROM v_journeys
GROUP BY path, channels
ORDER BY journeys DESC, conversions DESC, path
LIMIT 20
