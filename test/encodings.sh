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
    w text;
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

    -- Privacy masks: ASCII rules everywhere; with a letter of this encoding
    -- (t above), a word of it keeps its first character, every other one is
    -- one '*'; the fullwidth digits of a mobile number, where the encoding
    -- has them, never show digits 4-7.
    INSERT INTO enc_result VALUES (persona.mask_phone('+86 138-1234-5678') = '+86 138-****-5678'
        AND persona.mask_name('John Smith') = 'J*** S****'
        AND persona.mask_email('zhangsan@example.com') = 'z******n@example.com'
        AND persona.mask_id('110101199003074578') = '110101********4578', 'masks of ASCII input');
    IF enc = 'SQL_ASCII' THEN
        -- t is UTF-8 bytes here: read as UTF-8; bytes that are not UTF-8 are never kept
        got := persona.mask_name(t || t || t);
        INSERT INTO enc_result VALUES (got = convert_from(decode('e882b2', 'hex'), enc) || '*****',
            format('mask_name of %s in SQL_ASCII (got %s)', t || t || t, got));
        got := persona.mask_name(convert_from('\xe9616263'::bytea, enc));
        INSERT INTO enc_result VALUES (got = '****', format('mask_name of a non-UTF-8 byte in SQL_ASCII (got %s)', got));
    ELSE
        got := persona.mask_name(t || t || t);
        INSERT INTO enc_result VALUES (got = left(t, 1) || repeat('*', 3 * char_length(t) - 1),
            format('mask_name of %s (got %s)', t || t || t, got));
        got := persona.mask_email(t || t || t || '@' || t || '.cn');
        -- the local part keeps its last character too from 5 characters
        INSERT INTO enc_result VALUES (got = left(t, 1) || CASE WHEN 3 * char_length(t) >= 5
                THEN repeat('*', 3 * char_length(t) - 2) || right(t, 1) ELSE repeat('*', 3 * char_length(t) - 1) END
                || '@' || t || '.cn',
            format('mask_email of %s (got %s)', t || t || t || '@' || t || '.cn', got));
        got := persona.mask_id(t || '1234567');
        INSERT INTO enc_result VALUES (char_length(got) = char_length(t) + 7 AND right(got, 2) = '67'
            AND left(got, 1) = left(t, 1) AND position('1' IN got) = 0,
            format('mask_id of %s (got %s)', t || '1234567', got));
    END IF;
    BEGIN
        w := convert_from(convert(decode('efbc91efbc93efbc98efbc91efbc92efbc93efbc94efbc95efbc96efbc97efbc98', 'hex'), 'UTF8', enc), enc);
        got := persona.mask_phone(w);
        -- (SQL_ASCII counts bytes: compare with the UTF-8 answer there)
        INSERT INTO enc_result VALUES (CASE WHEN enc = 'SQL_ASCII'
                THEN got = convert_from(decode('efbc91efbc93efbc982a2a2a2aefbc95efbc96efbc97efbc98', 'hex'), enc)
                ELSE substr(got, 4, 4) = '****' AND char_length(got) = char_length(w) END,
            format('mask_phone of fullwidth digits %s (got %s)', w, got));
    EXCEPTION WHEN OTHERS THEN
        NULL;      -- the encoding has no fullwidth digits
    END;

    -- A user scheme labelled in the database encoding.
    INSERT INTO persona.segment_rules (scheme, priority, segment, segment_zh) VALUES ('enc', 1, 'Mine', t);
    SET LOCAL persona.language = zh;
    INSERT INTO enc_result VALUES (persona.rfm_segment('555', 'enc') = t, 'user segment_zh label');
    SET LOCAL persona.language = en;
    INSERT INTO enc_result VALUES (persona.rfm_segment('555', 'enc') = 'Mine', 'user segment label');

    -- Charts and report captions: English everywhere; Chinese captions
    -- where the encoding has them (22P05 otherwise); text bars of blocks in
    -- UTF8, of '#' elsewhere.
    -- (libxml reads the document in UTF-8: MULE_INTERNAL, which has no conversion to it, only by its text)
    INSERT INTO enc_result VALUES (CASE WHEN enc = 'MULE_INTERNAL'
                                        THEN persona.svg_bar_chart(ARRAY['a & b'], ARRAY[1], 'chart') LIKE '<svg %>a &amp; b</text>%</svg>'
                                        ELSE xml_is_well_formed_document(persona.svg_bar_chart(ARRAY['a & b'], ARRAY[1], 'chart'))
                                             AND xml_is_well_formed_document(persona.svg_heatmap(ARRAY['r'], ARRAY['c'], ARRAY[1])) END,
                                   'SVG charts');
    INSERT INTO enc_result VALUES (persona.report_text('Segments', 'e5aea2e688b7e58886e7bea4', 'en') = 'Segments', 'English report caption');
    BEGIN
        got := persona.report_text('Segments', 'e5aea2e688b7e58886e7bea4', 'zh');
        INSERT INTO enc_result VALUES (convert_to(got, enc) = CASE WHEN enc = 'SQL_ASCII' THEN decode('e5aea2e688b7e58886e7bea4', 'hex')
                                                                   ELSE convert(decode('e5aea2e688b7e58886e7bea4', 'hex'), 'UTF8', enc) END,
                                       'Chinese report caption');
    EXCEPTION WHEN untranslatable_character OR character_not_in_repertoire THEN
        GET STACKED DIAGNOSTICS hint = PG_EXCEPTION_HINT, state = RETURNED_SQLSTATE;
        INSERT INTO enc_result VALUES (state = '22P05' AND hint LIKE '%encoding UTF8%', 'Chinese report caption: 22P05 with a hint');
    END;
    INSERT INTO enc_result VALUES (length(persona.text_bar(0.5, 4)) = 2
                                   AND (enc = 'UTF8') = (persona.text_bar(0.5, 4) <> '##'), 'text bar');
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
  for from in fresh 0.1.0 0.2.0 0.3.0 0.4.0 0.5.0; do
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
