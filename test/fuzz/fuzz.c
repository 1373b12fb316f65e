/*
 * fuzz.c — seeded, deterministic fuzz driver for persona, written against libpq.
 *
 * For every database encoding asked for (UTF8, SQL_ASCII, LATIN1, EUC_CN) it
 * creates a database, installs persona and runs four phases:
 *
 *   types      generated and mutated text input (typinput) and binary input
 *              (typreceive, via a binary parameter) of every persona base
 *              type; every accepted value must re-read through text and
 *              through send/recv as the same value
 *   functions  every function in schema persona (from pg_proc) called with
 *              random arguments drawn per argument type, as the owner and
 *              as an unprivileged role, results checked against a table of
 *              expected domains
 *   aggregates every aggregate in every query shape: plain, GROUP BY,
 *              window, FILTER, GROUPING SETS, forced parallel
 *   dump       every accepted value stored in tables that must survive a
 *              binary and a text COPY and pg_dump/pg_restore (plain, -Fc)
 *
 * Every call runs under statement_timeout; a call that outlives it by more
 * than --late-ms is a late cancel, by more than --hang-ms a hang (then
 * PQcancel, pg_terminate_backend and, if the backend is local and still
 * there, SIGKILL).  A lost connection is a crash: the driver waits for the
 * server to recover, reconnects and goes on.  Reproducers of every finding
 * go to results/fuzz-repro.sql, the full report to results/fuzz-report.txt.
 * The exit status is 1 when anything fatal was found (see --nonfatal).
 *
 * Connects with the PG* environment like psql.  Deterministic for a seed:
 * each (database, phase, type or function) gets its own random stream.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <getopt.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#define lengthof(a) ((int) (sizeof(a) / sizeof((a)[0])))
#define BOOLOID 16
#define BYTEAOID 17
#define TEXTOID 25

/* ---------------------------------------------------------------- options */

static uint64_t opt_seed = 1;
static long opt_inputs = 2000;	/* per type per database, half text, half binary */
static long opt_calls = 20;		/* per function per database */
static long opt_agg_calls = 20;	/* per aggregate per database */
static double opt_budget = 0;	/* seconds for the whole run; 0 = none */
static char *opt_dbs = "utf8,sql_ascii,latin1,euc_cn";
static double opt_timeout_ms = 1000;
static double opt_late_ms = 100;
static double opt_hang_ms = 10000;
static char *opt_results = "results";
static char *opt_nonfatal = "";
static char *opt_prefix = "persona_fuzz_";
static int	opt_keep = 0;
static int	opt_dump = 1;
static int	opt_kill = 1;
static int	opt_verbose = 0;
static int	opt_repro_max = 5;
static char *opt_only = NULL;	/* phases: types,functions,aggregates,dump */

static double t_start;
static int	budget_hit = 0;

/* ------------------------------------------------------------ small utils */

static double
now_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return tv.tv_sec * 1000.0 + tv.tv_usec / 1000.0;
}

static double db_deadline;		/* each database gets an equal share of what is left */

static int
over_budget(void)
{
	if (opt_budget > 0 && now_ms() > db_deadline)
		budget_hit = 1;
	return opt_budget > 0 && now_ms() > db_deadline;
}

static void *
xmalloc(size_t n)
{
	void	   *p = malloc(n ? n : 1);

	if (!p)
	{
		fprintf(stderr, "fuzz: out of memory\n");
		exit(2);
	}
	return p;
}

static char *
xstrdup(const char *s)
{
	size_t		n = strlen(s);
	char	   *p = xmalloc(n + 1);

	memcpy(p, s, n + 1);
	return p;
}

static void *
xmemdup(const void *s, size_t n)
{
	char	   *p = xmalloc(n + 1);

	memcpy(p, s, n);
	p[n] = 0;
	return p;
}

/* A growable byte string. */
typedef struct Sb
{
	char	   *d;
	size_t		len,
				cap;
} Sb;

static void
sb_grow(Sb *s, size_t extra)
{
	if (s->len + extra + 1 > s->cap)
	{
		size_t		cap = s->cap ? s->cap : 64;

		while (cap < s->len + extra + 1)
			cap *= 2;
		s->d = realloc(s->d, cap);
		if (!s->d)
		{
			fprintf(stderr, "fuzz: out of memory\n");
			exit(2);
		}
		s->cap = cap;
	}
}

static void
sb_addn(Sb *s, const void *p, size_t n)
{
	sb_grow(s, n);
	memcpy(s->d + s->len, p, n);
	s->len += n;
	s->d[s->len] = 0;
}

static void
sb_add(Sb *s, const char *p)
{
	sb_addn(s, p, strlen(p));
}

static void
sb_addc(Sb *s, char c)
{
	sb_addn(s, &c, 1);
}

static void
sb_printf(Sb *s, const char *fmt,...)
{
	va_list		ap;
	int			n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	sb_grow(s, n);
	va_start(ap, fmt);
	vsnprintf(s->d + s->len, n + 1, fmt, ap);
	va_end(ap);
	s->len += n;
}

static void
sb_reset(Sb *s)
{
	s->len = 0;
	if (s->d)
		s->d[0] = 0;
}

static void
sb_free(Sb *s)
{
	free(s->d);
	memset(s, 0, sizeof(*s));
}

/* ------------------------------------------------------------------- rng */

static uint64_t rng_state;

static uint64_t
splitmix(uint64_t *x)
{
	uint64_t	z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t
rnd64(void)
{
	return splitmix(&rng_state);
}

/* Uniform in 0..n-1. */
static long
rnd(long n)
{
	return n <= 1 ? 0 : (long) (rnd64() % (uint64_t) n);
}

static double
rndf(void)
{
	return (rnd64() >> 11) * (1.0 / 9007199254740992.0);
}

static int
chance(double p)
{
	return rndf() < p;
}

static uint64_t
hash_str(const char *s)
{
	uint64_t	h = 1469598103934665603ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char) *s) * 1099511628211ULL;
	return h;
}

static uint64_t
hash_bytes(const char *s, size_t n)
{
	uint64_t	h = 1469598103934665603ULL;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char) s[i]) * 1099511628211ULL;
	return h;
}

/* Give a named stream its own deterministic seed. */
static void
rng_for(const char *db, const char *phase, const char *what)
{
	uint64_t	x = opt_seed ^ hash_str(db) * 3 ^ hash_str(phase) * 5 ^ hash_str(what) * 7;

	rng_state = splitmix(&x);
}

#define PICK(arr) ((arr)[rnd(lengthof(arr))])

/* ----------------------------------------------------------- statistics */

typedef struct StateCount
{
	char		state[6];
	long		n;
} StateCount;

/* Counters of one type, function or aggregate in one database. */
typedef struct Stat
{
	char	   *key;
	char	   *db;
	int			kind;			/* 0 type, 1 function, 2 aggregate, 3 dump */
	long		tried,
				tried_bin,
				ok,
				ok_bin,
				crashes,
				hangs,
				late,
				roundtrip,
				domain,
				internal,
				encoding;
	double		max_over_ms;	/* worst overrun of the timeout */
	int			nstates;
	StateCount	states[48];
} Stat;

static Stat **stats;
static int	nstats,
			capstats;

static Stat *
stat_get(const char *db, int kind, const char *key)
{
	for (int i = nstats - 1; i >= 0; i--)
		if (stats[i]->kind == kind && strcmp(stats[i]->key, key) == 0 && strcmp(stats[i]->db, db) == 0)
			return stats[i];
	if (nstats == capstats)
	{
		capstats = capstats ? capstats * 2 : 256;
		stats = realloc(stats, capstats * sizeof(Stat *));
	}
	stats[nstats] = calloc(1, sizeof(Stat));
	stats[nstats]->key = xstrdup(key);
	stats[nstats]->db = xstrdup(db);
	stats[nstats]->kind = kind;
	return stats[nstats++];
}

static void
stat_state(Stat *st, const char *state)
{
	for (int i = 0; i < st->nstates; i++)
		if (strcmp(st->states[i].state, state) == 0)
		{
			st->states[i].n++;
			return;
		}
	if (st->nstates < lengthof(st->states))
	{
		snprintf(st->states[st->nstates].state, 6, "%s", state);
		st->states[st->nstates++].n = 1;
	}
}

/* Findings, by kind. */
enum
{
	F_CRASH, F_HANG, F_LATE, F_ROUNDTRIP, F_DOMAIN, F_INTERNAL, F_ENCODING, F_SETUP, F_DUMP, F_NKINDS
};
static const char *const kind_names[] = {"crash", "hang", "late", "roundtrip", "domain", "xx000", "encoding", "setup", "dump"};
static long totals[F_NKINDS];
static int	fatal_kind[F_NKINDS];
static FILE *repro;
static FILE *report;

typedef struct ReproCount
{
	uint64_t	h;
	int			n;
} ReproCount;
static ReproCount repro_counts[4096];

/* Record a finding; the first few per (kind, key) get their reproducer written out. */
static void
finding(int kind, const char *db, const char *key, const char *what, const char *sql)
{
	char		hk[512];
	uint64_t	h;
	int			slot;

	totals[kind]++;
	snprintf(hk, sizeof(hk), "%d|%s|%s", kind, db, key);
	h = hash_str(hk);
	slot = (int) (h % lengthof(repro_counts));
	while (repro_counts[slot].h != 0 && repro_counts[slot].h != h)
		slot = (slot + 1) % lengthof(repro_counts);
	repro_counts[slot].h = h;
	if (repro_counts[slot].n++ >= opt_repro_max)
		return;
	fprintf(repro, "-- [%s] db=%s %s: %s\n%s%s\n\n", kind_names[kind], db, key, what,
			sql ? sql : "", sql && *sql && sql[strlen(sql) - 1] != ';' && sql[0] != '-' ? ";" : "");
	fflush(repro);
	if (opt_verbose)
		fprintf(stderr, "fuzz: [%s] %s %s: %s\n", kind_names[kind], db, key, what);
}

/* --------------------------------------------------------- SQL literals */

/* Whether s[0..n) is valid UTF-8. */
static int
utf8_valid(const unsigned char *s, size_t n)
{
	size_t		i = 0;

	while (i < n)
	{
		unsigned char c = s[i];
		int			k;
		uint32_t	cp;

		if (c < 0x80)
		{
			i++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF)
			k = 1, cp = c & 0x1F;
		else if (c >= 0xE0 && c <= 0xEF)
			k = 2, cp = c & 0x0F;
		else if (c >= 0xF0 && c <= 0xF4)
			k = 3, cp = c & 0x07;
		else
			return 0;
		for (int j = 1; j <= k; j++)
		{
			if (i + j >= n || (s[i + j] & 0xC0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + j] & 0x3F);
		}
		if ((k == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) || (k == 3 && (cp < 0x10000 || cp > 0x10FFFF)))
			return 0;
		i += k + 1;
	}
	return 1;
}

/* Whether s is valid in EUC_CN (ASCII or pairs of 0xA1..0xFE; SS2/SS3 not used). */
static int
euccn_valid(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
	{
		if (s[i] < 0x80)
			continue;
		if (s[i] < 0xA1 || s[i] > 0xFE || i + 1 >= n || s[i + 1] < 0xA1 || s[i + 1] > 0xFE)
			return 0;
		i++;
	}
	return 1;
}

/* Append s as an SQL string literal (E'' with escapes where needed). */
static void
sb_literal(Sb *out, const char *s, size_t n)
{
	int			raw8 = utf8_valid((const unsigned char *) s, n);
	int			plain = 1;

	for (size_t i = 0; i < n && plain; i++)
		plain = !((unsigned char) s[i] < 0x20 || s[i] == 0x7f || s[i] == '\\' || ((unsigned char) s[i] >= 0x80 && !raw8));
	if (plain)
	{
		sb_addc(out, '\'');
		for (size_t i = 0; i < n; i++)
		{
			if (s[i] == '\'')
				sb_addc(out, '\'');
			sb_addc(out, s[i]);
		}
		sb_addc(out, '\'');
		return;
	}
	sb_add(out, "E'");
	for (size_t i = 0; i < n; i++)
	{
		unsigned char c = s[i];

		if (c == '\'' || c == '\\')
		{
			sb_addc(out, c);
			sb_addc(out, c);
		}
		else if (c < 0x20 || c == 0x7f || (c >= 0x80 && !raw8))
			sb_printf(out, "\\x%02x", c);
		else
			sb_addc(out, c);
	}
	sb_addc(out, '\'');
}

static void
sb_hex(Sb *out, const char *s, size_t n)
{
	sb_add(out, "'\\x");
	for (size_t i = 0; i < n; i++)
		sb_printf(out, "%02x", (unsigned char) s[i]);
	sb_add(out, "'");
}

/* ---------------------------------------------------------- connections */

typedef struct Conn
{
	PGconn	   *pg;
	char		db[64];
	int			as_user;		/* run as the unprivileged role */
	int			pid;
	long		epoch;
} Conn;

static long crash_epoch = 0;
static Conn cmain,
			cuser,
			cmon;
static const char *cur_db = "";
static const char *cur_enc = "";
static const char *fuzz_role = "persona_fuzz_user";

static void
quiet_notice(void *arg, const char *msg)
{
	(void) arg;
	(void) msg;
}

static int	saw_crash_notice;	/* 57P02: this backend is being stopped for another one's crash */

static void
notice_receiver(void *arg, const PGresult *res)
{
	const char *st = PQresultErrorField(res, PG_DIAG_SQLSTATE);

	(void) arg;
	if (st && strcmp(st, "57P02") == 0)
		saw_crash_notice = 1;
}

/* Run a setup statement; returns whether it worked. */
static int
simple(PGconn *pg, const char *sql, int report_err)
{
	PGresult   *r = PQexec(pg, sql);
	int			ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;

	if (!ok && report_err)
		fprintf(stderr, "fuzz: %s\n  in: %.300s\n", PQresultErrorMessage(r), sql);
	PQclear(r);
	return ok;
}

/* One value of a one-row query, malloc'd, or NULL. */
static char *
query_value(PGconn *pg, const char *sql)
{
	PGresult   *r = PQexec(pg, sql);
	char	   *v = NULL;

	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0 && !PQgetisnull(r, 0, 0))
		v = xstrdup(PQgetvalue(r, 0, 0));
	PQclear(r);
	return v;
}

static void session_setup(Conn *c);

/* (Re)connect, waiting up to two minutes for the server to come back after a crash. */
static void
conn_open(Conn *c, const char *db, int as_user)
{
	char		dbcopy[64];
	const char *keys[] = {"dbname", "fallback_application_name", NULL};
	const char *vals[] = {dbcopy, "persona-fuzz", NULL};
	double		t0 = now_ms();

	snprintf(dbcopy, sizeof(dbcopy), "%s", db);
	db = dbcopy;

	if (c->pg)
		PQfinish(c->pg);
	c->pg = NULL;
	snprintf(c->db, sizeof(c->db), "%s", db);
	c->as_user = as_user;
	for (;;)
	{
		c->pg = PQconnectdbParams(keys, vals, 1);
		if (PQstatus(c->pg) == CONNECTION_OK && simple(c->pg, "SELECT 1", 0))
		{
			PQsetNoticeProcessor(c->pg, quiet_notice, NULL);
			PQsetNoticeReceiver(c->pg, notice_receiver, NULL);
			c->pid = PQbackendPID(c->pg);
			c->epoch = crash_epoch;
			session_setup(c);
			/* a connection made just before a crash restart dies with it: make sure this one lives */
			if (simple(c->pg, "SELECT 1", 0))
				break;
		}
		if (now_ms() - t0 > 120000)
		{
			fprintf(stderr, "fuzz: cannot connect to %s: %s", db, PQerrorMessage(c->pg));
			exit(2);
		}
		PQfinish(c->pg);
		usleep(200000);
	}
}

static void
conn_check(Conn *c)
{
	if (c->pg == NULL || c->epoch != crash_epoch || PQstatus(c->pg) != CONNECTION_OK)
		conn_open(c, c->db, c->as_user);
}

/* ------------------------------------------------------------- running */

typedef enum
{
	RK_OK, RK_ERR, RK_CRASH, RK_HANG
} RKind;

typedef struct Res
{
	RKind		kind;
	char		state[6];
	char		msg[300];
	char		detail[200];	/* errdetail, without " at character N." */
	double		ms;
	double		over_ms;		/* beyond statement_timeout */
	int			late;
	PGresult   *res;
} Res;

static void
res_clear(Res *r)
{
	if (r->res)
		PQclear(r->res);
	memset(r, 0, sizeof(*r));
}

static double cur_timeout_ms;

/*
 * Run one statement on c under statement_timeout, watching for crashes and
 * hangs.  Results are binary when resfmt = 1.
 */
static RKind
run(Conn *c, const char *sql, int np, const Oid *types, const char *const *vals,
	const int *lens, const int *fmts, int resfmt, Res *r)
{
	double		t0,
				deadline;
	int			stage = 0;		/* 1 cancelled, 2 terminated, 3 killed */
	int			got_err = 0;

	memset(r, 0, sizeof(*r));
	conn_check(c);
	saw_crash_notice = 0;
	t0 = now_ms();
	deadline = t0 + cur_timeout_ms + opt_hang_ms;
	if (!PQsendQueryParams(c->pg, sql, np, types, vals, lens, fmts, resfmt))
	{
		/* the connection died before this statement: not its fault */
		conn_open(c, c->db, c->as_user);
		t0 = now_ms();
		deadline = t0 + cur_timeout_ms + opt_hang_ms;
		if (!PQsendQueryParams(c->pg, sql, np, types, vals, lens, fmts, resfmt))
		{
			snprintf(r->msg, sizeof(r->msg), "%s", PQerrorMessage(c->pg));
			r->kind = RK_ERR;
			snprintf(r->state, sizeof(r->state), "send");
			goto done;
		}
	}
	for (;;)
	{
		double		t;
		struct pollfd pfd;

		if (!PQconsumeInput(c->pg))
		{
			/* connection lost; collect what libpq knows */
		}
		while (!PQisBusy(c->pg))
		{
			PGresult   *x = PQgetResult(c->pg);

			if (!x)
				goto finished;
			if (PQresultStatus(x) == PGRES_FATAL_ERROR || PQresultStatus(x) == PGRES_NONFATAL_ERROR)
			{
				if (!got_err)
				{
					const char *st = PQresultErrorField(x, PG_DIAG_SQLSTATE);
					const char *pm = PQresultErrorField(x, PG_DIAG_MESSAGE_PRIMARY);

					const char *dt = PQresultErrorField(x, PG_DIAG_MESSAGE_DETAIL);
					char	   *at;

					got_err = 1;
					snprintf(r->detail, sizeof(r->detail), "%s", dt ? dt : "");
					if ((at = strstr(r->detail, " at character")) != NULL)
						*at = 0;
					snprintf(r->state, sizeof(r->state), "%s", st ? st : "");
					snprintf(r->msg, sizeof(r->msg), "%s", pm ? pm : PQresultErrorMessage(x));
					for (char *p = r->msg; *p; p++)
						if (*p == '\n')
							*p = ' ';
				}
				PQclear(x);
			}
			else
			{
				if (r->res)
					PQclear(r->res);
				r->res = x;
			}
			if (PQstatus(c->pg) == CONNECTION_BAD)
				goto finished;
		}
		if (PQstatus(c->pg) == CONNECTION_BAD)
			goto finished;
		t = now_ms();
		if (t > deadline)
		{
			if (stage == 0)
			{
				PGcancel   *cn = PQgetCancel(c->pg);
				char		eb[256];

				if (cn)
				{
					PQcancel(cn, eb, sizeof(eb));
					PQfreeCancel(cn);
				}
				stage = 1;
				deadline = t + (opt_hang_ms < 4000 ? opt_hang_ms / 2 : 2000);
			}
			else if (stage == 1)
			{
				char		q[128];

				conn_check(&cmon);
				snprintf(q, sizeof(q), "SELECT pg_terminate_backend(%d)", c->pid);
				simple(cmon.pg, q, 0);
				stage = 2;
				deadline = t + (opt_hang_ms < 5000 ? opt_hang_ms : 5000);
			}
			else if (stage == 2 && opt_kill && c->pid > 0 && kill(c->pid, SIGKILL) == 0)
			{
				stage = 3;
				deadline = t + 20000;
			}
			else
			{
				/* nothing more we can do: drop the connection */
				stage = stage < 3 ? 4 : stage;
				snprintf(r->msg, sizeof(r->msg), "backend %d could not be stopped", c->pid);
				PQfinish(c->pg);
				c->pg = NULL;
				goto finished;
			}
		}
		pfd.fd = PQsocket(c->pg);
		pfd.events = POLLIN;
		if (pfd.fd < 0)
			goto finished;
		poll(&pfd, 1, 50);
	}
finished:
	r->ms = now_ms() - t0;
	r->over_ms = r->ms - cur_timeout_ms;
	r->late = r->over_ms > opt_late_ms;
	if (stage > 0)
	{
		r->kind = RK_HANG;
		snprintf(r->msg + strlen(r->msg), sizeof(r->msg) - strlen(r->msg), " [%s after %.0f ms]",
				 stage == 1 ? "cancelled" : stage == 2 ? "terminated" : stage == 3 ? "killed (SIGKILL)" : "unkillable",
				 r->ms);
		if (stage >= 3)
		{
			crash_epoch++;		/* SIGKILL restarts every backend: let the postmaster start that */
			usleep(1000000);
		}
		if (c->pg)
		{
			PQfinish(c->pg);
			c->pg = NULL;
		}
	}
	else if (got_err && r->state[0] == 0 && (c->pg == NULL || PQstatus(c->pg) == CONNECTION_BAD) && saw_crash_notice)
	{
		/* stopped because another backend crashed (or was killed): not this statement's doing */
		r->kind = RK_ERR;
		snprintf(r->state, sizeof(r->state), "57P02");
		crash_epoch++;
		usleep(1000000);
	}
	else if (got_err && r->state[0] == 0 && (c->pg == NULL || PQstatus(c->pg) == CONNECTION_BAD))
	{
		r->kind = RK_CRASH;
		crash_epoch++;
		usleep(300000);			/* let the postmaster begin the restart before reconnecting */
	}
	else if (got_err)
	{
		r->kind = RK_ERR;
		if (PQstatus(c->pg) == CONNECTION_BAD)
			crash_epoch++;
	}
	else
		r->kind = RK_OK;
done:
	if (r->kind == RK_CRASH && c->pg)
	{
		PQfinish(c->pg);
		c->pg = NULL;
	}
	return r->kind;
}

