/*
 * mask.c — privacy masks for personal data (PIPL 脱敏): mask_phone,
 * mask_name, mask_email, mask_id.
 *
 * Each mask keeps a few characters of its input and replaces every other
 * character by exactly one '*', so the result has as many characters as the
 * input; white space (and, in phone numbers and ids, the separators
 * - ( ) . /) is kept to preserve the layout.  The masks never raise: any
 * string gets a rendering, and where a rule does not recognise its input it
 * falls back to a rule that keeps less.  The rules are in README.md
 * ("Privacy masks").
 *
 * Characters are read one whole character at a time in the database
 * encoding.  What a character is (digit, letter of an alphabetic script,
 * CJK or other letter, space, symbol) is decided from its code point in
 * UTF8; in other encodings only ASCII is classified exactly: the high bytes
 * of single-byte encodings (LATIN1, WIN1251, KOI8R, ...) count as alphabetic
 * letters and the multibyte characters of EUC_CN, EUC_JP, ... as CJK
 * letters.  SQL_ASCII text is read as UTF-8 when it is valid UTF-8 and
 * byte by byte otherwise, and then no high byte is ever kept (a kept byte
 * could be half a character).
 */
#include "persona.h"

#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/builtins.h"

PG_FUNCTION_INFO_V1(mask_phone);
PG_FUNCTION_INFO_V1(mask_name);
PG_FUNCTION_INFO_V1(mask_email);
PG_FUNCTION_INFO_V1(mask_id);

/* What a character is, as far as the masks care. */
typedef enum MaskClass
{
	MC_SPACE,					/* white space: always kept */
	MC_SEP,						/* - ( ) . / : kept in phone numbers and ids */
	MC_DIGIT,					/* 0-9, and fullwidth digits in UTF-8 */
	MC_ALPHA,					/* letter of an alphabetic script (Latin, Cyrillic, ...) */
	MC_IDEO,					/* CJK, Hangul, kana and other letters */
	MC_OTHER					/* symbols, emoji, punctuation, unknown bytes */
} MaskClass;

/* How the text is split into characters. */
typedef enum MaskMode
{
	MM_UTF8,
	MM_SINGLE,					/* a single-byte server encoding */
	MM_MB,						/* a multibyte encoding other than UTF8 */
	MM_BYTES					/* SQL_ASCII text that is not valid UTF-8 */
} MaskMode;

typedef struct MaskInput
{
	const char *s;
	int			len;
	MaskMode	mode;
} MaskInput;

/* The masks' output: a text datum filled as characters are decided. */
typedef struct MaskOutput
{
	text	   *t;
	char	   *p;
} MaskOutput;

static MaskInput
mask_input(text *t)
{
	MaskInput	in;
	int			enc = GetDatabaseEncoding();

	in.s = VARDATA_ANY(t);
	in.len = VARSIZE_ANY_EXHDR(t);
	if (enc == PG_UTF8)
		in.mode = MM_UTF8;
	else if (enc == PG_SQL_ASCII)
		in.mode = pg_verify_mbstr(PG_UTF8, in.s, in.len, true) ? MM_UTF8 : MM_BYTES;
	else if (pg_encoding_max_length(enc) == 1)
		in.mode = MM_SINGLE;
	else
		in.mode = MM_MB;
	return in;
}

/* Masking never lengthens a string: a kept character keeps its bytes, '*' is one byte. */
static MaskOutput
mask_output(const MaskInput *in)
{
	MaskOutput	out;

	out.t = (text *) palloc(VARHDRSZ + in->len);
	out.p = VARDATA(out.t);
	return out;
}

static text *
mask_finish(MaskOutput *out)
{
	SET_VARSIZE(out->t, out->p - (char *) out->t);
	return out->t;
}

/* Append the character at s (n bytes) as it is, or as one '*'. */
static inline void
mask_put(MaskOutput *out, const char *s, int n, bool keep)
{
	if (keep)
	{
		memcpy(out->p, s, n);
		out->p += n;
	}
	else
		*out->p++ = '*';
}

