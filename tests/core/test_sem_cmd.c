/*
 * ipcc_sem_cmd_parse: every documented form, every malformed one with its
 * exact errno, and the all-or-nothing rule.  (ipcc_sem_cmd_run on a real
 * semaphore is in test_sem.c.)
 *
 * Every input is copied into a buffer of exactly its length, so a parser
 * that reads past len or relies on a NUL terminator trips ASan.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ipcc.h"

#define UNTOUCHED ((size_t)0xdeadbeef)

static struct ipcc_sem_cmd cmds[IPCC_SEM_CMD_MAX];

/* Parses len bytes of s; *count is UNTOUCHED unless the parser set it. */
static int parse(const char *s, size_t len, size_t *count)
{
	char *buf = malloc(len ? len : 1);
	int r;

	if (!buf)
		abort();
	memcpy(buf, s, len);
	memset(cmds, 0xa5, sizeof(cmds));
	*count = UNTOUCHED;
	r = ipcc_sem_cmd_parse(buf, len, cmds, IPCC_SEM_CMD_MAX, count);
	free(buf);
	return r;
}

static void check_one(const char *s, enum ipcc_sem_op op, unsigned n,
                      int line)
{
	size_t count;
	int r = parse(s, strlen(s), &count);

	if (r != 0 || count != 1 || cmds[0].op != op ||
	    (op != IPCC_SEM_OP_TIMEDWAIT && cmds[0].n != n)) {
		fprintf(stderr, "%s:%d: parse(\"%s\"): got %d count %zu op %d n %u, "
		        "want 0 count 1 op %d n %u\n", __FILE__, line, s, r,
		        count, (int)cmds[0].op, cmds[0].n, (int)op, n);
		check_failures++;
	}
}

static void check_timed(const char *s, time_t sec, long nsec, int line)
{
	size_t count;
	int r = parse(s, strlen(s), &count);

	/* timedwait takes one: its count is 1, as ipcc_sem_cmd_run uses n */
	if (r != 0 || count != 1 || cmds[0].op != IPCC_SEM_OP_TIMEDWAIT ||
	    cmds[0].n != 1 || cmds[0].timeout.tv_sec != sec ||
	    cmds[0].timeout.tv_nsec != nsec) {
		fprintf(stderr, "%s:%d: parse(\"%s\"): got %d count %zu op %d n %u "
		        "timeout %lld.%09ld, want timedwait n 1 %lld.%09ld\n",
		        __FILE__, line, s, r, count, (int)cmds[0].op, cmds[0].n,
		        (long long)cmds[0].timeout.tv_sec, cmds[0].timeout.tv_nsec,
		        (long long)sec, nsec);
		check_failures++;
	}
}

static void check_bad_len(const char *s, size_t len, int err, int line)
{
	size_t count;
	int r = parse(s, len, &count);

	if (r != -err || count != UNTOUCHED) {
		char g[64], w[64];

		fprintf(stderr, "%s:%d: parse(\"%.60s\", %zu): got %s count %s, "
		        "want %s and count untouched\n", __FILE__, line, s, len,
		        check_fmt(r, g), count == UNTOUCHED ? "untouched" : "SET",
		        check_fmt(-err, w));
		check_failures++;
	}
}

#define ONE(s, op, n) check_one(s, IPCC_SEM_OP_##op, n, __LINE__)
#define TIMED(s, sec, nsec) check_timed(s, sec, nsec, __LINE__)
#define BAD(s, err) check_bad_len(s, strlen(s), err, __LINE__)
#define BAD_LEN(s, len, err) check_bad_len(s, len, err, __LINE__)

static void test_single(void)
{
	ONE("post", POST, 1);
	ONE("post\n", POST, 1);
	ONE("post 1", POST, 1);
	ONE("post 5", POST, 5);
	ONE("post 5\n", POST, 5);
	ONE("post\t5", POST, 5);
	ONE("post  \t 5", POST, 5);
	ONE("post 32767", POST, 32767);
	ONE("wait", WAIT, 1);
	ONE("wait\n", WAIT, 1);
	ONE("wait 3", WAIT, 3);
	ONE("wait 32767", WAIT, 32767);
	ONE("trywait", TRYWAIT, 1);
	ONE("trywait 2", TRYWAIT, 2);
	ONE("trywait\t2\n", TRYWAIT, 2);
	ONE("set 0", SET, 0);
	ONE("set 7", SET, 7);
	ONE("set 32767", SET, 32767);
	ONE("set\t9\n", SET, 9);
}