/*
 * Common bookkeeping of a finished call: counts, SQLSTATEs and the
 * crash / hang / late / internal-error findings.  Returns 1 if it succeeded.
 */
static int
account(Stat *st, Res *r, const char *key, const char *sql)
{
	char		what[512];

	if (r->over_ms > st->max_over_ms)
		st->max_over_ms = r->over_ms;
	switch (r->kind)
	{
		case RK_OK:
			break;
		case RK_ERR:
			stat_state(st, r->state);
			if (strcmp(r->state, "XX000") == 0)
			{
				st->internal++;
				snprintf(what, sizeof(what), "internal error XX000: %s", r->msg);
				finding(F_INTERNAL, cur_db, key, what, sql);
			}
			break;
		case RK_CRASH:
			st->crashes++;
			stat_state(st, "crash");
			snprintf(what, sizeof(what), "server connection lost (backend crash): %s", r->msg);
			finding(F_CRASH, cur_db, key, what, sql);
			break;
		case RK_HANG:
			st->hangs++;
			stat_state(st, "hang");
			snprintf(what, sizeof(what), "hang: no answer %.0f ms after statement_timeout %.0f ms: %s",
					 r->ms - cur_timeout_ms, cur_timeout_ms, r->msg);
			finding(F_HANG, cur_db, key, what, sql);
			return 0;
	}
	if (r->late && r->kind != RK_HANG && r->kind != RK_CRASH)
	{
		st->late++;
		snprintf(what, sizeof(what), "late cancel: %s %.0f ms after statement_timeout %.0f ms%s%s",
				 r->kind == RK_OK ? "finished" : "error", r->over_ms, cur_timeout_ms,
				 r->kind == RK_ERR ? ": " : "", r->kind == RK_ERR ? r->msg : "");
		finding(F_LATE, cur_db, key, what, sql);
	}
	return r->kind == RK_OK;
}

/* Check a returned text value is valid in the database encoding. */
static int
encoding_ok(const char *s, size_t n)
{
	if (strcmp(cur_enc, "UTF8") == 0)
		return utf8_valid((const unsigned char *) s, n);
	if (strcmp(cur_enc, "EUC_CN") == 0)
		return euccn_valid((const unsigned char *) s, n);
	return 1;
}

/* Whether s holds a multi-byte UTF-8 sequence (mojibake in a LATIN1 database). */
static int
has_utf8_seq(const char *s)
{
	const unsigned char *p = (const unsigned char *) s;

	for (; p[0] && p[1] && p[2]; p++)
		if (p[0] >= 0xE0 && p[0] <= 0xEF && (p[1] & 0xC0) == 0x80 && (p[2] & 0xC0) == 0x80)
			return 1;
	return 0;
}

/* ------------------------------------------------------------ generators */

/* Interesting doubles, as text (for text inputs and SQL literals). */
static const char *const float_texts[] = {
	"0", "-0", "1", "-1", "0.5", "2", "3", "10", "30", "90.5", "100", "1000", "5000", "1e-5",
	"1e-300", "1e-310", "4.9e-324", "2.2250738585072014e-308", "2.225073858507201e-308",
	"1.7976931348623157e308", "1.8e308", "1e308", "-1e308", "9e15", "9007199254740993",
	"2147483647", "-2147483648", "9223372036854775807", "1e19", "-1e-310", "123.456", "0.1",
	"NaN", "Infinity", "-Infinity", "nan", "inf", "1e", ".5", "5.", "0x10", "+1", "1e+308",
};

/* Interesting doubles as values (for binary inputs). */
static double
interesting_double(void)
{
	static const uint64_t bits[] = {
		0x0000000000000001ULL, 0x000fffffffffffffULL, 0x0010000000000000ULL, 0x7fefffffffffffffULL,
		0x7ff0000000000000ULL, 0xfff0000000000000ULL, 0x7ff8000000000000ULL, 0x7ff0000000000001ULL,
		0xfff8000000000000ULL, 0x8000000000000000ULL, 0x8000000000000001ULL, 0x7fffffffffffffffULL,
	};
	double		d;
	uint64_t	b;

	switch (rnd(6))
	{
		case 0:
			b = PICK(bits);
			memcpy(&d, &b, 8);
			return d;
		case 1:
			b = rnd64();
			memcpy(&d, &b, 8);
			return d;
		case 2:
			return (double) (rnd(2000) - 500);
		case 3:
			return rndf() * pow(10, rnd(40) - 20);
		case 4:
			return 9e15 + rnd(5) - 2;
		default:
			return rndf() * 1000;
	}
}

static const unsigned char odd_bytes[] = {
	'\\', '"', '\'', ',', ':', '{', '}', '[', ']', '(', ')', '-', '+', '.', 'e', 'E', '/', '&', '|', '!',
	' ', '\t', '\n', '\r', '0', '9', 'n', 0x01, 0x7f, 0x80, 0xbf, 0xc0, 0xc3, 0xe4, 0xbd, 0xa0, 0xed, 0xf0, 0xf4, 0xff, 0xa1, 0xfe,
};

/* Apply a few random mutations to s (binary-safe). */
static void
mutate(Sb *s, const char *const *dict, int ndict, int text)
{
	int			nmut = 1 + (int) rnd(4);

	for (int m = 0; m < nmut; m++)
	{
		size_t		pos = s->len ? (size_t) rnd(s->len + 1) : 0;

		switch (rnd(9))
		{
			case 0:				/* flip a bit */
				if (s->len)
					s->d[rnd(s->len)] ^= (char) (1 << rnd(8));
				break;
			case 1:				/* replace a byte */
				if (s->len)
					s->d[rnd(s->len)] = (char) PICK(odd_bytes);
				break;
			case 2:				/* insert a byte */
				{
					char		c = chance(0.5) ? (char) PICK(odd_bytes) : (char) rnd(256);

					sb_grow(s, 1);
					memmove(s->d + pos + 1, s->d + pos, s->len - pos);
					s->d[pos] = c;
					s->len++;
					s->d[s->len] = 0;
					break;
				}
			case 3:				/* delete a range */
				if (s->len)
				{
					size_t		n = 1 + rnd(s->len - pos < 8 ? s->len - pos + 1 : 8);

					if (pos + n > s->len)
						n = s->len - pos;
					memmove(s->d + pos, s->d + pos + n, s->len - pos - n);
					s->len -= n;
					s->d[s->len] = 0;
				}
				break;
			case 4:				/* duplicate a range */
				if (s->len)
				{
					size_t		a = rnd(s->len),
								n = 1 + rnd(s->len - a);
					char	   *tmp = xmemdup(s->d + a, n);

					sb_grow(s, n);
					memmove(s->d + pos + n, s->d + pos, s->len - pos);
					memcpy(s->d + pos, tmp, n);
					s->len += n;
					s->d[s->len] = 0;
					free(tmp);
				}
				break;
			case 5:				/* insert a dictionary token */
			case 6:
				if (ndict)
				{
					const char *tok = dict[rnd(ndict)];
					size_t		n = strlen(tok);

					sb_grow(s, n);
					memmove(s->d + pos + n, s->d + pos, s->len - pos);
					memcpy(s->d + pos, tok, n);
					s->len += n;
					s->d[s->len] = 0;
				}
				break;
			case 7:				/* truncate */
				s->len = pos;
				s->d[s->len] = 0;
				break;
			default:			/* replace a digit run by a boundary number */
				for (size_t i = pos; i < s->len; i++)
					if (isdigit((unsigned char) s->d[i]))
					{
						size_t		j = i;
						const char *tok = PICK(float_texts);
						size_t		n = strlen(tok);
						Sb			t = {0};

						while (j < s->len && (isdigit((unsigned char) s->d[j]) || s->d[j] == '.' || s->d[j] == 'e' || s->d[j] == '-'))
							j++;
						sb_addn(&t, s->d, i);
						sb_addn(&t, tok, n);
						sb_addn(&t, s->d + j, s->len - j);
						sb_free(s);
						*s = t;
						break;
					}
				break;
		}
	}
	if (text)
		for (size_t i = 0; i < s->len; i++)
			if (s->d[i] == 0)
				s->d[i] = 1;
}

/* A huge or odd string any text input must survive. */
static void
gen_odd_text(Sb *s)
{
	switch (rnd(8))
	{
		case 0:
			for (long i = 0, n = 1000 + rnd(200000); i < n; i++)
				sb_addc(s, '9');
			break;
		case 1:
			for (long i = 0, n = rnd(64); i < n; i++)
				sb_addc(s, (char) (1 + rnd(255)));
			break;
		case 2:
			for (long i = 0, n = rnd(20); i < n; i++)
				sb_addc(s, (char) PICK(odd_bytes));
			break;
		case 3:
			for (long i = 0, n = 1 + rnd(5000); i < n; i++)
				sb_add(s, "(");
			break;
		case 4:
			sb_add(s, PICK(float_texts));
			break;
		case 5:
			sb_add(s, "");
			break;
		case 6:
			for (long i = 0, n = rnd(2000); i < n; i++)
				sb_add(s, "育");
			break;
		default:
			sb_add(s, "\xed\xa0\x80\xc0\xaf\xf8\x88\x80\x80\x80");
			break;
	}
}

/* ---- persona.rfm ---- */

static const char *const rfm_dict[] = {"-", "/", "10", "0", "11", "255", "256", "999", "1000", "5", " ", "/10", "/2", "/1", "-0", "+", "e1"};

static void
gen_rfm_text(Sb *s)
{
	static const int nums[] = {0, 1, 2, 3, 4, 5, 6, 9, 10, 11, 99, 100, 255, 256, 999, 1000, -1};

	if (chance(0.5))
	{
		int			bins = chance(0.6) ? 5 : PICK(nums);

		if (bins >= 2 && bins <= 9 && chance(0.6))
			sb_printf(s, "%ld%ld%ld", 1 + rnd(bins), 1 + rnd(bins), 1 + rnd(bins));
		else
			sb_printf(s, "%d-%d-%d", chance(0.8) ? (int) (1 + rnd(10)) : PICK(nums),
					  chance(0.8) ? (int) (1 + rnd(10)) : PICK(nums), chance(0.8) ? (int) (1 + rnd(10)) : PICK(nums));
		if (bins != 5 || chance(0.2))
			sb_printf(s, "/%d", bins);
		if (chance(0.1))
		{
			Sb			t = {0};

			sb_add(&t, " \t");
			sb_add(&t, s->d);
			sb_add(&t, "\n ");
			sb_free(s);
			*s = t;
		}
	}
	else if (chance(0.7))
	{
		static const char alpha[] = "0123456789-/ \t+e.x";

		for (long i = 0, n = rnd(14); i < n; i++)
			sb_addc(s, alpha[rnd(sizeof(alpha) - 1)]);
	}
	else
		gen_odd_text(s);
}

static void
gen_rfm_bin(Sb *s)
{
	static const int b[] = {0, 1, 2, 3, 5, 9, 10, 11, 127, 128, 255};
	int			n = chance(0.9) ? 4 : (int) rnd(9);

	for (int i = 0; i < n; i++)
		sb_addc(s, (char) (chance(0.5) ? 1 + rnd(10) : PICK(b)));
}

/* ---- persona.rfm_breaks ---- */

static const char *const breaks_dict[] = {
	"null", "1e-310", "4.9e-324", "NaN", "Infinity", "-0", "9e15", "9000000000000001", "1e308", "1.8e308",
	"\"bins\"", "\"method\"", "\"n\"", "\"r\"", "\"f\"", "\"m\"", "\"mean\"", "\"quantile\"", "\"thresholds\"",
	", ", ": ", "[", "]", "{", "}", "\\", "\\\"", "\"", " ", "-1", "2.5", "11", "1",
};

static void
append_cut_list(Sb *s, int n, int dim)
{
	double		v = dim == 0 ? 1000 : 0;

	sb_addc(s, '[');
	for (int k = 0; k < n; k++)
	{
		if (k)
			sb_add(s, chance(0.9) ? ", " : ",");
		if (chance(0.12))
			sb_add(s, "null");
		else if (chance(0.15))
			sb_add(s, PICK(float_texts));
		else
		{
			double		step = chance(0.1) ? 0 : rndf() * 100;

			v = dim == 0 ? v - step : v + step;
			if (chance(0.05))
				v = -v;
			sb_printf(s, "%.17g", v);
		}
	}
	sb_addc(s, ']');
}

static void
gen_breaks_text(Sb *s)
{
	static const char *const bins_t[] = {"2", "3", "4", "5", "6", "7", "8", "9", "10", "0", "1", "11", "2.0", "2.5", "1e308", "-0", "\"5\"", "5e0", "null"};
	static const char *const methods[] = {"quantile", "mean", "thresholds", "Mean", "", "quantile ", "x"};
	static const char *const ns[] = {"0", "1", "100", "9e15", "9000000000000000", "9000000000000001", "9.1e15", "-1", "1e308", "2.5", "1e-310", "-0", "123456789"};
	const char *bt;
	int			bins;

	if (chance(0.15))
	{
		gen_odd_text(s);
		return;
	}
	bt = chance(0.8) ? bins_t[rnd(9)] : PICK(bins_t);
	bins = atoi(bt[0] == '"' ? bt + 1 : bt);
	if (bins < 1 || bins > 11)
		bins = 5;
	sb_printf(s, "{\"bins\": %s, \"method\": \"%s\", \"n\": %s", bt,
			  chance(0.8) ? (bins == 2 && chance(0.4) ? "mean" : chance(0.7) ? "quantile" : "thresholds") : PICK(methods),
			  chance(0.7) ? "100" : PICK(ns));
	for (int d = 0; d < 3; d++)
	{
		int			n = bins - 1 + (chance(0.1) ? (int) rnd(3) - 1 : 0);

		sb_printf(s, ", \"%c\": ", "rfm"[d]);
		append_cut_list(s, n < 0 ? 0 : n, d);
	}
	sb_add(s, "}");
	if (chance(0.05))
		sb_add(s, chance(0.5) ? " " : " x");
}

static void
put32(Sb *s, uint32_t v)
{
	unsigned char b[4] = {v >> 24, v >> 16, v >> 8, v};

	sb_addn(s, b, 4);
}

static void
put64(Sb *s, uint64_t v)
{
	put32(s, (uint32_t) (v >> 32));
	put32(s, (uint32_t) v);
}

static void
gen_breaks_bin(Sb *s)
{
	static const int32_t bins_v[] = {2, 3, 4, 5, 6, 7, 8, 9, 10, 0, 1, 11, -1, 0x7fffffff, (int32_t) 0x80000000};
	static const int32_t methods[] = {0, 1, 2, 3, -1, 0x7fffffff};
	static const int64_t ns[] = {0, 1, 100, 9000000000000000LL, 9000000000000001LL, 9007199254740993LL,
	INT64_MAX, -1, INT64_MIN, 123456789};
	int32_t		bins = chance(0.85) ? bins_v[rnd(9)] : PICK(bins_v);
	int			ncuts = bins >= 2 && bins <= 11 ? 3 * (bins - 1) : (int) rnd(30);

	put32(s, (uint32_t) bins);
	put32(s, (uint32_t) (chance(0.85) ? methods[rnd(3)] : PICK(methods)));
	put64(s, (uint64_t) (chance(0.6) ? 100 : PICK(ns)));
	if (chance(0.1))
		ncuts += (int) rnd(3) - 1;
	for (int d = 0; d < 3; d++)
	{
		double		v = d == 0 ? 1000 : 0;

		for (int k = 0; k < ncuts / 3 + (d < ncuts % 3); k++)
		{
			double		x;
			uint64_t	b;

			if (chance(0.2))
				x = interesting_double();
			else if (chance(0.1))
				x = d == 0 ? -INFINITY : INFINITY;
			else
			{
				v = d == 0 ? v - rndf() * 100 : v + rndf() * 100;
				x = v;
			}
			memcpy(&b, &x, 8);
			put64(s, b);
		}
	}
}

/* ---- persona.tagquery ---- */

static const char *const tag_words[] = {
	"a", "b", "vip", "churn_risk", "育儿", "绘本", "高价值", "new york", "😀", "x y", "a\"b", "a\\b",
	"", "&", "|", "!", "(", ")", "NULL", "null", "é", "\xff", "\xc3", "\xe4\xbd", "\xed\xa0\x80", "\xc0\xaf",
	"\xa1\xa1", "\xb0\xa1", "tab\there", "new\nline", "'", "--", "/*", "中文 标签",
};
static const char *const tq_dict[] = {"&", "|", "!", "(", ")", "\"", "\\", " ", "!!", "()", "& &", "育", "\xff", "\\\""};

static void
tq_operand_text(Sb *s)
{
	const char *w;
	int			quote;

	if (chance(0.03))
	{
		long		n = chance(0.5) ? 1024 + rnd(3) - 1 : rnd(3000);

		for (long i = 0; i < n; i++)
			sb_addc(s, 'a' + (char) (i % 26));
		return;
	}
	w = chance(0.5) ? tag_words[rnd(7)] : PICK(tag_words);
	quote = chance(0.3) || strpbrk(w, " \t\n&|!()\"\\") != NULL || *w == 0;
	if (chance(0.1))
		quote = !quote;
	if (!quote)
	{
		sb_add(s, w);
		return;
	}
	sb_addc(s, '"');
	for (const char *p = w; *p; p++)
	{
		if ((*p == '"' || *p == '\\') && chance(0.95))
			sb_addc(s, '\\');
		sb_addc(s, *p);
	}
	sb_addc(s, '"');
}

static void
tq_expr(Sb *s, int depth)
{
	int			c = depth > 6 ? 0 : (int) rnd(6);

	if (chance(0.2))
		sb_add(s, " ");
	switch (c)
	{
		case 0:
		case 1:
			tq_operand_text(s);
			break;
		case 2:
			sb_add(s, "!");
			tq_expr(s, depth + 1);
			break;
		case 3:
			sb_add(s, "(");
			tq_expr(s, depth + 1);
			sb_add(s, ")");
			break;
		default:
			tq_expr(s, depth + 1);
			sb_add(s, c == 4 ? " & " : (chance(0.5) ? " | " : "|"));
			tq_expr(s, depth + 1);
			break;
	}
}

