-- Rejected input by stage and reason, with the topics it came from.
SELECT
    stage,
    error_type,
    substring(reason, 1, 60) AS reason,
    count() AS records,
    groupUniqArray(source_topic) AS topics
FROM v_dead_letters
GROUP BY stage, error_type, reason
ORDER BY records DESC
LIMIT 20