static MaskClass
classify_ascii(unsigned char c)
{
	if (c == ' ' || (c >= '\t' && c <= '\r'))
		return MC_SPACE;
	if (c >= '0' && c <= '9')
		return MC_DIGIT;
	if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'))
		return MC_ALPHA;
	if (c == '-' || c == '(' || c == ')' || c == '.' || c == '/')
		return MC_SEP;
	return MC_OTHER;
}

/*
 * A Unicode code point.  The letter ranges are deliberately coarse: a
 * character they do not know is a symbol, which is never kept.
 */
static MaskClass
classify_unicode(pg_wchar c)
{
	if (c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) ||
		c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000)
		return MC_SPACE;
	if (c >= 0xFF10 && c <= 0xFF19)
		return MC_DIGIT;
	/* Latin, IPA, Greek, Cyrillic, Armenian, Hebrew, Arabic, Thai, Georgian, fullwidth Latin */
	if ((c >= 0xC0 && c <= 0x2AF && c != 0xD7 && c != 0xF7) ||
		(c >= 0x370 && c <= 0x52F && c != 0x37E && c != 0x387) ||
		(c >= 0x531 && c <= 0x587) || (c >= 0x5D0 && c <= 0x5F2) ||
		(c >= 0x620 && c <= 0x64A) || (c >= 0x66E && c <= 0x6D3) ||
		(c >= 0xE01 && c <= 0xE4E) || (c >= 0x10A0 && c <= 0x10FF) ||
		(c >= 0x1E00 && c <= 0x1FFF) ||
		(c >= 0xFF21 && c <= 0xFF3A) || (c >= 0xFF41 && c <= 0xFF5A))
		return MC_ALPHA;
	/* Indic and other Asian scripts, Hangul, kana, bopomofo, CJK ideographs, Yi */
	if ((c >= 0x900 && c <= 0xDFF) || (c >= 0xF00 && c <= 0x109F) ||
		(c >= 0x1100 && c <= 0x11FF) || (c >= 0x1780 && c <= 0x17FF) ||
		(c >= 0x2E80 && c <= 0x2FDF) || (c >= 0x3041 && c <= 0x30FA) ||
		(c >= 0x30FC && c <= 0x31FF) || (c >= 0x3400 && c <= 0x4DBF) ||
		(c >= 0x4E00 && c <= 0x9FFF) || (c >= 0xA000 && c <= 0xA4CF) ||
		(c >= 0xAC00 && c <= 0xD7AF) || (c >= 0xF900 && c <= 0xFAFF) ||
		(c >= 0xFF66 && c <= 0xFFDC) || (c >= 0x20000 && c <= 0x3FFFF))
		return MC_IDEO;
	return MC_OTHER;
}

/* The length of the character at byte pos (never past the end) and its class. */
static inline int
mask_char(const MaskInput *in, int pos, MaskClass *cls)
{
	const unsigned char *p = (const unsigned char *) in->s + pos;
	int			rest = in->len - pos;
	int			n;

	if (*p < 0x80)
	{
		*cls = classify_ascii(*p);
		return 1;
	}
	switch (in->mode)
	{
		case MM_UTF8:
			n = pg_utf_mblen(p);
			if (n > rest || n < 2)
			{
				*cls = MC_OTHER;
				return Max(Min(n, rest), 1);
			}
			*cls = classify_unicode(utf8_to_unicode(p));
			return n;
		case MM_SINGLE:
			*cls = MC_ALPHA;
			return 1;
		case MM_MB:
			*cls = MC_IDEO;
			return Max(Min(pg_mblen((const char *) p), rest), 1);
		default:
			*cls = MC_OTHER;
			return 1;
	}
}