static void
gen_tq_text(Sb *s)
{
	long		n;

	switch (rnd(12))
	{
		case 0:				/* deep nesting around the limit */
			n = chance(0.7) ? 254 + rnd(5) : rnd(20000);
			for (long i = 0; i < n; i++)
				sb_add(s, chance(0.5) ? "(" : "!");
			sb_add(s, "a");
			for (long i = 0; i < n; i++)
				if (s->d[i] == '(')
					sb_add(s, ")");
			break;
		case 1:				/* many items around the limit */
			n = chance(0.7) ? 4094 + rnd(5) : rnd(20000);
			for (long i = 0; i < n; i++)
			{
				if (i)
					sb_add(s, chance(0.5) ? "&" : " | ");
				sb_printf(s, "t%ld", i % 97);
			}
			break;
		case 2:
			gen_odd_text(s);
			break;
		default:
			tq_expr(s, 0);
			break;
	}
}

static void
gen_tq_bin(Sb *s)
{
	static const int versions[] = {1, 0, 2, 255};
	Sb			t = {0};

	if (chance(0.05))
		return;					/* empty payload */
	sb_addc(s, (char) (chance(0.9) ? 1 : PICK(versions)));
	gen_tq_text(&t);
	if (t.len)
	{
		if (chance(0.05))
			t.d[rnd(t.len)] = 0;	/* an embedded NUL */
		sb_addn(s, t.d, t.len);
	}
	sb_free(&t);
}

/* A persona base type under test. */
typedef struct TypeInfo
{
	unsigned int oid;
	char		name[128];		/* qualified */
	char		send[128];
	int			gen;			/* 0 rfm, 1 rfm_breaks, 2 tagquery, 3 fit_state, 4 affinity_state, 5 generic */
	/* corpus of accepted values: text and send output */
	char	  **ctext;
	char	  **cbin;
	int		   *cbinlen;
	int			ncorpus;
	/* distinct accepted values (send output), kept for the dump phase */
	char	  **keep;
	int		   *keeplen;
	int			nkeep;
	uint64_t   *seen;
	int			seencap;
} TypeInfo;

#define CORPUS_MAX 512
#define KEEP_MAX 20000

static TypeInfo types[16];
static int	ntypes;

/* Remember an accepted value; returns 1 if it was new. */
static int
type_remember(TypeInfo *t, const char *txt, const char *bin, int binlen)
{
	uint64_t	h = hash_bytes(bin, binlen) | 1;
	int			slot;

	if (t->seen == NULL)
	{
		t->seencap = 1 << 17;
		t->seen = calloc(t->seencap, sizeof(uint64_t));
		t->ctext = calloc(CORPUS_MAX, sizeof(char *));
		t->cbin = calloc(CORPUS_MAX, sizeof(char *));
		t->cbinlen = calloc(CORPUS_MAX, sizeof(int));
		t->keep = calloc(KEEP_MAX, sizeof(char *));
		t->keeplen = calloc(KEEP_MAX, sizeof(int));
	}
	slot = (int) (h % t->seencap);
	while (t->seen[slot] && t->seen[slot] != h)
		slot = (slot + 1) % t->seencap;
	if (t->seen[slot] == h)
		return 0;
	t->seen[slot] = h;
	if (t->ncorpus < CORPUS_MAX)
		slot = t->ncorpus++;
	else
	{
		slot = (int) rnd(CORPUS_MAX);
		free(t->ctext[slot]);
		free(t->cbin[slot]);
	}
	t->ctext[slot] = xstrdup(txt);
	t->cbin[slot] = xmemdup(bin, binlen);
	t->cbinlen[slot] = binlen;
	if (t->nkeep < KEEP_MAX)
	{
		t->keep[t->nkeep] = xmemdup(bin, binlen);
		t->keeplen[t->nkeep++] = binlen;
	}
	return 1;
}

static void
type_reset(TypeInfo *t)
{
	for (int i = 0; i < t->ncorpus; i++)
	{
		free(t->ctext[i]);
		free(t->cbin[i]);
	}
	for (int i = 0; i < t->nkeep; i++)
		free(t->keep[i]);
	t->ncorpus = t->nkeep = 0;
	if (t->seen)
		memset(t->seen, 0, t->seencap * sizeof(uint64_t));
}

static void
gen_text_input(TypeInfo *t, Sb *s)
{
	if (t->ncorpus > 0 && chance(0.5))
	{
		sb_add(s, t->ctext[rnd(t->ncorpus)]);
		switch (t->gen)
		{
			case 0:
				mutate(s, rfm_dict, lengthof(rfm_dict), 1);
				break;
			case 1:
				mutate(s, breaks_dict, lengthof(breaks_dict), 1);
				break;
			case 2:
				mutate(s, tq_dict, lengthof(tq_dict), 1);
				break;
			default:
				mutate(s, NULL, 0, 1);
		}
		return;
	}
	switch (t->gen)
	{
		case 0:
			gen_rfm_text(s);
			break;
		case 1:
			gen_breaks_text(s);
			break;
		case 2:
			gen_tq_text(s);
			break;
		default:
			gen_odd_text(s);
	}
	for (size_t i = 0; i < s->len; i++)
		if (s->d[i] == 0)
			s->d[i] = 1;
}

static void
gen_bin_input(TypeInfo *t, Sb *s)
{
	if (t->ncorpus > 0 && chance(0.5))
	{
		int			i = (int) rnd(t->ncorpus);

		sb_addn(s, t->cbin[i], t->cbinlen[i]);
		mutate(s, NULL, 0, 0);
		return;
	}
	switch (t->gen)
	{
		case 0:
			gen_rfm_bin(s);
			break;
		case 1:
			gen_breaks_bin(s);
			break;
		case 2:
			gen_tq_bin(s);
			break;
		default:
			for (long i = 0, n = rnd(64); i < n; i++)
				sb_addc(s, (char) rnd(256));
	}
}

/* Seed corpus: values every type should accept. */
static const char *const rfm_seeds[] = {"545", "111", "555", "212/3", "10-3-5/10", "11-1-1", "22/2", "999/9"};
static const char *const breaks_seeds[] = {
	"{\"bins\": 2, \"method\": \"mean\", \"n\": 10, \"r\": [30], \"f\": [2], \"m\": [100]}",
	"{\"bins\": 5, \"method\": \"quantile\", \"n\": 100, \"r\": [90, 60, 30, 7], \"f\": [1, 2, 3, 5], \"m\": [10, 20, 30, 40]}",
	"{\"bins\": 3, \"method\": \"thresholds\", \"n\": 0, \"r\": [null, 3], \"f\": [2, null], \"m\": [1e3, 2e3]}",
	"{\"bins\": 10, \"method\": \"quantile\", \"n\": 9000000000000000, \"r\": [9, 8, 7, 6, 5, 4, 3, 2, 1], \"f\": [1, 2, 3, 4, 5, 6, 7, 8, 9], \"m\": [1, 2, 3, 4, 5, 6, 7, 8, 9]}",
};
/* valid states of the fit aggregates and tag_affinity, and near misses */
static const char *const fit_state_seeds[] = {
	"{1,3,0,0,0,0,0,0,0,0,0,2,0,0,30,1,2,10,30,2}",
	"{1,5,0,1,0.5,7,4,0.2,4.4,0.8,2.4,2,0,0,39,3,3,20.5,39,2}",
	"{2,4,0,0,0,0,0,0,0,0,0,3,0,0,6,1,2,4,6,2,6,6,6,1}",
	"{3,4,1,0,0,0,3,6,3.7,15,0,2,1,14.5,0,1,3,22.25,0,2}",
	"{1,0,0,0,0,0,0,0,0,0,0,0}",
	"{1,2,0,0,0,0,0,0,0,0,0,1,1,0,3,2}",
};
static const char *const affinity_state_seeds[] = {
	"{0.01,3,2,\"a\",2,\"b\",2,1,1,2,1}",
	"{0.2,5,3,\"育儿\",4,\"绘本\",3,\"toys \\\"kids\\\"\",1,3,1,2,3,1,3,1,2,3,1}",
	"{0,0,0,0}",
	"{0.01,2,2,\"a\",1,\"a\",1,0}",
};
static const char *const tq_seeds[] = {"a", "育儿 & (vip | !churn_risk)", "\"new york\" & !churn", "!a", "a | b & c", "(a | b) & c", "a & (b & c)", "\"\""};

/* The seed inputs of a type (n = 0: none). */
static const char *const *
type_seeds(const TypeInfo *t, int *n)
{
	switch (t->gen)
	{
		case 0:
			*n = lengthof(rfm_seeds);
			return rfm_seeds;
		case 1:
			*n = lengthof(breaks_seeds);
			return breaks_seeds;
		case 2:
			*n = lengthof(tq_seeds);
			return tq_seeds;
		case 3:
			*n = lengthof(fit_state_seeds);
			return fit_state_seeds;
		case 4:
			*n = lengthof(affinity_state_seeds);
			return affinity_state_seeds;
	}
	*n = 0;
	return NULL;
}

/* ---------------------------------------------------------- types phase */

static void
load_types(void)
{
	PGresult   *r;

	for (int i = 0; i < ntypes; i++)
		type_reset(&types[i]);
	r = PQexec(cmain.pg,
			   "SELECT t.oid, format_type(t.oid, NULL), t.typsend::regprocedure::text, t.typname "
			   "FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace "
			   "WHERE n.nspname = 'persona' AND t.typtype = 'b' AND t.typcategory <> 'A' ORDER BY t.typname");
	if (ntypes == 0)
		for (int i = 0; i < PQntuples(r) && i < lengthof(types); i++)
		{
			TypeInfo   *t = &types[ntypes++];
			const char *nm = PQgetvalue(r, i, 3);
			char	   *paren;

			t->oid = (unsigned int) strtoul(PQgetvalue(r, i, 0), NULL, 10);
			snprintf(t->name, sizeof(t->name), "%s", PQgetvalue(r, i, 1));
			snprintf(t->send, sizeof(t->send), "%s", PQgetvalue(r, i, 2));
			if ((paren = strchr(t->send, '(')) != NULL)
				*paren = 0;
			t->gen = strcmp(nm, "rfm") == 0 ? 0 : strcmp(nm, "rfm_breaks") == 0 ? 1 : strcmp(nm, "tagquery") == 0 ? 2 :
				strcmp(nm, "fit_state") == 0 ? 3 : strcmp(nm, "affinity_state") == 0 ? 4 : 5;
		}
	else
		for (int i = 0; i < PQntuples(r) && i < ntypes; i++)
			types[i].oid = (unsigned int) strtoul(PQgetvalue(r, i, 0), NULL, 10);
	PQclear(r);
}

/* Reproducer for a value given as text or as a binary payload. */
static void
repro_of(Sb *out, TypeInfo *t, const char *val, int len, int fmt)
{
	if (fmt == 0)
	{
		sb_add(out, "SELECT ");
		sb_literal(out, val, len);
		sb_printf(out, "::%s", t->name);
	}
	else
	{
		sb_printf(out, "-- binary input (%s's receive function) of the payload below; replay with\n"
				  "-- test/fuzz/fuzz --recv %s ", t->name, t->name);
		sb_hex(out, val, len);
		sb_add(out, "\nSELECT ");
		sb_hex(out, val, len);
		sb_add(out, "::bytea");
	}
}

/* Evaluate one input: SELECT $1::text, send($1) with $1 in text or binary format. */
static RKind
type_eval(TypeInfo *t, const char *val, int len, int fmt, Res *r)
{
	char		sql[300];
	Oid			ty[1] = {t->oid};
	const char *vals[1] = {val};
	int			lens[1] = {len};
	int			fmts[1] = {fmt};

	snprintf(sql, sizeof(sql), "SELECT $1::text, %s($1)", t->send);
	return run(&cmain, sql, 1, ty, vals, lens, fmts, 1, r);
}

/* Try one input and, if accepted, both round trips. */
static void
type_try(TypeInfo *t, Stat *st, const char *val, int len, int fmt)
{
	Res			r,
				r2;
	Sb			sql = {0};
	char	   *t1,
			   *b1;
	int			t1len,
				b1len;

	if (fmt == 0)
		st->tried++;
	else
		st->tried_bin++;
	repro_of(&sql, t, val, len, fmt);
	type_eval(t, val, len, fmt, &r);
	if (!account(st, &r, t->name, sql.d) || r.res == NULL || PQntuples(r.res) != 1)
	{
		res_clear(&r);
		sb_free(&sql);
		return;
	}
	if (fmt == 0)
		st->ok++;
	else
		st->ok_bin++;
	t1len = PQgetlength(r.res, 0, 0);
	t1 = xmemdup(PQgetvalue(r.res, 0, 0), t1len);
	b1len = PQgetlength(r.res, 0, 1);
	b1 = xmemdup(PQgetvalue(r.res, 0, 1), b1len);
	res_clear(&r);
	if (!encoding_ok(t1, t1len))
	{
		st->encoding++;
		finding(F_ENCODING, cur_db, t->name, "text output is not valid in the database encoding", sql.d);
	}

	/* text output -> text input */
	type_eval(t, t1, t1len, 0, &r2);
	if (r2.kind == RK_OK && r2.res && PQntuples(r2.res) == 1)
	{
		if (PQgetlength(r2.res, 0, 1) != b1len || memcmp(PQgetvalue(r2.res, 0, 1), b1, b1len) != 0 ||
			strcmp(PQgetvalue(r2.res, 0, 0), t1) != 0)
		{
			Sb			w = {0};

			st->roundtrip++;
			sb_add(&w, "text output re-reads as a different value: ");
			sb_literal(&w, t1, t1len > 300 ? 300 : t1len);
			sb_add(&w, " -> ");
			sb_literal(&w, PQgetvalue(r2.res, 0, 0), PQgetlength(r2.res, 0, 0) > 300 ? 300 : PQgetlength(r2.res, 0, 0));
			finding(F_ROUNDTRIP, cur_db, t->name, w.d, sql.d);
			sb_free(&w);
		}
	}
	else if (r2.kind == RK_ERR)
	{
		Sb			w = {0};

		char		key[400];

		st->roundtrip++;
		sb_printf(&w, "text output does not re-read (%s %s): ", r2.state, r2.msg);
		sb_literal(&w, t1, t1len > 300 ? 300 : t1len);
		/* one group of reproducers per reason */
		snprintf(key, sizeof(key), "%s [%s %s]", t->name, r2.state, r2.detail);
		finding(F_ROUNDTRIP, cur_db, key, w.d, sql.d);
		sb_free(&w);
	}
	else
		account(st, &r2, t->name, sql.d);
	res_clear(&r2);

	/* send -> recv */
	type_eval(t, b1, b1len, 1, &r2);
	if (r2.kind == RK_OK && r2.res && PQntuples(r2.res) == 1)
	{
		if (PQgetlength(r2.res, 0, 1) != b1len || memcmp(PQgetvalue(r2.res, 0, 1), b1, b1len) != 0 ||
			strcmp(PQgetvalue(r2.res, 0, 0), t1) != 0)
		{
			st->roundtrip++;
			finding(F_ROUNDTRIP, cur_db, t->name, "send output re-reads through recv as a different value", sql.d);
		}
	}
	else if (r2.kind == RK_ERR)
	{
		char		w[400];

		st->roundtrip++;
		snprintf(w, sizeof(w), "send output is rejected by recv (%s %s)", r2.state, r2.msg);
		finding(F_ROUNDTRIP, cur_db, t->name, w, sql.d);
	}
	else
		account(st, &r2, t->name, sql.d);
	res_clear(&r2);
	type_remember(t, t1, b1, b1len);
	free(t1);
	free(b1);
	sb_free(&sql);
}

static void
phase_types(void)
{
	Sb			s = {0};

	load_types();
	for (int ti = 0; ti < ntypes; ti++)
	{
		TypeInfo   *t = &types[ti];
		Stat	   *st = stat_get(cur_db, 0, t->name);
		int			nseeds;
		const char *const *seeds = type_seeds(t, &nseeds);
		double		t0 = now_ms();

		rng_for(cur_db, "types", t->name);
		for (int i = 0; i < nseeds; i++)
			type_try(t, st, seeds[i], (int) strlen(seeds[i]), 0);
		for (long i = 0; i < opt_inputs && !over_budget(); i++)
		{
			int			fmt = (int) (i & 1);

			sb_reset(&s);
			if (fmt == 0)
				gen_text_input(t, &s);
			else
				gen_bin_input(t, &s);
			type_try(t, st, s.d ? s.d : "", (int) s.len, fmt);
		}
		if (opt_verbose)
			fprintf(stderr, "fuzz: %s %s: %ld inputs in %.1f s\n", cur_db, t->name, st->tried + st->tried_bin, (now_ms() - t0) / 1000);
	}
	sb_free(&s);
}

/* ------------------------------------------------------- argument types */

typedef struct TypeDesc
{
	unsigned int oid;
	char		name[128];
	char		typtype;
	char		cat;
	unsigned int elem;
	unsigned int relid;
	int			nlabels;
	char	  **labels;
	int			natts;
	unsigned int *atttypes;
	char	  **attnames;
	int			nsamples;
	char	  **samples;
	int			base;			/* index in types[] or -1 */
} TypeDesc;

static TypeDesc *tdescs[512];
static int	ntdescs;

static TypeDesc *
tdesc(unsigned int oid)
{
	char		q[512];
	PGresult   *r;
	TypeDesc   *d;

	for (int i = 0; i < ntdescs; i++)
		if (tdescs[i]->oid == oid)
			return tdescs[i];
	d = calloc(1, sizeof(TypeDesc));
	d->oid = oid;
	d->base = -1;
	snprintf(q, sizeof(q), "SELECT format_type(oid, NULL), typtype, typcategory, typelem, typrelid FROM pg_type WHERE oid = %u", oid);
	r = PQexec(cmain.pg, q);
	if (PQntuples(r) == 1)
	{
		snprintf(d->name, sizeof(d->name), "%s", PQgetvalue(r, 0, 0));
		d->typtype = PQgetvalue(r, 0, 1)[0];
		d->cat = PQgetvalue(r, 0, 2)[0];
		d->elem = (unsigned int) strtoul(PQgetvalue(r, 0, 3), NULL, 10);
		d->relid = (unsigned int) strtoul(PQgetvalue(r, 0, 4), NULL, 10);
	}
	PQclear(r);
	if (d->typtype == 'e')
	{
		snprintf(q, sizeof(q), "SELECT enumlabel FROM pg_enum WHERE enumtypid = %u ORDER BY enumsortorder", oid);
		r = PQexec(cmain.pg, q);
		d->nlabels = PQntuples(r);
		d->labels = calloc(d->nlabels + 1, sizeof(char *));
		for (int i = 0; i < d->nlabels; i++)
			d->labels[i] = xstrdup(PQgetvalue(r, i, 0));
		PQclear(r);
	}
	if (d->typtype == 'c' && d->relid)
	{
		snprintf(q, sizeof(q), "SELECT attname, atttypid FROM pg_attribute WHERE attrelid = %u AND attnum > 0 AND NOT attisdropped ORDER BY attnum", d->relid);
		r = PQexec(cmain.pg, q);
		d->natts = PQntuples(r);
		d->atttypes = calloc(d->natts + 1, sizeof(unsigned int));
		d->attnames = calloc(d->natts + 1, sizeof(char *));
		for (int i = 0; i < d->natts; i++)
		{
			d->attnames[i] = xstrdup(PQgetvalue(r, i, 0));
			d->atttypes[i] = (unsigned int) strtoul(PQgetvalue(r, i, 1), NULL, 10);
		}
		PQclear(r);
	}
	for (int i = 0; i < ntypes; i++)
		if (types[i].oid == oid)
			d->base = i;
	tdescs[ntdescs++] = d;
	return d;
}

static void
tdesc_reset(void)
{
	for (int i = 0; i < ntdescs; i++)
		free(tdescs[i]);		/* small leak of members: once per database */
	ntdescs = 0;
}

/* Add realistic sample values (text literals) of a type from a query. */
static void
add_samples(const char *typname, const char *sql)
{
	PGresult   *r = PQexec(cmain.pg, sql);

	for (int i = 0; i < ntdescs; i++)
		if (strcmp(tdescs[i]->name, typname) == 0 && PQresultStatus(r) == PGRES_TUPLES_OK)
		{
			TypeDesc   *d = tdescs[i];

			d->samples = realloc(d->samples, (d->nsamples + PQntuples(r) + 1) * sizeof(char *));
			for (int j = 0; j < PQntuples(r); j++)
				if (!PQgetisnull(r, j, 0))
					d->samples[d->nsamples++] = xstrdup(PQgetvalue(r, j, 0));
		}
	PQclear(r);
}

