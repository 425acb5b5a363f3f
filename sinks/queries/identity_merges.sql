-- Identity merges per stitching rule: merges, people merged away, survivors, longest alias chain.
SELECT
    ifNull(c.rule, '(none)') AS rule,
    count() AS merges,
    uniqExact(c.person_id) AS merged_away,
    uniqExact(c.final_survivor_person_id) AS survivors,
    max(a.hops) AS longest_chain
FROM v_identity_changes AS c
LEFT JOIN v_person_aliases AS a ON a.person_id = c.person_id
WHERE c.kind = 'merge'
GROUP BY rule
ORDER BY merges DESC
