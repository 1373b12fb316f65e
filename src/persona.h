/*
 * persona.h — declarations shared by persona's source files.
 */
#ifndef PERSONA_H
#define PERSONA_H

#include "postgres.h"
#include "fmgr.h"

/* Label language chosen by the GUC persona.language. */
typedef enum PersonaLanguage
{
	PERSONA_LANG_EN,
	PERSONA_LANG_ZH
} PersonaLanguage;

extern int	persona_language;

/* Pick the English or Chinese form of a label according to persona.language. */
static inline const char *
persona_label(const char *en, const char *zh)
{
	return persona_language == PERSONA_LANG_ZH ? zh : en;
}

/* Error out unless x is a finite float8; what names the argument in the message. */
extern void persona_check_finite(double x, const char *what);

#endif							/* PERSONA_H */
