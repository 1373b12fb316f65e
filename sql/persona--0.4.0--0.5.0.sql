-- persona 0.4.0 -> 0.5.0: predictive models an analyst can trust.
-- Complain if sourced in psql rather than run by ALTER EXTENSION.
\echo Use "ALTER EXTENSION persona UPDATE TO '0.5.0'" to load this file. \quit

-- Only new objects, added attributes and CREATE OR REPLACE of unchanged
-- signatures, so views, indexes and materialized views over persona survive
-- the update.

------------------------------------------------------------------------
-- L. Warm starts (fits that begin at a previous fit's parameters), used by
-- incremental profile refreshes
------------------------------------------------------------------------

CREATE FUNCTION persona.btyd_fit_transfn(internal, float8, float8, float8, float8, float8, persona.bgnbd) RETURNS internal
AS 'MODULE_PATHNAME', 'btyd_fit_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION persona.btyd_fit_transfn(internal, float8, float8, float8, float8, float8, persona.pareto_nbd) RETURNS internal
AS 'MODULE_PATHNAME', 'btyd_fit_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION persona.gamma_gamma_transfn(internal, float8, float8, float8, persona.gamma_gamma) RETURNS internal
AS 'MODULE_PATHNAME', 'gamma_gamma_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION persona.btyd_fit_transfn(internal, float8, float8, float8, float8, float8, persona.bgnbd) IS 'transition function of persona.bgnbd_fit with a start model';
COMMENT ON FUNCTION persona.btyd_fit_transfn(internal, float8, float8, float8, float8, float8, persona.pareto_nbd) IS 'transition function of persona.pareto_nbd_fit with a start model';
COMMENT ON FUNCTION persona.gamma_gamma_transfn(internal, float8, float8, float8, persona.gamma_gamma) IS 'transition function of persona.gamma_gamma_fit with a start model';
CREATE AGGREGATE persona.bgnbd_fit(x float8, t_x float8, t_cal float8, weight float8, penalty float8, start persona.bgnbd) (
    SFUNC = persona.btyd_fit_transfn, STYPE = internal, FINALFUNC = persona.bgnbd_finalfn,
    COMBINEFUNC = persona.fit_combinefn, SERIALFUNC = persona.fit_serialfn,
    DESERIALFUNC = persona.fit_deserialfn, SSPACE = 82088, PARALLEL = SAFE);
CREATE AGGREGATE persona.pareto_nbd_fit(x float8, t_x float8, t_cal float8, weight float8, penalty float8, start persona.pareto_nbd) (
    SFUNC = persona.btyd_fit_transfn, STYPE = internal, FINALFUNC = persona.pareto_nbd_finalfn,
    COMBINEFUNC = persona.fit_combinefn, SERIALFUNC = persona.fit_serialfn,
    DESERIALFUNC = persona.fit_deserialfn, SSPACE = 82088, PARALLEL = SAFE);
CREATE AGGREGATE persona.gamma_gamma_fit(x float8, mean_spend float8, penalty float8, start persona.gamma_gamma) (
    SFUNC = persona.gamma_gamma_transfn, STYPE = internal, FINALFUNC = persona.gamma_gamma_finalfn,
    COMBINEFUNC = persona.fit_combinefn, SERIALFUNC = persona.fit_serialfn,
    DESERIALFUNC = persona.fit_deserialfn, SSPACE = 82088, PARALLEL = SAFE);
COMMENT ON AGGREGATE persona.bgnbd_fit(float8, float8, float8, float8, float8, persona.bgnbd) IS
  'BG/NBD fit with weights and penalty whose search starts at a previous fit''s parameters (a warm start; NULL start: the default start)';
COMMENT ON AGGREGATE persona.pareto_nbd_fit(float8, float8, float8, float8, float8, persona.pareto_nbd) IS
  'Pareto/NBD fit with weights and penalty whose search starts at a previous fit''s parameters (a warm start; NULL start: the default start)';
COMMENT ON AGGREGATE persona.gamma_gamma_fit(float8, float8, float8, persona.gamma_gamma) IS
  'Gamma-Gamma fit with a penalty whose search starts at a previous fit''s parameters (a warm start; NULL start: the default start)';


DROP FUNCTION persona.profile_globals_sql(persona.profiles, text, text, boolean);

CREATE OR REPLACE FUNCTION persona.profile_progress(message text) RETURNS void
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
BEGIN
    -- missing_ok: a session that has not loaded the library has no such setting yet
    IF coalesce(current_setting('persona.progress', true), 'on')::boolean THEN
        RAISE NOTICE '%', message;
    END IF;
END $$;
COMMENT ON FUNCTION persona.profile_progress(text) IS
  'A NOTICE with a step of create_profile or refresh_profile, unless persona.progress is off';

CREATE FUNCTION persona.profile_globals_sql(p persona.profiles, src text, as_of_sql text, models boolean,
                                            start_sql text DEFAULT NULL) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN format($q$SELECT a.as_of, %3$L::text AS time_zone, %4$L::text AS language,
       x.breaks, x.tiers[1] AS gold_min, x.tiers[2] AS diamond_min, x.bgnbd, x.gamma_gamma
FROM (SELECT %6$s AS as_of) a
CROSS JOIN LATERAL (
    SELECT persona.rfm_breaks((a.as_of - s.last_order_on)::float8, s.orders::float8, s.revenue::float8, %5$s) AS breaks,
           percentile_cont(ARRAY[0.80, 0.95]) WITHIN GROUP (ORDER BY s.revenue::float8) AS tiers,
           %2$s
    FROM %1$s s WHERE s.orders > 0) x$q$,
    src,
    CASE WHEN models THEN format($m$persona.bgnbd_fit(s.purchase_days - 1, (s.last_order_on - s.first_order_on) / 7.0,
                             (a.as_of - s.first_order_on) / 7.0, 1, 0, %1$s)
               FILTER (WHERE s.first_order_on < a.as_of) AS bgnbd,
           persona.gamma_gamma_fit(s.purchase_days - 1, s.repeat_revenue::float8 / nullif(s.purchase_days - 1, 0), 0, %2$s)
               FILTER (WHERE s.purchase_days > 1 AND s.repeat_revenue > 0) AS gamma_gamma$m$,
               CASE WHEN start_sql IS NULL THEN 'NULL::persona.bgnbd' ELSE format('(SELECT st.bgnbd FROM %s st)', start_sql) END,
               CASE WHEN start_sql IS NULL THEN 'NULL::persona.gamma_gamma' ELSE format('(SELECT st.gamma_gamma FROM %s st)', start_sql) END)
         ELSE 'NULL::persona.bgnbd AS bgnbd, NULL::persona.gamma_gamma AS gamma_gamma' END,
    p.time_zone, p.language, p.bins, as_of_sql);
COMMENT ON FUNCTION persona.profile_globals_sql(persona.profiles, text, text, boolean, text) IS
  'SQL of a profile''s one row of cut points, value-tier thresholds and model fits over its state rows (fits started at a previous globals row''s when given)';

CREATE OR REPLACE FUNCTION persona.profile_build(p persona.profiles) RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE AS $$
DECLARE
    state_rel text := persona.profile_rel(p, '__state');
    globals_rel text := persona.profile_rel(p, '__globals');
    scored_rel text := persona.profile_rel(p, '__scored');
    as_of_sql text := persona.profile_as_of_sql(p);
    invoker text := CASE WHEN p.materialized THEN '' ELSE ' WITH (security_invoker)' END;
    part text;
    guard text := format('persona.profile_guard(%L::regclass, %L, %L)', p.orders::text, p.name, p.materialized);
    key_sql text;
    o text := p.orders::text;
BEGIN
    IF p.materialized THEN
        EXECUTE format('CREATE TABLE %s AS %s WITH NO DATA', state_rel,
                       persona.profile_decode_sql(p, persona.profile_states_sql(p, as_of_sql, 'false'), as_of_sql));
        EXECUTE format('ALTER TABLE %s ADD PRIMARY KEY (customer_id)', state_rel);
        EXECUTE format('COMMENT ON TABLE %s IS %L', state_rel,
                       format('persona profile %s (internal): one row per customer, statistics that do not depend on the as-of day and the aggregate states that refreshes merge', p.name));
        EXECUTE format('CREATE TABLE %s AS %s WITH NO DATA', globals_rel,
                       persona.profile_globals_sql(p, state_rel, as_of_sql, true));
        EXECUTE format('ALTER TABLE %s ADD COLUMN needs_full boolean NOT NULL DEFAULT false', globals_rel);
        EXECUTE format('COMMENT ON TABLE %s IS %L', globals_rel,
                       format('persona profile %s (internal): as-of day, RFM cut points, value-tier thresholds and model fits of the last refresh', p.name));
        IF p.incremental THEN
            EXECUTE format('CREATE TABLE %s AS SELECT o.%I AS customer_id, %s AS ordered_at, o.%I::numeric AS amount FROM %s o WITH NO DATA',
                           persona.profile_rel(p, '__pending'), p.customer_col, persona.profile_time_sql(p, 'o.'), p.amount_col, o);
            EXECUTE format('COMMENT ON TABLE %s IS %L', persona.profile_rel(p, '__pending'),
                           format('persona profile %s (internal): orders inserted since the last refresh, merged by the next incremental refresh', p.name));
            EXECUTE format('CREATE TABLE %s AS SELECT o.%I AS customer_id FROM %s o WITH NO DATA',
                           persona.profile_rel(p, '__dirty'), p.customer_col, o);
            EXECUTE format('ALTER TABLE %s ADD PRIMARY KEY (customer_id)', persona.profile_rel(p, '__dirty'));
            EXECUTE format('COMMENT ON TABLE %s IS %L', persona.profile_rel(p, '__dirty'),
                           format('persona profile %s (internal): customers whose orders were updated or deleted since the last refresh', p.name));
            PERFORM persona.profile_capture_triggers(p);
        END IF;
    ELSE
        EXECUTE format('CREATE VIEW %s WITH (security_invoker) AS %s', state_rel,
                       persona.profile_decode_sql(p, persona.profile_states_sql(p, as_of_sql, NULL), as_of_sql));
        EXECUTE format('CREATE VIEW %s WITH (security_invoker) AS %s', globals_rel,
                       persona.profile_globals_sql(p, state_rel, as_of_sql, 'models' = ANY (p.parts)));
        EXECUTE format('COMMENT ON VIEW %s IS %L', state_rel, format('persona profile %s (internal): per-customer statistics computed from orders', p.name));
        EXECUTE format('COMMENT ON VIEW %s IS %L', globals_rel, format('persona profile %s (internal): as-of day, cut points and fits computed from orders', p.name));
    END IF;
    EXECUTE format('CREATE VIEW %s%s AS %s', scored_rel, invoker, persona.profile_scored_sql(p, state_rel, globals_rel));
    EXECUTE format('COMMENT ON VIEW %s IS %L', scored_rel, format('persona profile %s (internal): per-customer measures as of the as-of day', p.name));
    PERFORM persona.profile_customers_view(p);
    IF 'customer_tags' = ANY (p.parts) THEN
        EXECUTE format($q$CREATE VIEW %s WITH (security_barrier%s) AS
SELECT c.customer_id, t.tag, r.layer::text AS layer, r.description
FROM %s c CROSS JOIN LATERAL unnest(c.tags) t(tag)
LEFT JOIN persona.tag_rules r ON r.source = %L::regclass AND r.tag = t.tag$q$,
            persona.profile_rel(p, '_customer_tags'), CASE WHEN p.materialized THEN '' ELSE ', security_invoker' END,
            persona.profile_rel(p, '_customers'), persona.profile_rel(p, '_customers'));
        EXECUTE format('COMMENT ON VIEW %s IS %L', persona.profile_rel(p, '_customer_tags'),
                       format('persona profile %s: one row per customer and tag', p.name));
    END IF;
    FOREACH part IN ARRAY p.parts LOOP
        CONTINUE WHEN part = 'customer_tags';
        IF p.materialized AND part <> 'models' THEN
            EXECUTE format('CREATE MATERIALIZED VIEW %s AS %s WITH NO DATA',
                           persona.profile_rel(p, '__' || part), persona.profile_summary_sql(p, part));
            EXECUTE format('CREATE UNIQUE INDEX ON %s (%s)', persona.profile_rel(p, '__' || part), persona.profile_summary_key(part));
            EXECUTE format('COMMENT ON MATERIALIZED VIEW %s IS %L', persona.profile_rel(p, '__' || part),
                           format('persona profile %s (internal): stored %s summary, refreshed concurrently', p.name, part));
            EXECUTE format('CREATE VIEW %s WITH (security_barrier) AS SELECT * FROM %s WHERE %s',
                           persona.profile_rel(p, '_' || part), persona.profile_rel(p, '__' || part), guard);
        ELSE
            EXECUTE format('CREATE VIEW %s WITH (security_barrier%s) AS SELECT * FROM (%s) s WHERE %s',
                           persona.profile_rel(p, '_' || part), CASE WHEN p.materialized THEN '' ELSE ', security_invoker' END,
                           persona.profile_summary_sql(p, part), guard);
        END IF;
        EXECUTE format('COMMENT ON VIEW %s IS %L', persona.profile_rel(p, '_' || part),
                       format('persona profile %s: %s summary (built-in types only)', p.name, part));
    END LOOP;
    -- The internal relations are read through the views only.
    FOR part IN SELECT c.oid::regclass::text FROM pg_class c
                WHERE c.relnamespace = p.schema_name::regnamespace AND c.relkind IN ('r', 'v', 'm') AND c.relname LIKE p.name || '\_\_%' LOOP
        EXECUTE format('REVOKE ALL ON %s FROM PUBLIC', part);
    END LOOP;
END $$;
COMMENT ON FUNCTION persona.profile_build(persona.profiles) IS
  'Create the relations of a profile from its registry row (no data)';

CREATE OR REPLACE FUNCTION persona.profile_refresh_run(profile text, incremental boolean)
RETURNS TABLE (name text, refresh text, as_of date, customers bigint, changed bigint, milliseconds double precision)
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE AS $$
DECLARE
    p persona.profiles := persona.profile_get(profile);
    started timestamptz := clock_timestamp();
    step timestamptz;
    state_rel text := persona.profile_rel(p, '__state');
    globals_rel text := persona.profile_rel(p, '__globals');
    pending_rel text := persona.profile_rel(p, '__pending');
    dirty_rel text := persona.profile_rel(p, '__dirty');
    day date;
    day_sql text;
    kind text;
    n bigint := 0;
    m bigint;
    part text;
    cols text;
    excluded_cols text;
    populated boolean;
    old_zone text := current_setting('TimeZone');
    old_work_mem text := current_setting('work_mem');
    small text;
    needs_full boolean;
BEGIN
    IF NOT p.materialized THEN
        PERFORM persona.profile_customers_view(p);
        RETURN QUERY SELECT p.name, 'views'::text, NULL::date, NULL::bigint, 0::bigint,
                            extract(epoch FROM clock_timestamp() - started)::float8 * 1000;
        RETURN;
    END IF;
    IF incremental AND NOT p.incremental THEN
        RAISE EXCEPTION 'profile "%" was created without incremental => true', p.name
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Refresh it fully, or drop it and create it with incremental => true.';
    END IF;
    -- one refresh of a profile at a time
    PERFORM pg_advisory_xact_lock(hashtext('persona.profile'), hashtext(p.name));
    PERFORM persona.profile_check_sources(p);
    -- The changes recorded so far are what this refresh merges: writers of
    -- orders (their triggers insert here) wait until it commits, so no
    -- change lands between its statements.  Readers are never blocked.
    IF p.incremental THEN
        EXECUTE format('LOCK TABLE %s, %s IN EXCLUSIVE MODE', pending_rel, dirty_rel);
    END IF;
    -- session-zone functions used by a part (holdout) and the as-of day follow the profile
    PERFORM set_config('TimeZone', p.time_zone, true);
    day := coalesce(p.as_of, (now() AT TIME ZONE p.time_zone)::date);
    day_sql := format('%L::date', day);
    kind := CASE WHEN coalesce(incremental, p.incremental) THEN 'incremental' ELSE 'full' END;
    IF kind = 'incremental' THEN
        EXECUTE format('SELECT coalesce(bool_or(needs_full), true) FROM %s', globals_rel) INTO STRICT needs_full;
        IF needs_full OR p.refreshed_as_of IS NULL OR day < p.refreshed_as_of THEN
            kind := 'full';
        END IF;
    END IF;
    cols := (SELECT string_agg(format('%I', a.attname), ', ' ORDER BY a.attnum) FROM pg_attribute a
             WHERE a.attrelid = state_rel::regclass AND a.attnum > 0 AND NOT a.attisdropped);
    excluded_cols := (SELECT string_agg('excluded.' || x, ', ') FROM unnest(string_to_array(cols, ', ')) x);
    step := clock_timestamp();
    IF kind = 'full' THEN
        -- the new states, then only the customers whose states differ are
        -- decoded and written: a daily full refresh rewrites few rows
        EXECUTE format('CREATE TEMP TABLE persona_profile_new ON COMMIT DROP AS %s',
                       persona.profile_states_sql(p, day_sql, NULL));
        EXECUTE format('DELETE FROM %s s WHERE NOT EXISTS (SELECT FROM pg_temp.persona_profile_new n WHERE n.k = s.customer_id)', state_rel);
        GET DIAGNOSTICS n = ROW_COUNT;
        EXECUTE format('INSERT INTO %1$s AS s %2$s
                        ON CONFLICT (customer_id) DO UPDATE SET (%3$s) = (SELECT %4$s)',
                       state_rel,
                       persona.profile_decode_sql(p, format('(SELECT n.* FROM pg_temp.persona_profile_new n LEFT JOIN %s s ON s.customer_id = n.k
                                                             WHERE s.customer_id IS NULL OR s.stats_state IS DISTINCT FROM n.st
                                                                OR s.habits_state IS DISTINCT FROM n.hb)', state_rel), day_sql),
                       cols, excluded_cols);
        GET DIAGNOSTICS m = ROW_COUNT;
        n := n + m;
        DROP TABLE pg_temp.persona_profile_new;
        IF p.incremental THEN
            EXECUTE format('TRUNCATE %s, %s', pending_rel, dirty_rel);
            -- orders after the as-of day wait in pending for the day they belong to
            EXECUTE format('INSERT INTO %s SELECT o.%I, %s, o.%I::numeric FROM %s o WHERE o.%I IS NOT NULL AND %s >= %s',
                           pending_rel, p.customer_col, persona.profile_time_sql(p, 'o.'), p.amount_col, p.orders,
                           p.customer_col, persona.profile_time_sql(p, 'o.'), persona.profile_day_end(p, day_sql));
        END IF;
    ELSE
        -- customers with updated or deleted orders: recomputed from orders
        EXECUTE format('DELETE FROM %s s USING %s d WHERE s.customer_id = d.customer_id', state_rel, dirty_rel);
        EXECUTE format('INSERT INTO %s %s', state_rel,
                       persona.profile_decode_sql(p, persona.profile_states_sql(p, day_sql,
                           format('o.%I IN (SELECT customer_id FROM %s)', p.customer_col, dirty_rel)), day_sql));
        GET DIAGNOSTICS n = ROW_COUNT;
        EXECUTE format('DELETE FROM %s q USING %s d WHERE q.customer_id = d.customer_id AND q.ordered_at < %s',
                       pending_rel, dirty_rel, persona.profile_day_end(p, day_sql));
        EXECUTE format('TRUNCATE %s', dirty_rel);
        -- inserted orders: their states merged into the customers' states
        EXECUTE format($q$INSERT INTO %1$s AS s %2$s
                        ON CONFLICT (customer_id) DO UPDATE SET (%5$s) = (SELECT %6$s)$q$,
                       state_rel,
                       persona.profile_decode_sql(p, format($d$(SELECT u.k, persona.order_stats_merge(u.st) AS st, persona.habits_merge(u.hb) AS hb
  FROM (SELECT q.customer_id AS k, persona.order_stats_state(q.ordered_at, q.amount, %1$L) AS st,
               persona.habits_state(q.ordered_at, %1$L) FILTER (WHERE q.amount IS NULL OR q.amount >= 0) AS hb
        FROM %2$s q WHERE q.ordered_at < %3$s GROUP BY q.customer_id
        UNION ALL
        SELECT s.customer_id, s.stats_state, s.habits_state FROM %4$s s
        WHERE s.customer_id IN (SELECT q.customer_id FROM %2$s q WHERE q.ordered_at < %3$s)) u
  GROUP BY u.k)$d$, p.time_zone, pending_rel, persona.profile_day_end(p, day_sql), state_rel), day_sql),
                       NULL, NULL, cols, excluded_cols);
        GET DIAGNOSTICS m = ROW_COUNT;
        n := n + m;
        EXECUTE format('DELETE FROM %s q WHERE q.ordered_at < %s', pending_rel, persona.profile_day_end(p, day_sql));
    END IF;
    PERFORM persona.profile_progress(format('persona profile %s: %s refresh as of %s, %s customers changed (%s ms)',
                                            p.name, kind, day, n, round(extract(epoch FROM clock_timestamp() - step) * 1000)));
    PERFORM persona.profile_customers_view(p);
    -- Nothing merged and the same day: the globals and summaries would come
    -- out as they are (a frequent schedule with no new orders costs little).
    IF kind = 'incremental' AND n = 0 AND day = p.refreshed_as_of THEN
        PERFORM persona.profile_progress(format('persona profile %s: no changes to merge', p.name));
    ELSE
    -- globals from the per-customer rows; an incremental refresh starts
    -- the fits from the previous ones
    step := clock_timestamp();
    IF kind = 'incremental' THEN
        EXECUTE format('CREATE TEMP TABLE persona_profile_start ON COMMIT DROP AS SELECT bgnbd, gamma_gamma FROM %s', globals_rel);
    END IF;
    EXECUTE format('DELETE FROM %s', globals_rel);
    BEGIN
        EXECUTE format('INSERT INTO %s %s', globals_rel, persona.profile_globals_sql(p, state_rel, day_sql, 'models' = ANY (p.parts),
                           CASE WHEN kind = 'incremental' THEN 'pg_temp.persona_profile_start' END));
    EXCEPTION WHEN invalid_parameter_value OR numeric_value_out_of_range OR data_exception THEN
        RAISE WARNING 'persona profile %: the models could not be fitted: %', p.name, SQLERRM
            USING HINT = 'P(alive), expected purchases and CLV are NULL until a refresh fits them.';
        EXECUTE format('INSERT INTO %s %s', globals_rel, persona.profile_globals_sql(p, state_rel, day_sql, false));
    END;
    IF kind = 'incremental' THEN
        DROP TABLE pg_temp.persona_profile_start;
    END IF;
    PERFORM persona.profile_progress(format('persona profile %s: cut points and models (%s ms)',
                                            p.name, round(extract(epoch FROM clock_timestamp() - step) * 1000)));
    FOREACH part IN ARRAY p.parts LOOP
        CONTINUE WHEN part IN ('customer_tags', 'models');
        -- data quality describes the orders table: a scan of all of it, done
        -- by full refreshes only (checked_at says when)
        populated := (SELECT relispopulated FROM pg_class WHERE oid = persona.profile_rel(p, '__' || part)::regclass);
        CONTINUE WHEN part = 'quality' AND kind = 'incremental' AND populated;
        step := clock_timestamp();
        IF part = 'quality' THEN
            -- data_quality's one pass holds ~48 bytes an order within
            -- work_mem, else it takes a query many times slower: give this
            -- step what the table needs (at most 1 GB), then set it back.
            PERFORM set_config('work_mem', greatest(pg_size_bytes(old_work_mem),
                least(1024 * 1024 * 1024, 48 * greatest((SELECT reltuples FROM pg_class WHERE oid = p.orders), 0)::bigint + 1024 * 1024)) / 1024 || 'kB', true);
        END IF;
        IF populated THEN
            EXECUTE format('REFRESH MATERIALIZED VIEW CONCURRENTLY %s', persona.profile_rel(p, '__' || part));
        ELSE
            EXECUTE format('REFRESH MATERIALIZED VIEW %s', persona.profile_rel(p, '__' || part));
        END IF;
        PERFORM set_config('work_mem', old_work_mem, true);
        PERFORM persona.profile_progress(format('persona profile %s: %s (%s ms)',
                                                p.name, part, round(extract(epoch FROM clock_timestamp() - step) * 1000)));
    END LOOP;
    END IF;
    IF 'segments' = ANY (p.parts) THEN
        -- seed 003: five to eight segments, each at least 5% of the customers
        EXECUTE format($q$SELECT string_agg(format('%%s (%%s%%%%)', segment, round(customer_share::numeric * 100, 1)), ', ' ORDER BY customer_share)
                          FROM %s WHERE below_5_percent$q$, persona.profile_rel(p, '__segments')) INTO small;
        IF small IS NOT NULL THEN
            PERFORM persona.profile_progress(format('persona profile %s: segments below 5%% of customers: %s', p.name, small)
                || E'\nHINT:  merge them with a neighbouring segment (a scheme in persona.segment_rules), or use scheme => ''cn8''');
        END IF;
    END IF;
    EXECUTE format('SELECT count(*) FROM %s WHERE orders > 0', state_rel) INTO m;
    PERFORM set_config('TimeZone', old_zone, true);
    UPDATE persona.profiles pr SET refreshed_at = clock_timestamp(), refreshed_as_of = day, refresh_kind = kind,
           refresh_ms = extract(epoch FROM clock_timestamp() - started) * 1000, customers = m,
           last_error = NULL, last_error_at = NULL
    WHERE pr.name = p.name;
    RETURN QUERY SELECT p.name, kind, day, m, n, extract(epoch FROM clock_timestamp() - started)::float8 * 1000;
END $$;
COMMENT ON FUNCTION persona.profile_refresh_run(text, boolean) IS
  'The steps of refresh_profile (called by it)';

-- end of section L
