/*
 * rfm.h — the persona.rfm type: three scores on a 2..10 point scale.
 */
#ifndef PERSONA_RFM_H
#define PERSONA_RFM_H

#include "postgres.h"

#include "persona.h"

#define RFM_MIN_BINS		2
#define RFM_MAX_BINS		10
#define RFM_DEFAULT_BINS	5
/* The M of a value without a monetary score (R and F only: no amounts). */
#define RFM_NO_M			0

/*
 * Packed into an int32 (pass by value): r, f, m, bins, one byte each, most
 * significant first, so integer order is r, then f, then m, then bins.
 */
typedef int32 Rfm;

#define RFM_R(x)	(((x) >> 24) & 0xFF)
#define RFM_F(x)	(((x) >> 16) & 0xFF)
#define RFM_M(x)	(((x) >> 8) & 0xFF)
#define RFM_BINS(x)	((x) & 0xFF)

#define DatumGetRfm(d)	DatumGetInt32(d)
#define RfmGetDatum(x)	Int32GetDatum(x)
#define PG_GETARG_RFM(n)	DatumGetRfm(PG_GETARG_DATUM(n))
#define PG_RETURN_RFM(x)	return RfmGetDatum(x)

extern Rfm	rfm_make(int r, int f, int m, int bins);
extern void rfm_check_bins(int bins);

/* rfm_breaks.c: tie-safe cut points and scoring, shared with profile.c */
extern void rfm_quantile_cuts(double *v, int64 n, int bins, bool lower_is_better, double *cut);
extern Rfm	rfm_score_cuts(double r, double f, double m, const double *r_cuts,
						   const double *f_cuts, const double *m_cuts, int bins);

/* segment.c: segment schemes */
typedef struct SegmentScheme SegmentScheme;
extern SegmentScheme *segment_scheme_load(const char *name, MemoryContext mcxt);
extern const char *segment_label(const SegmentScheme *scheme, Rfm x, PersonaLanguage lang);

#endif							/* PERSONA_RFM_H */
