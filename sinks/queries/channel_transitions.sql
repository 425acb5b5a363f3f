-- Channel transitions: from which channel customers move to which next, how often, median gap.
SELECT
    from_channel,
    to_channel,
    count() AS transitions,
    round(quantileExact(0.5)(gap_s) / 60, 1) AS median_gap_min
FROM
(
    SELECT
        channel AS to_channel,
        lagInFrame(channel) OVER w AS from_channel,
        dateDiff('second', lagInFrame(event_time) OVER w, event_time) AS gap_s,
        row_number() OVER w AS n
    FROM v_touchpoints_unified
    WINDOW w AS (PARTITION BY person_id ORDER BY event_time, event_id ROWS BETWEEN 1 PRECEDING AND CURRENT ROW)
)
WHERE n > 1 AND from_channel != to_channel
GROUP BY from_channel, to_channel
ORDER BY transitions DESC
LIMIT 15
