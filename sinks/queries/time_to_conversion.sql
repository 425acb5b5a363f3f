-- Time to conversion by first-touch channel: journeys, conversions (purchase or pickup), median and p90 hours to the outcome.
SELECT
    first_touch_channel,
    count() AS journeys,
    countIf(is_conversion) AS conversions,
    round(100 * conversions / journeys, 1) AS conversion_pct,
    if(conversions = 0, NULL, round(quantilesExactInclusiveIf(0.5, 0.9)(time_to_outcome_ms, is_conversion)[1] / 3600000, 2)) AS median_h,
    if(conversions = 0, NULL, round(quantilesExactInclusiveIf(0.5, 0.9)(time_to_outcome_ms, is_conversion)[2] / 3600000, 2)) AS p90_h
FROM
(
    SELECT
        first_touch_channel,
        time_to_outcome_ms,
        status IN ('purchase', 'pickup') AND time_to_outcome_ms IS NOT NULL AS is_conversion
    FROM v_journeys
)
GROUP BY first_touch_channel
ORDER BY conversions DESC, journeys DESC, first_touch_channel
