/*
 * libFuzzer harness for ipcc_stream_parse (the NAME@T names of message
 * streams in sysv-msg/ and posix-mq/).
 *
 * The first input byte picks the range: the sysv-msg/ one (-LONG_MAX ..
 * LONG_MAX), the posix-mq/ one (0 .. 32767), a write's (1 .. LONG_MAX),
 * or the full long range; the rest, cut at its first NUL, is the name.
 * The model is written differently from the parser: strtol, then the
 * number must print back ("%ld") as exactly the text after the last '@'
 * (which is what "canonical" means), then the range.  Checked: same
 * answer, outputs untouched unless 1, base_len points at that '@'.
 */
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "ipcc.h"
#include "fuzz.h"

#define SENTINEL_LEN ((size_t)0x5eed)
#define SENTINEL_T 0x5eedL

static int model_parse(const char *name, long min, long max, size_t *base,
                       long *t)
{
	const char *at = strrchr(name, '@'), *s;
	char back[32], *end;
	long v;

	if (!at)
		return 0;
	s = at + 1;
	if (at == name || min > max || !*s || strlen(s) > 21)
		return -EINVAL;
	if (*s == '-' && min >= 0)
		return -EINVAL;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end)
		return -EINVAL;
	snprintf(back, sizeof(back), "%ld", v);
	if (strcmp(back, s) != 0 || v < min || v > max)
		return -EINVAL;
	*base = (size_t)(at - name);
	*t = v;
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const long ranges[][2] = {
		{ -LONG_MAX, LONG_MAX },
		{ 0, (long)IPCC_MQ_PRIO_MAX - 1 },
		{ 1, LONG_MAX },
		{ LONG_MIN, LONG_MAX },
	};
	size_t base = SENTINEL_LEN, wbase = SENTINEL_LEN;
	long t = SENTINEL_T, wt = SENTINEL_T, min, max;
	char *s;
	int rc, model;

	if (size == 0)
		return 0;
	min = ranges[data[0] % 4][0];
	max = ranges[data[0] % 4][1];
	s = malloc(size);
	FUZZ_CHECK(s != NULL, "out of memory");
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';

	rc = ipcc_stream_parse(s, min, max, &base, &t);
	model = model_parse(s, min, max, &wbase, &wt);
	FUZZ_CHECK(rc == model, "\"%.60s\" [%ld, %ld]: rc %d, model %d", s,
	           min, max, rc, model);
	if (rc == 1) {
		FUZZ_CHECK(base == wbase && t == wt,
		           "\"%.60s\": base %zu t %ld, model %zu %ld", s, base, t,
		           wbase, wt);
		FUZZ_CHECK(s[base] == '@' && t >= min && t <= max,
		           "\"%.60s\": base %zu t %ld", s, base, t);
	} else {
		FUZZ_CHECK(base == SENTINEL_LEN && t == SENTINEL_T,
		           "\"%.60s\": returned %d but wrote outputs", s, rc);
	}
	free(s);
	return 0;
}
