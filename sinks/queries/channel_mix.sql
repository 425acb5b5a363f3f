-- Touchpoints, people (merged identities counted once) and share of traffic per channel.
SELECT
    channel,
    count() AS touchpoints,
    uniqExact(person_id) AS people,
    round(100 * count() / sum(count()) OVER (), 1) AS pct
FROM v_touchpoints_unified
GROUP BY channel
ORDER BY touchpoints DESC
