-- Load the CDNOW 1/10 sample (data/cdnow_sample.txt) into table cdnow.
-- Source: Fader, Hardie & Lee (2005), via the lifetimes repository.
CREATE TEMP TABLE cdnow_raw (line text);
\copy cdnow_raw FROM 'data/cdnow_sample.txt'
CREATE TABLE cdnow AS
SELECT f[1]::int AS customer_id,          -- master id
       f[2]::int AS sample_id,            -- 1..2357, the id of the summary files
       to_date(f[3], 'YYYYMMDD') AS ordered_on,
       f[4]::int AS cds,
       f[5]::numeric(10,2) AS amount
FROM (SELECT regexp_split_to_array(trim(line), '\s+') AS f FROM cdnow_raw) s;
DROP TABLE cdnow_raw;
