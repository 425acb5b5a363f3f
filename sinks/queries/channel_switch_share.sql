-- Share of journeys that switch channel, overall and by outcome, with the average number of switches.
SELECT
    if(grouping(status) = 1, 'all', toString(status)) AS outcome,
    count() AS journeys,
    countIf(channel_switches > 0) AS switching,
    if(journeys = 0, NULL, round(100 * switching / journeys, 1)) AS switch_pct,
    if(journeys = 0, NULL, round(avg(channel_switches), 2)) AS avg_switches
FROM v_journeys
GROUP BY GROUPING SETS ((), (status))
ORDER BY grouping(status) DESC, journeys DESC, outcome
