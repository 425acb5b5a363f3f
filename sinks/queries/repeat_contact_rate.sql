-- Repeat-contact rate: share of cases and of customers that contacted again on another channel (alerts), or touched a case on several channels.
WITH pairs AS
(
    SELECT person_id, case_id, max(touch_channels) AS channels, max(alerted) AS repeat_alert
    FROM
    (
        SELECT person_id, assumeNotNull(case_id) AS case_id, uniqExact(channel) AS touch_channels, 0 AS alerted
        FROM v_touchpoints_unified
        WHERE case_id IS NOT NULL AND case_id != ''
        GROUP BY person_id, case_id
        UNION ALL
        SELECT person_id, ifNull(case_id, '') AS case_id, 0 AS touch_channels, 1 AS alerted
        FROM v_alerts
        WHERE kind = 'repeat_contact_other_channel'
    )
    GROUP BY person_id, case_id
)
SELECT
    scope,
    contacted,
    repeat_contact,
    if(contacted = 0, NULL, round(100 * repeat_contact / contacted, 1)) AS repeat_pct,
    multi_channel,
    if(contacted = 0, NULL, round(100 * multi_channel / contacted, 1)) AS multi_channel_pct
FROM
(
    SELECT
        'cases' AS scope,
        countIf(case_id != '') AS contacted,
        countIf(case_id != '' AND repeat_alert = 1) AS repeat_contact,
        countIf(case_id != '' AND channels > 1) AS multi_channel
    FROM pairs
    UNION ALL
    SELECT
        'customers' AS scope,
        uniqExact(person_id) AS contacted,
        uniqExactIf(person_id, repeat_alert = 1) AS repeat_contact,
        uniqExactIf(person_id, channels > 1) AS multi_channel
    FROM pairs
)
ORDER BY scope