static void test_timedwait(void)
{
	TIMED("timedwait 2", 2, 0);
	TIMED("timedwait 2\n", 2, 0);
	TIMED("timedwait 0", 0, 0);
	TIMED("timedwait 1.5", 1, 500000000);
	TIMED("timedwait 0.25", 0, 250000000);
	TIMED("timedwait 0.000000001", 0, 1);
	TIMED("timedwait 3.123456789", 3, 123456789);
	TIMED("timedwait 10.05", 10, 50000000);
	TIMED("timedwait\t1.5\n", 1, 500000000);
	TIMED("timedwait 1000000000", 1000000000, 0);

	BAD("timedwait", EINVAL);
	BAD("timedwait\n", EINVAL);
	BAD("timedwait ", EINVAL);
	BAD("timedwait -1", EINVAL);
	BAD("timedwait +1", EINVAL);
	BAD("timedwait .5", EINVAL);
	BAD("timedwait 1e3", EINVAL);
	BAD("timedwait 1,5", EINVAL);
	BAD("timedwait 1.5.5", EINVAL);
	BAD("timedwait 1.x", EINVAL);
	BAD("timedwait 1.-5", EINVAL);
	BAD("timedwait 1 2", EINVAL);
	BAD("timedwait 1 ", EINVAL);
	BAD("timedwait x", EINVAL);
	BAD("timedwait inf", EINVAL);
	BAD("timedwait 0x10", EINVAL);
	BAD("timedwait 1000000001", ERANGE);
	BAD("timedwait 1000000000.5", ERANGE);
	BAD("timedwait 99999999999999999999999", ERANGE);
}

static void test_malformed(void)
{
	BAD_LEN("", 0, EINVAL);
	BAD("\n", EINVAL);
	BAD("\n\n", EINVAL);
	BAD("post\n\n", EINVAL);
	BAD("\npost", EINVAL);
	BAD("post\n\nwait", EINVAL);
	BAD("post\n \n", EINVAL);
	BAD(" post", EINVAL);
	BAD("\tpost", EINVAL);
	BAD("post ", EINVAL);
	BAD("post\t", EINVAL);
	BAD("post \n", EINVAL);
	BAD("post 5 ", EINVAL);
	BAD("post 5\t", EINVAL);
	BAD("post\r\n", EINVAL);
	BAD("post 5\r", EINVAL);
	BAD("POST", EINVAL);
	BAD("Post", EINVAL);
	BAD("pos", EINVAL);
	BAD("posts", EINVAL);
	BAD("post5", EINVAL);
	BAD("wait1", EINVAL);
	BAD("bogus", EINVAL);
	BAD("bogus 1", EINVAL);
	BAD("timed", EINVAL);
	BAD("try", EINVAL);
	BAD("post -1", EINVAL);
	BAD("post +1", EINVAL);
	BAD("post 1.5", EINVAL);
	BAD("post 0x10", EINVAL);
	BAD("post 1a", EINVAL);
	BAD("post a", EINVAL);
	BAD("post 1 2", EINVAL);
	BAD("post 3 # comment", EINVAL);
	BAD("post 0", EINVAL);
	BAD("wait 0", EINVAL);
	BAD("trywait 0", EINVAL);
	BAD("wait -3", EINVAL);
	BAD("trywait x", EINVAL);
	BAD("set", EINVAL);
	BAD("set\n", EINVAL);
	BAD("set ", EINVAL);
	BAD("set -1", EINVAL);
	BAD("set x", EINVAL);
	BAD("set 1 2", EINVAL);
	BAD("set 1.5", EINVAL);
}

static void test_range(void)
{
	BAD("post 32768", ERANGE);
	BAD("wait 32768", ERANGE);
	BAD("trywait 32768", ERANGE);
	BAD("set 32768", ERANGE);
	BAD("post 65536", ERANGE);
	BAD("post 65537", ERANGE);          /* 1 modulo 2^16 */
	BAD("set 4294967296", ERANGE);      /* 0 modulo 2^32 */
	BAD("post 4294967297", ERANGE);     /* 1 modulo 2^32 */
	BAD("post 18446744073709551617", ERANGE);
	BAD("post 99999999999999999999999999999", ERANGE);
}

static void test_nul(void)
{
	BAD_LEN("post\0", 5, EINVAL);
	BAD_LEN("post\0\n", 6, EINVAL);
	BAD_LEN("po\0st", 5, EINVAL);
	BAD_LEN("post 1\0", 7, EINVAL);
	BAD_LEN("post\n\0", 6, EINVAL);
	BAD_LEN("post\nwait\0\n", 11, EINVAL);
	BAD_LEN("\0", 1, EINVAL);
}

