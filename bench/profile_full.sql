-- (r) a full refresh: every customer's states from orders, the cut points and fits, the summaries
SELECT customers, changed FROM persona.refresh_profile('bench', incremental => false)
