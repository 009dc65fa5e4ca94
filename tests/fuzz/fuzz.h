/*
 * Shared by the libFuzzer harnesses of core's parsers.
 *
 * Each harness compares a core parser with a small reference model written
 * from core/ipcc.h alone, so a check failure means the parser and its
 * documented contract disagree.  Where the header leaves a choice open
 * (which errno wins when an input has two faults, ...), the model answers
 * FUZZ_EITHER and only the weaker invariants are checked.
 */
#ifndef FUZZ_H
#define FUZZ_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

/* The model's answer when both -EINVAL and -ERANGE are acceptable. */
#define FUZZ_EITHER 1

/* abort() so that libFuzzer saves the input as a crash artifact. */
#define FUZZ_CHECK(cond, ...) \
	do { \
		if (!(cond)) { \
			fprintf(stderr, "\nfuzz check failed at %s:%d: %s\n  ", \
			        __FILE__, __LINE__, #cond); \
			fprintf(stderr, __VA_ARGS__); \
			fputc('\n', stderr); \
			abort(); \
		} \
	} while (0)

/* Whether rc is what the model (0, -EINVAL, -ERANGE or FUZZ_EITHER) allows. */
static inline int fuzz_rc_matches(int model, int rc)
{
	if (model == FUZZ_EITHER)
		return rc == -EINVAL || rc == -ERANGE;
	return rc == model;
}

/* Folds the faults seen while scanning an input into the model's answer. */
static inline int fuzz_fold(int inval, int range)
{
	if (inval && range)
		return FUZZ_EITHER;
	if (inval)
		return -EINVAL;
	if (range)
		return -ERANGE;
	return 0;
}

#endif /* FUZZ_H */