/* Digit value of a digit character (ASCII or fullwidth). */
static inline int
digit_value(const MaskInput *in, int pos)
{
	unsigned char c = (unsigned char) in->s[pos];

	if (c < 0x80)
		return c - '0';
	return (int) (utf8_to_unicode((const unsigned char *) in->s + pos) - 0xFF10);
}

static inline bool
is_letter(MaskClass c)
{
	return c == MC_ALPHA || c == MC_IDEO;
}

/*
 * Length of the ITU-T E.164 country code at the start of d (n digits
 * available): 1 and 7 are one digit, the other zones have a fixed set of
 * two-digit codes and three digits otherwise; the codes are prefix-free.
 * 0 when d does not start like a country code.
 */
static int
country_code_length(const int *d, int n)
{
	int			len;

	if (n < 1 || d[0] == 0)
		return 0;
	if (d[0] == 1 || d[0] == 7 || n < 2)
		len = 1;
	else
	{
		int			d1 = d[1];

		switch (d[0])
		{
			case 2:
				len = (d1 == 0 || d1 == 7) ? 2 : 3;
				break;
			case 3:
				len = (d1 <= 4 || d1 == 6 || d1 == 9) ? 2 : 3;
				break;
			case 4:
				len = d1 == 2 ? 3 : 2;
				break;
			case 5:
				len = (d1 == 0 || d1 == 9) ? 3 : 2;
				break;
			case 6:
				len = d1 <= 6 ? 2 : 3;
				break;
			case 8:
				len = (d1 == 1 || d1 == 2 || d1 == 4 || d1 == 6) ? 2 : 3;
				break;
			default:			/* 9 */
				len = (d1 <= 5 || d1 == 8) ? 2 : 3;
				break;
		}
	}
	return Min(len, n);
}

#define PHONE_HEAD 8			/* leading digits the phone rules look at */

/*
 * mask_phone(text): a Chinese mobile number (11 digits 1[3-9]..., alone or
 * after +86, 86 or 0086) keeps its first 3 and last 4 digits.  Another
 * number keeps its country code (written after + or 00) and, counting the
 * digits after it, its last 4 digits from 7 digits, its last 2 from 4, and
 * none (nor the country code) below 4.
 * Separators and '+' are kept; letters and symbols are masked.
 */
Datum
mask_phone(PG_FUNCTION_ARGS)
{
	MaskInput	in = mask_input(PG_GETARG_TEXT_PP(0));
	MaskOutput	out = mask_output(&in);
	int			head[PHONE_HEAD];
	int64		ndigits = 0;
	bool		plus = false;
	int64		mask_from,		/* digits [mask_from, mask_hi) are masked, the others kept */
				mask_hi;
	int64		i = 0;

	/* Pass 1: the digits, and whether a '+' comes before the first of them. */
	for (int pos = 0; pos < in.len;)
	{
		MaskClass	cls;
		int			n = mask_char(&in, pos, &cls);

		PERSONA_CHECK_INTERRUPTS_EVERY(++i, 16);
		if (cls == MC_DIGIT)
		{
			if (ndigits < PHONE_HEAD)
				head[ndigits] = digit_value(&in, pos);
			ndigits++;
		}
		else if (in.s[pos] == '+' && ndigits == 0)
			plus = true;
		pos += n;
	}

	/* Which digits to keep. */
	{
		int			nhead = (int) Min(ndigits, PHONE_HEAD);
		int			cc_start = (!plus && nhead >= 2 && head[0] == 0 && head[1] == 0) ? 2 : 0;
		int			cc_len = (plus || cc_start) ? country_code_length(head + cc_start, nhead - cc_start) : 0;
		int			national = -1;	/* where an 11-digit Chinese mobile number would start */

		if (cc_len == 2 && head[cc_start] == 8 && head[cc_start + 1] == 6)
			national = cc_start + 2;
		else if (!plus && !cc_start)
			national = (ndigits == 13 && head[0] == 8 && head[1] == 6) ? 2 : 0;
		if (national >= 0 && ndigits - national == 11 &&
			head[national] == 1 && head[national + 1] >= 3)
		{
			/* 138****5678: keep everything but digits 4-7 of the mobile number */
			mask_from = national + 3;
			mask_hi = national + 7;
		}
		else
		{
			/*
			 * The length rules count the national digits, after a country
			 * code written with + or 00 (kept, with its 00, unless the
			 * national number is too short to mask).
			 */
			int			prefix = cc_start + cc_len;
			int64		nat = ndigits - prefix;

			if (nat >= 7)
			{
				mask_from = prefix;
				mask_hi = ndigits - 4;
			}
			else if (nat >= 4)
			{
				mask_from = prefix;
				mask_hi = ndigits - 2;
			}
			else
			{
				mask_from = 0;
				mask_hi = ndigits;
			}
		}
	}

	/* Pass 2: write it. */
	i = 0;
	for (int pos = 0, d = 0; pos < in.len;)
	{
		MaskClass	cls;
		int			n = mask_char(&in, pos, &cls);

		PERSONA_CHECK_INTERRUPTS_EVERY(++i, 16);
		if (cls == MC_DIGIT)
		{
			mask_put(&out, in.s + pos, n, d < mask_from || d >= mask_hi);
			d++;
		}
		else
			mask_put(&out, in.s + pos, n, cls == MC_SPACE || cls == MC_SEP || in.s[pos] == '+');
		pos += n;
	}
	PG_RETURN_TEXT_P(mask_finish(&out));
}

