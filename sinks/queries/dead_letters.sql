-- Rejected input by stage and kind of failure, with an example reason and the topics it came from.
SELECT
    stage,
    error_type,
    trim(replaceRegexpAll(reason, '[0-9a-f]{16}|\\(starts [0-9a-f]*\\)|: .*$', '')) AS failure,
    count() AS records,
    any(reason) AS example,
    arraySort(groupUniqArray(source_topic)) AS topics
FROM v_dead_letters
GROUP BY stage, error_type, failure
ORDER BY records DESC
LIMIT 20
