-- Charts as SVG text and the profile report: the page parses as XML, it
-- shows the views' values, hostile labels cannot break or inject into it,
-- chart inputs are checked.
SET client_min_messages = warning;
SET persona.progress = off;
CREATE SCHEMA rep;
CREATE FUNCTION pg_temp.err(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE q;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END $$;
-- XPath over a page: h = XHTML, s = SVG
CREATE FUNCTION pg_temp.xp(page text, path text) RETURNS text[] LANGUAGE sql AS $$
SELECT xpath(path, page::xml, ARRAY[ARRAY['h', 'http://www.w3.org/1999/xhtml'], ARRAY['s', 'http://www.w3.org/2000/svg']])::text[]
$$;

-- Numbers for people.
SELECT persona.format_number(1234567.891) AS n0, persona.format_number(1234567.891, 2) AS n2,
       persona.format_number(-1234.5) AS neg, persona.format_number(-0.001) AS neg_zero, persona.format_number(999) AS small,
       persona.format_number(NULL) AS null_n, persona.format_number('NaN') AS nan_n, persona.format_share(0.12345) AS share,
       persona.format_share(1) AS whole, persona.format_significant(3.059e-7) AS tiny, persona.format_significant(1548.404) AS big,
       persona.format_significant(0.5569) AS frac;
SET lc_numeric = 'C';
SELECT persona.format_number(1234567) AS same_whatever_the_locale;
RESET lc_numeric;
SELECT persona.format_number('Infinity') AS inf, persona.format_number('-Infinity') AS minus_inf,
       persona.format_number(1e300) ~ '^1,000' AS huge, persona.format_share('NaN') AS nan_share,
       persona.format_significant(0) AS zero, persona.format_significant(-2.5e12) AS big_negative;
-- The Lorenz curve (101 points, pareto's interpolation): its 20% point is pareto's top_revenue_share.
SELECT cardinality(l) AS points, l[1] AS top_0, l[101] AS top_100, l[51] AS top_half,
       l[21] = (SELECT (persona.pareto(v)).top_revenue_share FROM (VALUES (3.0), (1.0), (0.0), (4.0)) t(v)) AS same_as_pareto
FROM (SELECT persona.lorenz_curve(v) AS l FROM (VALUES (3.0), (1.0), (0.0), (4.0), (NULL)) t(v)) x;
SELECT (SELECT persona.lorenz_curve(v) FROM (VALUES (0.0), (0.0)) t(v)) IS NULL AS no_revenue_null,
       (SELECT persona.lorenz_curve(v) FROM (VALUES (NULL::float8)) t(v)) IS NULL AS only_nulls_null,
       (SELECT persona.lorenz_curve(v) FROM (SELECT 1.0 WHERE false) t(v)) IS NULL AS no_rows_null,
       (SELECT bool_and(abs(l[k] - (k - 1) / 100.0) < 1e-12) FROM (SELECT persona.lorenz_curve(5) AS l FROM generate_series(1, 7)) x,
               generate_series(1, 101) k) AS equal_amounts_diagonal;
SELECT pg_temp.err($$SELECT persona.lorenz_curve(v) FROM (VALUES (1.0), ('NaN')) t(v)$$) AS nan_amount,
       pg_temp.err($$SELECT persona.lorenz_curve(v) FROM (VALUES (1e308), (1e308)) t(v)$$) AS overflow;
-- Text bars for psql.
SELECT persona.text_bar(0.53, 10) AS half, persona.text_bar(1, 4) AS full, persona.text_bar(0.01, 10) AS sliver,
       persona.text_bar(0) = '' AS zero_empty, persona.text_bar(NULL) = '' AS null_empty, persona.text_bar(2, 3) AS clipped;
SELECT pg_temp.err($$SELECT persona.text_bar(0.5, 0)$$) AS zero_width, persona.text_bar('NaN') = '' AS nan_empty,
       persona.text_bar('Infinity', 3) AS infinite_clipped;
-- Escaping: the five specials and control characters.
SELECT persona.html_escape(E'<a href="x">Tom & Jerry''s</a>\x01') AS escaped;

-- Charts: well-formed SVG, one bar per label, values written.
SELECT xml_is_well_formed_document(c) AS well_formed,
       cardinality(pg_temp.xp(c, '//s:rect[contains(@class, "bar s1")]')) AS bars,
       pg_temp.xp(c, '//s:text[@class="value"]/text()') AS values_shown
FROM (SELECT persona.svg_bar_chart(ARRAY['a', 'b', 'c'], ARRAY[3, 1.5, NULL], 'Title') AS c) x;
SELECT cardinality(pg_temp.xp(c, '//s:rect[contains(@class, "bar s2")]')) AS second_series,
       cardinality(pg_temp.xp(c, '//s:g[contains(@class, "marked")]')) AS marked_rows,
       pg_temp.xp(c, '//s:text[@class="legend"]/text()') AS legend
FROM (SELECT persona.svg_bar_chart(ARRAY['a', 'b'], ARRAY[0.5, 0.02], 'Shares', ARRAY[0.7, 0.01], ARRAY['customers', 'revenue'],
                                   ARRAY[false, true], 'share', '< 5%') AS c) x;
-- empty input: a chart with a note, not an error
SELECT pg_temp.xp(persona.svg_bar_chart('{}', '{}', 'Nothing'), '//s:text[@class="note"]/text()') AS empty_bar,
       pg_temp.xp(persona.svg_line_chart(NULL, NULL), '//s:text[@class="note"]/text()') AS empty_line,
       pg_temp.xp(persona.svg_heatmap('{}', '{a}', '{}'), '//s:text[@class="note"]/text()') AS empty_heatmap;
-- hostile labels stay text
SELECT xml_is_well_formed_document(c) AS hostile_well_formed,
       cardinality(pg_temp.xp(c, '//s:script')) AS scripts,
       pg_temp.xp(c, '//s:text[@class="label"]/text()') AS labels
FROM (SELECT persona.svg_bar_chart(ARRAY['<script>alert(1)</script>', 'A & "B" ''C'''], ARRAY[1, 2], '</svg><b>') AS c) x;
-- checked inputs
SELECT pg_temp.err($$SELECT persona.svg_bar_chart(ARRAY['a', 'b'], ARRAY[1])$$) AS lengths,
       pg_temp.err($$SELECT persona.svg_bar_chart(ARRAY['a'], ARRAY[-1])$$) AS negative,
       pg_temp.err($$SELECT persona.svg_bar_chart(ARRAY['a'], ARRAY['Infinity'::float8])$$) AS infinite,
       pg_temp.err($$SELECT persona.svg_bar_chart(ARRAY['a'], ARRAY[1], value_format => 'pct')$$) AS bad_format,
       pg_temp.err($$SELECT persona.svg_bar_chart(ARRAY['a'], ARRAY[[1]])$$) AS two_dimensional;
SELECT pg_temp.err($$SELECT persona.svg_heatmap(ARRAY['r1', 'r2'], ARRAY['c1', 'c2'], ARRAY[1, 2, 3])$$) AS heatmap_size,
       pg_temp.err($$SELECT persona.svg_line_chart(ARRAY[1, 2], ARRAY[1])$$) AS line_lengths,
       pg_temp.err($$SELECT persona.svg_line_chart('{1,Infinity}', '{1,2}')$$) AS line_infinite;
SELECT pg_temp.err($$SELECT persona.report_table(ARRAY['a', 'b'], ARRAY['x'])$$) AS partial_row,
       pg_temp.xp(persona.svg_bar_chart(ARRAY['a'], NULL), '//s:text[@class="value"]/text()') AS null_values_shown;
-- a line per series, NaN points left out; a heatmap cell per value, NULL grey
SELECT cardinality(pg_temp.xp(c, '//s:polyline')) AS lines,
       (pg_temp.xp(c, '//s:polyline[1]/@points'))[1] ~ '^[0-9., ]+$' AS points_are_numbers,
       cardinality(regexp_split_to_array((pg_temp.xp(c, '//s:polyline[2]/@points'))[1], ' ')) AS points_of_b,
       pg_temp.xp(c, '//s:text[@class="mark-label"]/text()') AS mark
FROM (SELECT persona.svg_line_chart('{0,1,2,0,1,2}', '{0,1,4,0,NaN,2}', ARRAY['a', 'a', 'a', 'b', 'b', 'b'],
                                    mark_x => 1, mark_y => 1, mark_label => 'x = 1') AS c) x;
SELECT cardinality(pg_temp.xp(c, '//s:rect[@class="cell"]')) AS cells,
       cardinality(pg_temp.xp(c, '//s:rect[@class="cell"][@fill="#e5e5e5"]')) AS grey,
       pg_temp.xp(c, '//s:text[starts-with(@class, "cell-value")]/text()') AS shown
FROM (SELECT persona.svg_heatmap(ARRAY['r1', 'r2'], ARRAY['c1', 'c2', 'c3'], '{1,2,3,4000,NULL,NaN}', 'grid') AS c) x;

-- A profile with a scheme and tag rules of hostile names.
CREATE TABLE rep.orders (id bigint PRIMARY KEY, customer text, placed_at timestamptz, amount numeric(10, 2));
INSERT INTO rep.orders
SELECT i, 'c' || lpad((1 + (i * 7919) % 60)::text, 3, '0'),
       timestamptz '2024-01-01 00:00+00' + ((i * 104729) % 365) * interval '1 day' + ((i * 7907) % 1440) * interval '1 minute',
       round((5 + (i * 31) % 200)::numeric + 0.99, 2)
FROM generate_series(1, 900) i;
INSERT INTO persona.segment_rules (scheme, priority, segment, segment_zh, r_min, m_min) VALUES
  ('hostile', 1, '<script>alert("seg")</script>', '<b>粗体</b>', 1, 4),
  ('hostile', 2, 'Tom & Jerry''s "best"', NULL, 3, 1),
  ('hostile', 3, 'rest', '其余', 1, 1);
SELECT count(*) AS relations FROM persona.create_profile('rep', 'rep.orders', customer_col => 'customer', time_col => 'placed_at',
                                                         schema => 'rep', as_of => '2024-12-31', time_zone => 'Asia/Shanghai',
                                                         language => 'en', scheme => 'hostile');
INSERT INTO persona.tag_rules (source, tag, layer, rule_sql) VALUES
  ('rep.rep_customers', '<img src=x onerror=alert(1)>', 'value', 'm_score >= 3'),
  ('rep.rep_customers', 'A&B', 'value', 'r_score >= 3');
SELECT refresh FROM persona.refresh_profile('rep');
CREATE TEMP TABLE page AS SELECT persona.profile_report('rep') AS html;
SELECT xml_is_well_formed_document(html) AS page_well_formed, html LIKE '<!DOCTYPE html>%' AS html5,
       regexp_replace(html, 'xmlns="[^"]*"', '', 'g') !~* '<script|<img|<link|<iframe|https?://|@import|url\(' AS nothing_active_or_fetched,
       cardinality(pg_temp.xp(html, '//h:script | //s:script | //h:img | //h:link | //h:iframe | //h:object')) AS active_elements,
       cardinality(pg_temp.xp(html, '//@*[starts-with(local-name(), "on")]')) AS event_attributes
FROM page;
-- one bar per segment; every segment shown, escaped, with the view's numbers
SELECT cardinality(pg_temp.xp(html, '//h:section[@id="segments"]//s:rect[contains(@class, "bar s1")]')) AS segment_bars,
       (SELECT count(*) FROM rep.rep_segments) AS segments
FROM page;
SELECT pg_temp.xp(html, '//h:section[@id="segments"]//h:tbody/h:tr/h:td[position() > 1]/text()') =
       (SELECT array_agg(c ORDER BY s.customers DESC, s.segment, i)
        FROM rep.rep_segments s, LATERAL unnest(ARRAY[persona.format_number(s.customers),
                                                      persona.format_share(s.customer_share), persona.format_number(s.revenue::float8),
                                                      persona.format_share(s.revenue_share), persona.format_number(s.avg_revenue, 2),
                                                      persona.format_number(s.avg_recency_days, 1), persona.format_number(s.avg_orders, 1)])
                                 WITH ORDINALITY u(c, i)) AS segment_table_is_the_view,
       pg_temp.xp(html, '//h:section[@id="segments"]//s:text[@class="label"]/text()') AS segment_labels,
       pg_temp.xp(html, '//h:section[@id="segments"]//h:tbody/h:tr/h:td[1]/text()') AS segment_rows
FROM page;
-- headline figures, the Pareto point and the lifecycle bars against the views
SELECT (pg_temp.xp(html, '//h:span[@data-key="customers"]/text()'))[1] = (SELECT persona.format_number(count(*)) FROM rep.rep_customers WHERE orders > 0) AS customers,
       (pg_temp.xp(html, '//h:span[@data-key="orders"]/text()'))[1] = (SELECT persona.format_number(sum(orders)) FROM rep.rep_customers) AS orders,
       (pg_temp.xp(html, '//h:span[@data-key="revenue"]/text()'))[1] = (SELECT persona.format_number(sum(revenue)::float8) FROM rep.rep_customers) AS revenue,
       (pg_temp.xp(html, '//h:p[@data-key="top_20_share"]/text()'))[1] LIKE '%' || (SELECT persona.format_share(top_revenue_share) FROM rep.rep_pareto) || '%' AS pareto,
       cardinality(pg_temp.xp(html, '//h:section[@id="lifecycle"]//s:rect[contains(@class, "bar s1")]')) =
           (SELECT count(*) FROM rep.rep_lifecycle WHERE customer_share IS NOT NULL) AS lifecycle_bars,
       (SELECT array_agg(round(v::numeric, 6) ORDER BY i) FROM unnest(pg_temp.xp(html, '//h:section[@id="lifecycle"]//s:rect[contains(@class, "bar s1")]/@data-value')) WITH ORDINALITY u(v, i))
           = (SELECT array_agg(round(customer_share::numeric, 6) ORDER BY stage_order) FROM rep.rep_lifecycle WHERE customer_share IS NOT NULL) AS lifecycle_values
FROM page;
-- the R x F grid counts every customer once; hostile tags are text
SELECT (SELECT sum(v::float8) FROM unnest(pg_temp.xp(html, '//h:section[@id="rf"]/s:svg[1]//s:rect[@class="cell"]/@data-value')) v)
           = (SELECT count(*) FROM rep.rep_customers WHERE orders > 0) AS rf_counts_everyone,
       pg_temp.xp(html, '//h:section[@id="tags"]//s:text[@class="label"]/text()') AS tags_shown,
       cardinality(pg_temp.xp(html, '//h:section[@id="models"]//h:table')) AS model_tables,
       cardinality(pg_temp.xp(html, '//h:section[@id="habits"]//s:rect[@class="cell"]')) AS habit_cells
FROM page;
-- the same page whatever the reading session's time zone
SET TimeZone = 'UTC';
CREATE TEMP TABLE page_utc AS SELECT persona.profile_report('rep') AS html;
SET TimeZone = 'Asia/Shanghai';
SELECT p.html = u.html AS same_page_in_utc_and_shanghai FROM page_utc u, (SELECT persona.profile_report('rep') AS html) p;
RESET TimeZone;
-- a cancel stops it (the page takes far longer than 1 ms): 57014, not caught
\set VERBOSITY terse
SET statement_timeout = '1ms';
SELECT persona.profile_report('rep') IS NULL AS not_reached;
RESET statement_timeout;
\set VERBOSITY default
-- in Chinese: the profile's language
UPDATE persona.profiles SET language = 'zh' WHERE name = 'rep';
SELECT refresh FROM persona.refresh_profile('rep');
SELECT (pg_temp.xp(r, '//h:h1/text()'))[1] AS title_zh, (pg_temp.xp(r, '/h:html/@lang'))[1] AS lang,
       pg_temp.xp(r, '//h:section[@id="segments"]//s:text[@class="label"]/text()') AS segments_zh
FROM (SELECT persona.profile_report('rep') AS r) x;
-- with a holdout: the calibration bars are the holdout view's, the tracking line has a point per week
CREATE TABLE rep.orders_int AS SELECT id, substr(customer, 2)::int AS customer_id, placed_at AS ordered_at, amount FROM rep.orders;
SELECT count(*) AS relations FROM persona.create_profile('reph', 'rep.orders_int', schema => 'rep', as_of => '2024-12-31',
                                                         time_zone => 'Asia/Shanghai', language => 'en', holdout_days => 91);
CREATE TEMP TABLE page_h AS SELECT persona.profile_report('reph') AS html;
SELECT xml_is_well_formed_document(html) AS well_formed,
       (SELECT array_agg(round(v::numeric, 6) ORDER BY i) FROM unnest(pg_temp.xp(html, '//h:section[@id="models"]/s:svg[contains(@class, "bar-chart")][1]//s:rect[contains(@class, "bar s1")]/@data-value')) WITH ORDINALITY u(v, i))
         = (SELECT array_agg(round(actual::numeric, 6) ORDER BY length(frequency), frequency) FROM rep.reph_holdout WHERE frequency <> 'all' AND actual IS NOT NULL) AS holdout_actual_shown,
       (SELECT array_agg(round(v::numeric, 6) ORDER BY i) FROM unnest(pg_temp.xp(html, '//h:section[@id="models"]/s:svg[contains(@class, "bar-chart")][1]//s:rect[contains(@class, "bar s2")]/@data-value')) WITH ORDINALITY u(v, i))
         = (SELECT array_agg(round(predicted::numeric, 6) ORDER BY length(frequency), frequency) FROM rep.reph_holdout WHERE frequency <> 'all' AND predicted IS NOT NULL) AS holdout_predicted_shown,
       cardinality(regexp_split_to_array((pg_temp.xp(html, '//h:section[@id="models"]//s:svg[contains(@class, "line-chart")]//s:polyline[1]/@points'))[1], ' ')) AS tracking_points,
       (SELECT count(*) FROM persona.tracking('rep.orders_int', '2024-10-01'::timestamp AT TIME ZONE 'Asia/Shanghai', '2024-12-31'::timestamp AT TIME ZONE 'Asia/Shanghai',
                                              (SELECT persona.bgnbd_fit(c.x, c.t_x, c.t_cal) FROM persona.holdout_calibration('rep.orders_int', '2024-10-01'::timestamp AT TIME ZONE 'Asia/Shanghai', NULL, 'weeks', time_zone => 'Asia/Shanghai') c),
                                              'weeks', time_zone => 'Asia/Shanghai')) AS tracking_weeks,
       (SELECT min(calibration_end_on) FROM rep.reph_holdout) AS calibration_end
FROM page_h;
SELECT persona.drop_profile('reph');
-- a profile of plain views, and one of the Pareto part only with date-only orders (no dayparts)
CREATE TABLE rep.orders_days AS SELECT id, customer_id, (ordered_at AT TIME ZONE 'UTC')::date::timestamp AT TIME ZONE 'UTC' AS ordered_at, amount FROM rep.orders_int;
SET client_min_messages = error;
SELECT count(*) AS relations FROM persona.create_profile('repv', 'rep.orders_days', schema => 'rep', as_of => '2024-12-31',
                                                         time_zone => 'UTC', materialized => false);
SELECT xml_is_well_formed_document(persona.profile_report('repv')) AS views_page_well_formed;
RESET client_min_messages;
SELECT count(*) AS relations FROM persona.create_profile('repp', 'rep.orders_days', schema => 'rep', as_of => '2024-12-31',
                                                         time_zone => 'UTC', parts => ARRAY['pareto']);
SELECT xml_is_well_formed_document(r) AS well_formed, r ~ 'id="segments"' AS segments, r ~ 'id="models"' AS models,
       (pg_temp.xp(r, '//h:section[@id="habits"]/h:p/text()'))[1] AS habits_note
FROM (SELECT persona.profile_report('repp') AS r) x;
SELECT persona.drop_profile('repv'), persona.drop_profile('repp');
SELECT pg_temp.err($$SELECT persona.profile_report('nope')$$) AS unknown_profile,
       pg_temp.err($$SELECT persona.profile_report('rep', -1)$$) AS negative_clv_limit;
-- a reader without access to the orders cannot read the report
CREATE ROLE persona_report_reader;
GRANT USAGE ON SCHEMA rep TO persona_report_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA rep TO persona_report_reader;
REVOKE SELECT ON rep.orders FROM persona_report_reader;
SET ROLE persona_report_reader;
SELECT pg_temp.err($$SELECT persona.profile_report('rep')$$) ~ '^42501' AS reader_refused;
RESET ROLE;
SELECT persona.drop_profile('rep');
DELETE FROM persona.segment_rules WHERE scheme = 'hostile';
DROP SCHEMA rep CASCADE;
DROP ROLE persona_report_reader;