static void test_len_is_respected(void)
{
	size_t count;

	/* only the first len bytes count: no NUL terminator is needed */
	CHECK_OK(parse("post 1junk", 6, &count));
	CHECK_EQ(count, 1);
	CHECK_EQ(cmds[0].op, IPCC_SEM_OP_POST);
	CHECK_EQ(cmds[0].n, 1);
	CHECK_OK(parse("wait 12345", 7, &count));
	CHECK_EQ(count, 1);
	CHECK_EQ(cmds[0].op, IPCC_SEM_OP_WAIT);
	CHECK_EQ(cmds[0].n, 12);
	CHECK_OK(parse("set 3\nbogus", 6, &count));
	CHECK_EQ(count, 1);
	CHECK_EQ(cmds[0].op, IPCC_SEM_OP_SET);
	CHECK_EQ(cmds[0].n, 3);
}

static void test_multi(void)
{
	const char *in = "post 2\nwait\ntrywait 3\nset 7\ntimedwait 0.5\npost";
	size_t count;

	CHECK_OK(parse(in, strlen(in), &count));
	REQUIRE_EQ(count, 6);
	CHECK_EQ(cmds[0].op, IPCC_SEM_OP_POST);
	CHECK_EQ(cmds[0].n, 2);
	CHECK_EQ(cmds[1].op, IPCC_SEM_OP_WAIT);
	CHECK_EQ(cmds[1].n, 1);
	CHECK_EQ(cmds[2].op, IPCC_SEM_OP_TRYWAIT);
	CHECK_EQ(cmds[2].n, 3);
	CHECK_EQ(cmds[3].op, IPCC_SEM_OP_SET);
	CHECK_EQ(cmds[3].n, 7);
	CHECK_EQ(cmds[4].op, IPCC_SEM_OP_TIMEDWAIT);
	CHECK_EQ(cmds[4].timeout.tv_sec, 0);
	CHECK_EQ(cmds[4].timeout.tv_nsec, 500000000);
	CHECK_EQ(cmds[5].op, IPCC_SEM_OP_POST);
	CHECK_EQ(cmds[5].n, 1);

	/* one trailing newline is fine */
	CHECK_OK(parse("post\nwait\n", 10, &count));
	CHECK_EQ(count, 2);

	/* all or nothing: a bad line anywhere refuses the whole write */
	BAD("post\nbogus", EINVAL);
	BAD("post\nbogus\n", EINVAL);
	BAD("bogus\npost", EINVAL);
	BAD("post 1\nwait 0\nset 1", EINVAL);
	BAD("post\npost 32768", ERANGE);
	BAD("set 1\nset 32768\npost", ERANGE);
	BAD("post\ntimedwait 1000000001\n", ERANGE);
	BAD("post\npost \n", EINVAL);
}

static void test_limits(void)
{
	char buf[IPCC_SEM_CMD_BYTES_MAX + 16];
	size_t count, len = 0;

	/* IPCC_SEM_CMD_MAX commands pass, one more does not */
	for (int i = 0; i < IPCC_SEM_CMD_MAX; i++)
		len += (size_t)sprintf(buf + len, "post\n");
	CHECK_OK(parse(buf, len, &count));
	CHECK_EQ(count, IPCC_SEM_CMD_MAX);
	CHECK_EQ(cmds[IPCC_SEM_CMD_MAX - 1].op, IPCC_SEM_OP_POST);
	/* the same without the trailing newline */
	CHECK_OK(parse(buf, len - 1, &count));
	CHECK_EQ(count, IPCC_SEM_CMD_MAX);
	len += (size_t)sprintf(buf + len, "post\n");
	BAD_LEN(buf, len, EINVAL);
	BAD_LEN(buf, len - 1, EINVAL);

	/* IPCC_SEM_CMD_BYTES_MAX bytes pass, one more does not */
	memcpy(buf, "post", 4);
	memset(buf + 4, ' ', IPCC_SEM_CMD_BYTES_MAX - 5);
	buf[IPCC_SEM_CMD_BYTES_MAX - 1] = '3';
	CHECK_OK(parse(buf, IPCC_SEM_CMD_BYTES_MAX, &count));
	CHECK_EQ(count, 1);
	CHECK_EQ(cmds[0].n, 3);
	buf[IPCC_SEM_CMD_BYTES_MAX - 1] = ' ';
	buf[IPCC_SEM_CMD_BYTES_MAX] = '3';
	BAD_LEN(buf, IPCC_SEM_CMD_BYTES_MAX + 1, EINVAL);
	buf[IPCC_SEM_CMD_BYTES_MAX - 1] = '3';
	buf[IPCC_SEM_CMD_BYTES_MAX] = '\n';
	BAD_LEN(buf, IPCC_SEM_CMD_BYTES_MAX + 1, EINVAL);
}

