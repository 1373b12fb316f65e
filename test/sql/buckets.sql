-- Quantisation: breaks are inclusive upper bounds.
SELECT v, persona.bucket(v, '{2,4}', '{low,mid,high}') FROM unnest('{-1,0,2,2.5,4,4.001,5,100}'::float8[]) v;
SELECT persona.bucket(500::numeric, '{500,2000}', '{a,b,c}'), persona.bucket(500.01::numeric, '{500,2000}', '{a,b,c}');
SELECT persona.bucket(1, '{1}', '{one,NULL}') AS null_label_ok, persona.bucket(2, '{1}', '{one,NULL}') IS NULL AS null_label;
SELECT persona.bucket(NULL::float8, '{1}', '{a,b}') IS NULL AS null_value;
-- Ready-made buckets from seed 003.
SELECT n, persona.purchase_count_bucket(n), persona.price_sensitivity(n) FROM generate_series(0, 7) n;
SELECT v, persona.ltv_bucket(v) FROM unnest('{0,500,500.5,2000,2000.01}'::numeric[]) v;
SET persona.language = zh;
SELECT persona.purchase_count_bucket(4), persona.price_sensitivity(5), persona.ltv_bucket(3000);
SELECT persona.label(persona.value_tier(v, 1000, 5000)) FROM unnest('{999,1000,4999,5000}'::float8[]) v;
RESET persona.language;
SELECT v, persona.value_tier(v, 1000, 5000) FROM unnest('{999,1000,4999,5000}'::float8[]) v;
SELECT v, persona.value_tier(v, 50, 50) AS tied_thresholds FROM unnest('{49,50,51}'::float8[]) v;
-- Bad input.
SELECT persona.bucket(1, '{}', '{a}');
SELECT persona.bucket(1, '{2,1}', '{a,b,c}');
SELECT persona.bucket(1, '{1,1}', '{a,b,c}');
SELECT persona.bucket(1, '{1,2}', '{a,b}');
SELECT persona.bucket(1, '{1,NULL}', '{a,b,c}');
SELECT persona.bucket('NaN', '{1}', '{a,b}');
SELECT persona.bucket(1, '{NaN}', '{a,b}');
SELECT persona.value_tier(1, 5000, 1000);
SELECT persona.value_tier('NaN', 1000, 5000);
