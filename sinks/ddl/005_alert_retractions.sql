-- Version 5: analysts do not see retracted alerts.
--
-- The journey stage may report a break before the whole story is known: a reservation seen to
-- expire under one person is "not picked up", until an identity merge brings in the store visit
-- that shows it was lost ("missing at the store"). It then publishes the first alert once more
-- with retracted_by = the id of the truer one and a later detected_at, so ReplacingMergeTree
-- keeps the retraction; the view hides it, the table keeps it as the record of what was said.
ALTER TABLE alerts ADD COLUMN IF NOT EXISTS retracted_by Nullable(String) AFTER evidence_event_ids;

CREATE OR REPLACE VIEW v_alerts AS
SELECT
    al.* EXCEPT (inserted_at, retracted_by) REPLACE (if(a.person_id = '', al.person_id, a.survivor_person_id) AS person_id),
    al.person_id AS alert_person_id
FROM alerts AS al FINAL
LEFT JOIN v_person_aliases AS a ON a.person_id = al.person_id
WHERE al.retracted_by IS NULL;