/* Argument flags collected while generating one call. */
typedef struct ArgFlags
{
	int			nonfinite;		/* some input is NaN, infinite or out of range */
	int			high_bytes;		/* some text input has bytes >= 0x80 */
} ArgFlags;

static void
note_text(ArgFlags *fl, const char *s)
{
	for (const char *p = s; *p; p++)
		if ((unsigned char) *p >= 0x80)
			fl->high_bytes = 1;
	if (strcasestr(s, "nan") || strcasestr(s, "inf") || strstr(s, "e308") || strstr(s, "e-3") ||
		strstr(s, "1e100") || strstr(s, "1e1000") || strstr(s, "e19") || strstr(s, "99999999"))
		fl->nonfinite = 1;
}

static const char *const text_pool[] = {
	"days", "weeks", "day", "week", "months", "", "quantile", "mean", "thresholds", "standard", "cn8", "shop", "nosuch",
	"bgnbd", "pareto_nbd", "gamma_gamma", "customer_id", "ordered_at", "amount", "id", "\"amount\"", "Amount",
	"amount; DROP TABLE fz_orders", "amount) FROM pg_class --", "fz_tagview", "public.fz_tagview2", "a.b.c", "\"weird name\"",
	"true", "false", "1", "recency_days > 90", "persona.m(rfm) >= 4", "lifecycle = 'new'", "(habits).weekday_share >= 0.8",
	"select", ")", "1; SELECT 1", "pg_sleep(10) IS NULL", "(SELECT count(*) FROM pg_class) > 0", "x +", "NULL", "orders",
	"育儿", "高价值", "标签", "😀", "\xc3\xa9", "é", "tag with space", "a'b", "a\\b", "%s%n", "en", "zh",
	"Asia/Shanghai", "UTC", "America/New_York", "CST", "EST", "Mars/Olympus", "<+08>-8", "asia/shanghai", "ZH", "fr",
	"2024-07-01", "2024-07-01 12:00+08", "today", "infinity", "-infinity", "epoch", "soon",
};

/* Sane text values for an argument, by name. */
static const char *
sane_text(const char *argname)
{
	static const char *const units[] = {"days", "weeks", "day", "week"};
	static const char *const models[] = {"bgnbd", "pareto_nbd"};
	static const char *const methods[] = {"quantile", "mean", "thresholds"};
	static const char *const schemes[] = {"standard", "cn8", "shop"};
	static const char *const views[] = {"fz_tagview", "public.fz_tagview2", "fz_tagview3"};
	static const char *const zones[] = {"Asia/Shanghai", "UTC", "America/New_York", "Europe/London", "Australia/Lord_Howe", "<+08>-8", "+08"};
	static const char *const languages[] = {"en", "zh"};
	static const char *const as_of_texts[] = {"2024-07-01", "2024-07-01 23:59:59.999999", "2024-07-01 12:00+08", "today"};
	static const char *const rules[] = {"true", "orders > 1", "recency_days > 90", "persona.m(rfm) >= 4", "lifecycle = 'new'", "(habits).weekday_share >= 0.8", "1", "revenue"};
	/* the masks: well-formed values, and near misses a rule must not half-recognise */
	static const char *const phones[] = {"13812345678", "+86 138-1234-5678", "+1 415 555 0132", "020-12345678", "+86 123", "8613812345678", "１３８１２３４５６７８"};
	static const char *const names[] = {"张三丰", "John Smith", "J", "欧阳娜娜", "  ", "Mary-Jane O'Brien"};
	static const char *const emails[] = {"zhangsan@example.com", "ab@x.cn", "@", "a@b@c", "no-at-sign", "@@@@"};
	static const char *const ids[] = {"110101199003074578", "11010119900307457X", "110101900307457", "E12345678", "AB", "1101011990030745789"};

	if (!argname)
		return PICK(text_pool);
	if (strcmp(argname, "unit") == 0)
		return PICK(units);
	if (strcmp(argname, "model") == 0)
		return PICK(models);
	if (strcmp(argname, "method") == 0)
		return PICK(methods);
	if (strcmp(argname, "scheme") == 0)
		return PICK(schemes);
	if (strcmp(argname, "customer_col") == 0 || strcmp(argname, "key_col") == 0)
		return "customer_id";
	if (strcmp(argname, "time_col") == 0)
		return "ordered_at";
	if (strcmp(argname, "amount_col") == 0)
		return "amount";
	if (strcmp(argname, "view_name") == 0)
		return PICK(views);
	if (strcmp(argname, "order_col") == 0)
		return chance(0.5) ? "customer_id" : "ordered_at";
	if (strcmp(argname, "phone") == 0)
		return PICK(phones);
	if (strcmp(argname, "name") == 0)
		return PICK(names);
	if (strcmp(argname, "email") == 0)
		return PICK(emails);
	if (strcmp(argname, "id") == 0)
		return PICK(ids);
	if (strcmp(argname, "rule_sql") == 0)
		return PICK(rules);
	if (strcmp(argname, "time_zone") == 0)
		return PICK(zones);
	if (strcmp(argname, "language") == 0)
		return PICK(languages);
	if (strcmp(argname, "as_of") == 0)
		return PICK(as_of_texts);	/* customer_profile(regclass, as_of text, ...) */
	return PICK(text_pool);
}

static int
name_is(const char *argname, const char *const *names)
{
	if (!argname)
		return 0;
	for (; *names; names++)
		if (strcmp(argname, *names) == 0)
			return 1;
	return 0;
}

static int	sweep_mode;		/* wild values are the extremes */
static long call_array_len = 4;	/* length of the sane arrays of one call */
static int	cur_in_type = -1;	/* types[] index whose input function is being called */

/* Raw text of one scalar value (no quoting), sane or wild. */
static void
scalar_text(Sb *out, TypeDesc *d, const char *argname, int sane, ArgFlags *fl)
{
	static const char *const prob_names[] = {"min_support", "monthly_discount", "share", "top_share", "revenue_share", "penalty", "ratio", NULL};
	static const char *const ts_wild[] = {"infinity", "-infinity", "4713-01-01 00:00+00 BC", "294276-12-31 23:59:59+00", "1970-01-01 00:00+00", "2000-02-29 12:00+00", "2024-07-01 00:00+00"};
	static const char *const iv_wild[] = {"0", "-1 day", "178000000 years", "-178000000 years", "1 microsecond", "1 mon", "-30 days", "00:00:00.000001"};
	static const char *const int_wild[] = {"0", "-1", "1", "2147483647", "-2147483648", "11", "1000000", "2", "100000"};
	static const char *const big_wild[] = {"0", "-1", "1", "9223372036854775807", "-9223372036854775808", "4294967296", "1000000000"};
	static const char *const num_wild[] = {"NaN", "Infinity", "-Infinity", "1e1000", "-1e1000", "1e-1000", "0", "-0.01", "-100", "99999999999999999999.99"};
	static const char *const regs[] = {
		"fz_orders", "fz_orders", "fz_temp", "fz_view", "fz_mview", "fz_seq", "fz_orders_idx", "fz_comp", "fz_part", "fz_part_1",
		"fz_empty", "fz_badcols", "fz_private", "fz_orders_wild", "fz_profile", "fz_profile_v", "persona.tag_rules",
		"persona.segment_rules", "pg_class", "pg_catalog.pg_proc", "0", "1", "999999", "4294967295", "2200", "fz_data"};
	const char *n = d->name;

	if (sweep_mode && !sane)
	{
		static const char *const fx[] = {"NaN", "Infinity", "-Infinity", "1e308", "-1e308", "0", "-1", "1e-310"};
		static const char *const ix[] = {"2147483647", "-2147483648", "0", "-1"};
		static const char *const bx[] = {"9223372036854775807", "-9223372036854775808", "0", "-1"};

		if (strcmp(n, "double precision") == 0)
		{
			sb_add(out, PICK(fx));
			note_text(fl, out->d);
			return;
		}
		if (strcmp(n, "integer") == 0)
		{
			sb_add(out, PICK(ix));
			return;
		}
		if (strcmp(n, "bigint") == 0)
		{
			sb_add(out, PICK(bx));
			return;
		}
	}
	if (strcmp(n, "double precision") == 0 || strcmp(n, "real") == 0)
	{
		if (sane)
		{
			static const char *const model_params[] = {"r", "alpha", "a", "b", "s", "beta", "p", "q", "v", NULL};
			static const char *const factors[] = {"decline_factor", "churn_factor", NULL};

			if (argname && strcmp(argname, "x") == 0)
				sb_printf(out, "%ld", rnd(20));
			else if (argname && strcmp(argname, "t_x") == 0)
				sb_printf(out, "%.4g", rndf() * 30);
			else if (argname && strcmp(argname, "t_cal") == 0)
				sb_printf(out, "%.4g", 30 + rndf() * 30);
			else if (name_is(argname, model_params))
				sb_printf(out, "%.4g", 0.1 + rndf() * 5);
			else if (name_is(argname, factors))
				sb_printf(out, "%.3g", 1 + rndf() * 3);
			else if (argname && (strcmp(argname, "gold_min") == 0 || strcmp(argname, "diamond_min") == 0))
				sb_printf(out, "%.4g", (argname[0] == 'd' ? 500 : 100) + rndf() * 100);
			else if (name_is(argname, prob_names))
				sb_printf(out, "%.3g", rndf() * 0.5);
			else if (chance(0.4))
				sb_printf(out, "%ld", rnd(60));
			else
				sb_printf(out, "%.6g", rndf() * 100);
		}
		else
			sb_add(out, PICK(float_texts));
	}
	else if (strcmp(n, "integer") == 0 || strcmp(n, "smallint") == 0)
	{
		if (sane)
		{
			static const char *const day_names[] = {"new_days", "min_days", "decline_days", "churn_days", NULL};

			if (argname && strcmp(argname, "bins") == 0)
				sb_printf(out, "%ld", 2 + rnd(9));
			else if (argname && strcmp(argname, "mature_purchases") == 0)
				sb_printf(out, "%ld", 2 + rnd(5));
			else if (argname && strcmp(argname, "months") == 0)
				sb_printf(out, "%ld", 1 + rnd(24));
			else if (name_is(argname, day_names))
				sb_printf(out, "%ld", 1 + rnd(365));
			else if (argname && strcmp(argname, "customers") == 0)
				sb_printf(out, "%ld", rnd(500));
			else
				sb_printf(out, "%ld", rnd(50));
		}
		else
			sb_add(out, strcmp(n, "smallint") == 0 && chance(0.5) ? "32767" : PICK(int_wild));
	}
	else if (strcmp(n, "bigint") == 0 || strcmp(n, "oid") == 0)
	{
		if (sane)
			sb_printf(out, "%ld", rnd(1000));
		else
			sb_add(out, strcmp(n, "oid") == 0 ? "4294967295" : PICK(big_wild));
	}
	else if (strcmp(n, "numeric") == 0)
	{
		if (sane)
			sb_printf(out, "%ld.%02ld", rnd(1000), rnd(100));
		else
			sb_add(out, PICK(num_wild));
	}
	else if (strcmp(n, "boolean") == 0)
		sb_add(out, chance(0.5) ? "true" : "false");
	else if (strcmp(n, "timestamp with time zone") == 0 || strcmp(n, "timestamp without time zone") == 0 || strcmp(n, "date") == 0)
	{
		if (sane)
			sb_printf(out, "%ld-%02ld-%02ld %02ld:%02ld:00+00", 2023 + rnd(3), 1 + rnd(12), 1 + rnd(28), rnd(24), rnd(60));
		else
			sb_add(out, PICK(ts_wild));
	}
	else if (strcmp(n, "interval") == 0)
	{
		if (sane)
			sb_printf(out, "%ld days", 1 + rnd(120));
		else
			sb_add(out, PICK(iv_wild));
	}
	else if (strcmp(n, "regclass") == 0)
		sb_add(out, sane ? "fz_orders" : PICK(regs));
	else if (strcmp(n, "cstring") == 0 && cur_in_type >= 0 && types[cur_in_type].ncorpus && (sane || chance(0.5)))
	{
		sb_add(out, types[cur_in_type].ctext[rnd(types[cur_in_type].ncorpus)]);
		if (!sane)
			mutate(out, breaks_dict, lengthof(breaks_dict), 1);
	}
	else if (strcmp(n, "text") == 0 || strcmp(n, "cstring") == 0 || strcmp(n, "character varying") == 0 || strcmp(n, "name") == 0)
	{
		if (!sane && chance(0.1))
		{
			long		len = chance(0.5) ? 1025 : 100000;

			for (long i = 0; i < len; i++)
				sb_addc(out, 'a' + (char) (i % 26));
		}
		else
			sb_add(out, sane ? sane_text(argname) : PICK(text_pool));
	}
	else if (d->typtype == 'e' && d->nlabels)
		sb_add(out, sane || chance(0.8) ? d->labels[rnd(d->nlabels)] : "no_such_label");
	else if (d->base >= 0)
	{
		TypeInfo   *t = &types[d->base];

		if (t->ncorpus && (sane || chance(0.9)))
			sb_add(out, t->ctext[rnd(t->ncorpus)]);
		else
		{
			int			nseeds;
			const char *const *seeds = type_seeds(t, &nseeds);

			sb_add(out, nseeds > 0 ? seeds[rnd(nseeds)] : PICK(tq_seeds));
		}
	}
	else if (d->typtype == 'c' && d->nsamples && (sane || chance(0.5)))
		sb_add(out, d->samples[rnd(d->nsamples)]);
	else if (strcmp(n, "bytea") == 0)
	{
		sb_add(out, "\\x");
		for (long i = 0, len = rnd(64); i < len; i++)
			sb_printf(out, "%02x", (unsigned) rnd(256));
	}
	else
		sb_add(out, "");
	note_text(fl, out->d ? out->d : "");
}

static void gen_arg(Sb *out, TypeDesc *d, const char *argname, int sane, ArgFlags *fl, int depth);

/* An array argument. */
static void
gen_array(Sb *out, TypeDesc *d, const char *argname, int sane, ArgFlags *fl)
{
	TypeDesc   *e = tdesc(d->elem);
	long		n;
	int			c = (int) rnd(100);

	if (c < 5)
	{
		sb_printf(out, "'{}'::%s", d->name);
		return;
	}
	if (c < 9 && !sane)
	{
		static const long sizes[] = {1000, 10000, 100000, 1000000};
		Sb			v = {0};

		n = PICK(sizes);
		if (strcmp(e->name, "text") == 0 && chance(0.5))
		{
			sb_printf(out, "ARRAY(SELECT 't' || g FROM generate_series(1, %ld) g)", n > 4096 ? 4096 : n);
			return;
		}
		scalar_text(&v, e, argname, 1, fl);
		sb_add(out, "array_fill(");
		sb_literal(out, v.d ? v.d : "", v.len);
		sb_printf(out, "::%s, ARRAY[%ld])", e->name, n);
		sb_free(&v);
		return;
	}
	if (c < 13 && !sane)
	{
		/* two dimensions */
		sb_add(out, "ARRAY[");
		for (int i = 0; i < 2; i++)
		{
			sb_add(out, i ? ", ARRAY[" : "ARRAY[");
			for (int j = 0; j < 2; j++)
			{
				if (j)
					sb_add(out, ", ");
				gen_arg(out, e, argname, 1, fl, 1);
			}
			sb_add(out, "]");
		}
		sb_printf(out, "]::%s", d->name);
		return;
	}
	if (c < 20 && !sane && strcmp(e->name, "double precision") == 0)
	{
		/* crafted aggregate states and cut lists */
		static const char *const states[] = {
			"{5,2000000,1,2,3}", "{5,0,1,2,3}", "{2,1,1,2,3}", "{5,1}", "{2147483647,0}", "{NaN,NaN}", "{1e308,0,1,2,3}",
			"{10,0}", "{0.2,1,5}", "{-1,0,1}", "{5,0,NaN,NaN,NaN}", "{2,2,1,2,3}", "{30}", "{1e-310}", "{Infinity}", "{3,2,1}",
		};

		sb_printf(out, "'%s'::%s", PICK(states), d->name);
		fl->nonfinite = 1;
		return;
	}
	n = sane ? call_array_len + (argname && strcmp(argname, "labels") == 0) : rnd(12);
	if (strcmp(e->name, "bigint") == 0 && chance(0.5))
		n = 6;
	if (sane && strcmp(e->name, "double precision") == 0)
	{
		/* cut points: ascending (days descending), as the functions want */
		double		v = rndf() * 10;
		int			desc = argname && strcmp(argname, "r_days") == 0;

		sb_add(out, "ARRAY[");
		for (long i = 0; i < n; i++)
		{
			v += 1 + rndf() * 30;
			sb_printf(out, "%s%.4g", i ? ", " : "", desc ? 1000 - v : v);
		}
		sb_printf(out, "]::%s", d->name);
		return;
	}
	sb_add(out, "ARRAY[");
	for (long i = 0; i < n; i++)
	{
		if (i)
			sb_add(out, ", ");
		gen_arg(out, e, argname, sane || chance(0.7), fl, 1);
	}
	sb_printf(out, "]::%s", d->name);
}

/* An SQL expression of type d for an argument. */
static void
gen_arg(Sb *out, TypeDesc *d, const char *argname, int sane, ArgFlags *fl, int depth)
{
	Sb			v = {0};

	if (strcmp(d->name, "internal") == 0)
	{
		sb_add(out, "NULL");	/* there is no cast to internal */
		return;
	}
	if (chance(sane ? 0.02 : 0.08))
	{
		sb_printf(out, "NULL::%s", d->name);
		return;
	}
	if (strcmp(d->name, "anyenum") == 0)
	{
		static const char *const e[] = {"'new'::persona.lifecycle", "'churned'::persona.lifecycle", "'lead'::persona.funnel", "'night'::persona.daypart", "'diamond'::persona.value_tier", "'predictive'::persona.tag_layer", "'red'::fz_color"};

		sb_add(out, PICK(e));
		return;
	}
	if (d->cat == 'A' && d->elem)
	{
		gen_array(out, d, argname, sane, fl);
		return;
	}
	if (d->typtype == 'c' && d->natts && depth < 2 && (d->nsamples == 0 || chance(sane ? 0.15 : 0.5)))
	{
		/* a crafted row: each field sane or wild, some NULL */
		sb_add(out, "ROW(");
		for (int i = 0; i < d->natts; i++)
		{
			if (i)
				sb_add(out, ", ");
			gen_arg(out, tdesc(d->atttypes[i]), d->attnames[i], chance(0.6), fl, depth + 1);
		}
		sb_printf(out, ")::%s", d->name);
		return;
	}
	if (strcmp(d->name, "bytea") == 0 && argname && strcmp(argname, "state") == 0 && chance(sane ? 0.9 : 0.6))
	{
		/* a state made by persona (either kind: the wrong one must be 22P03 too), one byte changed unless sane */
		static const char *const makers[] = {
			"persona.order_stats_state(ordered_at, amount, 'Asia/Shanghai')",
			"persona.order_stats_state(ordered_at, amount, 'America/New_York')",
			"persona.habits_state(ordered_at, 'Asia/Shanghai')",
			"persona.habits_state(ordered_at, 'UTC')",
		};
		long		cust = rnd(8);

		if (sane)
			sb_printf(out, "(SELECT %s FROM fz_orders WHERE customer_id %% 8 = %ld)", PICK(makers), cust);
		else
			sb_printf(out, "(SELECT set_byte(s, %ld %% length(s), %ld) FROM (SELECT %s AS s FROM fz_orders WHERE customer_id %% 8 = %ld) q)",
					  rnd(400), rnd(256), PICK(makers), cust);
		return;
	}
	scalar_text(&v, d, argname, sane, fl);
	if (strcmp(d->name, "regclass") == 0 && v.d && isdigit((unsigned char) v.d[0]))
		sb_printf(out, "%s::oid::regclass", v.d);
	else
	{
		sb_add(out, "(");
		sb_literal(out, v.d ? v.d : "", v.len);
		sb_printf(out, ")::%s", d->name);
	}
	sb_free(&v);
}

/* ------------------------------------------------------------- domains */

#define INF HUGE_VAL
typedef struct DomainRule
{
	const char *func;			/* function name, or "*" */
	const char *col;			/* result column ("result" for a scalar) */
	double		lo,
				hi;
} DomainRule;

