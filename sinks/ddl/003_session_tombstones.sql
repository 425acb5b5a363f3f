-- Version 3: analysts do not see retired sessions.
--
-- The journey stage retires a session id when a late event or an identity merge folds it into
-- another session: it republishes the id with a higher version, event_count 0 and closed = true
-- (a tombstone). ReplacingMergeTree keeps that last version, so the view filters it out; the rows
-- stay in the table as the record of what was published.
CREATE OR REPLACE VIEW v_sessions AS
SELECT
    s.* EXCEPT (inserted_at) REPLACE (if(a.person_id = '', s.person_id, a.survivor_person_id) AS person_id),
    s.person_id AS session_person_id
FROM sessions AS s FINAL
LEFT JOIN v_person_aliases AS a ON a.person_id = s.person_id
WHERE s.event_count > 0;