/* ---- the sysv-sem/ dialect: "I:" index, zero, set alone ---- */

static int parse_set(const char *s, size_t len, size_t *count)
{
	char *buf = malloc(len ? len : 1);
	int r;

	if (!buf)
		abort();
	memcpy(buf, s, len);
	memset(cmds, 0xa5, sizeof(cmds));
	*count = UNTOUCHED;
	r = ipcc_semset_cmd_parse(buf, len, cmds, IPCC_SEM_CMD_MAX, count);
	free(buf);
	return r;
}

static void check_set_one(const char *s, enum ipcc_sem_op op, unsigned n,
                          unsigned index, int line)
{
	size_t count;
	int r = parse_set(s, strlen(s), &count);

	if (r != 0 || count != 1 || cmds[0].op != op || cmds[0].index != index ||
	    (op != IPCC_SEM_OP_TIMEDWAIT && cmds[0].n != n)) {
		fprintf(stderr, "%s:%d: semset parse(\"%s\"): got %d count %zu op %d "
		        "n %u index %u, want 0 count 1 op %d n %u index %u\n",
		        __FILE__, line, s, r, count, (int)cmds[0].op, cmds[0].n,
		        cmds[0].index, (int)op, n, index);
		check_failures++;
	}
}

static void check_set_bad(const char *s, size_t len, int err, int line)
{
	size_t count;
	int r = parse_set(s, len, &count);

	if (r != -err || count != UNTOUCHED) {
		char g[64], w[64];

		fprintf(stderr, "%s:%d: semset parse(\"%.60s\", %zu): got %s count "
		        "%s, want %s and count untouched\n", __FILE__, line, s, len,
		        check_fmt(r, g), count == UNTOUCHED ? "untouched" : "SET",
		        check_fmt(-err, w));
		check_failures++;
	}
}

#define SONE(s, op, n, i) check_set_one(s, IPCC_SEM_OP_##op, n, i, __LINE__)
#define SBAD(s, err) check_set_bad(s, strlen(s), err, __LINE__)

static void test_set_dialect_single(void)
{
	/* everything sem/ accepts means the same, on semaphore 0 */
	SONE("post", POST, 1, 0);
	SONE("post 5\n", POST, 5, 0);
	SONE("wait\t3", WAIT, 3, 0);
	SONE("trywait", TRYWAIT, 1, 0);
	SONE("set 0", SET, 0, 0);
	SONE("set 32767", SET, 32767, 0);
	SONE("zero", ZERO, 0, 0);
	SONE("zero\n", ZERO, 0, 0);
	/* with an index */
	SONE("0:post", POST, 1, 0);
	SONE("1:post", POST, 1, 1);
	SONE("2:post 3", POST, 3, 2);
	SONE("2:post 3\n", POST, 3, 2);
	SONE("7:wait", WAIT, 1, 7);
	SONE("7:wait 32767", WAIT, 32767, 7);
	SONE("3:trywait 2", TRYWAIT, 2, 3);
	SONE("4:zero", ZERO, 0, 4);
	SONE("5:set 9", SET, 9, 5);
	SONE("05:post", POST, 1, 5);
	SONE("65535:post", POST, 1, 65535);
	SONE("1:timedwait 1.5", TIMEDWAIT, 1, 1);
	SONE("timedwait 0.25", TIMEDWAIT, 1, 0);
	CHECK_EQ(cmds[0].timeout.tv_sec, 0);
	CHECK_EQ(cmds[0].timeout.tv_nsec, 250000000);
	SONE("12:timedwait 2", TIMEDWAIT, 1, 12);
	CHECK_EQ(cmds[0].timeout.tv_sec, 2);
	CHECK_EQ(cmds[0].timeout.tv_nsec, 0);
}

