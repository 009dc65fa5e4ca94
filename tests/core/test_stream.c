/*
 * The NAME@T suffix of message streams (ipcc_stream_parse): each rule of
 * the header, at both of its edges.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "ipcc.h"

#define SYSV_MIN (-LONG_MAX)
#define MQ_MAX ((long)IPCC_MQ_PRIO_MAX - 1)

/* 1 and the parts, or the error; outputs must be untouched on failure. */
static void ok(const char *name, long min, long max, size_t base, long t)
{
	size_t b = 777;
	long v = 777;

	CHECK_EQ(ipcc_stream_parse(name, min, max, &b, &v), 1);
	CHECK_EQ(b, base);
	CHECK_EQ(v, t);
}

static void bad(const char *name, long min, long max, int want)
{
	size_t b = 777;
	long v = 777;

	CHECK_EQ(ipcc_stream_parse(name, min, max, &b, &v), want);
	CHECK_EQ(b, 777);
	CHECK_EQ(v, 777);
}

static void test_sysv(void)
{
	char buf[64];

	ok("0x00001234@0", SYSV_MIN, LONG_MAX, 10, 0);
	ok("0x00001234@1", SYSV_MIN, LONG_MAX, 10, 1);
	ok("0x00001234@-1", SYSV_MIN, LONG_MAX, 10, -1);
	ok("0x00001234@-100", SYSV_MIN, LONG_MAX, 10, -100);
	ok("123@42", SYSV_MIN, LONG_MAX, 3, 42);
	snprintf(buf, sizeof(buf), "q@%ld", LONG_MAX);
	ok(buf, SYSV_MIN, LONG_MAX, 1, LONG_MAX);
	snprintf(buf, sizeof(buf), "q@%ld", -LONG_MAX);
	ok(buf, SYSV_MIN, LONG_MAX, 1, -LONG_MAX);
	/* LONG_MIN only where min allows it */
	snprintf(buf, sizeof(buf), "q@%ld", LONG_MIN);
	bad(buf, SYSV_MIN, LONG_MAX, -EINVAL);
	ok(buf, LONG_MIN, LONG_MAX, 1, LONG_MIN);
	snprintf(buf, sizeof(buf), "q@%lu", (unsigned long)LONG_MAX + 1);
	bad(buf, SYSV_MIN, LONG_MAX, -EINVAL);
	bad("q@99999999999999999999999", SYSV_MIN, LONG_MAX, -EINVAL);
	bad("q@-99999999999999999999999", SYSV_MIN, LONG_MAX, -EINVAL);
}

static void test_mq(void)
{
	ok("jobs@0", 0, MQ_MAX, 4, 0);
	ok("jobs@32767", 0, MQ_MAX, 4, 32767);
	bad("jobs@32768", 0, MQ_MAX, -EINVAL);
	bad("jobs@-1", 0, MQ_MAX, -EINVAL);
	/* the last '@' splits: a queue named "a@b" has streams too */
	ok("a@b@3", 0, MQ_MAX, 3, 3);
	ok("@@1", 0, MQ_MAX, 1, 1);
	bad("a@3@", 0, MQ_MAX, -EINVAL);
	bad("a@3@x", 0, MQ_MAX, -EINVAL);
}

static void test_refused(void)
{
	static const char *const names[] = {
		"@", "@0", "q@", "q@x", "q@1x", "q@x1", "q@+1", "q@01", "q@00",
		"q@-0", "q@-", "q@--1", "q@ 1", "q@1 ", "q@1\n", "q@0x1",
		"q@1.0", "q@1e3", "q@-01",
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		size_t before = (size_t)check_failures;

		bad(names[i], SYSV_MIN, LONG_MAX, -EINVAL);
		if ((size_t)check_failures != before)
			fprintf(stderr, "  for \"%s\"\n", names[i]);
	}
	/* in range only */
	bad("q@0", 1, LONG_MAX, -EINVAL);
	ok("q@1", 1, LONG_MAX, 1, 1);
	bad("q@5", 6, 4, -EINVAL);
	bad("q@-7", -5, 5, -EINVAL);
	bad("q@-3", -5, -4, -EINVAL);
	ok("q@-5", -5, -4, 1, -5);
	bad(NULL, 0, 1, -EINVAL);
}

static void test_plain(void)
{
	size_t b = 777;
	long v = 777;

	CHECK_EQ(ipcc_stream_parse("0x00001234", SYSV_MIN, LONG_MAX, &b, &v), 0);
	CHECK_EQ(ipcc_stream_parse("", SYSV_MIN, LONG_MAX, &b, &v), 0);
	CHECK_EQ(ipcc_stream_parse("jobs", 0, MQ_MAX, &b, &v), 0);
	CHECK_EQ(b, 777);
	CHECK_EQ(v, 777);
}

int main(void)
{
	RUN(test_sysv);
	RUN(test_mq);
	RUN(test_refused);
	RUN(test_plain);
	return check_exit();
}