/*
 * Mask a name in s[from, to): a name with a CJK (or other non-alphabetic
 * script) letter keeps only its first character, if it is a letter; any
 * other name keeps the first letter of each word of two or more
 * characters.  A name of one character is masked whole.
 */
static void
mask_name_part(const MaskInput *in, int from, int to, MaskOutput *out)
{
	int64		content = 0;
	bool		cjk = false;
	bool		first = true;
	int			word_len = 0;
	int64		i = 0;

	for (int pos = from; pos < to;)
	{
		MaskClass	cls;
		int			n = mask_char(in, pos, &cls);

		PERSONA_CHECK_INTERRUPTS_EVERY(++i, 16);
		if (cls != MC_SPACE)
			content++;
		if (cls == MC_IDEO)
			cjk = true;
		pos += n;
	}
	for (int pos = from; pos < to;)
	{
		MaskClass	cls;
		int			n = mask_char(in, pos, &cls);
		bool		keep = false;

		PERSONA_CHECK_INTERRUPTS_EVERY(++i, 16);
		if (cls == MC_SPACE)
		{
			word_len = 0;
			keep = true;
		}
		else
		{
			if (content > 1)
			{
				if (cjk)
					keep = first && is_letter(cls);
				else if (word_len == 0 && cls == MC_ALPHA)
				{
					/* a word's first letter, if the word goes on */
					MaskClass	next = MC_SPACE;

					if (pos + n < to)
						mask_char(in, pos + n, &next);
					keep = next != MC_SPACE;
				}
			}
			first = false;
			word_len++;
		}
		mask_put(out, in->s + pos, n, keep);
		pos += n;
	}
}

/* mask_name(text): 张** / J*** S**** (see mask_name_part). */
Datum
mask_name(PG_FUNCTION_ARGS)
{
	MaskInput	in = mask_input(PG_GETARG_TEXT_PP(0));
	MaskOutput	out = mask_output(&in);

	mask_name_part(&in, 0, in.len, &out);
	PG_RETURN_TEXT_P(mask_finish(&out));
}

/*
 * mask_email(text): the domain (from the last '@') is kept; the local part
 * keeps its first character when it has two or more, and its last as well
 * when it has five or more (letters and digits only).  No '@': masked as a
 * name.
 */
