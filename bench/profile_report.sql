-- (t) the report of the materialized profile: every section from its views (length only: the page is read, not printed)
SELECT length(persona.profile_report('bench'))