static void test_set_dialect_bad(void)
{
	/* index syntax */
	SBAD(":post", EINVAL);
	SBAD("1:", EINVAL);
	SBAD("1:\n", EINVAL);
	SBAD("1: post", EINVAL);
	SBAD("1 :post", EINVAL);
	SBAD(" 1:post", EINVAL);
	SBAD("1::post", EINVAL);
	SBAD("1:2:post", EINVAL);
	SBAD("-1:post", EINVAL);
	SBAD("+1:post", EINVAL);
	SBAD("0x1:post", EINVAL);
	SBAD("a:post", EINVAL);
	SBAD("1.0:post", EINVAL);
	SBAD("post:1", EINVAL);
	SBAD("post 1:2", EINVAL);
	SBAD("1;post", EINVAL);
	SBAD("1:POST", EINVAL);
	/* an index no set can have: EINVAL, not ERANGE */
	SBAD("65536:post", EINVAL);
	SBAD("4294967296:post", EINVAL);
	SBAD("99999999999999999999999:post", EINVAL);
	/* zero takes nothing */
	SBAD("zero 0", EINVAL);
	SBAD("zero 1", EINVAL);
	SBAD("zero ", EINVAL);
	SBAD("1:zero 1", EINVAL);
	SBAD("zeros", EINVAL);
	SBAD("ZERO", EINVAL);
	/* set must be alone */
	SBAD("set 1\npost", EINVAL);
	SBAD("post\nset 1", EINVAL);
	SBAD("0:set 1\n1:set 2", EINVAL);
	SBAD("set 1\nset 1\n", EINVAL);
	/* the sem/ faults, with their errno */
	SBAD("post 0", EINVAL);
	SBAD("1:post 0", EINVAL);
	SBAD("1:post 32768", ERANGE);
	SBAD("1:set 32768", ERANGE);
	SBAD("1:timedwait 1000000001", ERANGE);
	SBAD("1:timedwait", EINVAL);
	SBAD("1:post ", EINVAL);
	SBAD("1:post\r", EINVAL);
	SBAD("", EINVAL);
	SBAD("\n", EINVAL);
	SBAD("0:post\n\n1:post", EINVAL);
	check_set_bad("0:post\0", 7, EINVAL, __LINE__);
	check_set_bad("0\0:post", 7, EINVAL, __LINE__);
}

static void test_set_dialect_multi(void)
{
	const char *in = "0:wait\n1:wait 2\n2:post 3\nzero\n3:trywait\n"
	                 "4:timedwait 0.5\n1:zero";
	size_t count;

	CHECK_OK(parse_set(in, strlen(in), &count));
	REQUIRE_EQ(count, 7);
	CHECK_EQ(cmds[0].op, IPCC_SEM_OP_WAIT);
	CHECK_EQ(cmds[0].index, 0);
	CHECK_EQ(cmds[1].op, IPCC_SEM_OP_WAIT);
	CHECK_EQ(cmds[1].n, 2);
	CHECK_EQ(cmds[1].index, 1);
	CHECK_EQ(cmds[2].op, IPCC_SEM_OP_POST);
	CHECK_EQ(cmds[2].n, 3);
	CHECK_EQ(cmds[2].index, 2);
	CHECK_EQ(cmds[3].op, IPCC_SEM_OP_ZERO);
	CHECK_EQ(cmds[3].index, 0);
	CHECK_EQ(cmds[4].op, IPCC_SEM_OP_TRYWAIT);
	CHECK_EQ(cmds[4].index, 3);
	CHECK_EQ(cmds[5].op, IPCC_SEM_OP_TIMEDWAIT);
	CHECK_EQ(cmds[5].index, 4);
	CHECK_EQ(cmds[5].timeout.tv_nsec, 500000000);
	CHECK_EQ(cmds[6].op, IPCC_SEM_OP_ZERO);
	CHECK_EQ(cmds[6].index, 1);
	/* one bad line refuses all */
	SBAD("0:wait\n1:bogus", EINVAL);
	SBAD("0:wait\n70000:post", EINVAL);
	SBAD("0:wait\n1:post 32768", ERANGE);
}

static void test_sem_dialect_has_no_index(void)
{
	/* sem/ keeps its language: no index, no zero; index is 0 */
	BAD("0:post", EINVAL);
	BAD("1:wait", EINVAL);
	BAD("zero", EINVAL);
	BAD("post\nzero", EINVAL);
	ONE("post 3", POST, 3);
	CHECK_EQ(cmds[0].index, 0);
	/* sem/ may mix set with others, sysv-sem/ may not */
	{
		size_t count;

		CHECK_OK(parse("set 1\npost", 10, &count));
		CHECK_EQ(count, 2);
	}
}

int main(void)
{
	RUN(test_single);
	RUN(test_timedwait);
	RUN(test_malformed);
	RUN(test_range);
	RUN(test_nul);
	RUN(test_len_is_respected);
	RUN(test_multi);
	RUN(test_limits);
	RUN(test_set_dialect_single);
	RUN(test_set_dialect_bad);
	RUN(test_set_dialect_multi);
	RUN(test_sem_dialect_has_no_index);
	return check_exit();
}
