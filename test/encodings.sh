#!/bin/sh
# Every server encoding: CREATE EXTENSION persona works (and ALTER EXTENSION
# UPDATE from 0.1.0 where 0.1.0's UTF-8 install script fits the encoding);
# English labels are right everywhere; Chinese labels (persona.language = zh)
# are the right characters in the database encoding wherever the encoding has
# them, and 22P05 with a hint wherever it does not -- never mojibake; starter
# tags, user segment labels and tagquery input with non-ASCII text work.
# The expected bytes are the UTF-8 labels passed through convert(), so the
# server itself says what each encoding can represent.
set -eu
export PGOPTIONS="-c client_min_messages=warning"
mkdir -p results
checks=results/encodings_check.sql
trap 'rm -f "$checks"' EXIT
db=persona_enc

cat > "$checks" <<'SQL'
CREATE TEMP TABLE enc_result (ok boolean, what text);
CREATE TEMP TABLE prof (customer_id int, categories text[], recency_days int);
CREATE TEMP TABLE tagged (id int, tags text[]);
DO $$
DECLARE
    enc text := getdatabaseencoding();
    -- expression, English label, Chinese label as UTF-8 hex
    c record;
    got text;
    want bytea;
    state text;
    hint text;
    t text;                    -- a non-ASCII tag in this encoding, if it has one
    q persona.tagquery;
    n int;
