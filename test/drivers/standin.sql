-- TEMPORARY stand-in for persona.create_profile (removed when it lands on main).
CREATE FUNCTION public.standin_profile(p_name text, p_orders regclass, p_schema text, p_materialized boolean)
RETURNS void LANGUAGE plpgsql AS $f$
DECLARE
  q text;
BEGIN
  EXECUTE format('CREATE SCHEMA IF NOT EXISTS %I', p_schema);
  q := format($q$
    WITH s AS (SELECT customer_id, persona.order_stats(ordered_at, amount, timestamptz '2025-01-01 00:00+08') AS st
               FROM %s GROUP BY customer_id),
         b AS (SELECT persona.rfm_breaks((st).recency_days, (st).orders, (st).revenue) AS br FROM s),
         r AS (SELECT s.*, persona.rfm_score((st).recency_days, (st).orders, (st).revenue, b.br) AS rfm FROM s, b)
    SELECT customer_id, (st).first_at, (st).last_at,
           ((st).first_at AT TIME ZONE 'Asia/Shanghai')::date AS first_date,
           (st).orders, (st).purchase_days, (st).revenue, (st).avg_amount, (st).recency_days,
           (st).mean_gap_days, persona.r(rfm)::smallint AS r, rfm::text AS rfm,
           persona.rfm_segment(rfm) AS segment, persona.lifecycle_of(st)::text AS lifecycle,
           (st).orders > 1 AS repeat,
           array_remove(ARRAY[CASE WHEN (st).revenue > 1000 THEN '高价值' END,
                              CASE WHEN (st).orders > 10 THEN 'frequent buyer' END,
                              CASE WHEN (st).recency_days > 180 THEN '流失风险' END], NULL) AS tags
    FROM r$q$, p_orders);
  IF p_materialized THEN
    EXECUTE format('SET LOCAL TimeZone = %L', 'Asia/Shanghai');
    EXECUTE format('CREATE MATERIALIZED VIEW %I.%I AS %s', p_schema, p_name || '_customers', q);
  ELSE
    -- days are counted in the session TimeZone: a plain view reads through a
    -- function that pins it, so every client sees the same days
    EXECUTE format('CREATE SCHEMA IF NOT EXISTS standin_internal');
    EXECUTE format('CREATE TABLE standin_internal.%I AS %s WITH NO DATA', p_name, q);
    EXECUTE format($q$CREATE FUNCTION standin_internal.%1$I() RETURNS SETOF standin_internal.%1$I
                     LANGUAGE sql STABLE SET TimeZone = 'Asia/Shanghai' AS %2$L$q$, p_name, q);
    EXECUTE format('CREATE VIEW %I.%I AS SELECT * FROM standin_internal.%I()', p_schema, p_name || '_customers', p_name);
  END IF;
  EXECUTE format($q$CREATE VIEW %I.%I AS
    SELECT segment, count(*) AS customers, sum(revenue) AS revenue,
           count(*)::float8 / sum(count(*)) OVER () AS share
    FROM %I.%I GROUP BY segment$q$, p_schema, p_name || '_segments', p_schema, p_name || '_customers');
END $f$;
