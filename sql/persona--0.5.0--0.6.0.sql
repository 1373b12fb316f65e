-- persona 0.5.0 -> 0.6.0
\echo Use "ALTER EXTENSION persona UPDATE TO '0.6.0'" to load this file. \quit

------------------------------------------------------------------------
-- 7. Weighted rows: multisets of per-customer values kept between refreshes
------------------------------------------------------------------------

-- A multiset of per-customer values as distinct rows with counts: an
-- n x (k + 1) float8[][] of k keys then a weight, in key order.  Changed
-- customers' old values leave with weight -1 and their new values arrive
-- with +1 (weighted_rows), and the functions below give over the rows what
-- the aggregates give over the values themselves: an incremental refresh
-- merges a few rows instead of reading every customer.
CREATE FUNCTION persona.weighted_rows(rows float8[], changes float8[]) RETURNS float8[]
AS 'MODULE_PATHNAME', 'weighted_rows_merge' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION persona.weighted_rows(float8[], float8[]) IS
  'Distinct weighted rows (n x k+1 float8[][]: keys, then a weight > 0, in key order) plus changes (any order, weights negative to remove); equal keys combined, zero weights dropped; NULL: no rows';

CREATE FUNCTION persona.rfm_breaks_from_rows(recency float8[], frequency float8[], monetary float8[], bins integer DEFAULT 5)
RETURNS persona.rfm_breaks
AS 'MODULE_PATHNAME', 'rfm_breaks_from_rows' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION persona.rfm_breaks_from_rows(float8[], float8[], float8[], integer) IS
  'The quantile rfm_breaks of the customers counted by (value, customers) rows of recency days, frequency and monetary (monetary may count fewer: customers without amounts)';

CREATE FUNCTION persona.weighted_percentile_cont(rows float8[], fractions float8[]) RETURNS float8[]
AS 'MODULE_PATHNAME', 'weighted_percentile_cont' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION persona.weighted_percentile_cont(float8[], float8[]) IS
  'percentile_cont(fractions) WITHIN GROUP (ORDER BY value) over (value, count) rows, each value counted count times';

CREATE FUNCTION persona.pareto_from_rows(rows float8[], top_share float8 DEFAULT 0.2, revenue_share float8 DEFAULT 0.8)
RETURNS persona.pareto_summary
AS 'MODULE_PATHNAME', 'pareto_from_rows' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION persona.pareto_from_rows(float8[], float8, float8) IS
  'The pareto aggregate over (amount, customers) rows';

CREATE FUNCTION persona.bgnbd_fit_rows(rows float8[], penalty float8 DEFAULT 0, start persona.bgnbd DEFAULT NULL)
RETURNS persona.bgnbd
AS 'MODULE_PATHNAME', 'bgnbd_fit_rows' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION persona.bgnbd_fit_rows(float8[], float8, persona.bgnbd) IS
  'The BG/NBD fit over (x, t_x, T, weight) rows: what bgnbd_fit(x, t_x, T, weight, penalty, start) gives over the customers they count';

CREATE FUNCTION persona.gamma_gamma_fit_rows(rows float8[], penalty float8 DEFAULT 0, start persona.gamma_gamma DEFAULT NULL)
RETURNS persona.gamma_gamma
AS 'MODULE_PATHNAME', 'gamma_gamma_fit_rows' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION persona.gamma_gamma_fit_rows(float8[], float8, persona.gamma_gamma) IS
  'The Gamma-Gamma fit over (x, mean spend, weight) rows: what gamma_gamma_fit(x, mean_spend, penalty, start) gives over the customers they count';


------------------------------------------------------------------------
-- Profiles: weighted rows in the globals, tallies for segments and lifecycle
------------------------------------------------------------------------