BEGIN
    FOR c IN SELECT * FROM (VALUES
        ('persona.label(''new''::persona.lifecycle)', 'New', 'e696b0e6898be69c9f'),
        ('persona.label(''advocate''::persona.funnel)', 'Advocate', 'e580a1e5afbce88085'),
        ('persona.label(''lunch''::persona.daypart)', 'Lunch', 'e58d88e9a490'),
        ('persona.label(''diamond''::persona.value_tier)', 'Diamond', 'e992bbe79fb3'),
        ('persona.rfm_segment(''555'', ''standard'')', 'Champions', 'e586a0e5869be5aea2e688b7'),
        ('persona.rfm_segment(''555'', ''cn8'')', 'Important Value', 'e9878de8a681e4bbb7e580bce5aea2e688b7'),
        ('persona.purchase_count_bucket(4)', '3-5 orders', '332d35e6aca1'),
        ('persona.price_sensitivity(5)', 'high', 'e9ab98e6958fe6849f'),
        ('persona.ltv_bucket(3000)', 'high', 'e9ab98e4bbb7e580bc')
    ) v(expr, en, zh) LOOP
        SET LOCAL persona.language = en;
        EXECUTE 'SELECT ' || c.expr INTO got;
        INSERT INTO enc_result VALUES (got = c.en, format('%s in English (got %s)', c.expr, got));
        SET LOCAL persona.language = zh;
        BEGIN
            want := convert(decode(c.zh, 'hex'), 'UTF8', enc);
            PERFORM convert_from(want, enc);    -- and valid in the encoding
        EXCEPTION WHEN OTHERS THEN
            want := NULL;      -- the encoding has no such characters
        END;
        BEGIN
            EXECUTE 'SELECT ' || c.expr INTO got;
            INSERT INTO enc_result VALUES (convert_to(got, enc) IS NOT DISTINCT FROM want,
                format('%s in Chinese: bytes %s, want %s', c.expr, convert_to(got, enc), coalesce(want::text, '22P05')));
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, hint = PG_EXCEPTION_HINT;
            INSERT INTO enc_result VALUES (want IS NULL AND state = '22P05' AND hint LIKE '%persona.language = ''en''%UTF8%',
                format('%s in Chinese: error %s (%s), want %s', c.expr, state, hint, coalesce(want::text, '22P05')));
        END;
    END LOOP;
    SET LOCAL persona.language = en;

    -- Starter tags: all thirteen or a clear error.
    BEGIN
        want := convert(decode('e882b2e584bf', 'hex'), 'UTF8', enc);    -- the parenting tag
        SELECT count(convert_from(convert(decode(h, 'hex'), 'UTF8', enc), enc)) INTO n
        FROM unnest('{e9ab98e4bbb7e580bc,e9878de8a681e4bbb7e580bc,e696b0e5aea2,e6b289e79da1,e6b581e5a4b1e9a38ee999a9,e5b7a5e4bd9ce697a5e58d88e9a490,e591a8e69cabe5aeb6e5baad,e69c88e6b688e8b4b933e6aca1e4bba5e4b88a,e4bbb7e6a0bce6958fe6849f,e7a7bbe58aa8e694afe4bb98,e882b2e584bf,e7bb98e69cac,e6b688e8b4b9e9a291e78e87e4b88be9998d}'::text[]) h;
    EXCEPTION WHEN OTHERS THEN
        want := NULL;
    END;
    BEGIN
        n := persona.starter_tag_rules('prof');
        SELECT tag INTO t FROM persona.tag_rules WHERE source = 'prof'::regclass AND convert_to(tag, enc) = want;
        INSERT INTO enc_result VALUES (want IS NOT NULL AND n = 3 AND t IS NOT NULL
            AND (SELECT rule_sql FROM persona.tag_rules WHERE source = 'prof'::regclass AND tag = t) = quote_literal(t) || ' = ANY (categories)',
            format('starter_tag_rules: %s rules, parenting tag %s', n, convert_to(t, enc)));
        INSERT INTO prof VALUES (1, ARRAY[t], 10), (2, '{}', 100);
        PERFORM persona.build_tag_view('prof_tags', 'prof');
        INSERT INTO enc_result SELECT array_agg(customer_id ORDER BY customer_id) = '{1}', 'starter tag view'
        FROM prof_tags WHERE t = ANY (tags);
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, hint = PG_EXCEPTION_HINT;
        INSERT INTO enc_result VALUES (want IS NULL AND state = '22P05' AND hint LIKE '%UTF8%',
            format('starter_tag_rules: error %s (%s)', state, hint));
    END;

    -- A non-ASCII tag this encoding has (none in MULE_INTERNAL, which has no conversion from UTF8).
    t := NULL;
    FOR c IN SELECT h FROM unnest('{e882b2e584bf,c3a9,d0b6,ceb1,d7a9,d8b9,e0b881,c59f,c485,c591}'::text[]) WITH ORDINALITY u(h, i) ORDER BY i LOOP
        BEGIN
            t := convert_from(convert(decode(c.h, 'hex'), 'UTF8', enc), enc);
            EXIT;
        EXCEPTION WHEN OTHERS THEN
        END;
    END LOOP;
    IF t IS NULL THEN
        t := 'plain';
    END IF;
    q := (t || ' & !"a b" & "' || t || '\"x"')::persona.tagquery;
    INSERT INTO enc_result VALUES (ARRAY[t, t || '"x'] OPERATOR(persona.@@) q AND NOT ARRAY[t, t || '"x', 'a b'] OPERATOR(persona.@@) q,
        format('tagquery %s matches', q));
    INSERT INTO enc_result VALUES (q::text::persona.tagquery::text = q::text, format('tagquery %s re-reads', q));
    BEGIN
        q := (t || ' & (')::persona.tagquery;
        INSERT INTO enc_result VALUES (false, 'tagquery with an open parenthesis accepted');
    EXCEPTION WHEN invalid_text_representation THEN
        GET STACKED DIAGNOSTICS state = PG_EXCEPTION_DETAIL;
        INSERT INTO enc_result VALUES (state LIKE '% at character ' || (char_length(t) + 5) || '.',
            format('tagquery error position in characters: %s', state));
    END;
    INSERT INTO tagged SELECT i, CASE WHEN i % 3 = 0 THEN ARRAY[t] ELSE ARRAY['x' || i] END FROM generate_series(1, 300) i;
    CREATE INDEX ON tagged USING gin (tags persona.gin_tag_ops);
    SET LOCAL enable_seqscan = off;
    EXECUTE format('SELECT count(*) FROM tagged WHERE tags OPERATOR(persona.@@) %L::persona.tagquery', t || ' | x1') INTO n;
    INSERT INTO enc_result VALUES (n = 101, format('GIN index with tag %s: %s rows', t, n));
    RESET enable_seqscan;

    -- A user scheme labelled in the database encoding.
    INSERT INTO persona.segment_rules (scheme, priority, segment, segment_zh) VALUES ('enc', 1, 'Mine', t);
    SET LOCAL persona.language = zh;
    INSERT INTO enc_result VALUES (persona.rfm_segment('555', 'enc') = t, 'user segment_zh label');
    SET LOCAL persona.language = en;
    INSERT INTO enc_result VALUES (persona.rfm_segment('555', 'enc') = 'Mine', 'user segment label');
