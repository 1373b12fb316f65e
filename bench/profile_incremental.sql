-- (s) an incremental refresh after 1% new orders: their states merged, cut points, fits and summaries redone
SELECT customers, changed FROM persona.refresh_profile('bench')
