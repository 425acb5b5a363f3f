-- Broken hand-offs by kind and channel, with the customers affected (counted under their surviving person).
SELECT
    kind,
    channel,
    count() AS alerts,
    uniqExact(person_id) AS customers,
    min(event_time) AS first_seen,
    max(event_time) AS last_seen
FROM v_alerts
GROUP BY kind, channel
ORDER BY alerts DESC
