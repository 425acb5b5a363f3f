-- Broken hand-offs by kind and store, with the channels they surfaced on and the customers affected (under their surviving person).
SELECT
    kind,
    coalesce(nullIf(store_id, ''), '(no store)') AS store,
    count() AS alerts,
    uniqExact(person_id) AS customers,
    arrayStringConcat(arraySort(groupUniqArray(channel)), ', ') AS channels,
    min(event_time) AS first_seen,
    max(event_time) AS last_seen
FROM v_alerts
GROUP BY kind, store
ORDER BY alerts DESC, kind, store