Datum
mask_email(PG_FUNCTION_ARGS)
{
	MaskInput	in = mask_input(PG_GETARG_TEXT_PP(0));
	MaskOutput	out = mask_output(&in);
	int			at = -1;
	int64		local = 0;
	int64		k = 0;
	int64		i = 0;

	for (int pos = 0; pos < in.len;)
	{
		MaskClass	cls;
		int			n = mask_char(&in, pos, &cls);

		PERSONA_CHECK_INTERRUPTS_EVERY(++i, 16);
		if (in.s[pos] == '@')
			at = pos;
		pos += n;
	}
	if (at < 0)
	{
		mask_name_part(&in, 0, in.len, &out);
		PG_RETURN_TEXT_P(mask_finish(&out));
	}
	for (int pos = 0; pos < at;)
	{
		MaskClass	cls;
		int			n = mask_char(&in, pos, &cls);

		PERSONA_CHECK_INTERRUPTS_EVERY(++i, 16);
		if (cls != MC_SPACE)
			local++;
		pos += n;
	}
	for (int pos = 0; pos < at;)
	{
		MaskClass	cls;
		int			n = mask_char(&in, pos, &cls);
		bool		keep = cls == MC_SPACE;

		PERSONA_CHECK_INTERRUPTS_EVERY(++i, 16);
		if (!keep)
		{
			bool		shown = is_letter(cls) || cls == MC_DIGIT;

			keep = shown && ((k == 0 && local >= 2) || (k == local - 1 && local >= 5));
			k++;
		}
		mask_put(&out, in.s + pos, n, keep);
		pos += n;
	}
	memcpy(out.p, in.s + at, in.len - at);
	out.p += in.len - at;
	PG_RETURN_TEXT_P(mask_finish(&out));
}

/*
 * mask_id(text): an 18-character resident id (17 digits and a digit or X)
 * keeps its first 6 (region) and last 4 characters; a 15-digit one its
 * first 6 and last 3; any other id of 7 or more characters its first and
 * its last 2 (letters and digits only); shorter ids are masked whole.
 * Spaces and separators are kept and not counted.
 */
Datum
mask_id(PG_FUNCTION_ARGS)
{
	MaskInput	in = mask_input(PG_GETARG_TEXT_PP(0));
	MaskOutput	out = mask_output(&in);
	int64		content = 0;
	int64		digits = 0;
	bool		last_x = false;
	int64		head,			/* content characters [0, head) kept ... */
				tail;			/* ... and [tail, content) */
	int64		k = 0;
	int64		i = 0;

	for (int pos = 0; pos < in.len;)
	{
		MaskClass	cls;
		int			n = mask_char(&in, pos, &cls);

		PERSONA_CHECK_INTERRUPTS_EVERY(++i, 16);
		if (cls != MC_SPACE && cls != MC_SEP)
		{
			content++;
			if (cls == MC_DIGIT)
				digits++;
			last_x = in.s[pos] == 'X' || in.s[pos] == 'x';
		}
		pos += n;
	}
	if (content == 18 && (digits == 18 || (digits == 17 && last_x)))
	{
		head = 6;
		tail = 14;
	}
	else if (content == 15 && digits == 15)
	{
		head = 6;
		tail = 12;
	}
	else if (content >= 7)
	{
		head = 1;
		tail = content - 2;
	}
	else
	{
		head = 0;
		tail = content;
	}
	for (int pos = 0; pos < in.len;)
	{
		MaskClass	cls;
		int			n = mask_char(&in, pos, &cls);
		bool		keep = cls == MC_SPACE || cls == MC_SEP;

		PERSONA_CHECK_INTERRUPTS_EVERY(++i, 16);
		if (!keep)
		{
			keep = (k < head || k >= tail) && (is_letter(cls) || cls == MC_DIGIT);
			k++;
		}
		mask_put(&out, in.s + pos, n, keep);
		pos += n;
	}
	PG_RETURN_TEXT_P(mask_finish(&out));
}
