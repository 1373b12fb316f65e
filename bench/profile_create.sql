-- (r0) create_profile: relations, triggers and the first full refresh
SELECT count(*) FROM persona.create_profile('bench', 'orders', schema => 'public', as_of => '2024-12-31',
                                            time_zone => 'UTC', incremental => true)