END $$;
SELECT CASE WHEN ok THEN 'ok' ELSE 'FAIL' END || ' ' || what FROM enc_result ORDER BY ok, what;
SQL

# The scripts PostgreSQL runs for 0.3.0 and later are ASCII, valid in every encoding as they are.
status=0
if LC_ALL=C grep -n '[^ -~	]' sql/persona.sql sql/persona--*--*.sql > "$checks.grep"; then
  echo "not ok - non-ASCII text in the install or upgrade scripts (put Chinese text in C, see label.c):"
  head -5 "$checks.grep"; status=1
fi
rm -f "$checks.grep"

# Every encoding the server knows; client-only ones (SJIS, BIG5, GBK, ...) are refused by CREATE DATABASE.
encodings=$(psql -X -A -t -q -c "SELECT pg_encoding_to_char(i) FROM generate_series(0, 63) i WHERE pg_encoding_to_char(i) <> '' ORDER BY i")
servers=0; updated=""; zhs=""; nozh=0; total=0
for e in $encodings; do
  psql -X -q -c "DROP DATABASE IF EXISTS $db"
  if ! psql -X -q -c "CREATE DATABASE $db ENCODING '$e' LOCALE 'C' TEMPLATE template0" 2>/dev/null; then
    continue
  fi
  servers=$((servers + 1))
  for from in fresh 0.1.0 0.2.0 0.3.0; do
    if [ $from = fresh ]; then
      out=$(psql -X -q -v ON_ERROR_STOP=1 -d $db -c "CREATE EXTENSION persona" 2>&1) ||
        { echo "not ok - CREATE EXTENSION persona in $e: $out"; status=1; continue; }
    else
      psql -X -q -d $db -c "DROP EXTENSION IF EXISTS persona"
      # 0.1.0's and 0.2.0's install scripts have Chinese text: only where the encoding has it
      psql -X -q -d $db -c "CREATE EXTENSION persona VERSION '$from'" >/dev/null 2>&1 || continue
      out=$(psql -X -q -v ON_ERROR_STOP=1 -d $db -c "ALTER EXTENSION persona UPDATE" 2>&1) ||
        { echo "not ok - ALTER EXTENSION persona UPDATE from $from in $e: $out"; status=1; continue; }
      updated="$updated $e/$from"
    fi
    res=$(psql -X -A -t -q -v ON_ERROR_STOP=1 -d $db -f "$checks" 2>&1) || { echo "not ok - checks in $e ($from): $res"; status=1; continue; }
    if echo "$res" | grep -q '^FAIL'; then
      echo "not ok - $e ($from):"; echo "$res" | grep '^FAIL' | head -20; status=1
    fi
    [ $from = fresh ] || continue
    total=$((total + $(echo "$res" | grep -c '^ok')))
    if psql -X -A -t -q -d $db -c "SET persona.language = zh" -c "SELECT persona.label('new'::persona.lifecycle)" >/dev/null 2>&1; then
      zhs="$zhs $e"
    else
      nozh=$((nozh + 1))
    fi
  done
done
psql -X -q -c "DROP DATABASE IF EXISTS $db"
if [ $servers -lt 30 ]; then
  echo "not ok - only $servers server encodings found"; status=1
fi
[ $status = 0 ] && echo "ok - persona installs in all $servers server encodings and passes $total checks there; Chinese labels in$zhs; 22P05 with a hint in the other $nozh; updated from an old version in$updated"
exit $status