static const DomainRule domain_rules[] = {
	{"p_alive", "result", 0, 1},
	{"expected_purchases", "result", 0, INF},
	{"expected_spend", "result", 0, INF},
	{"clv", "result", 0, INF},
	{"simulate_mean_spend", "result", 0, INF},
	{"r", "result", 1, 10}, {"f", "result", 1, 10}, {"m", "result", 1, 10}, {"bins", "result", 2, 10},
	{"score", "result", 111, 1110},
	{"bgnbd_fit", "r", DBL_MIN, INF}, {"bgnbd_fit", "alpha", DBL_MIN, INF}, {"bgnbd_fit", "a", DBL_MIN, INF}, {"bgnbd_fit", "b", DBL_MIN, INF},
	{"pareto_nbd_fit", "r", DBL_MIN, INF}, {"pareto_nbd_fit", "alpha", DBL_MIN, INF}, {"pareto_nbd_fit", "s", DBL_MIN, INF}, {"pareto_nbd_fit", "beta", DBL_MIN, INF},
	{"mbgnbd_fit", "r", DBL_MIN, INF}, {"mbgnbd_fit", "alpha", DBL_MIN, INF}, {"mbgnbd_fit", "a", DBL_MIN, INF}, {"mbgnbd_fit", "b", DBL_MIN, INF},
	{"nbd_fit", "r", DBL_MIN, INF}, {"nbd_fit", "alpha", DBL_MIN, INF},
	{"bgbb_fit", "alpha", DBL_MIN, INF}, {"bgbb_fit", "beta", DBL_MIN, INF}, {"bgbb_fit", "gamma", DBL_MIN, INF}, {"bgbb_fit", "delta", DBL_MIN, INF},
	{"*", "n", 0, INF},
	{"gamma_gamma_fit", "p", DBL_MIN, INF}, {"gamma_gamma_fit", "q", DBL_MIN, INF}, {"gamma_gamma_fit", "v", DBL_MIN, INF},
	{"*", "customers", 0, INF}, {"*", "orders", 0, INF}, {"*", "purchase_days", 0, INF}, {"*", "recency_days", 0, INF},
	{"*", "tenure_days", 0, INF}, {"*", "repeat_orders", 0, INF}, {"*", "refunds", 0, INF}, {"*", "x", 0, INF},
	{"*", "t_x", 0, INF}, {"*", "t_cal", 0, INF}, {"*", "holdout_purchases", 0, INF}, {"*", "iterations", 0, INF},
	{"*", "mean_gap_days", 0, INF}, {"*", "gap_sd_days", 0, INF}, {"*", "predicted", 0, INF}, {"*", "actual", 0, INF},
	{"*", "mae", 0, INF}, {"*", "rmse", 0, INF}, {"*", "reached", 0, INF}, {"*", "recent_orders", 0, INF},
	{"*", "previous_orders", 0, INF}, {"*", "support", 0, 1}, {"*", "confidence", 0, 1}, {"*", "lift", 0, INF},
	{"*", "top_share", 0, 1}, {"*", "customer_share", 0, 1}, {"*", "weekday_share", 0, 1},
	{"*", "weekend_share", 0, 1}, {"*", "morning", 0, 1}, {"*", "lunch", 0, 1}, {"*", "afternoon", 0, 1},
	{"*", "evening", 0, 1}, {"*", "night", 0, 1}, {"*", "favourite_weekday", 1, 7}, {"*", "favourite_hour", 0, 23},
	{"*", "mean_repeat_spend", 0, INF},
	{"data_quality", "rows", 0, INF}, {"data_quality", "share", 0, 1},
};

/*
 * Check one result row against the domain table and a few relations
 * (t_x <= t_cal, recency <= tenure, purchase days <= orders).  NaN and
 * infinite floats count only when every input was finite.
 */
static int
check_row(PGresult *res, int row, const char *fname, const ArgFlags *fl, Sb *why)
{
	int			bad = 0;
	double		tx = NAN,
				tcal = NAN,
				rec = NAN,
				ten = NAN,
				pd = NAN,
				ord = NAN;

	for (int c = 0; c < PQnfields(res); c++)
	{
		Oid			ty = PQftype(res, c);
		const char *col = PQfname(res, c);
		const char *v;
		double		x;

		if (PQgetisnull(res, row, c))
			continue;
		v = PQgetvalue(res, row, c);
		if (ty == TEXTOID && !encoding_ok(v, PQgetlength(res, row, c)))
		{
			sb_printf(why, "column %s is not valid %s; ", col, cur_enc);
			bad = 2;
		}
		if (ty == TEXTOID && strcmp(cur_enc, "LATIN1") == 0 && !fl->high_bytes && has_utf8_seq(v))
		{
			sb_printf(why, "column %s holds UTF-8 bytes in a LATIN1 database (mojibake): %.60s; ", col, v);
			bad = 2;
		}
		if (ty != 701 && ty != 700 && ty != 20 && ty != 21 && ty != 23 && ty != 1700)
			continue;
		x = strcmp(v, "NaN") == 0 ? NAN : strcmp(v, "Infinity") == 0 ? INF : strcmp(v, "-Infinity") == 0 ? -INF : strtod(v, NULL);
		if (strcmp(col, "t_x") == 0)
			tx = x;
		else if (strcmp(col, "t_cal") == 0)
			tcal = x;
		else if (strcmp(col, "recency_days") == 0)
			rec = x;
		else if (strcmp(col, "tenure_days") == 0)
			ten = x;
		else if (strcmp(col, "purchase_days") == 0)
			pd = x;
		else if (strcmp(col, "orders") == 0)
			ord = x;
		if (!fl->nonfinite && (isnan(x) || (isinf(x) && !(x < 0 && strstr(fname, "loglik")) && !(strcmp(col, "loglik") == 0 && x < 0))))
		{
			sb_printf(why, "%s = %s from finite inputs; ", col, v);
			bad = bad ? bad : 1;
			continue;
		}
		if (isnan(x))
			continue;
		for (int i = 0; i < lengthof(domain_rules); i++)
		{
			const DomainRule *dr = &domain_rules[i];

			if (strcmp(dr->col, col) != 0 || (strcmp(dr->func, "*") != 0 && strcmp(dr->func, fname) != 0))
				continue;
			if (x < dr->lo || x > dr->hi)
			{
				sb_printf(why, "%s = %s outside [%g, %g]; ", col, v, dr->lo, dr->hi);
				bad = bad ? bad : 1;
			}
			break;
		}
	}
	if (tx > tcal * (1 + 1e-9) + 1e-9)
	{
		sb_printf(why, "t_x %g > t_cal %g; ", tx, tcal);
		bad = bad ? bad : 1;
	}
	if (rec > ten)
	{
		sb_printf(why, "recency_days %g > tenure_days %g; ", rec, ten);
		bad = bad ? bad : 1;
	}
	if (pd > ord)
	{
		sb_printf(why, "purchase_days %g > orders %g; ", pd, ord);
		bad = bad ? bad : 1;
	}
	return bad;
}

/* ------------------------------------------------------ function phase */

typedef struct Func
{
	char		name[64];
	char		sig[512];
	char		kind;
	int			retset;
	unsigned int rettype;
	int			nargs,
				ndefaults;
	unsigned int variadic;
	unsigned int argtypes[32];
	char	   *argnames[32];
} Func;

static Func *funcs;
static int	nfuncs;

static void
load_funcs(void)
{
	PGresult   *r = PQexec(cmain.pg,
						   "SELECT p.proname, p.oid::regprocedure::text, p.prokind, p.proretset, p.prorettype, p.pronargs, "
						   "p.pronargdefaults, p.provariadic, array_to_string(p.proargtypes::oid[], ' '), "
						   "coalesce((SELECT string_agg(coalesce(nullif(n, ''), '-'), ' ' ORDER BY o) "
						   "  FROM unnest(p.proargnames, coalesce(p.proargmodes, array_fill('i'::\"char\", ARRAY[coalesce(cardinality(p.proargnames), 0)]))) "
						   "  WITH ORDINALITY u(n, m, o) WHERE m IN ('i', 'b', 'v')), '') "
						   "FROM pg_proc p WHERE p.pronamespace = 'persona'::regnamespace ORDER BY 2");

	free(funcs);
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		fprintf(stderr, "fuzz: cannot list functions: %s", PQresultErrorMessage(r));
	nfuncs = PQntuples(r);
	funcs = calloc(nfuncs + 1, sizeof(Func));
	for (int i = 0; i < nfuncs; i++)
	{
		Func	   *f = &funcs[i];
		char	   *s,
				   *tok,
				   *save;
		int			k = 0;

		snprintf(f->name, sizeof(f->name), "%s", PQgetvalue(r, i, 0));
		snprintf(f->sig, sizeof(f->sig), "%s", PQgetvalue(r, i, 1));
		f->kind = PQgetvalue(r, i, 2)[0];
		f->retset = PQgetvalue(r, i, 3)[0] == 't';
		f->rettype = (unsigned int) strtoul(PQgetvalue(r, i, 4), NULL, 10);
		f->nargs = atoi(PQgetvalue(r, i, 5));
		f->ndefaults = atoi(PQgetvalue(r, i, 6));
		f->variadic = (unsigned int) strtoul(PQgetvalue(r, i, 7), NULL, 10);
		s = xstrdup(PQgetvalue(r, i, 8));
		for (tok = strtok_r(s, " ", &save); tok && k < 32; tok = strtok_r(NULL, " ", &save))
			f->argtypes[k++] = (unsigned int) strtoul(tok, NULL, 10);
		free(s);
		s = xstrdup(PQgetvalue(r, i, 9));
		k = 0;
		for (tok = strtok_r(s, " ", &save); tok && k < 32; tok = strtok_r(NULL, " ", &save), k++)
			f->argnames[k] = strcmp(tok, "-") == 0 ? NULL : xstrdup(tok);
		free(s);
		if (f->nargs > 32)
			f->nargs = 32;
	}
	PQclear(r);
}

/* Wrap a query producing column "result" so composite results are expanded and base types re-read. */
static void
wrap_result(Sb *q, const char *inner, TypeDesc *rt)
{
	TypeDesc   *el = rt->cat == 'A' && rt->elem ? tdesc(rt->elem) : NULL;

	if (rt->typtype == 'c')
		sb_printf(q, "SELECT (s.result).* FROM (%s OFFSET 0) s", inner);
	else if (el && el->typtype == 'c')
		sb_printf(q, "SELECT (u).* FROM (%s OFFSET 0) s, unnest(s.result) u", inner);
	else if (rt->base >= 0)
		sb_printf(q, "SELECT s.result::text AS result, %s(s.result) AS result_send FROM (%s OFFSET 0) s",
				  types[rt->base].send, inner);
	else if (strcmp(rt->name, "internal") == 0)
		sb_printf(q, "SELECT s.result IS NULL AS result FROM (%s OFFSET 0) s", inner);
	else
		sb_add(q, inner);
}

/* Check that persona base-type results re-read as themselves; keep them for the dump phase. */
static void
check_base_results(Stat *st, PGresult *res, TypeDesc *rt, const char *key, const char *sql)
{
	TypeInfo   *t = &types[rt->base];

	for (int row = 0; row < PQntuples(res) && row < 50; row++)
	{
		const char *txt;
		unsigned char *bin;
		size_t		binlen;
		Res			r2;

		if (PQgetisnull(res, row, 0))
			continue;
		txt = PQgetvalue(res, row, 0);
		bin = PQunescapeBytea((const unsigned char *) PQgetvalue(res, row, 1), &binlen);
		type_eval(t, txt, (int) strlen(txt), 0, &r2);
		if (r2.kind == RK_ERR)
		{
			char		w[1024];

			st->roundtrip++;
			snprintf(w, sizeof(w), "result prints as text its input rejects (%s %s): %.300s", r2.state, r2.msg, txt);
			finding(F_ROUNDTRIP, cur_db, key, w, sql);
		}
		else if (r2.kind == RK_OK && r2.res &&
				 ((size_t) PQgetlength(r2.res, 0, 1) != binlen || memcmp(PQgetvalue(r2.res, 0, 1), bin, binlen) != 0))
		{
			char		w[800];

			st->roundtrip++;
			snprintf(w, sizeof(w), "result re-reads from its text as a different value: %.300s -> %.300s", txt, PQgetvalue(r2.res, 0, 0));
			finding(F_ROUNDTRIP, cur_db, key, w, sql);
		}
		res_clear(&r2);
		type_remember(t, txt, (const char *) bin, (int) binlen);
		PQfreemem(bin);
	}
}

/* Run a generated call and check its result. */
static void
exec_call(Stat *st, Conn *c, const char *key, const char *fname, const char *sql, TypeDesc *rt,
		  const ArgFlags *fl, const char *prefix)
{
	Res			r;
	Sb			repro_sql = {0};

	st->tried++;
	sb_printf(&repro_sql, "%s%s", prefix, sql);
	run(c, sql, 0, NULL, NULL, NULL, NULL, 0, &r);
	if (account(st, &r, key, repro_sql.d))
	{
		Sb			why = {0};
		int			bad = 0;

		st->ok++;
		for (int row = 0; r.res && row < PQntuples(r.res) && row < 2000 && !bad; row++)
			bad = check_row(r.res, row, fname, fl, &why);
		if (bad == 1)
		{
			st->domain++;
			finding(F_DOMAIN, cur_db, key, why.d, repro_sql.d);
		}
		else if (bad == 2)
		{
			st->encoding++;
			finding(F_ENCODING, cur_db, key, why.d, repro_sql.d);
		}
		if (rt && rt->base >= 0 && r.res && PQnfields(r.res) == 2)
			check_base_results(st, r.res, rt, key, repro_sql.d);
		sb_free(&why);
	}
	res_clear(&r);
	sb_free(&repro_sql);
}

static const char *
session_prefix(Conn *c)
{
	return c->as_user ? "SET SESSION AUTHORIZATION persona_fuzz_user; SET persona.language = en;\n"
		: "SET persona.language = zh;\n";
}

static void
phase_functions(void)
{
	Sb			call = {0},
				q = {0};

	for (int fi = 0; fi < nfuncs && !over_budget(); fi++)
	{
		Func	   *f = &funcs[fi];
		Stat	   *st;
		TypeDesc   *rt;

		if (f->kind == 'a')
			continue;
		long		ncalls = opt_calls;

		st = stat_get(cur_db, 1, f->sig);
		rt = tdesc(f->rettype);
		rng_for(cur_db, "functions", f->sig);
		/* an internal argument cannot be passed from SQL: one call shows it */
		for (int a = 0; a < f->nargs; a++)
			if (strcmp(tdesc(f->argtypes[a])->name, "internal") == 0)
				ncalls = 1;
		/* the text input functions get their type's accepted values as cstring */
		cur_in_type = -1;
		for (int t = 0; t < ntypes; t++)
		{
			char		in[160];

			snprintf(in, sizeof(in), "%s_in", strchr(types[t].name, '.') ? strchr(types[t].name, '.') + 1 : types[t].name);
			if (strcmp(in, f->name) == 0)
				cur_in_type = t;
		}
		for (long i = 0; i < ncalls && !over_budget(); i++)
		{
			ArgFlags	fl = {0};
			int			nargs = f->nargs;
			int			sane = chance(0.5);
			Conn	   *c = (i & 1) ? &cuser : &cmain;
			/* the first half of the calls: one argument at an extreme, the others sane */
			int			wild_arg = i < opt_calls / 2 && f->nargs ? (int) ((i / 2) % f->nargs) : -1;

			sweep_mode = wild_arg >= 0;
			call_array_len = 1 + rnd(5);
			if (f->ndefaults && chance(0.3) && !sweep_mode)
				nargs -= (int) rnd(f->ndefaults + 1);
			sb_reset(&call);
			sb_reset(&q);
			sb_printf(&call, "%s persona.%s(", f->retset ? "SELECT * FROM" : "SELECT", f->name);
			for (int a = 0; a < nargs; a++)
			{
				if (a)
					sb_add(&call, ", ");
				if (f->variadic && a == nargs - 1)
					sb_add(&call, "VARIADIC ");
				gen_arg(&call, tdesc(f->argtypes[a]), f->argnames[a],
						sweep_mode ? a != wild_arg : sane || chance(0.5), &fl, 0);
			}
			sweep_mode = 0;
			sb_add(&call, f->retset ? ")" : ") AS result");
			if (f->retset)
				sb_add(&q, call.d);
			else
				wrap_result(&q, call.d, rt);
			exec_call(st, c, f->sig, f->name, q.d, f->retset ? NULL : rt, &fl, session_prefix(c));
		}
	}
	sb_free(&call);
	sb_free(&q);
}

/*
 * Seed calls: inputs that once crashed, hung or broke a round trip (issue 9),
 * run first so every run, however short, tries them again.
 */
