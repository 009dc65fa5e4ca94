/*
 * check.h: the assertion macros of the core unit tests.
 *
 * A failed CHECK prints file:line, the expression and both values, counts
 * the failure and lets the test go on; a failed REQUIRE also returns from
 * the current (void) test function.  check_exit() gives the process exit
 * status meson expects: 1 if anything failed, 77 if every test skipped.
 */
#ifndef CHECK_H
#define CHECK_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check_failures;
static int check_tests;
static int check_skips;

/* "EAGAIN (-11)" for a negative errno, the plain number otherwise. */
static inline const char *check_fmt(long long v, char buf[64])
{
	const char *name = NULL;

#ifdef __GLIBC__
	if (v < 0 && v > -4096)
		name = strerrorname_np((int)-v);
#endif
	if (name)
		snprintf(buf, 64, "-%s (%lld)", name, v);
	else
		snprintf(buf, 64, "%lld", v);
	return buf;
}

static inline void check_fail_eq(const char *file, int line, const char *expr,
                                 long long got, long long want)
{
	char g[64], w[64];

	fprintf(stderr, "%s:%d: CHECK failed: %s: got %s, want %s\n", file,
	        line, expr, check_fmt(got, g), check_fmt(want, w));
	check_failures++;
}

#define CHECK(cond)                                                        \
	do {                                                               \
		if (!(cond)) {                                             \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n",       \
			        __FILE__, __LINE__, #cond);                \
			check_failures++;                                  \
		}                                                          \
	} while (0)

/* Compares as long long; both sides are evaluated once. */
#define CHECK_EQ(got, want)                                                \
	do {                                                               \
		long long check_g_ = (long long)(got);                     \
		long long check_w_ = (long long)(want);                    \
		if (check_g_ != check_w_)                                  \
			check_fail_eq(__FILE__, __LINE__,                  \
			              #got " == " #want, check_g_, check_w_); \
	} while (0)

#define CHECK_OK(expr) CHECK_EQ(expr, 0)
#define CHECK_ERR(expr, err) CHECK_EQ(expr, -(err))

#define CHECK_STR(got, want)                                               \
	do {                                                               \
		const char *check_gs_ = (got), *check_ws_ = (want);        \
		if (strcmp(check_gs_, check_ws_) != 0) {                   \
			fprintf(stderr,                                    \
			        "%s:%d: CHECK failed: %s: got \"%s\", "    \
			        "want \"%s\"\n",                           \
			        __FILE__, __LINE__, #got, check_gs_,       \
			        check_ws_);                                \
			check_failures++;                                  \
		}                                                          \
	} while (0)

#define CHECK_MEM(got, want, len)                                          \
	do {                                                               \
		if (memcmp((got), (want), (len)) != 0) {                   \
			fprintf(stderr,                                    \
			        "%s:%d: CHECK failed: memcmp(%s, %s, %s)\n", \
			        __FILE__, __LINE__, #got, #want, #len);    \
			check_failures++;                                  \
		}                                                          \
	} while (0)

/* For preconditions: later checks of this test would only add noise. */
#define REQUIRE(cond)                                                      \
	do {                                                               \
		if (!(cond)) {                                             \
			fprintf(stderr, "%s:%d: REQUIRE failed: %s\n",     \
			        __FILE__, __LINE__, #cond);                \
			check_failures++;                                  \
			return;                                            \
		}                                                          \
	} while (0)

#define REQUIRE_EQ(got, want)                                              \
	do {                                                               \
		int check_before_ = check_failures;                        \
		CHECK_EQ(got, want);                                       \
		if (check_failures != check_before_)                       \
			return;                                            \
	} while (0)

#define REQUIRE_OK(expr) REQUIRE_EQ(expr, 0)

#define SKIP(reason)                                                       \
	do {                                                               \
		printf("SKIP %s:%d: %s\n", __FILE__, __LINE__, (reason));  \
		check_skips++;                                             \
		return;                                                    \
	} while (0)

#define RUN(fn)                                                            \
	do {                                                               \
		int check_before_ = check_failures;                        \
		printf("--- %s\n", #fn);                                   \
		fflush(stdout);                                            \
		check_tests++;                                             \
		fn();                                                      \
		printf("%s %s\n", check_failures == check_before_ ?        \
		       "ok  " : "FAIL", #fn);                              \
		fflush(stdout);                                            \
	} while (0)

static inline int check_exit(void)
{
	printf("%d tests, %d skipped, %d failed checks\n", check_tests,
	       check_skips, check_failures);
	if (check_failures)
		return 1;
	if (check_tests > 0 && check_skips == check_tests)
		return 77;
	return 0;
}

#endif /* CHECK_H */
