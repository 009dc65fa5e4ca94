/*
 * The "NAME@T" suffix of message streams.  Only canonical numbers are
 * taken, so that one stream has one name (no "q@01" beside "q@1").
 */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "ipcc_int.h"

int ipcc_stream_parse(const char *name, long min, long max, size_t *base_len,
                      long *t)
{
	const char *at, *p;
	unsigned long limit, v = 0;
	int neg = 0;

	if (!name)
		return -EINVAL;
	at = strrchr(name, '@');
	if (!at)
		return 0;
	if (at == name || min > max)
		return -EINVAL;
	p = at + 1;
	if (*p == '-') {
		if (min >= 0)
			return -EINVAL;
		neg = 1;
		p++;
	}
	if (*p < '0' || *p > '9' || (p[0] == '0' && p[1] != '\0'))
		return -EINVAL;
	/* the largest magnitude allowed on this side of zero */
	if (neg)
		limit = min < 0 ? 0UL - (unsigned long)min : 0;
	else
		limit = max < 0 ? 0 : (unsigned long)max;
	for (; *p; p++) {
		unsigned d = (unsigned)(*p - '0');

		if (*p < '0' || *p > '9' || d > limit || v > (limit - d) / 10)
			return -EINVAL;
		v = v * 10 + d;
	}
	if (neg && v == 0)
		return -EINVAL;         /* "-0" */
	if (neg) {
		/* v <= -min, so this cannot overflow */
		long r = v == 0UL - (unsigned long)LONG_MIN ? LONG_MIN
		                                              : -(long)v;
		if (r > max)
			return -EINVAL;
		*t = r;
	} else {
		if ((long)v < min)
			return -EINVAL;
		*t = (long)v;
	}
	*base_len = (size_t)(at - name);
	return 1;
}