static const struct
{
	const char *key;			/* function, for the counts */
	const char *rettype;		/* result type when the result must re-read, or NULL */
	int			as_user;
	const char *sql;			/* produces column "result" when rettype is set */
}			seed_calls[] = {
	{"customer_profile", NULL, 0, "SELECT count(*) FROM persona.customer_profile(999999::oid::regclass, '2024-07-01')"},
	{"customer_profile", NULL, 1, "SELECT count(*) FROM persona.customer_profile(0::regclass, '2024-07-01')"},
	{"check_tag_rule", NULL, 0, "SELECT persona.check_tag_rule(999999::oid::regclass, 'true')"},
	{"starter_tag_rules", NULL, 1, "SELECT persona.starter_tag_rules(0::regclass)"},
	/* profiles on the messy, empty, partitioned and badly typed fixtures, and as an unprivileged role */
	{"create_profile", NULL, 0, "SELECT count(*) FROM persona.create_profile('fz_p1', 'fz_orders_wild', time_zone => 'Asia/Shanghai', incremental => true)"},
	{"create_profile", NULL, 0, "SELECT count(*) FROM persona.create_profile('fz_p2', 'fz_empty', as_of => '2024-07-01', time_zone => 'UTC')"},
	{"create_profile", NULL, 0, "SELECT count(*) FROM persona.create_profile('fz_p3', 'fz_part', time_zone => 'UTC', incremental => true, bins => 2)"},
	{"create_profile", NULL, 0, "SELECT count(*) FROM persona.create_profile('fz_p4', 'fz_badcols', time_zone => 'UTC')"},
	{"create_profile", NULL, 0, "SELECT count(*) FROM persona.create_profile('fz_p5', 'fz_view', time_zone => 'UTC', materialized => false)"},
	{"create_profile", NULL, 1, "SELECT count(*) FROM persona.create_profile('fz_p6', 'fz_private', time_zone => 'UTC')"},
	{"refresh_profile", NULL, 0, "SELECT count(*) FROM persona.refresh_profile('fz_p1')"},
	{"drop_profile", NULL, 0, "SELECT persona.drop_profile('fz_p3', cascade => true)"},
	{"holdout", NULL, 1, "SELECT count(*) FROM persona.holdout(999999::oid::regclass, '2024-01-01', '2024-06-01')"},
	{"rfm_breaks_finalfn", "persona.rfm_breaks", 0, "SELECT persona.rfm_breaks_finalfn('{5,2000000,1,2,3}') AS result"},
	{"pareto_finalfn", NULL, 0, "SELECT persona.pareto_finalfn('{1e308,NaN,-1,2}')"},
	{"funnel_counts_check", NULL, 0, "SELECT persona.funnel_counts_check('{-1,2}')"},
	{"rfm_thresholds", "persona.rfm_breaks", 0, "SELECT persona.rfm_thresholds('{30}', '{2}', '{1e-310}') AS result"},
	{"rfm_breaks", "persona.rfm_breaks", 0, "SELECT persona.rfm_breaks(r, f, m, 2, 'mean') AS result FROM (VALUES (1e308::float8, 1::float8, 1e308::float8), (1.7e308, 2, 1.7e308)) v(r, f, m)"},
	{"btyd", NULL, 0, "SELECT (persona.btyd('(2024-01-01 00:00+00,2024-02-01 00:00+00,4,-4,100,25,3,30,1,1,3,75,0)'::persona.order_stats)).*"},
	{"btyd", NULL, 0, "SELECT (persona.btyd('(2024-01-01 00:00+00,2024-02-01 00:00+00,4,2,100,25,-2147483648,2147483647,1,1,3,75,0)'::persona.order_stats)).*"},
	{"simulate_mean_spend", NULL, 0, "SELECT persona.simulate_mean_spend(6.25, 3.74, 15.44, 2147483647, 1) AS result"},
	{"simulate_bgnbd", NULL, 0, "SELECT count(*) FROM persona.simulate_bgnbd(0.24, 4.4, 0.79, 2.4, 2147483647, 39, 1)"},
	{"simulate_mbgnbd", NULL, 0, "SELECT count(*) FROM persona.simulate_mbgnbd(0.52, 6.2, 0.89, 1.6, 2147483647, 39, 1)"},
	{"simulate_nbd", NULL, 0, "SELECT count(*) FROM persona.simulate_nbd(0.8, 4, 2147483647, 39, 1)"},
	{"simulate_bgbb", NULL, 0, "SELECT count(*) FROM persona.simulate_bgbb(1.2, 0.75, 1e-6, 1e6, 2147483647, 1000000, 1)"},
	{"bgbb_fit", NULL, 0, "SELECT persona.bgbb_fit(1, t, 1000000) FROM generate_series(1, 100000) t"},
	/* 0.4.0: time zones as values, per-customer states (crafted bytea must be 22P03) */
	{"daypart_of", NULL, 0, "SELECT persona.daypart_of('2025-03-09 07:30+00', 'CST') AS result"},
	{"order_stats", NULL, 0, "SELECT (persona.order_stats(t, 1, '2025-12-31', z)).* FROM (VALUES ('2025-01-01'::timestamptz, 'UTC'), ('2025-01-02', 'Asia/Shanghai')) v(t, z)"},
	{"customer_profile", NULL, 0, "SELECT count(*) FROM persona.customer_profile('fz_orders', 'infinity', time_zone => 'Pacific/Kiritimati', language => 'zh')"},
	{"order_stats_of", NULL, 0, "SELECT (persona.order_stats_of('\\x6f01005554430000', '2025-12-31')).*"},
	{"order_stats_of", NULL, 0, "SELECT (persona.order_stats_of(set_byte(persona.order_stats_state('2025-01-01 10:00+00', 10.5, 'UTC'), 34, 2), '2025-12-31')).*"},
	{"order_stats_of", NULL, 0, "SELECT (persona.order_stats_of(overlay(persona.order_stats_state('2025-01-01 10:00+00', 10.5, 'UTC') PLACING '\\x014e614e00'::bytea FROM 32 FOR 1), '2025-12-31')).*"},
	{"order_stats_of", NULL, 0, "SELECT (persona.order_stats_of(persona.order_stats_state('4713-01-01 00:00+00 BC', 1, 'UTC'), '5874897-12-31')).*"},
	{"order_stats_merge", NULL, 0, "SELECT persona.order_stats_merge(s) AS result FROM (SELECT overlay(persona.order_stats_state('2025-01-01 10:00+00', 10.5, 'UTC') PLACING '\\x808080808080808040'::bytea FROM 12 FOR 1) FROM generate_series(1, 2)) v(s)"},
	{"order_stats_merge", NULL, 0, "SELECT persona.order_stats_merge(s) AS result FROM (VALUES (NULL::bytea), (NULL)) v(s)"},
	{"habits_merge", NULL, 0, "SELECT persona.habits_merge(s) AS result FROM (VALUES (NULL::bytea), ((SELECT persona.order_stats_state(now(), 1, 'UTC')))) v(s)"},
	{"habits_of", NULL, 0, "SELECT (persona.habits_of(set_byte(persona.habits_state('2025-01-01 00:00+00', 'UTC'), 13, 9))).*"},
	/* found by the full run of 0.3.0 (seed 1): Infinity from finite inputs */
	{"simulate_mean_spend", NULL, 1, "SELECT persona.simulate_mean_spend(9007199254740993, 1e-5, 3.686, 6, -9223372036854775808) AS result"},
	/* 0.4.0: masks on long and odd strings, data_quality on wild and private tables */
	{"mask_phone", NULL, 0, "SELECT length(persona.mask_phone(repeat('+86 １3８-', 100000))) AS result"},
	{"mask_name", NULL, 0, "SELECT persona.mask_name(repeat(' ', 1000) || chr(12288) || 'x') AS result"},
	{"mask_email", NULL, 0, "SELECT length(persona.mask_email(repeat('@', 100000) || repeat('a', 100000))) AS result"},
	{"mask_id", NULL, 0, "SELECT persona.mask_id(repeat('-', 18) || '110101199003074578') AS result"},
	{"data_quality", NULL, 0, "SELECT count(*) FROM persona.data_quality('fz_orders_wild', time_zone => 'Asia/Shanghai', as_of => 'infinity')"},
	{"data_quality", NULL, 0, "SELECT count(*) FROM persona.data_quality('fz_orders_wild', order_col => 'amount', as_of => '-infinity')"},
	{"data_quality", NULL, 1, "SELECT count(*) FROM persona.data_quality('fz_private')"},
	/* 0.4.0: customer_states on wild rows, odd bounds and zones, bad and private relations */
	{"customer_states", NULL, 0, "SELECT count(*), sum(length(stats_state)), count(habits_state) FROM persona.customer_states('fz_orders_wild', 'infinity', 'UTC')"},
	{"customer_states", NULL, 0, "SELECT count(*), sum(length(stats_state)), count(habits_state) FROM persona.customer_states('fz_orders_wild', '2024-01-01 12:00+00', 'Pacific/Kiritimati')"},
	{"customer_states", NULL, 0, "SELECT count(*) FROM persona.customer_states('fz_part', '294276-12-31 23:59:59.999999+00', 'Australia/Lord_Howe')"},
	{"customer_states", NULL, 0, "SELECT count(*) FROM persona.customer_states('fz_badcols', 'infinity', 'UTC')"},
	{"customer_states", NULL, 0, "SELECT count(*) FROM persona.customer_states('fz_orders', 'infinity', 'UTC', customer_col => 'ordered_at')"},
	{"customer_states", NULL, 1, "SELECT count(*) FROM persona.customer_states('fz_private', 'infinity', 'UTC')"},
	{"customer_states", NULL, 1, "SELECT count(*) FROM persona.customer_states(999999::oid::regclass, '-infinity', 'UTC')"},
	/* 0.4.0: data_quality's one pass (integer keys, money-like amounts), zones far from UTC */
	{"data_quality", NULL, 0, "SELECT count(*) FROM persona.data_quality('fz_orders', order_col => 'customer_id', time_zone => '<+99>-99', as_of => '2024-06-30')"},
	{"data_quality", NULL, 0, "SELECT count(*) FROM persona.data_quality('fz_orders', time_zone => 'Pacific/Kiritimati', as_of => '294276-12-31')"},
	/* 0.5.0: found by fuzz-quick on the summary forms (a NULL model crashed; a huge weight overflowed customers) */
	{"p_alive", NULL, 0, "SELECT persona.p_alive(NULL::persona.pareto_nbd, '(0,0,222,,days)'::persona.btyd_summary) AS result"},
	{"expected_purchases", NULL, 0, "SELECT persona.expected_purchases(NULL::persona.bgnbd, 37, '(5,22.01,43.03,29.0121,amount)'::persona.btyd_summary) AS result"},
	{"bgnbd_fit", NULL, 0, "SELECT (persona.bgnbd_fit('(5,390,505,202.292,days)'::persona.btyd_summary, 1e19)).customers AS result"},
	{"clv", NULL, 0, "SELECT persona.clv(NULL::persona.bgnbd, NULL::persona.gamma_gamma, '(1,1,2,0,Months)'::persona.btyd_summary) AS result"},
	{"rfm", "persona.rfm", 0, "SELECT '10-3-/10'::persona.rfm AS result"},
};

static void
phase_seeds(void)
{
	Stat	   *st = stat_get(cur_db, 1, "seed calls (issue 9 reproducers)");

	for (int i = 0; i < lengthof(seed_calls) && !over_budget(); i++)
	{
		ArgFlags	fl = {0};
		TypeDesc   *rt = NULL;
		Sb			q = {0};
		Conn	   *c = seed_calls[i].as_user ? &cuser : &cmain;

		if (seed_calls[i].rettype)
		{
			char		sql[256];
			char	   *oid;

			snprintf(sql, sizeof(sql), "SELECT to_regtype('%s')::oid", seed_calls[i].rettype);
			conn_check(&cmain);
			if ((oid = query_value(cmain.pg, sql)) != NULL)
				rt = tdesc((unsigned int) strtoul(oid, NULL, 10));
			free(oid);
		}
		if (rt)
			wrap_result(&q, seed_calls[i].sql, rt);
		else
			sb_add(&q, seed_calls[i].sql);
		exec_call(st, c, seed_calls[i].key, seed_calls[i].key, q.d, rt, &fl, session_prefix(c));
		sb_free(&q);
	}
}

/* Statements around tag rules: DML through the trigger, and a rule whose view is dropped. */
static void
phase_tag_rules(void)
{
	static const char *const steps[] = {
		"CREATE OR REPLACE VIEW fz_drop_v AS SELECT * FROM fz_profile",
		"INSERT INTO persona.tag_rules (source, tag, layer, rule_sql) VALUES ('fz_drop_v', 'dropped', 'value', 'orders > 1') ON CONFLICT DO NOTHING",
		"DROP VIEW fz_drop_v",
		"UPDATE persona.tag_rules SET enabled = enabled WHERE tag = 'dropped'",
		"SELECT persona.build_tag_view('fz_tags_after_drop', 'fz_profile')",
		"DELETE FROM persona.tag_rules WHERE tag = 'dropped'",
	};
	Stat	   *st = stat_get(cur_db, 1, "tag_rules: rule on a dropped view");
	Stat	   *st2 = stat_get(cur_db, 1, "tag_rules: INSERT/UPDATE through the trigger");
	Sb			sql = {0},
				all = {0};
	ArgFlags	fl = {0};

	sb_add(&all, "");
	for (int i = 0; i < lengthof(steps) && !over_budget(); i++)
	{
		/* the reproducer of a later step needs the earlier ones */
		exec_call(st, &cmain, st->key, "", steps[i], NULL, &fl, all.d);
		sb_printf(&all, "%s;\n", steps[i]);
		if (st->crashes || st->hangs)
			break;
	}
	rng_for(cur_db, "tag_rules", "dml");
	for (long i = 0; i < opt_calls && !over_budget(); i++)
	{
		Conn	   *c = (i & 1) ? &cuser : &cmain;
		TypeDesc   *reg = tdesc(2205);	/* regclass */
		TypeDesc   *txt = tdesc(25);

		sb_reset(&sql);
		if (chance(0.6))
		{
			sb_add(&sql, "INSERT INTO persona.tag_rules (source, tag, layer, rule_sql) VALUES (");
			gen_arg(&sql, reg, "source", chance(0.5), &fl, 0);
			sb_printf(&sql, ", 'fz%ld', 'value', ", i);
			gen_arg(&sql, txt, "rule_sql", chance(0.6), &fl, 0);
			sb_add(&sql, ") ON CONFLICT DO NOTHING");
		}
		else
		{
			sb_add(&sql, "UPDATE persona.tag_rules SET rule_sql = ");
			gen_arg(&sql, txt, "rule_sql", chance(0.6), &fl, 0);
			sb_printf(&sql, " WHERE tag = 'fz%ld'", rnd(i + 1));
		}
		exec_call(st2, c, st2->key, "", sql.d, NULL, &fl, session_prefix(c));
	}
	/* rows the unprivileged role could not remove would make later phases differ: clean up */
	conn_check(&cmain);
	simple(cmain.pg, "DELETE FROM persona.tag_rules WHERE tag LIKE 'fz%' OR tag = 'dropped'", 0);
	sb_free(&sql);
	sb_free(&all);
}

/* ----------------------------------------------------- aggregate phase */

static const char *const shapes[] = {
	"plain", "group by", "window over ()", "window partition by", "window running", "filter", "grouping sets",
	"parallel", "parallel group by", "empty input", "ordered input",
};
static char parallel_guc[64] = "";

/* A column of fz_data for an aggregate argument of type d, or NULL. */
static const char *
data_column(TypeDesc *d, const char *argname, int wild)
{
	static const char *const fc[] = {"f1", "f2", "f3"};
	static const char *const fw[] = {"fw1", "fw2", "fw3"};
	const char *n = d->name;

	if (strcmp(n, "double precision") == 0)
	{
		/* f1, f2, f3 hold coherent (x, t_x, t_cal) rows */
		int			k = !argname ? (int) rnd(3) : strcmp(argname, "x") == 0 ? 0 : strcmp(argname, "t_x") == 0 ? 1 :
			strcmp(argname, "t_cal") == 0 || strcmp(argname, "mean_spend") == 0 || strcmp(argname, "amount") == 0 ? 2 : (int) rnd(3);

		return wild ? fw[k] : fc[k];
	}
	if (strcmp(n, "numeric") == 0)
		return wild ? "amtw" : "amt";
	if (strcmp(n, "timestamp with time zone") == 0)
		return wild ? "tsw" : "ts";
	if (strcmp(n, "integer") == 0)
		return wild ? "iw" : "i1";
	if (strcmp(n, "text[]") == 0)
		return wild ? "tagsw" : "tags";
	if (strcmp(n, "persona.funnel") == 0)
		return "fun";
	if (strcmp(n, "interval") == 0)
		return wild ? "ivw" : "iv";
	if (strcmp(n, "text") == 0)
		return "txt";
	return NULL;
}

static void
phase_aggregates(void)
{
	static const char *const param_names[] = {"bins", "method", "as_of", "min_support", "penalty", "window_length", "ratio", "top_share", "revenue_share", NULL};
	Sb			agg = {0},
				q = {0},
				w = {0},
				pre = {0};
	char		parset[512];

	snprintf(parset, sizeof(parset),
			 "SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0; SET min_parallel_table_scan_size = 0; "
			 "SET max_parallel_workers_per_gather = 2;%s%s%s",
			 parallel_guc[0] ? " SET " : "", parallel_guc, parallel_guc[0] ? " = on;" : "");
	for (int fi = 0; fi < nfuncs && !over_budget(); fi++)
	{
		Func	   *f = &funcs[fi];
		Stat	   *st;
		TypeDesc   *rt;

		if (f->kind != 'a')
			continue;
		st = stat_get(cur_db, 2, f->sig);
		rt = tdesc(f->rettype);
		rng_for(cur_db, "aggregates", f->sig);
		for (long i = 0; i < opt_agg_calls && !over_budget(); i++)
		{
			ArgFlags	fl = {0};
			int			shape = (int) (i % lengthof(shapes));
			int			sane = chance(0.6);
			Conn	   *c = (i / lengthof(shapes)) & 1 ? &cuser : &cmain;
			int			parallel = shape == 7 || shape == 8;
			const char *tbl = parallel ? "fz_big" : "fz_data";
			char		where[64] = "";

			sb_reset(&agg);
			sb_reset(&q);
			sb_reset(&w);
			sb_reset(&pre);
			sb_printf(&agg, "persona.%s(", f->name);
			for (int a = 0; a < f->nargs; a++)
			{
				TypeDesc   *d = tdesc(f->argtypes[a]);
				int			wild = !sane && chance(0.5);
				const char *col = data_column(d, f->argnames[a], wild);
				double		pconst = name_is(f->argnames[a], param_names) ? 0.8 : 0.25;

				if (a)
					sb_add(&agg, ", ");
				if (col && !chance(pconst))
				{
					sb_add(&agg, col);
					if (wild)
						fl.nonfinite = 1;
				}
				else
					gen_arg(&agg, d, f->argnames[a], sane || chance(0.5), &fl, 0);
			}
			if (shape == 10)
				sb_add(&agg, " ORDER BY id DESC");
			sb_add(&agg, ")");
			if (!parallel && shape != 4)
			{
				static const int lim[] = {1, 2, 3, 10, 100, 500, 2000, 2000, 2000};

				snprintf(where, sizeof(where), " WHERE id <= %d", PICK(lim));
			}
			else if (shape == 4)
				snprintf(where, sizeof(where), " WHERE id <= %d", (int) (1 + rnd(60)));
			switch (shape)
			{
				case 0:
				case 7:
				case 10:
					sb_printf(&w, "SELECT %s AS result FROM %s%s", agg.d, tbl, where);
					break;
				case 1:
				case 8:
					sb_printf(&w, "SELECT g, %s AS result FROM %s%s GROUP BY g", agg.d, tbl, where);
					break;
				case 2:
					sb_printf(&w, "SELECT %s OVER () AS result FROM %s%s", agg.d, tbl, where);
					break;
				case 3:
					sb_printf(&w, "SELECT %s OVER (PARTITION BY g) AS result FROM %s%s", agg.d, tbl, where);
					break;
				case 4:
					sb_printf(&w, "SELECT %s OVER (PARTITION BY k ORDER BY id) AS result FROM %s%s", agg.d, tbl, where);
					break;
				case 5:
					sb_printf(&w, "SELECT g, %s FILTER (WHERE k = 1) AS result FROM %s%s GROUP BY g", agg.d, tbl, where);
					break;
				case 6:
					sb_printf(&w, "SELECT g, k, %s AS result FROM %s%s GROUP BY GROUPING SETS ((g), (k), ())", agg.d, tbl, where);
					break;
				case 9:
					sb_printf(&w, "SELECT %s AS result FROM %s WHERE false", agg.d, tbl);
					break;
			}
			wrap_result(&q, w.d, rt);
			sb_add(&pre, session_prefix(c));
			if (parallel)
			{
				conn_check(c);
				simple(c->pg, parset, 0);
				sb_printf(&pre, "%s\n", parset);
			}
			{
				Stat	   *ss = stat_get(cur_db, 4, shapes[shape]);
				long		before = st->crashes + st->hangs + st->late + st->domain + st->roundtrip + st->internal;
				long		okb = st->ok;

				exec_call(st, c, f->sig, f->name, q.d, rt, &fl, pre.d);
				ss->tried++;
				ss->ok += st->ok - okb;
				if (st->crashes + st->hangs + st->late + st->domain + st->roundtrip + st->internal > before)
					ss->domain++;	/* "findings" column of the shape table */
			}
			if (parallel)
			{
				conn_check(c);
				simple(c->pg, "RESET parallel_setup_cost; RESET parallel_tuple_cost; RESET min_parallel_table_scan_size; "
					   "RESET max_parallel_workers_per_gather", 0);
				if (parallel_guc[0])
				{
					char		rs[96];

					snprintf(rs, sizeof(rs), "RESET %s", parallel_guc);
					simple(c->pg, rs, 0);
				}
			}
		}
	}
	sb_free(&agg);
	sb_free(&q);
	sb_free(&w);
	sb_free(&pre);
}

/* ------------------------------------------------------------ fixtures */

