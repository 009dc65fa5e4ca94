/*
 * Shared by the harnesses of the two semaphore command dialects
 * (fuzz_sem_cmd.c for sem/, fuzz_semset_cmd.c for sysv-sem/): the pieces
 * of the reference model both languages have, and the exactly sized parse.
 */
#ifndef SEM_CMD_MODEL_H
#define SEM_CMD_MODEL_H

#include <stdint.h>
#include <string.h>

#include "ipcc.h"
#include "fuzz.h"

/* A count the parser must leave alone when it fails. */
#define SENTINEL ((size_t)0x5eed5eedu)

static int is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Decimal digits only; saturates instead of wrapping. */
static int model_number(const char *s, size_t len, uint64_t *v)
{
	uint64_t acc = 0;

	if (len == 0)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (!is_digit(s[i]))
			return -EINVAL;
		if (acc < UINT64_C(1) << 40)
			acc = acc * 10 + (uint64_t)(s[i] - '0');
	}
	*v = acc;
	return 0;
}

/*
 * SECONDS: digits, optionally '.' and digits.  The header does not settle
 * ".5", "5.", fractions finer than a nanosecond, nor whether 1e9 plus a
 * fraction is "above 1e9": FUZZ_EITHER (accept, -EINVAL or -ERANGE).
 */
static int model_seconds(const char *s, size_t len, struct timespec *ts,
                         int *range)
{
	size_t dot = len, fraclen;
	uint64_t sec = 0;
	long nsec = 0;

	for (size_t i = 0; i < len; i++) {
		if (s[i] == '.' && dot == len)
			dot = i;
		else if (!is_digit(s[i]))
			return -EINVAL;
	}
	fraclen = dot < len ? len - dot - 1 : 0;
	if (dot == 0)
		return len == 1 ? -EINVAL : FUZZ_EITHER;
	if ((dot < len && fraclen == 0) || fraclen > 9)
		return FUZZ_EITHER;
	if (model_number(s, dot, &sec) != 0)
		return -EINVAL;
	for (size_t i = 0; i < 9; i++)
		nsec = nsec * 10 + (i < fraclen ? s[dot + 1 + i] - '0' : 0);
	if (sec > 1000000000u) {
		*range = 1;
		return 0;
	}
	if (sec == 1000000000u && nsec != 0)
		return FUZZ_EITHER;
	ts->tv_sec = (time_t)sec;
	ts->tv_nsec = nsec;
	return 0;
}

static const char *op_name(enum ipcc_sem_op op)
{
	switch (op) {
	case IPCC_SEM_OP_POST: return "post";
	case IPCC_SEM_OP_WAIT: return "wait";
	case IPCC_SEM_OP_TRYWAIT: return "trywait";
	case IPCC_SEM_OP_TIMEDWAIT: return "timedwait";
	case IPCC_SEM_OP_SET: return "set";
	case IPCC_SEM_OP_ZERO: return "zero";
	}
	return "?";
}

typedef int parse_fn(const char *, size_t, struct ipcc_sem_cmd *, size_t,
                     size_t *);

/* Parses with fn into an exactly sized command array of max entries. */
static int parse(parse_fn *fn, const char *buf, size_t len, size_t max,
                 struct ipcc_sem_cmd **cmds, size_t *count)
{
	*cmds = malloc(max * sizeof(**cmds));
	FUZZ_CHECK(*cmds != NULL, "out of memory");
	*count = SENTINEL;
	return fn(buf, len, *cmds, max, count);
}

/* An answer the header allows: a failure leaves count alone. */
static void check_answer(int rc, size_t count, size_t len)
{
	FUZZ_CHECK(rc == 0 || rc == -EINVAL || rc == -ERANGE,
	           "rc %d (len %zu)", rc, len);
	if (rc != 0)
		FUZZ_CHECK(count == SENTINEL, "failed with %d but set count %zu",
		           rc, count);
	else
		FUZZ_CHECK(count >= 1 && count <= IPCC_SEM_CMD_MAX,
		           "success with count %zu", count);
}

/*
 * The model's answer, where it is sure (not loose).  Returns whether the
 * commands are then to be compared with the model's, one by one.
 */
static int check_model(int rc, size_t count, int m_rc, int m_loose,
                       size_t m_count, size_t len)
{
	if (!m_loose)
		FUZZ_CHECK(fuzz_rc_matches(m_rc, rc), "rc %d, model %d (len %zu)",
		           rc, m_rc, len);
	else if (m_rc != 0)
		FUZZ_CHECK(rc != 0, "success, model %d (len %zu)", m_rc, len);
	if (rc == 0 && m_rc == 0 && !m_loose) {
		FUZZ_CHECK(count == m_count, "count %zu, model %zu", count, m_count);
		return 1;
	}
	return 0;
}

#endif /* SEM_CMD_MODEL_H */
