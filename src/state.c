/*
 * state.c — reading and writing the bytea form of aggregate states
 * (see state.h).  pq_getmsg* would report short or malformed input as a
 * protocol violation (08P01); a state is a value, so every defect is
 * invalid_binary_representation (22P03) naming what is wrong.
 */
#include "persona.h"
#include "state.h"

#include "port/pg_bswap.h"

/* Error: these bytes are not a state the aggregate could have made. */
void
persona_bad_state(const StateReader *r, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
			 errmsg("invalid %s state", r->what),
			 errdetail("%s", detail),
			 errhint("Pass a state made by persona.%s_state or persona.%s_merge.", r->what, r->what)));
}

void
state_reader_init(StateReader *r, bytea *b, const char *what)
{
	r->data = VARDATA_ANY(b);
	r->len = VARSIZE_ANY_EXHDR(b);
	r->cursor = 0;
	r->what = what;
}

/* The next n bytes, or an error when fewer are left. */
static const char *
take(StateReader *r, int n)
{
	const char *p;

	if (n > r->len - r->cursor)
		persona_bad_state(r, "The value is truncated.");
	p = r->data + r->cursor;
	r->cursor += n;
	return p;
}

int
state_get_byte(StateReader *r)
{
	return (unsigned char) *take(r, 1);
}

/*
 * An unsigned number in 7-bit groups, least significant first, the high
 * bit set on every byte but the last: 1 byte below 128, at most 10.
 * Written in its shortest form only, so a value has one byte form.
 */
void
state_send_varint(StringInfo buf, uint64 v)
{
	char	   *out;

	/* room for the longest (ten bytes) once, then the bytes in place: states are mostly small numbers */
	enlargeStringInfo(buf, 10);
	out = buf->data + buf->len;
	while (v >= 0x80)
	{
		*out++ = (char) (0x80 | (v & 0x7f));
		v >>= 7;
	}
	*out++ = (char) v;
	buf->len = out - buf->data;
	buf->data[buf->len] = '\0';
}

uint64
state_get_varint(StateReader *r)
{
	uint64		v = 0;

	/* the common one-byte number without a call (a state holds dozens) */
	if (r->cursor < r->len && !(r->data[r->cursor] & 0x80))
		return (unsigned char) r->data[r->cursor++];
	for (int shift = 0;; shift += 7)
	{
		int			b = state_get_byte(r);

		if (shift == 63 && b > 1)
			persona_bad_state(r, "A number is beyond 64 bits.");
		v |= (uint64) (b & 0x7f) << shift;
		if (!(b & 0x80))
		{
			if (b == 0 && shift > 0)
				persona_bad_state(r, "A number is not in its shortest form.");
			return v;
		}
	}
}

/* A varint no larger than max (the field's range). */
uint64
state_get_varint_max(StateReader *r, uint64 max)
{
	uint64		v = state_get_varint(r);

	if (v > max)
		persona_bad_state(r, "A number is beyond the range of its field.");
	return v;
}

/* A signed number as a varint, zigzag-coded: 0, -1, 1, -2, ... as 0, 1, 2, 3, ... */
void
state_send_svarint(StringInfo buf, int64 v)
{
	state_send_varint(buf, ((uint64) v << 1) ^ (uint64) (v >> 63));
}

int64
state_get_svarint(StateReader *r)
{
	uint64		u = state_get_varint(r);

	return (int64) (u >> 1) ^ -(int64) (u & 1);
}

int16
state_get_int16(StateReader *r)
{
	uint16		v;

	memcpy(&v, take(r, 2), 2);
	return (int16) pg_ntoh16(v);
}

int32
state_get_int32(StateReader *r)
{
	uint32		v;

	memcpy(&v, take(r, 4), 4);
	return (int32) pg_ntoh32(v);
}

int64
state_get_int64(StateReader *r)
{
	uint64		v;

	memcpy(&v, take(r, 8), 8);
	return (int64) pg_ntoh64(v);
}

/* A NUL-terminated string of at most maxlen bytes (pointing into the value). */
const char *
state_get_string(StateReader *r, int maxlen)
{
	const char *p = r->data + r->cursor;
	int			left = r->len - r->cursor;
	const char *nul = memchr(p, '\0', Min(left, maxlen + 1));

	if (nul == NULL)
		persona_bad_state(r, left <= maxlen ? "The value is truncated." : "A string in it is too long.");
	r->cursor += (int) (nul - p) + 1;
	return p;
}

int
state_remaining(const StateReader *r)
{
	return r->len - r->cursor;
}

/* Error unless every byte was read. */
void
state_get_end(StateReader *r)
{
	if (r->cursor != r->len)
		persona_bad_state(r, "The value has trailing bytes.");
}

/* Kind, version, flags and the zone's canonical name. */
void
state_send_header(StringInfo buf, char kind, int flags, pg_tz *zone)
{
	const char *name = pg_get_timezone_name(zone);

	appendStringInfoChar(buf, kind);
	appendStringInfoChar(buf, STATE_VERSION);
	appendStringInfoChar(buf, (char) flags);
	/* not pq_sendstring: the name must not be converted to the client encoding */
	appendBinaryStringInfo(buf, name, strlen(name) + 1);
}

/* The zone of the last header read, and its name. */
static pg_tz *last_zone = NULL;
static char last_zone_name[TZ_STRLEN_MAX + 1];

/*
 * Read and check a header of the given kind; returns the zone and sets
 * *flags.  The zone name must be canonical (as pg_get_timezone_name()
 * spells it), so that a state has one byte form.
 */
pg_tz *
state_get_header(StateReader *r, char kind, int *flags)
{
	int			k = state_get_byte(r);
	int			version;
	const char *name;
	pg_tz	   *tz;

	if (k != (unsigned char) kind)
		persona_bad_state(r, k == STATE_KIND_ORDER_STATS ? "It is an order_stats state." :
						  k == STATE_KIND_HABITS ? "It is a habits state." :
						  "It does not start with the state's kind byte.");
	version = state_get_byte(r);
	if (version != STATE_VERSION)
		persona_bad_state(r, "Its format version is not one this version of persona reads.");
	*flags = state_get_byte(r);
	name = state_get_string(r, TZ_STRLEN_MAX);
	/* states come in runs of one zone: the last accepted one is remembered */
	if (last_zone != NULL && strcmp(name, last_zone_name) == 0)
		return last_zone;
	tz = name[0] ? pg_tzset(name) : NULL;
	if (tz == NULL || !pg_tz_acceptable(tz) || strcmp(pg_get_timezone_name(tz), name) != 0)
		persona_bad_state(r, "Its time zone is not a canonical time zone name.");
	/* (pg_tzset's zones live as long as the backend) */
	strlcpy(last_zone_name, name, sizeof(last_zone_name));
	last_zone = tz;
	return tz;
}
