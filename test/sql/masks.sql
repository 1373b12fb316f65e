-- Privacy masks: mask_phone, mask_name, mask_email, mask_id.
-- Every * stands for exactly one character; the masks never raise.

-- Phone numbers: Chinese mobiles (alone, +86, 86, 0086, any layout), other
-- numbers (country code and last 4 kept), short ones (last 2 kept).
SELECT s, persona.mask_phone(s)
FROM unnest(ARRAY[
  '13812345678', '138 1234 5678', '138-1234-5678', '+86 138-1234-5678', '+86 13812345678',
  '+8613812345678', '8613812345678', '86 138 1234 5678', '0086 13812345678', '(+86) 139 0000 1111',
  '+1 415 555 0132', '+44 20 7946 0958', '+852 2123 4567', '0044 20 7946 0958', '020-12345678',
  '(010) 6552-9988', '12345678901', '1234567', '123456', '12345', '1234', '123', '1',
  '+86 12345', '+1 234567', '+86 123', '+', '00', '+86 20 1234 5678', '+7 495 123-45-67', '12812345678', '138123456789', 'Tel: 138 1234 5678',
  '１３８１２３４５６７８', '138 1234 5678 😀', '1-800-FLOWERS', '13812345678 ext 12'
]) s;

-- Names: CJK names keep the first character, others the first letter of each word.
SELECT s, persona.mask_name(s)
FROM unnest(ARRAY[
  '张三丰', '张三', '欧阳娜娜', '张', '张 三', 'John Smith', 'john smith', 'J', 'Jo', 'John F Kennedy',
  'Mary-Jane O''Brien', 'José Müller', 'Иван Петров', '김민준', '山田太郎', '阿卜杜拉·买买提',
  '李John', 'John 李', '😀abc', '😀', '123 456', '-', '  John   Smith  '
]) s;

-- E-mail addresses: domain kept; the local part keeps its first character,
-- and its last from 5 characters; no @: masked like a name.
SELECT s, persona.mask_email(s)
FROM unnest(ARRAY[
  'zhangsan@example.com', 'ab@x.cn', 'a@x.cn', 'abc@x.cn', 'abcd@x.cn', 'abcde@x.cn',
  '13812345678@163.com', '张三@例子.cn', '张三丰先生@qq.com', 'a@b@c.com', '.hidden@x.cn',
  '@x.cn', '@', 'no-at-sign', 'John Smith', '😀😀😀😀😀@x.cn'
]) s;

-- Identity numbers: 18-character and 15-digit resident ids, other ids.
SELECT s, persona.mask_id(s)
FROM unnest(ARRAY[
  '110101199003074578', '11010119900307457X', '11010119900307457x', '110101 19900307 4578',
  '110101900307457', '11010119900307457A', '1101011990030745789', 'E12345678', 'G1234567',
  'AB12345', 'A12345', 'abc', '１１０１０１１９９００３０７４５７８', '😀😀😀😀😀😀😀😀'
]) s;

-- Odd input: NULL gives NULL (STRICT), empty and white space stay as they are.
SELECT f, persona.mask_phone(v) AS phone, persona.mask_name(v) AS name,
       persona.mask_email(v) AS email, persona.mask_id(v) AS id
FROM (VALUES ('NULL', NULL::text), ('empty', ''), ('spaces', '   '), ('tab', E'a\tb'), ('abc', 'abc'),
             ('mixed', '张a1😀-x')) v(f, v);

-- Each * replaces one character: the length in characters never changes,
-- and every input with two non-space characters in a row gets a *.
SELECT f, bool_and(char_length(m) = char_length(s)) AS same_length,
       bool_and(m ~ '\*' OR s !~ '\S\S') AS masks_something
FROM (VALUES ('13812345678'), ('+1 415 555 0132'), ('张三丰'), ('John Smith'), ('zhangsan@example.com'),
             ('110101199003074578'), ('E12345678'), ('😀😀😀'), ('a'), ('')) v(s),
     LATERAL (VALUES ('phone', persona.mask_phone(s)), ('name', persona.mask_name(s)),
                     ('email', persona.mask_email(s)), ('id', persona.mask_id(s))) m(f, m)
GROUP BY f ORDER BY f;

-- A 1 MB string: the same length back, almost all of it masked.
SELECT f, char_length(m) AS len, char_length(m) - char_length(replace(m, '*', '')) AS stars
FROM (SELECT repeat('13812345678', 100000) || '9' AS s) d,
     LATERAL (VALUES ('phone', persona.mask_phone(s)), ('name', persona.mask_name(s)),
                     ('email', persona.mask_email(s)), ('id', persona.mask_id(s))) m(f, m)
ORDER BY f;
SELECT char_length(persona.mask_name(repeat('张', 1000000))) AS cjk_len,
       left(persona.mask_name(repeat('张', 1000000)), 3) AS cjk_head,
       char_length(persona.mask_email(repeat('a', 1000000) || '@x.cn')) AS email_len;

-- Labels of the catalog: immutable, strict, parallel safe.
SELECT p.oid::regprocedure, p.provolatile, p.proisstrict, p.proparallel
FROM pg_proc p WHERE p.pronamespace = 'persona'::regnamespace AND p.proname LIKE 'mask\_%' ORDER BY 1::text;