/* The fixture SQL of a database (deterministic for the seed); also written to results/. */
static void
fixture_sql(Sb *s)
{
	rng_for("", "fixtures", "orders");
	sb_add(s,
		   "CREATE TABLE fz_orders (customer_id bigint, ordered_at timestamptz, amount numeric);\n"
		   "INSERT INTO fz_orders VALUES ");
	for (int cust = 1, first = 1; cust <= 300; cust++)
	{
		int			n = 1 + (int) rnd(chance(0.3) ? 1 : 12);

		for (int k = 0; k < n; k++, first = 0)
			sb_printf(s, "%s(%d, '%ld-%02ld-%02ld %02ld:%02ld:00+00', %s%ld.%02ld)", first ? "" : ",", cust,
					  2023 + rnd(2), 1 + rnd(12), 1 + rnd(28), rnd(24), rnd(60),
					  chance(0.04) ? "-" : "", 1 + rnd(500), rnd(100));
	}
	sb_add(s, ";\n"
		   "CREATE INDEX fz_orders_idx ON fz_orders (customer_id);\n"
		   "CREATE TABLE fz_orders_wild (customer_id bigint, ordered_at timestamptz, amount numeric);\n"
		   "INSERT INTO fz_orders_wild VALUES (1, 'infinity', 1), (1, '-infinity', 2), (2, '2024-01-01', 'NaN'), (3, '2024-01-01', 'Infinity'),\n"
		   "  (3, '2024-01-02', '-Infinity'), (4, '2024-01-01', 1e100), (4, '2024-01-01', -1e100), (NULL, '2024-01-01', 1), (5, NULL, 1), (6, '2024-01-01', NULL),\n"
		   "  (9223372036854775807, '294276-12-31', 1), (-9223372036854775808, '4713-01-01 BC', 0), (7, '2024-01-01', 0.000000000000000000001);\n"
		   "CREATE TABLE fz_empty (LIKE fz_orders);\n"
		   "CREATE TABLE fz_badcols (customer_id text, ordered_at text, amount text);\n"
		   "INSERT INTO fz_badcols VALUES ('a', 'b', 'c');\n"
		   "CREATE VIEW fz_view AS SELECT * FROM fz_orders;\n"
		   "CREATE MATERIALIZED VIEW fz_mview AS SELECT * FROM fz_orders;\n"
		   "CREATE SEQUENCE fz_seq;\n"
		   "CREATE TYPE fz_comp AS (customer_id bigint, ordered_at timestamptz, amount numeric);\n"
		   "CREATE TYPE fz_color AS ENUM ('red', 'green');\n"
		   "CREATE TABLE fz_part (customer_id bigint, ordered_at timestamptz, amount numeric) PARTITION BY RANGE (ordered_at);\n"
		   "CREATE TABLE fz_part_1 PARTITION OF fz_part FOR VALUES FROM ('2000-01-01') TO ('2024-01-01');\n"
		   "CREATE TABLE fz_part_2 PARTITION OF fz_part DEFAULT;\n"
		   "INSERT INTO fz_part SELECT * FROM fz_orders;\n"
		   "CREATE TABLE fz_private AS SELECT * FROM fz_orders;\n"
		   "REVOKE ALL ON fz_private FROM PUBLIC;\n"
		   "CREATE TABLE fz_profile AS SELECT *, ARRAY['parenting']::text[] AS categories FROM persona.customer_profile('fz_orders', '2024-07-01');\n"
		   "CREATE VIEW fz_profile_v AS SELECT * FROM fz_profile;\n"
		   "GRANT SELECT ON fz_orders, fz_orders_wild, fz_empty, fz_badcols, fz_view, fz_mview, fz_part, fz_seq, fz_profile, fz_profile_v TO PUBLIC;\n"
		   "GRANT CREATE ON SCHEMA public TO PUBLIC;\n"
		   "INSERT INTO persona.segment_rules (scheme, priority, segment, segment_zh, r_min, f_min, m_min) VALUES ('shop', 1, 'VIP', 'VIP', 4, 4, 4), ('shop', 2, 'Active', NULL, 4, 1, 1);\n");

	/* aggregate input: clean and wild columns of every argument type */
	rng_for("", "fixtures", "data");
	sb_add(s, "CREATE TABLE fz_data (id int, g int, k int, ts timestamptz, tsw timestamptz, amt numeric, amtw numeric,\n"
		   "  f1 float8, f2 float8, f3 float8, fw1 float8, fw2 float8, fw3 float8, i1 int, iw int, txt text,\n"
		   "  tags text[], tagsw text[], fun persona.funnel, iv interval, ivw interval);\nINSERT INTO fz_data VALUES ");
	for (int id = 1; id <= 2000; id++)
	{
		static const char *const tsw[] = {"'infinity'", "'-infinity'", "NULL", "'294276-12-31'", "'4713-01-01 BC'", "'2024-01-01'"};
		static const char *const amtw[] = {"'NaN'", "'Infinity'", "'-Infinity'", "1e100", "-1e100", "NULL", "-5", "0"};
		static const char *const fw[] = {"'NaN'", "'Infinity'", "'-Infinity'", "1e308", "-1e308", "NULL", "-1", "0", "1e-310", "5e-324", "2147483647"};
		static const char *const iw[] = {"NULL", "0", "-1", "1", "11", "2147483647", "-2147483648", "5"};
		static const char *const txt[] = {"'quantile'", "'mean'", "'days'", "'weeks'", "NULL", "''", "'x'"};
		static const char *const funs[] = {"'stranger'", "'visitor'", "'lead'", "'customer'", "'member'", "'advocate'", "NULL"};
		static const char *const ivw[] = {"'0'", "'-1 day'", "'178000000 years'", "NULL", "'1 microsecond'"};
		static const char *const tw[] = {"'{parenting,books,vip}'", "'{NULL,a}'", "'{}'", "NULL", "'{a,a,a}'", "'{\"\",b}'"};
		double		x = rnd(40),
					tx = rndf() * 30,
					tcal = tx + rndf() * 20;

		sb_printf(s, "%s(%d, %d, %d, '%ld-%02ld-%02ld %02ld:%02ld+00', %s, %ld.%02ld, %s, %g, %.6g, %.6g, %s, %s, %s, %ld, %s, %s, ",
				  id == 1 ? "" : ",\n", id, (int) rnd(10), (int) rnd(3),
				  2023 + rnd(2), 1 + rnd(12), 1 + rnd(28), rnd(24), rnd(60), chance(0.2) ? PICK(tsw) : "'2024-03-01'",
				  rnd(900), rnd(100), chance(0.2) ? PICK(amtw) : "12.5",
				  x, x > 0 ? tx : 0, tcal, chance(0.2) ? PICK(fw) : "3", chance(0.2) ? PICK(fw) : "2.5", chance(0.2) ? PICK(fw) : "7",
				  2 + rnd(4), chance(0.2) ? PICK(iw) : "5", PICK(txt));
		/* tag sets: a few dozen tags, and once a thousand */
		if (id == 7)
			sb_add(s, "ARRAY(SELECT 't' || g FROM generate_series(1, 1000) g), ");
		else
		{
			sb_add(s, "ARRAY[");
			for (long j = 0, n = rnd(6); j < n; j++)
				sb_printf(s, "%s't%ld'", j ? "," : "", rnd(30));
			sb_add(s, "]::text[], ");
		}
		sb_printf(s, "%s, %s, '%ld days', %s)", chance(0.3) ? PICK(tw) : "'{x,y}'", PICK(funs), 1 + rnd(60), chance(0.3) ? PICK(ivw) : "'30 days'");
	}
	sb_add(s, ";\nCREATE TABLE fz_big AS SELECT d.* FROM fz_data d, generate_series(1, 5) r WHERE d.id <> 7;\n"
		   "ANALYZE fz_data; ANALYZE fz_big;\n"
		   "GRANT SELECT ON fz_data, fz_big TO PUBLIC;\n");
}

/* Realistic values of persona's composite types, for arguments. */
static void
load_samples(void)
{
	static const char *const sample_queries[][2] = {
		{"persona.order_stats", "SELECT persona.order_stats(ordered_at, amount, '2024-07-01')::text FROM fz_orders GROUP BY customer_id ORDER BY customer_id LIMIT 40"},
		{"persona.btyd_summary", "SELECT persona.btyd(persona.order_stats(ordered_at, amount, '2024-07-01'))::text FROM fz_orders GROUP BY customer_id ORDER BY customer_id LIMIT 20"},
		{"persona.bgnbd", "SELECT persona.bgnbd_fit(x, t_x, t_cal)::text FROM persona.simulate_bgnbd(0.24, 4.4, 0.79, 2.4, 400, 39, 1)"},
		{"persona.bgnbd", "SELECT persona.bgnbd_fit(x, t_x, t_cal)::text FROM persona.simulate_bgnbd(1.5, 2, 0.3, 5, 300, 20, 2)"},
		{"persona.pareto_nbd", "SELECT persona.pareto_nbd_fit(x, t_x, t_cal)::text FROM persona.simulate_pareto_nbd(0.55, 10.6, 0.6, 11.7, 400, 39, 1)"},
		{"persona.mbgnbd", "SELECT persona.mbgnbd_fit(x, t_x, t_cal)::text FROM persona.simulate_mbgnbd(0.52, 6.2, 0.89, 1.6, 400, 39, 1)"},
		{"persona.nbd", "SELECT persona.nbd_fit(x, t_x, t_cal)::text FROM persona.simulate_nbd(0.8, 4, 400, 39, 1)"},
		{"persona.bgbb", "SELECT persona.bgbb_fit(x, t_x, n)::text FROM persona.simulate_bgbb(1.2, 0.75, 0.66, 2.8, 400, 6, 1)"},
		{"persona.gamma_gamma", "SELECT persona.gamma_gamma_fit(x, persona.simulate_mean_spend(6.25, 3.74, 15.44, x, g))::text FROM (SELECT g, 1 + g % 7 AS x FROM generate_series(1, 300) g) s"},
		{"persona.habits", "SELECT persona.habits(ordered_at)::text FROM fz_orders GROUP BY customer_id ORDER BY customer_id LIMIT 10"},
	};

	for (int i = 0; i < lengthof(sample_queries); i++)
	{
		TypeDesc   *d = NULL;
		char		q[256];
		char	   *oid;

		snprintf(q, sizeof(q), "SELECT to_regtype('%s')::oid", sample_queries[i][0]);
		oid = query_value(cmain.pg, q);
		if (oid)
			d = tdesc((unsigned int) strtoul(oid, NULL, 10));
		free(oid);
		if (d)
			add_samples(sample_queries[i][0], sample_queries[i][1]);
	}
}

/* Settings of every session, and the temp table of this session. */
static void
session_setup(Conn *c)
{
	char		q[256];

	simple(c->pg, "SELECT set_config('client_encoding', current_setting('server_encoding'), false)", 0);
	simple(c->pg, "SET client_min_messages = error", 0);
	snprintf(q, sizeof(q), "SET statement_timeout = %.0f", cur_timeout_ms);
	simple(c->pg, q, 0);
	simple(c->pg, "SET lock_timeout = '2s'", 0);
	simple(c->pg, c->as_user ? "SET persona.language = en" : "SET persona.language = zh", 0);
	if (c->as_user)
	{
		snprintf(q, sizeof(q), "SET SESSION AUTHORIZATION %s", fuzz_role);
		simple(c->pg, q, 0);
	}
	simple(c->pg, "CREATE TEMP TABLE IF NOT EXISTS fz_temp AS SELECT * FROM fz_orders WHERE customer_id < 50", 0);
}

/* ---------------------------------------------------------- dump phase */

static void
put16(Sb *s, uint16_t v)
{
	unsigned char b[2] = {v >> 8, v};

	sb_addn(s, b, 2);
}

/* Send a COPY FROM STDIN payload; returns NULL or the error message (malloc'd). */
static char *
copy_in(PGconn *pg, const char *sql, const char *data, size_t len)
{
	PGresult   *r = PQexec(pg, sql);
	char	   *err = NULL;

	if (PQresultStatus(r) != PGRES_COPY_IN)
	{
		err = xstrdup(PQresultErrorMessage(r));
		PQclear(r);
		return err;
	}
	PQclear(r);
	for (size_t off = 0; off < len; off += 65536)
		PQputCopyData(pg, data + off, (int) (len - off < 65536 ? len - off : 65536));
	PQputCopyEnd(pg, NULL);
	while ((r = PQgetResult(pg)) != NULL)
	{
		if (PQresultStatus(r) != PGRES_COMMAND_OK && !err)
			err = xstrdup(PQresultErrorMessage(r));
		PQclear(r);
	}
	return err;
}

/* Collect a COPY TO STDOUT into s; returns whether it worked. */
static int
copy_out(PGconn *pg, const char *sql, Sb *s)
{
	PGresult   *r = PQexec(pg, sql);
	char	   *buf;
	int			n,
				ok;

	if (PQresultStatus(r) != PGRES_COPY_OUT)
	{
		PQclear(r);
		return 0;
	}
	PQclear(r);
	while ((n = PQgetCopyData(pg, &buf, 0)) > 0)
	{
		sb_addn(s, buf, n);
		PQfreemem(buf);
	}
	r = PQgetResult(pg);
	ok = PQresultStatus(r) == PGRES_COMMAND_OK;
	PQclear(r);
	while ((r = PQgetResult(pg)) != NULL)
		PQclear(r);
	return ok;
}

/* count:md5 of a dump table's values (send output), in database db. */
static char *
table_digest(PGconn *pg, TypeInfo *t, int ti, const char *suffix)
{
	char		q[512];

	snprintf(q, sizeof(q), "SELECT count(*) || ':' || coalesce(md5(string_agg(id || '=' || encode(%s(v), 'hex'), ',' ORDER BY id)), '') FROM fz_dump_%d%s",
			 t->send, ti, suffix);
	return query_value(pg, q);
}

/* Run a shell command, output appended to log; returns its exit status. */
static int
shell(const char *cmd, const char *log)
{
	char		full[4096];
	int			rc;

	snprintf(full, sizeof(full), "%s >>'%s' 2>&1", cmd, log);
	rc = system(full);
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : 255;
}

/* First lines of the log matching ERROR or a lost connection, for the report. */
static void
log_errors(const char *log, Sb *out, int *crashed)
{
	FILE	   *fp = fopen(log, "r");
	char		line[1024];
	int			n = 0;

	if (!fp)
		return;
	while (fgets(line, sizeof(line), fp))
	{
		if (strstr(line, "server closed the connection") || strstr(line, "terminated by signal"))
			*crashed = 1;
		if ((strstr(line, "ERROR") || strstr(line, "error") || strstr(line, "server closed")) && n++ < 6)
			sb_add(out, line);
	}
	fclose(fp);
}

static void
phase_dump(void)
{
	Stat	   *st = stat_get(cur_db, 3, "dump/restore");
	char		dumpfile[512],
				plainfile[512],
				logfile[512],
				cmd[2048],
				rdb[96],
				pdb[96],
				q[512];
	Sb			err = {0};
	int			crashed = 0;

	conn_check(&cmain);
	simple(cmain.pg, "SET statement_timeout = 0", 0);	/* COPY of 20,000 values takes a while */
	/* tables of every accepted value, loaded by binary COPY (through recv) */
	for (int ti = 0; ti < ntypes; ti++)
	{
		TypeInfo   *t = &types[ti];
		Sb			data = {0},
					back = {0};
		char	   *e;
		long		mismatch = 0;

		snprintf(q, sizeof(q), "DROP TABLE IF EXISTS fz_dump_%d, fz_dump_%d_text; CREATE TABLE fz_dump_%d (id int PRIMARY KEY, v %s); CREATE TABLE fz_dump_%d_text (LIKE fz_dump_%d)",
				 ti, ti, ti, t->name, ti, ti);
		simple(cmain.pg, q, 1);
		sb_addn(&data, "PGCOPY\n\377\r\n\0", 11);
		put32(&data, 0);
		put32(&data, 0);
		for (int i = 0; i < t->nkeep; i++)
		{
			put16(&data, 2);
			put32(&data, 4);
			put32(&data, (uint32_t) i);
			put32(&data, (uint32_t) t->keeplen[i]);
			sb_addn(&data, t->keep[i], t->keeplen[i]);
		}
		put16(&data, 0xffff);
		st->tried += t->nkeep;
		snprintf(q, sizeof(q), "COPY fz_dump_%d FROM STDIN (FORMAT binary)", ti);
		if ((e = copy_in(cmain.pg, q, data.d, data.len)) != NULL)
		{
			char		w[700];

			snprintf(w, sizeof(w), "binary COPY of %d accepted %s values fails: %.500s", t->nkeep, t->name, e);
			st->roundtrip++;
			finding(F_DUMP, cur_db, t->name, w, "-- see the roundtrip findings of this type for the values");
			free(e);
			/* load one by one, skipping what recv rejects */
			for (int i = 0; i < t->nkeep; i++)
			{
				char		ids[16];
				const char *vals[2] = {ids, t->keep[i]};
				int			lens[2] = {0, t->keeplen[i]};
				int			fmts[2] = {0, 1};
				PGresult   *r;

				snprintf(ids, sizeof(ids), "%d", i);
				snprintf(q, sizeof(q), "INSERT INTO fz_dump_%d VALUES ($1, $2)", ti);
				r = PQexecParams(cmain.pg, q, 2, NULL, vals, lens, fmts, 0);
				PQclear(r);
			}
		}
		/* binary COPY out must give the same bytes */
		snprintf(q, sizeof(q), "COPY (SELECT id, v FROM fz_dump_%d ORDER BY id) TO STDOUT (FORMAT binary)", ti);
		if (copy_out(cmain.pg, q, &back))
		{
			size_t		off = 19;

			while (off + 2 <= back.len)
			{
				int			nf = ((unsigned char) back.d[off] << 8) | (unsigned char) back.d[off + 1];
				uint32_t	id,
							len;

				off += 2;
				if (nf != 2)
					break;
				id = ((uint32_t) (unsigned char) back.d[off + 4] << 24) | ((unsigned char) back.d[off + 5] << 16) |
					((unsigned char) back.d[off + 6] << 8) | (unsigned char) back.d[off + 7];
				off += 8;
				len = ((uint32_t) (unsigned char) back.d[off] << 24) | ((unsigned char) back.d[off + 1] << 16) |
					((unsigned char) back.d[off + 2] << 8) | (unsigned char) back.d[off + 3];
				off += 4;
				if (id < (uint32_t) t->nkeep && (len != (uint32_t) t->keeplen[id] || memcmp(back.d + off, t->keep[id], len) != 0))
				{
					Sb			w = {0};

					mismatch++;
					sb_printf(&w, "binary COPY out of value %u differs from what was loaded", id);
					sb_hex(&w, t->keep[id], t->keeplen[id]);
					finding(F_DUMP, cur_db, t->name, w.d, NULL);
					sb_free(&w);
				}
				off += len;
			}
		}
		/* text COPY round trip */
		sb_reset(&back);
		snprintf(q, sizeof(q), "COPY fz_dump_%d TO STDOUT", ti);
		if (copy_out(cmain.pg, q, &back))
		{
			snprintf(q, sizeof(q), "COPY fz_dump_%d_text FROM STDIN", ti);
			if ((e = copy_in(cmain.pg, q, back.d ? back.d : "", back.len)) != NULL)
			{
				char		w[700];

				snprintf(w, sizeof(w), "text COPY of the stored %s values does not re-read: %.500s", t->name, e);
				mismatch++;
				finding(F_DUMP, cur_db, t->name, w, "-- see the roundtrip findings of this type for the values");
				free(e);
			}
			else
			{
				char	   *a = table_digest(cmain.pg, t, ti, ""),
						   *b = table_digest(cmain.pg, t, ti, "_text");

				if (!a || !b || strcmp(a, b) != 0)
				{
					char		w[300];

					snprintf(w, sizeof(w), "text COPY round trip changes %s values (%s vs %s)", t->name, a ? a : "?", b ? b : "?");
					mismatch++;
					finding(F_DUMP, cur_db, t->name, w, NULL);
				}
				free(a);
				free(b);
			}
		}
		st->roundtrip += mismatch;
		st->ok += t->nkeep;
		sb_free(&data);
		sb_free(&back);
	}

	/* pg_dump / pg_restore, custom and plain format */
	snprintf(dumpfile, sizeof(dumpfile), "%s/fuzz-%s.dump", opt_results, cur_db);
	snprintf(plainfile, sizeof(plainfile), "%s/fuzz-%s.sql", opt_results, cur_db);
	snprintf(logfile, sizeof(logfile), "%s/fuzz-%s-restore.log", opt_results, cur_db);
	unlink(logfile);
	snprintf(rdb, sizeof(rdb), "%s_rc", cur_db);
	snprintf(pdb, sizeof(pdb), "%s_rp", cur_db);
	{
		PGconn	   *adm = PQconnectdb("");
		char		cq[512];

		PQsetNoticeProcessor(adm, quiet_notice, NULL);
		for (int k = 0; k < 2; k++)
		{
			const char *d = k ? pdb : rdb;

			snprintf(cq, sizeof(cq), "DROP DATABASE IF EXISTS %s", d);
			simple(adm, cq, 0);
			snprintf(cq, sizeof(cq), "CREATE DATABASE %s TEMPLATE template0 ENCODING '%s' LC_COLLATE 'C' LC_CTYPE 'C'", d, cur_enc);
			simple(adm, cq, 1);
		}
		PQfinish(adm);
	}
	snprintf(cmd, sizeof(cmd), "pg_dump -Fc -d '%s' -f '%s'", cur_db, dumpfile);
	if (shell(cmd, logfile) != 0)
		sb_add(&err, "pg_dump -Fc failed; ");
	snprintf(cmd, sizeof(cmd), "pg_restore -d '%s' '%s'", rdb, dumpfile);
	if (shell(cmd, logfile) != 0)
		sb_add(&err, "pg_restore reported errors; ");
	snprintf(cmd, sizeof(cmd), "pg_dump -Fp -d '%s' -f '%s'", cur_db, plainfile);
	if (shell(cmd, logfile) != 0)
		sb_add(&err, "pg_dump -Fp failed; ");
	snprintf(cmd, sizeof(cmd), "psql -X -q -d '%s' -f '%s'", pdb, plainfile);
	shell(cmd, logfile);
	log_errors(logfile, &err, &crashed);
	for (int k = 0; k < 2; k++)
	{
		const char *keys[] = {"dbname", NULL};
		const char *vals[] = {k ? pdb : rdb, NULL};
		PGconn	   *pg = PQconnectdbParams(keys, vals, 0);

		for (int ti = 0; ti < ntypes; ti++)
		{
			char	   *a = table_digest(cmain.pg, &types[ti], ti, ""),
					   *b = table_digest(pg, &types[ti], ti, "");

			if (!a || !b || strcmp(a, b) != 0)
			{
				char		w[400];

				snprintf(w, sizeof(w), "%s restore changes the stored %s values (count:md5 %s before, %s after)",
						 k ? "plain pg_dump | psql" : "pg_dump -Fc | pg_restore", types[ti].name, a ? a : "?", b ? b : "?");
				st->roundtrip++;
				finding(F_DUMP, cur_db, types[ti].name, w, NULL);
			}
			free(a);
			free(b);
		}
		PQfinish(pg);
	}
	if (crashed)
	{
		st->crashes++;
		finding(F_CRASH, cur_db, "pg_restore", "the server crashed during restore", err.d);
		crash_epoch++;
	}
	if (err.len)
	{
		char		w[200];

		snprintf(w, sizeof(w), "dump/restore errors (log: %s)", logfile);
		st->internal += 0;
		finding(F_DUMP, cur_db, "pg_dump/pg_restore", w, err.d);
	}
	if (!opt_keep)
	{
		PGconn	   *adm = PQconnectdb("");
		char		cq[256];

		PQsetNoticeProcessor(adm, quiet_notice, NULL);
		snprintf(cq, sizeof(cq), "DROP DATABASE IF EXISTS %s", rdb);
		simple(adm, cq, 0);
		snprintf(cq, sizeof(cq), "DROP DATABASE IF EXISTS %s", pdb);
		simple(adm, cq, 0);
		PQfinish(adm);
		unlink(dumpfile);
		unlink(plainfile);
	}
	sb_free(&err);
}