-- The weighted rows of a materialized profile's global parts, kept in its
-- globals row: (last order day as days since 2000-01-01), (orders),
-- (revenue), (x, t_x, T in weeks) and (x, mean repeat spend), each with a
-- count.  This is the SQL of one row of those rows' changes from src, a
-- relation of state columns and a weight column w: the state table with w
-- = 1 (every customer), or a changed customer's old values with w = -1
-- and new values with w = 1.  Its keys are what profile_globals_sql feeds
-- the aggregates, so the globals computed from the rows are the same.
CREATE FUNCTION persona.profile_rows_sql(p persona.profiles, src text, as_of_sql text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN format($q$SELECT array_agg(ARRAY[(s.last_order_on - DATE '2000-01-01')::float8, s.w]) AS r_rows,
       array_agg(ARRAY[s.orders::float8, s.w]) AS f_rows,
       array_agg(ARRAY[s.revenue::float8, s.w]) FILTER (WHERE s.revenue IS NOT NULL) AS m_rows,
       array_agg(ARRAY[(s.purchase_days - 1)::float8, ((s.last_order_on - s.first_order_on) / 7.0)::float8,
                       ((%2$s - s.first_order_on) / 7.0)::float8, s.w])
           FILTER (WHERE %3$s AND s.first_order_on < %2$s) AS bgnbd_rows,
       array_agg(ARRAY[(s.purchase_days - 1)::float8, s.repeat_revenue::float8 / nullif(s.purchase_days - 1, 0), s.w])
           FILTER (WHERE %3$s AND s.purchase_days > 1 AND s.repeat_revenue > 0) AS gamma_gamma_rows
FROM %1$s s WHERE s.orders > 0$q$, src, as_of_sql,
    -- without the models part no fit reads them
    CASE WHEN 'models' = ANY (p.parts) THEN 'true' ELSE 'false' END);
COMMENT ON FUNCTION persona.profile_rows_sql(persona.profiles, text, text) IS
  'SQL of one row of weighted-row changes (r_rows, f_rows, m_rows, bgnbd_rows, gamma_gamma_rows) from state rows with a weight column w';

-- The globals row of a materialized profile from its weighted rows: rows_sql
-- is the SQL of one row with the five rows columns.  The same cut points,
-- thresholds and fits as profile_globals_sql over the customers.
CREATE FUNCTION persona.profile_globals_rows_sql(p persona.profiles, rows_sql text, as_of_sql text, models boolean,
                                                 start_sql text DEFAULT NULL) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN format($q$SELECT a.as_of, %2$L::text AS time_zone, %3$L::text AS language,
       persona.rfm_breaks_from_rows(
           (SELECT array_agg(ARRAY[(a.as_of - DATE '2000-01-01') - w.r_rows[i][1], w.r_rows[i][2]])
            FROM generate_subscripts(w.r_rows, 1) i),
           w.f_rows, w.m_rows, %4$s) AS breaks,
       t.tiers[1] AS gold_min, t.tiers[2] AS diamond_min, %5$s,
       w.r_rows, w.f_rows, w.m_rows, w.bgnbd_rows, w.gamma_gamma_rows
FROM (SELECT %6$s AS as_of) a, (%1$s OFFSET 0) w,
     LATERAL (SELECT persona.weighted_percentile_cont(w.m_rows, ARRAY[0.80, 0.95]) AS tiers) t$q$,
    rows_sql, p.time_zone, p.language, p.bins,
    CASE WHEN models THEN format('persona.bgnbd_fit_rows(w.bgnbd_rows, 0, %s) AS bgnbd, persona.gamma_gamma_fit_rows(w.gamma_gamma_rows, 0, %s) AS gamma_gamma',
               CASE WHEN start_sql IS NULL THEN 'NULL::persona.bgnbd' ELSE format('(SELECT st.bgnbd FROM %s st)', start_sql) END,
               CASE WHEN start_sql IS NULL THEN 'NULL::persona.gamma_gamma' ELSE format('(SELECT st.gamma_gamma FROM %s st)', start_sql) END)
         ELSE 'NULL::persona.bgnbd AS bgnbd, NULL::persona.gamma_gamma AS gamma_gamma' END,
    as_of_sql);
COMMENT ON FUNCTION persona.profile_globals_rows_sql(persona.profiles, text, text, boolean, text) IS
  'SQL of a materialized profile''s globals row (cut points, value-tier thresholds, fits and the weighted rows) from one row of weighted rows';

-- Segments and lifecycle of a materialized profile are stored as tallies
-- (counts and sums per segment or stage) that an incremental refresh
-- corrects: the changed customers' old rows scored as before go out, their
-- new rows scored now come in.  The published columns (shares, averages)
-- are computed from the tallies by the views, as the summaries compute
-- them from the customers.
CREATE FUNCTION persona.profile_tally_sql(p persona.profiles, part text, src text, breaks_sql text, as_of_sql text)
RETURNS text LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN CASE part
WHEN 'segments' THEN format($q$SELECT persona.rfm_segment(persona.rfm_score((%3$s - s.last_order_on)::float8, s.orders::float8,
                                                  s.revenue::float8, %2$s), %4$L, %5$L) AS segment,
       sum(s.w)::bigint AS customers, sum(s.w * s.revenue) AS revenue,
       coalesce(sum(s.w) FILTER (WHERE s.revenue IS NOT NULL), 0)::bigint AS revenue_customers,
       sum(s.w * (%3$s - s.last_order_on))::bigint AS recency_days, sum(s.w * s.orders)::bigint AS orders,
       %3$s AS as_of
FROM %1$s s WHERE s.orders > 0 GROUP BY 1$q$, src, breaks_sql, as_of_sql, p.scheme, p.language)
WHEN 'lifecycle' THEN format($q$SELECT persona.lifecycle_stage(s.first_order_on, s.last_order_on, s.purchase_days::bigint, %2$s,
                               s.mean_gap_days, %3$s, %4$s, %5$s, %6$s, %7$s, %8$s, %9$s)::text AS lifecycle,
       sum(s.w)::bigint AS customers, coalesce(sum(s.w * s.revenue), 0) AS revenue
FROM %1$s s WHERE s.orders > 0 GROUP BY 1$q$, src, as_of_sql,
    p.lifecycle_new_days, p.lifecycle_mature_purchases, p.lifecycle_decline_factor, p.lifecycle_churn_factor,
    p.lifecycle_min_days, p.lifecycle_decline_days, p.lifecycle_churn_days) END;
COMMENT ON FUNCTION persona.profile_tally_sql(persona.profiles, text, text, text, text) IS
  'SQL of the segments or lifecycle tallies of weighted state rows (column w) scored with the given cut points and day';

-- SQL of a profile's segments or lifecycle tallies from every state row,
-- scored with the globals row's cut points and day.
CREATE FUNCTION persona.profile_tally_all_sql(p persona.profiles, part text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN persona.profile_tally_sql(p, part, format('(SELECT s.*, 1 AS w FROM %s s)', persona.profile_rel(p, '__state')),
                                 format('(SELECT g.breaks FROM %s g)', persona.profile_rel(p, '__globals')),
                                 format('(SELECT g.as_of FROM %s g)', persona.profile_rel(p, '__globals')));
COMMENT ON FUNCTION persona.profile_tally_all_sql(persona.profiles, text) IS
  'SQL of a profile''s segments or lifecycle tallies from every state row, with the globals row''s cut points and day';

-- What the tallies depend on besides the customers and the cut points: an
-- incremental refresh corrects them only while it is unchanged.
CREATE FUNCTION persona.profile_tally_digest(p persona.profiles) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
RETURN md5(concat_ws('|', p.scheme, p.language, p.lifecycle_new_days, p.lifecycle_mature_purchases,
                     p.lifecycle_decline_factor, p.lifecycle_churn_factor, p.lifecycle_min_days,
                     p.lifecycle_decline_days, p.lifecycle_churn_days,
                     (SELECT string_agg(r::text, ',' ORDER BY r::text) FROM persona.segment_rules r WHERE r.scheme = p.scheme)));
COMMENT ON FUNCTION persona.profile_tally_digest(persona.profiles) IS
  'Digest of the scheme''s rules, the language and the lifecycle thresholds a profile''s tallies were computed with';

-- SQL condition on state rows s: the customers whose R, F or M score a
-- move of the cut points from old_breaks to new_breaks can change (a
-- little more, never less); NULL when no cut moved.
CREATE FUNCTION persona.profile_crossing_sql(old_breaks persona.rfm_breaks, new_breaks persona.rfm_breaks, as_of date)
RETURNS text LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    o jsonb := old_breaks::text::jsonb;
    n jsonb := new_breaks::text::jsonb;
    conds text[] := '{}';
    d text;
    a float8;
    b float8;
    lo float8;
    hi float8;
    eps float8;
BEGIN
    IF o IS NULL OR n IS NULL OR o -> 'bins' IS DISTINCT FROM n -> 'bins' THEN
        RETURN 'true';
    END IF;
    FOREACH d IN ARRAY ARRAY['r', 'f', 'm'] LOOP
        FOR k IN 0 .. jsonb_array_length(o -> d) - 1 LOOP
            CONTINUE WHEN (o -> d -> k) = (n -> d -> k);
            -- NULL: no value reaches the cut; then every value beyond the other cut
            a := (o -> d ->> k)::float8;
            b := (n -> d ->> k)::float8;
            lo := least(a, b);
            hi := CASE WHEN a IS NULL OR b IS NULL THEN NULL ELSE greatest(a, b) END;
            eps := 1e-9 * greatest(1, abs(lo), abs(coalesce(hi, 0)));
            conds := conds || CASE d
                WHEN 'r' THEN CASE WHEN hi IS NULL THEN format('s.last_order_on >= %L::date - %s', as_of, floor(lo))
                                   ELSE format('s.last_order_on BETWEEN %1$L::date - %2$s AND %1$L::date - %3$s', as_of, ceil(hi), floor(lo)) END
                WHEN 'f' THEN CASE WHEN hi IS NULL THEN format('s.orders >= %s', floor(lo))
                                   ELSE format('s.orders BETWEEN %s AND %s', floor(lo), ceil(hi)) END
                ELSE CASE WHEN hi IS NULL THEN format('s.revenue >= %s', (lo - eps)::numeric)
                          ELSE format('s.revenue BETWEEN %s AND %s', (lo - eps)::numeric, (hi + eps)::numeric) END END;
        END LOOP;
    END LOOP;
    RETURN nullif(array_to_string(conds, ' OR '), '');
END $$;
COMMENT ON FUNCTION persona.profile_crossing_sql(persona.rfm_breaks, persona.rfm_breaks, date) IS
  'SQL condition selecting the state rows whose RFM score may change when the cut points move from old_breaks to new_breaks (NULL: none moved)';

-- Recompute (changes NULL) or correct (changes: SQL of the weighted tally
-- rows to add) a profile's segments or lifecycle tallies.
CREATE FUNCTION persona.profile_tally_apply(p persona.profiles, part text, changes text) RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE AS $$
DECLARE
    tally text := persona.profile_rel(p, '__' || part);
    key text := CASE part WHEN 'segments' THEN 'segment' ELSE 'lifecycle' END;
    sums text := CASE part WHEN 'segments' THEN 'sum(customers), sum(revenue), sum(revenue_customers), sum(recency_days), sum(orders), max(as_of)'
                           ELSE 'sum(customers), sum(revenue)' END;
BEGIN
    IF changes IS NULL THEN
        EXECUTE format('DELETE FROM %s', tally);
        EXECUTE format('INSERT INTO %s %s', tally, persona.profile_tally_all_sql(p, part));
        RETURN;
    END IF;
    EXECUTE format('INSERT INTO %s %s', tally, changes);
    EXECUTE format('WITH d AS (DELETE FROM %1$s RETURNING *) INSERT INTO %1$s SELECT %2$I, %3$s FROM d GROUP BY %2$I HAVING sum(customers) <> 0',
                   tally, key, sums);
END $$;
COMMENT ON FUNCTION persona.profile_tally_apply(persona.profiles, text, text) IS
  'Recompute a profile''s segments or lifecycle tallies from its state rows, or add weighted tally rows to them';

-- The published segments and lifecycle summaries from the tallies.
CREATE FUNCTION persona.profile_tally_view_sql(p persona.profiles, part text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN CASE part
WHEN 'segments' THEN format($q$SELECT t.segment, t.customers, t.customers::float8 / sum(t.customers) OVER () AS customer_share,
       v.revenue, (v.revenue / nullif(sum(v.revenue) OVER (), 0))::float8 AS revenue_share,
       (t.recency_days::numeric / t.customers)::float8 AS avg_recency_days,
       (t.orders::numeric / t.customers)::float8 AS avg_orders,
       (v.revenue / nullif(t.revenue_customers, 0))::float8 AS avg_revenue,
       t.customers::float8 / sum(t.customers) OVER () < 0.05 AS below_5_percent,
       t.as_of
FROM %s t, LATERAL (SELECT CASE WHEN t.revenue_customers > 0 THEN t.revenue END AS revenue) v$q$,
    persona.profile_rel(p, '__segments'))
WHEN 'lifecycle' THEN format($q$SELECT st::text AS lifecycle, persona.label(st, %L) AS label,
       array_position(enum_range(NULL::persona.lifecycle), st) AS stage_order,
       coalesce(t.customers, 0) AS customers,
       coalesce(t.customers, 0)::float8 / nullif(sum(coalesce(t.customers, 0)) OVER (), 0) AS customer_share,
       coalesce(t.revenue, 0) AS revenue
FROM unnest(enum_range(NULL::persona.lifecycle)) st LEFT JOIN %s t ON t.lifecycle = st::text$q$,
    p.language, persona.profile_rel(p, '__lifecycle')) END;
COMMENT ON FUNCTION persona.profile_tally_view_sql(persona.profiles, text) IS
  'SQL of a materialized profile''s published segments or lifecycle summary from its tallies';

-- The weighted-rows columns of a materialized profile's globals table,
-- stored uncompressed: they are rewritten by every refresh, and sorted
-- float8 rows gain little from compression but cost its time.
CREATE FUNCTION persona.profile_rows_columns(p persona.profiles) RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE AS $$
DECLARE
    col text;
BEGIN
    FOREACH col IN ARRAY ARRAY['r_rows', 'f_rows', 'm_rows', 'bgnbd_rows', 'gamma_gamma_rows'] LOOP
        EXECUTE format('ALTER TABLE %s ADD COLUMN IF NOT EXISTS %I float8[], ALTER COLUMN %I SET STORAGE EXTERNAL',
                       persona.profile_rel(p, '__globals'), col, col);
    END LOOP;
    -- what the segments and lifecycle tallies were computed with (profile_tally_digest)
    EXECUTE format('ALTER TABLE %s ADD COLUMN IF NOT EXISTS tally_digest text', persona.profile_rel(p, '__globals'));
END $$;
COMMENT ON FUNCTION persona.profile_rows_columns(persona.profiles) IS
  'Add the weighted-rows columns (r_rows, f_rows, m_rows, bgnbd_rows, gamma_gamma_rows) and tally_digest to a materialized profile''s globals table';

-- SQL of one row of weighted rows: base (SQL of a row with the rows
-- columns, e.g. the previous globals row; NULL: none) plus changes_sql.
CREATE FUNCTION persona.profile_rows_merge_sql(base text, changes_sql text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN format($q$SELECT persona.weighted_rows(b.r_rows, c.r_rows) AS r_rows,
       persona.weighted_rows(b.f_rows, c.f_rows) AS f_rows,
       persona.weighted_rows(b.m_rows, c.m_rows) AS m_rows,
       persona.weighted_rows(b.bgnbd_rows, c.bgnbd_rows) AS bgnbd_rows,
       persona.weighted_rows(b.gamma_gamma_rows, c.gamma_gamma_rows) AS gamma_gamma_rows
FROM (%s) c, %s b$q$, changes_sql,
    coalesce(base, '(SELECT NULL::float8[] AS r_rows, NULL::float8[] AS f_rows, NULL::float8[] AS m_rows, NULL::float8[] AS bgnbd_rows, NULL::float8[] AS gamma_gamma_rows)'));
COMMENT ON FUNCTION persona.profile_rows_merge_sql(text, text) IS
  'SQL of one row of weighted rows: a base row''s rows (NULL: none) with changes merged';

-- The tallies table of a materialized profile's segments or lifecycle
-- (empty) and its published view (created, or replaced with the same
-- columns so that views over it survive).
CREATE FUNCTION persona.profile_create_tally(p persona.profiles, part text) RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE AS $$
DECLARE
    tally text := persona.profile_rel(p, '__' || part);
BEGIN
    EXECUTE format('CREATE TABLE %s AS %s WITH NO DATA', tally, persona.profile_tally_all_sql(p, part));
    EXECUTE format('COMMENT ON TABLE %s IS %L', tally,
                   format('persona profile %s (internal): %s tallies (customers and sums), corrected by incremental refreshes', p.name, part));
    EXECUTE format('CREATE OR REPLACE VIEW %s WITH (security_barrier) AS SELECT * FROM (%s) s WHERE persona.profile_guard(%L::regclass, %L, %L)',
                   persona.profile_rel(p, '_' || part), persona.profile_tally_view_sql(p, part), p.orders::text, p.name, p.materialized);
END $$;
COMMENT ON FUNCTION persona.profile_create_tally(persona.profiles, text) IS
  'Create a materialized profile''s segments or lifecycle tallies table and its published view';

-- A materialized profile created by persona 0.5.0 or earlier, brought to
-- the layout of this version by its first refresh after the update (an
-- extension script cannot do it: what it creates would belong to the
-- extension): the globals gain the weighted rows, segments and lifecycle
-- become tallies, pareto reads the revenue rows.  The published views keep
-- their columns (CREATE OR REPLACE), so views of users over them survive.
-- Nothing to do for a profile of this version.
CREATE FUNCTION persona.profile_upgrade_layout(p persona.profiles) RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE AS $$
DECLARE
    part text;
    rel text;
    guard text := format('persona.profile_guard(%L::regclass, %L, %L)', p.orders::text, p.name, p.materialized);
BEGIN
    IF NOT p.materialized THEN
        RETURN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = persona.profile_rel(p, '__globals')::regclass
                                                AND a.attname = 'r_rows' AND NOT a.attisdropped) THEN
        -- without rows the next refresh computes them (and the tallies) from the state rows
        PERFORM persona.profile_rows_columns(p);
        IF p.incremental THEN
            EXECUTE format('ALTER TABLE %s SET (fillfactor = 85)', persona.profile_rel(p, '__state'));
        END IF;
    END IF;
    FOREACH part IN ARRAY p.parts LOOP
        CONTINUE WHEN part NOT IN ('segments', 'lifecycle', 'pareto');
        rel := persona.profile_rel(p, '__' || part);
        CONTINUE WHEN (SELECT c.relkind FROM pg_class c WHERE c.oid = rel::regclass) = 'r'
                   OR (part = 'pareto' AND position('pareto_from_rows' IN pg_get_viewdef(rel::regclass)) > 0);
        EXECUTE format('ALTER MATERIALIZED VIEW %s RENAME TO %I', rel, p.name || '__' || part || '_old');
        IF part = 'pareto' THEN
            EXECUTE format('CREATE MATERIALIZED VIEW %s AS %s WITH NO DATA', rel, persona.profile_summary_sql(p, part));
            EXECUTE format('CREATE UNIQUE INDEX ON %s (%s)', rel, persona.profile_summary_key(part));
            EXECUTE format('COMMENT ON MATERIALIZED VIEW %s IS %L', rel,
                           format('persona profile %s (internal): stored %s summary, refreshed concurrently', p.name, part));
            EXECUTE format('CREATE OR REPLACE VIEW %s WITH (security_barrier) AS SELECT * FROM %s WHERE %s',
                           persona.profile_rel(p, '_' || part), rel, guard);
        ELSE
            PERFORM persona.profile_create_tally(p, part);
        END IF;
        EXECUTE format('DROP MATERIALIZED VIEW %s', persona.profile_rel(p, '__' || part || '_old'));
        EXECUTE format('REVOKE ALL ON %s FROM PUBLIC', rel);
    END LOOP;
END $$;
COMMENT ON FUNCTION persona.profile_upgrade_layout(persona.profiles) IS
  'Bring a materialized profile of persona 0.5.0 or earlier to this version''s relations (run by its next refresh)';

-- Drop the session's temporary tables of these names (a refresh run twice
-- in one transaction creates them again).
CREATE FUNCTION persona.profile_drop_temp(tables text[]) RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE AS $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY tables LOOP
        IF to_regclass('pg_temp.' || quote_ident(t)) IS NOT NULL THEN
            EXECUTE format('DROP TABLE pg_temp.%I', t);
        END IF;
    END LOOP;
END $$;
COMMENT ON FUNCTION persona.profile_drop_temp(text[]) IS
  'Drop the temporary tables of these names that the session has';

-- Refresh in dependency order: per-customer states, then the globals row
-- computed from them, then the materialized summaries (concurrently, so
-- readers are never blocked).  One transaction: readers see the old profile
-- or the new one.
-- Write a materialized profile's globals row.  changes_sql: SQL of the
-- changed customers' old (w = -1) and new (w = 1) state values, which
-- correct the previous row's weighted rows; NULL: the rows from every
-- state row.  warm: the fits start at the previous row's.  A fit that
-- fails leaves the models NULL (a WARNING says why).
CREATE FUNCTION persona.profile_write_globals(p persona.profiles, day_sql text, changes_sql text, warm boolean)
RETURNS void LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE AS $$
DECLARE
    globals_rel text := persona.profile_rel(p, '__globals');
    cols text := 'as_of, time_zone, language, breaks, gold_min, diamond_min, bgnbd, gamma_gamma, r_rows, f_rows, m_rows, bgnbd_rows, gamma_gamma_rows';
    rows_sql text;
    start_sql text;
    fit boolean;
    merge_rows boolean := changes_sql IS NOT NULL;
BEGIN
    IF merge_rows THEN
        rows_sql := persona.profile_rows_merge_sql('(SELECT g.r_rows, g.f_rows, g.m_rows, g.bgnbd_rows, g.gamma_gamma_rows)',
                                                   persona.profile_rows_sql(p, changes_sql, day_sql));
        start_sql := '(SELECT g.bgnbd, g.gamma_gamma)';
    ELSE
        rows_sql := persona.profile_rows_merge_sql(NULL, persona.profile_rows_sql(p,
            format('(SELECT s.*, 1 AS w FROM %s s)', persona.profile_rel(p, '__state')), day_sql));
        IF warm THEN
            -- the previous fits as literals: the row is replaced
            EXECUTE format('SELECT format(''(SELECT %%L::persona.bgnbd AS bgnbd, %%L::persona.gamma_gamma AS gamma_gamma)'', bgnbd, gamma_gamma) FROM %s',
                           globals_rel) INTO start_sql;
        END IF;
    END IF;
    FOREACH fit IN ARRAY CASE WHEN 'models' = ANY (p.parts) THEN ARRAY[true, false] ELSE ARRAY[false] END LOOP
        BEGIN
            IF merge_rows THEN
                EXECUTE format('UPDATE %s g SET (%s) = (SELECT * FROM (%s) x), needs_full = false', globals_rel, cols,
                               persona.profile_globals_rows_sql(p, rows_sql, day_sql, fit, start_sql));
            ELSE
                EXECUTE format('DELETE FROM %s', globals_rel);
                EXECUTE format('INSERT INTO %s (%s) %s', globals_rel, cols,
                               persona.profile_globals_rows_sql(p, rows_sql, day_sql, fit, start_sql));
            END IF;
            RETURN;
        EXCEPTION WHEN invalid_parameter_value OR numeric_value_out_of_range OR data_exception THEN
            IF NOT fit THEN
                RAISE;
            END IF;
            RAISE WARNING 'persona profile %: the models could not be fitted: %', p.name, SQLERRM
                USING HINT = 'P(alive), expected purchases and CLV are NULL until a refresh fits them.';
        END;
    END LOOP;
END $$;
COMMENT ON FUNCTION persona.profile_write_globals(persona.profiles, text, text, boolean) IS
  'Write a materialized profile''s globals row (cut points, tiers, fits, weighted rows), from corrected rows or from every state row';

-- The summary relations, each a SELECT over the profile's scored view (or,
-- for quality and holdout, over orders).
CREATE OR REPLACE FUNCTION persona.profile_summary_sql(p persona.profiles, part text) RETURNS text
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
    scored text := persona.profile_rel(p, '__scored');
    as_of_sql text := persona.profile_as_of_sql(p);
BEGIN
    CASE part
    WHEN 'segments' THEN RETURN format($q$SELECT c.segment, count(*) AS customers,
       count(*)::float8 / sum(count(*)) OVER () AS customer_share,
       sum(c.revenue) AS revenue,
       (sum(c.revenue) / nullif(sum(sum(c.revenue)) OVER (), 0))::float8 AS revenue_share,
       avg(c.recency_days)::float8 AS avg_recency_days, avg(c.orders)::float8 AS avg_orders,
       avg(c.revenue)::float8 AS avg_revenue,
       count(*)::float8 / sum(count(*)) OVER () < 0.05 AS below_5_percent,
       max(c.as_of) AS as_of
FROM %s c GROUP BY c.segment$q$, scored);
    WHEN 'lifecycle' THEN RETURN format($q$SELECT st::text AS lifecycle, persona.label(st, %L) AS label,
       array_position(enum_range(NULL::persona.lifecycle), st) AS stage_order,
       count(c.customer_id) AS customers,
       count(c.customer_id)::float8 / nullif(sum(count(c.customer_id)) OVER (), 0) AS customer_share,
       coalesce(sum(c.revenue), 0) AS revenue
FROM unnest(enum_range(NULL::persona.lifecycle)) st LEFT JOIN %s c ON c.lifecycle = st::text
GROUP BY st$q$, p.language, scored);
    WHEN 'pareto' THEN RETURN format($q$SELECT %L::text AS profile, (x).customers, (x).revenue, (x).top_share,
       (x).top_revenue_share, (x).revenue_share, (x).customer_share
FROM (%s) q$q$, p.name,
        -- materialized: from the revenue rows the globals keep, the same summary without a read of every customer
        CASE WHEN p.materialized THEN format('SELECT persona.pareto_from_rows(g.m_rows) AS x FROM %s g', persona.profile_rel(p, '__globals'))
             ELSE format('SELECT persona.pareto(c.revenue::float8) AS x FROM %s c', scored) END);
    WHEN 'models' THEN RETURN format($q$SELECT m.model, m.parameter, m.value, m.std_error, m.customers, m.loglik, m.converged,
       m.status, 'weeks'::text AS time_unit, g.as_of
FROM %s g, LATERAL (VALUES
    ('bgnbd', 'r', (g.bgnbd).r, (g.bgnbd).se_r, (g.bgnbd).customers, (g.bgnbd).loglik, (g.bgnbd).converged, (g.bgnbd).status),
    ('bgnbd', 'alpha', (g.bgnbd).alpha, (g.bgnbd).se_alpha, (g.bgnbd).customers, (g.bgnbd).loglik, (g.bgnbd).converged, (g.bgnbd).status),
    ('bgnbd', 'a', (g.bgnbd).a, (g.bgnbd).se_a, (g.bgnbd).customers, (g.bgnbd).loglik, (g.bgnbd).converged, (g.bgnbd).status),
    ('bgnbd', 'b', (g.bgnbd).b, (g.bgnbd).se_b, (g.bgnbd).customers, (g.bgnbd).loglik, (g.bgnbd).converged, (g.bgnbd).status),
    ('gamma_gamma', 'p', (g.gamma_gamma).p, (g.gamma_gamma).se_p, (g.gamma_gamma).customers, (g.gamma_gamma).loglik, (g.gamma_gamma).converged, (g.gamma_gamma).status),
    ('gamma_gamma', 'q', (g.gamma_gamma).q, (g.gamma_gamma).se_q, (g.gamma_gamma).customers, (g.gamma_gamma).loglik, (g.gamma_gamma).converged, (g.gamma_gamma).status),
    ('gamma_gamma', 'v', (g.gamma_gamma).v, (g.gamma_gamma).se_v, (g.gamma_gamma).customers, (g.gamma_gamma).loglik, (g.gamma_gamma).converged, (g.gamma_gamma).status))
    m(model, parameter, value, std_error, customers, loglik, converged, status)
WHERE m.value IS NOT NULL$q$, persona.profile_rel(p, '__globals'));
    WHEN 'quality' THEN RETURN format($q$SELECT q.check_name, q.label, q.rows, q.share, q.treatment, %s AS checked_at
FROM persona.data_quality(%L::regclass, %L, %L, %L, NULL, %L, %s, %L) q$q$,
        -- stored: when the refresh computed it; computed by every read: NULL
        CASE WHEN p.materialized THEN 'now()' ELSE 'NULL::timestamptz' END, p.orders::text, p.customer_col, p.time_col, p.amount_col, p.time_zone,
        persona.profile_day_end(p, as_of_sql), p.language);
    WHEN 'holdout' THEN RETURN format($q$SELECT h.frequency, h.customers, h.predicted, h.actual, h.mae, h.rmse,
       %2$s AS calibration_end_on, %3$s AS holdout_end_on
FROM persona.holdout_by_frequency(%1$L::regclass, (%2$s)::timestamp AT TIME ZONE %4$L, (%3$s)::timestamp AT TIME ZONE %4$L,
                                  'bgnbd', 'weeks', %5$L, %6$L, %7$L) h$q$,
        p.orders::text, format('(%s - %s)', as_of_sql, p.holdout_days), as_of_sql, p.time_zone,
        p.customer_col, p.time_col, p.amount_col);
    WHEN 'funnel' THEN RETURN format($q$SELECT q.stage, q.label, q.stage_order, q.customers, q.reached,
       q.reached::float8 / nullif(lag(q.reached) OVER (ORDER BY q.stage_order), 0) AS conversion
FROM (SELECT st::text AS stage, persona.label(st, %1$L) AS label,
             array_position(enum_range(NULL::persona.funnel), st) AS stage_order,
             count(f.stage) AS customers, sum(count(f.stage)) OVER (ORDER BY st DESC) AS reached
      FROM unnest(enum_range(NULL::persona.funnel)) st
      LEFT JOIN (SELECT persona.funnel_stage(a.%4$I::bigint, a.%5$I::boolean, c.orders, a.%6$I::boolean, a.%7$I::bigint) AS stage
                 FROM %2$s a LEFT JOIN %3$s c ON c.customer_id = a.%8$I) f ON f.stage = st
      GROUP BY st) q$q$, p.language, p.attributes_from::text, scored,
        p.funnel_columns[1], p.funnel_columns[2], p.funnel_columns[3], p.funnel_columns[4], p.customer_col);
    ELSE
        RAISE EXCEPTION 'unknown profile part "%"', part USING ERRCODE = 'invalid_parameter_value';
    END CASE;
END $$;
COMMENT ON FUNCTION persona.profile_summary_sql(persona.profiles, text) IS
  'SQL of one summary relation of a profile (segments, lifecycle, pareto, models, quality, holdout, funnel)';

-- Create (or, with replace, recreate) every relation of a profile but the
-- customers view's tags; no data is computed here.
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
        IF p.incremental THEN
            -- room on each page for the merged rows: their updates stay on
            -- the page (HOT, no new index entry), about twice as fast
            EXECUTE format('ALTER TABLE %s SET (fillfactor = 85)', state_rel);
        END IF;
        EXECUTE format('COMMENT ON TABLE %s IS %L', state_rel,
                       format('persona profile %s (internal): one row per customer, statistics that do not depend on the as-of day and the aggregate states that refreshes merge', p.name));
        EXECUTE format('CREATE TABLE %s AS %s WITH NO DATA', globals_rel,
                       persona.profile_globals_sql(p, state_rel, as_of_sql, true));
        EXECUTE format('ALTER TABLE %s ADD COLUMN needs_full boolean NOT NULL DEFAULT false', globals_rel);
        PERFORM persona.profile_rows_columns(p);
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
        IF p.materialized AND part IN ('segments', 'lifecycle') THEN
            PERFORM persona.profile_create_tally(p, part);
        ELSIF p.materialized AND part <> 'models' THEN
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
    -- the state columns the weighted rows are made of
    value_names text[] := ARRAY['customer_id', 'orders', 'purchase_days', 'revenue', 'repeat_revenue', 'first_order_on', 'last_order_on', 'mean_gap_days'];
    value_cols text := (SELECT string_agg('s.' || c, ', ') FROM unnest(value_names) c);
    -- the changed customers' values before this refresh
    old_values text := 'pg_temp.persona_profile_old';
    state_names text[];
    old_plan text[];
    orders_waiting boolean;
    merge_rows boolean := false;
    old_breaks persona.rfm_breaks;
    tally_delta boolean := false;
    crossing text;
    tally_changes text;
    crossing_rel text;
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
    PERFORM persona.profile_upgrade_layout(p);
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
    state_names := (SELECT array_agg(a.attname::text ORDER BY a.attnum) FROM pg_attribute a
                    WHERE a.attrelid = state_rel::regclass AND a.attnum > 0 AND NOT a.attisdropped);
    cols := (SELECT string_agg(format('%I', c), ', ') FROM unnest(state_names) c);
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
        -- The changed customers' values before and after this refresh: the
        -- old ones leave the globals' weighted rows and the tallies, the new
        -- ones come in, unless the day moved (T of every customer moved with
        -- it).  (The globals row says which day its rows are of: the
        -- registry row was read before the lock.)
        EXECUTE format('SELECT r_rows IS NOT NULL AND as_of = %s FROM %s', day_sql, globals_rel) INTO merge_rows;
        merge_rows := coalesce(merge_rows, false);
        PERFORM persona.profile_drop_temp(ARRAY['persona_profile_changed', 'persona_profile_old', 'persona_profile_new_values', 'persona_profile_crossing']);
        EXECUTE format('CREATE TEMP TABLE persona_profile_old ON COMMIT DROP AS SELECT %s FROM %s s WITH NO DATA', value_cols, state_rel);
        EXECUTE format('CREATE TEMP TABLE persona_profile_new_values ON COMMIT DROP AS SELECT %s FROM %s s WITH NO DATA', value_cols, state_rel);
        -- customers with updated or deleted orders: recomputed from orders
        EXECUTE format('INSERT INTO pg_temp.persona_profile_old SELECT %s FROM %s s WHERE s.customer_id IN (SELECT d.customer_id FROM %s d)',
                       value_cols, state_rel, dirty_rel);
        EXECUTE format('DELETE FROM %s s USING %s d WHERE s.customer_id = d.customer_id', state_rel, dirty_rel);
        EXECUTE format('WITH written AS (INSERT INTO %s AS s %s RETURNING %s) INSERT INTO pg_temp.persona_profile_new_values SELECT * FROM written',
                       state_rel, persona.profile_decode_sql(p, persona.profile_states_sql(p, day_sql,
                           format('o.%I IN (SELECT customer_id FROM %s)', p.customer_col, dirty_rel)), day_sql), value_cols);
        GET DIAGNOSTICS n = ROW_COUNT;
        -- customers whose every order was deleted changed too (they left)
        EXECUTE format('SELECT count(*) FROM %s d WHERE NOT EXISTS (SELECT FROM %s s WHERE s.customer_id = d.customer_id)',
                       dirty_rel, state_rel) INTO m;
        n := n + m;
        EXECUTE format('DELETE FROM %s q USING %s d WHERE q.customer_id = d.customer_id AND q.ordered_at < %s',
                       pending_rel, dirty_rel, persona.profile_day_end(p, day_sql));
        EXECUTE format('TRUNCATE %s', dirty_rel);
        -- Inserted orders: each customer's state merged with the state of
        -- its new orders in one pass over the state rows.  The pending
        -- customers in key order find their rows by the primary key
        -- (neighbouring pages), and the rows are updated where they were
        -- read (by ctid), their old values kept on the way; new customers
        -- are inserted.  The plan is fixed (no hash or merge join): the
        -- estimates of a freshly filled pending table cannot be trusted,
        -- and a hash join would read every state row.  The new orders are
        -- sorted and grouped (no hash aggregate): the groups come out in
        -- key order without sorting the states.
        old_plan := ARRAY[current_setting('enable_hashjoin'), current_setting('enable_mergejoin'), current_setting('enable_hashagg')];
        PERFORM set_config('enable_hashjoin', 'off', true), set_config('enable_mergejoin', 'off', true),
                set_config('enable_hashagg', 'off', true);
        EXECUTE format($q$WITH m AS MATERIALIZED (
    SELECT p.k, o.ctid AS tid, %1$s,
           persona.order_stats_merge(o.stats_state, p.st) AS st, persona.habits_merge(o.habits_state, p.hb) AS hb
    FROM (SELECT q.customer_id AS k, persona.order_stats_state(q.ordered_at, q.amount, %2$L) AS st,
                 persona.habits_state(q.ordered_at, %2$L) FILTER (WHERE q.amount IS NULL OR q.amount >= 0) AS hb
          FROM %3$s q WHERE q.ordered_at < %4$s GROUP BY q.customer_id ORDER BY q.customer_id) p
    LEFT JOIN %5$s o ON o.customer_id = p.k),
upd AS (UPDATE %5$s s SET (%6$s) = (%7$s)
        FROM (%8$s) d WHERE s.ctid = d.tid
        RETURNING %9$s),
ins AS (INSERT INTO %5$s AS s %10$s RETURNING %9$s),
old AS (INSERT INTO pg_temp.persona_profile_old SELECT %11$s FROM m WHERE m.tid IS NOT NULL)
INSERT INTO pg_temp.persona_profile_new_values SELECT * FROM upd UNION ALL SELECT * FROM ins$q$,
            (SELECT string_agg(format('o.%1$I AS %2$I', c, 'old_' || c), ', ') FROM unnest(value_names) c),
            p.time_zone, pending_rel, persona.profile_day_end(p, day_sql), state_rel,
            (SELECT string_agg(format('%I', c), ', ') FROM unnest(state_names) c WHERE c <> 'customer_id'),
            (SELECT string_agg(format('d.%I', c), ', ') FROM unnest(state_names) c WHERE c <> 'customer_id'),
            format('SELECT m.tid, x.* FROM m, LATERAL (%s) x WHERE m.tid IS NOT NULL',
                   persona.profile_decode_sql(p, '(SELECT m.k, m.st, m.hb)', day_sql)),
            value_cols,
            persona.profile_decode_sql(p, '(SELECT m.k, m.st, m.hb FROM m WHERE m.tid IS NULL)', day_sql),
            (SELECT string_agg(format('m.%I', 'old_' || c), ', ') FROM unnest(value_names) c));
        GET DIAGNOSTICS m = ROW_COUNT;
        PERFORM set_config('enable_hashjoin', old_plan[1], true), set_config('enable_mergejoin', old_plan[2], true),
                set_config('enable_hashagg', old_plan[3], true);
        n := n + m;
        -- the changed customers (those that left are among the old values)
        EXECUTE 'CREATE TEMP TABLE persona_profile_changed ON COMMIT DROP AS
                 SELECT o.customer_id FROM pg_temp.persona_profile_old o UNION SELECT n.customer_id FROM pg_temp.persona_profile_new_values n';
        -- merged: out of pending (all of it, unless orders wait for a later day)
        EXECUTE format('SELECT EXISTS (SELECT FROM %s q WHERE q.ordered_at >= %s)', pending_rel, persona.profile_day_end(p, day_sql))
            INTO orders_waiting;
        IF orders_waiting THEN
            EXECUTE format('DELETE FROM %s q WHERE q.ordered_at < %s', pending_rel, persona.profile_day_end(p, day_sql));
        ELSE
            EXECUTE format('TRUNCATE %s', pending_rel);
        END IF;
    END IF;
    PERFORM persona.profile_progress(format('persona profile %s: %s refresh as of %s, %s customers changed (%s ms)',
                                            p.name, kind, day, n, round(extract(epoch FROM clock_timestamp() - step) * 1000)));
    PERFORM persona.profile_customers_view(p);
    -- Nothing merged and the same day: the globals and summaries would come
    -- out as they are (a frequent schedule with no new orders costs little).
    IF kind = 'incremental' AND n = 0 AND day = p.refreshed_as_of THEN
        PERFORM persona.profile_progress(format('persona profile %s: no changes to merge', p.name));
    ELSE
    -- globals from the per-customer rows
    step := clock_timestamp();
    IF merge_rows THEN
        -- the tallies are corrected when what they were computed with is unchanged
        EXECUTE format('SELECT breaks, tally_digest IS NOT DISTINCT FROM %L FROM %s', persona.profile_tally_digest(p), globals_rel)
            INTO old_breaks, tally_delta;
        tally_delta := tally_delta AND old_breaks IS NOT NULL;
    END IF;
    PERFORM persona.profile_write_globals(p, day_sql,
        CASE WHEN merge_rows THEN format('(SELECT o.*, -1 AS w FROM %s o UNION ALL SELECT n.*, 1 FROM pg_temp.persona_profile_new_values n)',
                                         old_values) END,
        kind = 'incremental');
    PERFORM persona.profile_progress(format('persona profile %s: cut points and models (%s ms)',
                                            p.name, round(extract(epoch FROM clock_timestamp() - step) * 1000)));
    IF tally_delta AND 'segments' = ANY (p.parts) THEN
        -- customers whose scores the moved cut points change, besides the changed ones
        EXECUTE format('SELECT persona.profile_crossing_sql(%L::persona.rfm_breaks, g.breaks, %s) FROM %s g',
                       old_breaks, day_sql, globals_rel) INTO crossing;
        EXECUTE format('CREATE TEMP TABLE persona_profile_crossing ON COMMIT DROP AS SELECT s.customer_id FROM %s s
                        WHERE s.orders > 0 AND (%s)
                          AND NOT EXISTS (SELECT FROM pg_temp.persona_profile_changed c WHERE c.customer_id = s.customer_id)',
                       state_rel, coalesce(crossing, 'false'));
    END IF;
    FOREACH part IN ARRAY p.parts LOOP
        CONTINUE WHEN part IN ('customer_tags', 'models');
        IF part IN ('segments', 'lifecycle') THEN
            step := clock_timestamp();
            IF tally_delta THEN
                -- out: the old rows scored as before; in: the new rows scored now
                crossing_rel := CASE WHEN part = 'segments' THEN 'pg_temp.persona_profile_crossing'
                                     ELSE '(SELECT c.customer_id FROM pg_temp.persona_profile_changed c WHERE false)' END;
                tally_changes := persona.profile_tally_sql(p, part,
                    format('(SELECT o.*, -1 AS w FROM %s o
                             UNION ALL SELECT %s, -1 FROM %s s WHERE s.customer_id IN (SELECT x.customer_id FROM %s x))',
                           old_values, value_cols, state_rel, crossing_rel),
                    format('%L::persona.rfm_breaks', old_breaks), day_sql)
                    || E'\nUNION ALL\n' ||
                    persona.profile_tally_sql(p, part,
                    format('(SELECT n.*, 1 AS w FROM pg_temp.persona_profile_new_values n
                             UNION ALL SELECT %s, 1 FROM %s s WHERE s.customer_id IN (SELECT x.customer_id FROM %s x))',
                           value_cols, state_rel, crossing_rel),
                    format('(SELECT g.breaks FROM %s g)', globals_rel), day_sql);
            END IF;
            PERFORM persona.profile_tally_apply(p, part, tally_changes);
            PERFORM persona.profile_progress(format('persona profile %s: %s (%s ms)',
                                                    p.name, part, round(extract(epoch FROM clock_timestamp() - step) * 1000)));
            CONTINUE;
        END IF;
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
    EXECUTE format('UPDATE %s SET tally_digest = %L', globals_rel, persona.profile_tally_digest(p));
    END IF;
    IF 'segments' = ANY (p.parts) THEN
        -- seed 003: five to eight segments, each at least 5% of the customers
        EXECUTE format($q$SELECT string_agg(format('%%s (%%s%%%%)', segment, round(customer_share::numeric * 100, 1)), ', ' ORDER BY customer_share)
                          FROM %s WHERE below_5_percent$q$, persona.profile_rel(p, '_segments')) INTO small;
        IF small IS NOT NULL THEN
            PERFORM persona.profile_progress(format('persona profile %s: segments below 5%% of customers: %s', p.name, small)
                || E'\nHINT:  merge them with a neighbouring segment (a scheme in persona.segment_rules), or use scheme => ''cn8''');
        END IF;
    END IF;
    -- the customers with orders, as the frequency rows count them (no scan of every state row)
    EXECUTE format('SELECT coalesce((SELECT sum(g.f_rows[i][2]) FROM generate_subscripts(g.f_rows, 1) i), 0)::bigint FROM %s g',
                   globals_rel) INTO m;
    m := coalesce(m, 0);
    PERFORM set_config('TimeZone', old_zone, true);
    UPDATE persona.profiles pr SET refreshed_at = clock_timestamp(), refreshed_as_of = day, refresh_kind = kind,
           refresh_ms = extract(epoch FROM clock_timestamp() - started) * 1000, customers = m,
           last_error = NULL, last_error_at = NULL
    WHERE pr.name = p.name;
    RETURN QUERY SELECT p.name, kind, day, m, n, extract(epoch FROM clock_timestamp() - started)::float8 * 1000;
END $$;
COMMENT ON FUNCTION persona.profile_refresh_run(text, boolean) IS
  'The steps of refresh_profile (called by it)';

-- Two-state merges: an incremental refresh merges each customer's stored
-- state with the state of its new orders row by row.
CREATE FUNCTION persona.order_stats_merge(a bytea, b bytea) RETURNS bytea
AS 'MODULE_PATHNAME', 'order_stats_merge_pair' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION persona.order_stats_merge(bytea, bytea) IS
  'Merge two order_stats states of one customer into one, as the aggregate over both gives it (a NULL side is skipped; NULL when both are)';

CREATE FUNCTION persona.habits_merge(a bytea, b bytea) RETURNS bytea
AS 'MODULE_PATHNAME', 'habits_merge_pair' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION persona.habits_merge(bytea, bytea) IS
  'Merge two habits states of one customer into one, as the aggregate over both gives it (a NULL side is skipped; NULL when both are)';

-- Materialized profiles of 0.5.0 take the new layout at their next refresh (profile_upgrade_layout).
