-- Journey funnel: journeys by furthest stage, and how many reached each sales stage or beyond (service and other beside it).
WITH
    ['awareness', 'consideration', 'intent', 'conversion'] AS funnel,
    arrayConcat(funnel, ['service', 'other']) AS stages
SELECT
    step,
    stages[step] AS stage,
    by_stage[stage] AS journeys,
    if(step <= length(funnel), arraySum(arrayMap(s -> by_stage[s], arraySlice(funnel, step))), journeys) AS reached,
    if(total = 0, NULL, round(100 * reached / total, 1)) AS pct_of_journeys,
    if(step BETWEEN 2 AND length(funnel),
       round(100 * reached / nullIf(arraySum(arrayMap(s -> by_stage[s], arraySlice(funnel, step - 1))), 0), 1),
       NULL) AS pct_of_previous
FROM
(
    SELECT mapFromArrays(groupArray(stage), groupArray(n)) AS by_stage, sum(n) AS total
    FROM (SELECT toString(stage) AS stage, count() AS n FROM v_journeys GROUP BY stage)
)
ARRAY JOIN arrayEnumerate(stages) AS step
ORDER BY step