/* -------------------------------------------------------------- report */

static void
print_states(FILE *fp, Stat *st)
{
	/* sorted by SQLSTATE for a stable report */
	for (int i = 0; i < st->nstates; i++)
		for (int j = i + 1; j < st->nstates; j++)
			if (strcmp(st->states[j].state, st->states[i].state) < 0)
			{
				StateCount	x = st->states[i];

				st->states[i] = st->states[j];
				st->states[j] = x;
			}
	for (int i = 0; i < st->nstates; i++)
		fprintf(fp, "%s%s:%ld", i ? " " : "", st->states[i].state[0] ? st->states[i].state : "none", st->states[i].n);
}

static void
print_report(FILE *fp, int brief)
{
	const char *dbs[16];
	int			ndbs = 0;

	for (int i = 0; i < nstats; i++)
	{
		int			seen = 0;

		for (int j = 0; j < ndbs; j++)
			seen |= strcmp(dbs[j], stats[i]->db) == 0;
		if (!seen && ndbs < 16)
			dbs[ndbs++] = stats[i]->db;
	}
	for (int d = 0; d < ndbs; d++)
	{
		fprintf(fp, "\n== database %s\n", dbs[d]);
		fprintf(fp, "%-28s %8s %8s %8s %8s %6s %5s %5s %5s %6s %6s  rejected by SQLSTATE\n",
				"type", "text", "accepted", "binary", "accepted", "crash", "hang", "late", "rtrip", "xx000", "enc");
		for (int i = 0; i < nstats; i++)
		{
			Stat	   *st = stats[i];

			if (st->kind != 0 || strcmp(st->db, dbs[d]) != 0)
				continue;
			fprintf(fp, "%-28s %8ld %8ld %8ld %8ld %6ld %5ld %5ld %5ld %6ld %6ld  ", st->key, st->tried, st->ok,
					st->tried_bin, st->ok_bin, st->crashes, st->hangs, st->late, st->roundtrip, st->internal, st->encoding);
			print_states(fp, st);
			fputc('\n', fp);
		}
		for (int kind = 1; kind <= 3; kind++)
		{
			int			header = 0;

			for (int i = 0; i < nstats; i++)
			{
				Stat	   *st = stats[i];
				int			notable = st->crashes || st->hangs || st->late || st->roundtrip || st->domain || st->internal || st->encoding;

				if (st->kind != kind || strcmp(st->db, dbs[d]) != 0 || (brief && !notable))
					continue;
				if (!header)
				{
					fprintf(fp, "%-72s %6s %6s %5s %5s %5s %6s %6s %5s %6s  rejected by SQLSTATE\n",
							kind == 1 ? (brief ? "function (only those with findings; all in the report file)" : "function")
							: kind == 2 ? (brief ? "aggregate (only those with findings)" : "aggregate") : "dump/restore",
							"calls", "ok", "crash", "hang", "late", "domain", "rtrip", "xx000", "maxover");
					header = 1;
				}
				fprintf(fp, "%-72.72s %6ld %6ld %5ld %5ld %5ld %6ld %6ld %5ld %6.0f  ", st->key, st->tried, st->ok,
						st->crashes, st->hangs, st->late, st->domain + st->encoding, st->roundtrip, st->internal,
						st->max_over_ms > 0 ? st->max_over_ms : 0);
				print_states(fp, st);
				fputc('\n', fp);
			}
		}
		if (!brief)
		{
			fprintf(fp, "%-24s %8s %8s %8s\n", "aggregate query shape", "calls", "ok", "findings");
			for (int i = 0; i < nstats; i++)
				if (stats[i]->kind == 4 && strcmp(stats[i]->db, dbs[d]) == 0)
					fprintf(fp, "%-24s %8ld %8ld %8ld\n", stats[i]->key, stats[i]->tried, stats[i]->ok, stats[i]->domain);
		}
	}
}

/* ------------------------------------------------------------ database */

static const char *
encoding_of(const char *short_name, char *buf, size_t n)
{
	size_t		i;

	for (i = 0; short_name[i] && i + 1 < n; i++)
		buf[i] = (char) toupper((unsigned char) short_name[i]);
	buf[i] = 0;
	if (strcmp(buf, "UTF-8") == 0)
		snprintf(buf, n, "UTF8");
	return buf;
}

/* Create the database of one encoding and its fixtures; returns 0 if persona cannot be installed. */
static int
setup_database(const char *db, const char *enc)
{
	PGconn	   *adm = PQconnectdb("");
	char		q[512];
	Sb			fx = {0};
	PGresult   *r;
	char		path[600];
	FILE	   *fp;

	if (PQstatus(adm) != CONNECTION_OK)
	{
		fprintf(stderr, "fuzz: cannot connect: %s", PQerrorMessage(adm));
		exit(2);
	}
	PQsetNoticeProcessor(adm, quiet_notice, NULL);
	snprintf(q, sizeof(q), "DO $$ BEGIN CREATE ROLE %s NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$", fuzz_role);
	simple(adm, q, 1);
	snprintf(q, sizeof(q), "DROP DATABASE IF EXISTS %s WITH (FORCE)", db);
	simple(adm, q, 1);
	snprintf(q, sizeof(q), "CREATE DATABASE %s TEMPLATE template0 ENCODING '%s' LC_COLLATE 'C' LC_CTYPE 'C'", db, enc);
	if (!simple(adm, q, 1))
	{
		finding(F_SETUP, db, "CREATE DATABASE", "cannot create the database", q);
		PQfinish(adm);
		return 0;
	}
	PQfinish(adm);
	conn_open(&cmain, db, 0);
	r = PQexec(cmain.pg, "CREATE EXTENSION persona");
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
	{
		char		w[600];

		snprintf(w, sizeof(w), "CREATE EXTENSION persona fails in a %s database: %s %s", enc,
				 PQresultErrorField(r, PG_DIAG_SQLSTATE) ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : "",
				 PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : PQerrorMessage(cmain.pg));
		finding(F_SETUP, db, "CREATE EXTENSION", w, "CREATE EXTENSION persona");
		fprintf(stderr, "fuzz: %s: %s\n", db, w);
		PQclear(r);
		return 0;
	}
	PQclear(r);
	fixture_sql(&fx);
	simple(cmain.pg, "SET client_encoding = 'UTF8'", 1);
	/* English labels: the fixtures must build in encodings without Chinese (LATIN1) */
	simple(cmain.pg, "SET persona.language = en", 1);
	if (!simple(cmain.pg, fx.d, 1))
		finding(F_SETUP, db, "fixtures", "fixture SQL fails", "-- see results/fuzz-fixtures.sql");
	simple(cmain.pg, "SET persona.language = zh", 1);
	snprintf(path, sizeof(path), "%s/fuzz-fixtures.sql", opt_results);
	if ((fp = fopen(path, "w")) != NULL)
	{
		fprintf(fp, "-- fixtures of persona's fuzz driver (seed %llu); run in a database with persona installed\nSET client_encoding = 'UTF8';\nSET persona.language = en;\n%s",
				(unsigned long long) opt_seed, fx.d);
		fclose(fp);
	}
	sb_free(&fx);
	{
		char	   *v = query_value(cmain.pg, "SELECT name FROM pg_settings WHERE name IN ('debug_parallel_query', 'force_parallel_mode') ORDER BY name LIMIT 1");

		snprintf(parallel_guc, sizeof(parallel_guc), "%s", v ? v : "");
		free(v);
	}
	/* the session temp table needs fz_orders: set up again */
	conn_open(&cmain, db, 0);
	conn_open(&cuser, db, 1);
	conn_open(&cmon, db, 0);
	return 1;
}

static void
drop_database(const char *db)
{
	PGconn	   *adm;
	char		q[256];

	for (Conn *c = &cmain; c; c = c == &cmain ? &cuser : c == &cuser ? &cmon : NULL)
		if (c->pg)
		{
			PQfinish(c->pg);
			c->pg = NULL;
		}
	if (opt_keep)
		return;
	adm = PQconnectdb("");
	snprintf(q, sizeof(q), "DROP DATABASE IF EXISTS %s WITH (FORCE)", db);
	simple(adm, q, 1);
	PQfinish(adm);
}

static int
phase_on(const char *name)
{
	return opt_only == NULL || strstr(opt_only, name) != NULL;
}

/* --recv TYPE HEX: feed one binary payload to a type's receive function and show what comes back. */
static int
replay_recv(const char *typname, const char *hex)
{
	PGconn	   *pg = PQconnectdb("");
	char		q[512];
	char	   *oid;
	size_t		n;
	unsigned char *bin;
	const char *vals[1];
	int			lens[1],
				fmts[1] = {1};
	Oid			ty[1];
	PGresult   *r;

	if (strncmp(hex, "\\x", 2) != 0)
	{
		fprintf(stderr, "fuzz: --recv wants a hex payload such as '\\x0102'\n");
		return 2;
	}
	bin = PQunescapeBytea((const unsigned char *) hex, &n);
	snprintf(q, sizeof(q), "SELECT to_regtype('%s')::oid", typname);
	oid = query_value(pg, q);
	if (!oid)
	{
		fprintf(stderr, "fuzz: no type %s\n", typname);
		return 2;
	}
	ty[0] = (Oid) strtoul(oid, NULL, 10);
	vals[0] = (const char *) bin;
	lens[0] = (int) n;
	r = PQexecParams(pg, "SELECT $1::text AS text_output, $1::text::regtype IS NULL AS dummy", 0, NULL, NULL, NULL, NULL, 0);
	PQclear(r);
	snprintf(q, sizeof(q), "SELECT $1::text, ($1::text::%s)::text", typname);
	r = PQexecParams(pg, q, 1, ty, vals, lens, fmts, 0);
	if (PQresultStatus(r) == PGRES_TUPLES_OK)
		printf("accepted; text output: %s\nre-read from text:  %s\n", PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1));
	else
		printf("%s %s", PQresultErrorField(r, PG_DIAG_SQLSTATE) ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : "", PQresultErrorMessage(r));
	PQclear(r);
	PQfinish(pg);
	return 0;
}

static void
usage(void)
{
	printf("usage: fuzz [options]   (connects with the PG* environment, like psql)\n"
		   "  -s, --seed N          random seed (default 1); the run is deterministic for a seed\n"
		   "  -n, --inputs N        inputs per type per database, half text, half binary (default 2000)\n"
		   "  -c, --calls N         random calls per function per database (default 20)\n"
		   "  -a, --agg-calls N     random calls per aggregate per database, cycling the query shapes (default 20)\n"
		   "  -t, --time SECONDS    time budget of the whole run; work left when it runs out is skipped (default none)\n"
		   "  -d, --databases LIST  encodings, comma separated (default utf8,sql_ascii,latin1,euc_cn)\n"
		   "  -T, --timeout MS      statement_timeout of each call (default 1000)\n"
		   "      --late-ms MS      a call ending this long after the timeout is a late cancel (default 100)\n"
		   "      --hang-ms MS      ... and this long a hang: cancel, terminate, kill (default 10000)\n"
		   "      --nonfatal LIST   finding kinds that do not fail the run: crash,hang,late,roundtrip,domain,xx000,encoding,setup,dump\n"
		   "      --phases LIST     types,seeds,functions,tag_rules,aggregates,dump (default all)\n"
		   "      --results DIR     report, reproducers and dumps (default results)\n"
		   "      --no-dump         skip the dump/restore phase\n"
		   "      --no-kill         never SIGKILL a backend that ignores pg_terminate_backend\n"
		   "      --keep            keep the databases\n"
		   "      --recv TYPE HEX   replay one binary payload through TYPE's receive function\n"
		   "  -v, --verbose\n");
}

int
main(int argc, char **argv)
{
	static struct option longopts[] = {
		{"seed", required_argument, NULL, 's'}, {"inputs", required_argument, NULL, 'n'},
		{"calls", required_argument, NULL, 'c'}, {"agg-calls", required_argument, NULL, 'a'},
		{"time", required_argument, NULL, 't'}, {"databases", required_argument, NULL, 'd'},
		{"timeout", required_argument, NULL, 'T'}, {"late-ms", required_argument, NULL, 1},
		{"hang-ms", required_argument, NULL, 2}, {"nonfatal", required_argument, NULL, 3},
		{"results", required_argument, NULL, 4}, {"no-dump", no_argument, NULL, 5},
		{"no-kill", no_argument, NULL, 6}, {"keep", no_argument, NULL, 7}, {"recv", required_argument, NULL, 8},
		{"phases", required_argument, NULL, 9}, {"verbose", no_argument, NULL, 'v'}, {"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}
	};
	int			ch;
	char		path[600];
	char	   *dblist,
			   *tok,
			   *save;
	long		fatal = 0;
	int			ndbs_left;

	while ((ch = getopt_long(argc, argv, "s:n:c:a:t:d:T:vh", longopts, NULL)) != -1)
		switch (ch)
		{
			case 's':
				opt_seed = strtoull(optarg, NULL, 10);
				break;
			case 'n':
				opt_inputs = atol(optarg);
				break;
			case 'c':
				opt_calls = atol(optarg);
				break;
			case 'a':
				opt_agg_calls = atol(optarg);
				break;
			case 't':
				opt_budget = atof(optarg);
				break;
			case 'd':
				opt_dbs = optarg;
				break;
			case 'T':
				opt_timeout_ms = atof(optarg);
				break;
			case 1:
				opt_late_ms = atof(optarg);
				break;
			case 2:
				opt_hang_ms = atof(optarg);
				break;
			case 3:
				opt_nonfatal = optarg;
				break;
			case 4:
				opt_results = optarg;
				break;
			case 5:
				opt_dump = 0;
				break;
			case 6:
				opt_kill = 0;
				break;
			case 7:
				opt_keep = 1;
				break;
			case 8:
				if (optind >= argc)
				{
					usage();
					return 2;
				}
				return replay_recv(optarg, argv[optind]);
			case 9:
				opt_only = optarg;
				break;
			case 'v':
				opt_verbose = 1;
				break;
			default:
				usage();
				return ch == 'h' ? 0 : 2;
		}
	for (int k = 0; k < F_NKINDS; k++)
		fatal_kind[k] = strstr(opt_nonfatal, kind_names[k]) == NULL;
	mkdir(opt_results, 0777);
	snprintf(path, sizeof(path), "%s/fuzz-repro.sql", opt_results);
	repro = fopen(path, "w");
	snprintf(path, sizeof(path), "%s/fuzz-report.txt", opt_results);
	report = fopen(path, "w");
	if (!repro || !report)
	{
		fprintf(stderr, "fuzz: cannot write to %s\n", opt_results);
		return 2;
	}
	fprintf(repro, "-- Reproducers of persona's fuzz driver, seed %llu: the first %d of each kind per function and database.\n"
			"-- Each needs the database's fixtures (%s/fuzz-fixtures.sql) and the session settings shown.\n\n",
			(unsigned long long) opt_seed, opt_repro_max, opt_results);
	t_start = now_ms();
	cur_timeout_ms = opt_timeout_ms;
	dblist = xstrdup(opt_dbs);
	ndbs_left = 1;
	for (const char *p = opt_dbs; *p; p++)
		ndbs_left += *p == ',';
	for (tok = strtok_r(dblist, ",", &save); tok; tok = strtok_r(NULL, ",", &save), ndbs_left--)
	{
		char		enc[32],
					db[96];
		double		t0 = now_ms();

		db_deadline = t0 + (t_start + opt_budget * 1000.0 - t0) / ndbs_left;

		encoding_of(tok, enc, sizeof(enc));
		snprintf(db, sizeof(db), "%s%s", opt_prefix, tok);
		for (char *p = db; *p; p++)
			*p = (char) tolower((unsigned char) (*p == '-' ? '_' : *p));
		cur_db = db;
		cur_enc = enc;
		if (!setup_database(db, enc))
		{
			drop_database(db);
			continue;
		}
		tdesc_reset();
		if (phase_on("types"))
			phase_types();
		else
			load_types();
		load_funcs();
		load_samples();
		if (phase_on("seeds"))
			phase_seeds();
		if (phase_on("functions"))
			phase_functions();
		if (phase_on("tag_rules"))
			phase_tag_rules();
		if (phase_on("aggregates"))
			phase_aggregates();
		if (opt_dump && phase_on("dump") && !over_budget())
			phase_dump();
		if (opt_verbose)
			fprintf(stderr, "fuzz: database %s done in %.1f s\n", db, (now_ms() - t0) / 1000);
		drop_database(db);
	}
	print_report(stdout, 1);
	print_report(report, 0);
	{
		long		inputs = 0,
					accepted = 0,
					calls = 0,
					calls_ok = 0;
		Sb			line = {0};

		for (int i = 0; i < nstats; i++)
		{
			if (stats[i]->kind == 0)
			{
				inputs += stats[i]->tried + stats[i]->tried_bin;
				accepted += stats[i]->ok + stats[i]->ok_bin;
			}
			else if (stats[i]->kind == 1 || stats[i]->kind == 2)
			{
				calls += stats[i]->tried;
				calls_ok += stats[i]->ok;
			}
		}
		for (int k = 0; k < F_NKINDS; k++)
			if (fatal_kind[k])
				fatal += totals[k];
		sb_printf(&line, "fuzz: seed %llu, %.0f s: %ld type inputs (%ld accepted), %ld function/aggregate calls (%ld ok); "
				  "crashes %ld, hangs %ld, late cancels %ld, round-trip failures %ld, out-of-domain %ld, internal errors %ld, "
				  "encoding %ld, setup failures %ld, dump/restore failures %ld%s -> %s\n",
				  (unsigned long long) opt_seed, (now_ms() - t_start) / 1000, inputs, accepted, calls, calls_ok,
				  totals[F_CRASH], totals[F_HANG], totals[F_LATE], totals[F_ROUNDTRIP], totals[F_DOMAIN], totals[F_INTERNAL],
				  totals[F_ENCODING], totals[F_SETUP], totals[F_DUMP], budget_hit ? " (time budget ran out)" : "",
				  fatal ? "FAILED (reproducers in results/fuzz-repro.sql)" : "ok");
		fputs(line.d, stdout);
		fputs(line.d, report);
		sb_free(&line);
	}
	fclose(repro);
	fclose(report);
	if (!opt_keep)
	{
		PGconn	   *adm = PQconnectdb("");
		char		q[128];

		snprintf(q, sizeof(q), "DROP ROLE IF EXISTS %s", fuzz_role);
		simple(adm, q, 0);
		PQfinish(adm);
	}
	return fatal ? 1 : 0;
}
