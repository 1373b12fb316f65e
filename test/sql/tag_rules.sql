-- Tag rules as data, compiled into one view; rules cannot escape their expression.
CREATE TABLE card (customer_id int, orders int, recency_days int, revenue numeric, categories text[]);
INSERT INTO card VALUES (1, 10, 5, 5000, '{育儿,绘本}'), (2, 1, 200, 30, '{育儿}'), (3, 4, 40, 900, '{}'), (4, 0, NULL, 0, NULL);
INSERT INTO persona.tag_rules (source, tag, layer, rule_sql, description) VALUES
  ('card', '高价值', 'value', 'revenue >= 1000', 'spends 1000+'),
  ('card', '沉睡', 'behavior', 'recency_days > 90', 'silent 90 days'),
  ('card', '育儿', 'preference', '''育儿'' = ANY (categories)', NULL),
  ('card', '常客', 'basic', 'orders >= 4', NULL);
INSERT INTO persona.tag_rules (source, tag, layer, rule_sql, enabled) VALUES ('card', 'off', 'basic', 'true', false);
SELECT persona.build_tag_view('card_tags', 'card');
SELECT * FROM card_tags ORDER BY customer_id;
SELECT customer_id FROM card_tags WHERE tags OPERATOR(persona.@@) '育儿 & !沉睡' ORDER BY 1;
SELECT persona.label(layer), count(*) FROM persona.tag_rules GROUP BY layer ORDER BY layer;
-- The view runs with the rights of whoever queries it.
SELECT reloptions FROM pg_class WHERE relname = 'card_tags';

-- Rejected rules, with PostgreSQL's own message.
INSERT INTO persona.tag_rules VALUES ('card', 'x', 'basic', 'no_such_column > 1');
INSERT INTO persona.tag_rules VALUES ('card', 'x', 'basic', 'orders +');
INSERT INTO persona.tag_rules VALUES ('card', 'x', 'basic', 'revenue');
INSERT INTO persona.tag_rules VALUES ('card', 'x', 'basic', '');
-- Injection attempts: a rule is one expression and nothing else.
INSERT INTO persona.tag_rules VALUES ('card', 'x', 'basic', 'true) FROM pg_authid WHERE (true');
INSERT INTO persona.tag_rules VALUES ('card', 'x', 'basic', 'true); DROP TABLE card; SELECT (true');
INSERT INTO persona.tag_rules VALUES ('card', 'x', 'basic', 'true) THEN ''x'' END], NULL) FROM card; DROP TABLE card; --');
INSERT INTO persona.tag_rules VALUES ('card', 'x', 'basic', 'true UNION SELECT false');
SELECT count(*) AS card_still_there FROM card;
-- Updates are checked too.
UPDATE persona.tag_rules SET rule_sql = 'orders >' WHERE tag = '常客';
-- A rule that breaks later (column dropped) stops the build with a clear error.
ALTER TABLE card ADD COLUMN vip boolean DEFAULT false;
INSERT INTO persona.tag_rules VALUES ('card', 'vip', 'value', 'vip');
DROP VIEW card_tags;
ALTER TABLE card DROP COLUMN vip;
SELECT persona.build_tag_view('card_tags', 'card');
DELETE FROM persona.tag_rules WHERE tag = 'vip';

-- Rights: a user who cannot read the profile can neither add rules over it nor read the tags.
SELECT persona.build_tag_view('public.card_tags', 'card');
CREATE ROLE persona_analyst;
GRANT USAGE ON SCHEMA public TO persona_analyst;
GRANT SELECT ON card_tags TO persona_analyst;
GRANT INSERT ON persona.tag_rules TO persona_analyst;
SET ROLE persona_analyst;
SELECT * FROM card_tags;
INSERT INTO persona.tag_rules VALUES ('card', 'x', 'basic', 'orders > 1');
RESET ROLE;
REVOKE ALL ON card_tags FROM persona_analyst;
REVOKE ALL ON persona.tag_rules FROM persona_analyst;
REVOKE ALL ON SCHEMA public FROM persona_analyst;
DROP ROLE persona_analyst;

-- Bad names.
SELECT persona.build_tag_view('a.b.c', 'card');
SELECT persona.build_tag_view('card_tags', 'card', key_col => 'nope');
DELETE FROM persona.tag_rules;
DROP VIEW card_tags;
DROP TABLE card;
