/*
 * libFuzzer harness for ipcc_sem_cmd_parse (what is written to sem/<name>).
 *
 * The whole input is one write(2) buffer, not NUL-terminated.  Checked:
 *   - the result equals the reference model below (errno and every field
 *     of every command), except where core/ipcc.h leaves the choice open;
 *   - success: 1 <= count <= max, fields in range;
 *   - failure: *count untouched, only -EINVAL or -ERANGE;
 *   - with a smaller max, a write that needs more commands fails and one
 *     that fits parses the same way;
 *   - nothing is read or written out of bounds (ASan: the buffer and the
 *     command array are exactly sized heap blocks).
 */
#include <stdint.h>
#include <string.h>

#include "ipcc.h"
#include "fuzz.h"
#include "sem_cmd_model.h"

struct model {
	int rc;                 /* 0, -EINVAL, -ERANGE or FUZZ_EITHER */
	int loose;              /* an argument the header does not settle:
	                           only a fault elsewhere forces a failure */
	size_t count;
	struct ipcc_sem_cmd cmds[IPCC_SEM_CMD_MAX];
};

static const struct {
	const char *word;
	enum ipcc_sem_op op;
	int arg;                /* 0 optional count, 1 required */
} words[] = {
	{ "post", IPCC_SEM_OP_POST, 0 },
	{ "wait", IPCC_SEM_OP_WAIT, 0 },
	{ "trywait", IPCC_SEM_OP_TRYWAIT, 0 },
	{ "timedwait", IPCC_SEM_OP_TIMEDWAIT, 1 },
	{ "set", IPCC_SEM_OP_SET, 1 },
};

/* One line (no '\n'): sets *inval / *range, fills *cmd. */
static void model_line(const char *s, size_t len, struct ipcc_sem_cmd *cmd,
                       int *inval, int *range, int *loose)
{
	size_t w = 0, a, alen;
	int found = -1;
	uint64_t v;

	while (w < len && !is_blank(s[w]))
		w++;
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strlen(words[i].word) == w && memcmp(s, words[i].word, w) == 0)
			found = (int)i;
	if (found < 0) {
		*inval = 1;
		return;
	}
	memset(cmd, 0, sizeof(*cmd));
	cmd->op = words[found].op;
	cmd->n = 1;
	if (w == len) {
		if (words[found].arg)
			*inval = 1;
		return;
	}
	a = w;
	while (a < len && is_blank(s[a]))
		a++;
	alen = 0;
	while (a + alen < len && !is_blank(s[a + alen]))
		alen++;
	if (alen == 0 || a + alen != len) {
		*inval = 1;     /* trailing blanks, or a second argument */
		return;
	}
	if (cmd->op == IPCC_SEM_OP_TIMEDWAIT) {
		int rc = model_seconds(s + a, alen, &cmd->timeout, range);

		if (rc == -EINVAL)
			*inval = 1;
		else if (rc == FUZZ_EITHER)
			*loose = 1;
		return;
	}
	if (model_number(s + a, alen, &v) != 0) {
		*inval = 1;
		return;
	}
	if (v > IPCC_SEM_VALUE_MAX)
		*range = 1;
	else if (v == 0 && cmd->op != IPCC_SEM_OP_SET)
		*inval = 1;
	cmd->n = (unsigned)v;
}

static void model_parse(const char *buf, size_t len, struct model *m)
{
	int inval = 0, range = 0;
	size_t start = 0, n = 0;

	m->loose = 0;
	m->count = 0;
	if (len == 0 || len > IPCC_SEM_CMD_BYTES_MAX || memchr(buf, 0, len))
		inval = 1;
	if (len > 0 && buf[len - 1] == '\n')
		len--;          /* the one optional trailing newline */
	for (;;) {
		const char *nl = memchr(buf + start, '\n', len - start);
		size_t end = nl ? (size_t)(nl - buf) : len;
		struct ipcc_sem_cmd scratch;

		if (n >= IPCC_SEM_CMD_MAX)
			inval = 1;
		model_line(buf + start, end - start,
		           n < IPCC_SEM_CMD_MAX ? &m->cmds[n] : &scratch,
		           &inval, &range, &m->loose);
		n++;
		if (!nl)
			break;
		start = end + 1;
	}
	m->rc = fuzz_fold(inval, range);
	if (m->rc == 0)
		m->count = n;
}

static void check_cmd(const struct ipcc_sem_cmd *c, size_t i)
{
	/* sem/ has no semaphore index (that is the sysv-sem/ dialect) */
	FUZZ_CHECK(c->index == 0, "cmd %zu index %u", i, c->index);
	switch (c->op) {
	case IPCC_SEM_OP_POST:
	case IPCC_SEM_OP_WAIT:
	case IPCC_SEM_OP_TRYWAIT:
		FUZZ_CHECK(c->n >= 1 && c->n <= IPCC_SEM_VALUE_MAX,
		           "cmd %zu %s n=%u", i, op_name(c->op), c->n);
		break;
	case IPCC_SEM_OP_SET:
		FUZZ_CHECK(c->n <= IPCC_SEM_VALUE_MAX, "cmd %zu set n=%u", i, c->n);
		break;
	case IPCC_SEM_OP_TIMEDWAIT:
		FUZZ_CHECK(c->timeout.tv_sec >= 0 &&
		           c->timeout.tv_sec <= 1000000000 &&
		           c->timeout.tv_nsec >= 0 &&
		           c->timeout.tv_nsec < 1000000000,
		           "cmd %zu timedwait %lld.%09ld", i,
		           (long long)c->timeout.tv_sec, c->timeout.tv_nsec);
		break;
	default:
		FUZZ_CHECK(0, "cmd %zu has op %d", i, (int)c->op);
	}
}

static void check_same(const struct ipcc_sem_cmd *got,
                       const struct ipcc_sem_cmd *want, size_t i)
{
	FUZZ_CHECK(got->op == want->op, "cmd %zu: op %s, model %s", i,
	           op_name(got->op), op_name(want->op));
	if (want->op == IPCC_SEM_OP_TIMEDWAIT)
		FUZZ_CHECK(got->timeout.tv_sec == want->timeout.tv_sec &&
		           got->timeout.tv_nsec == want->timeout.tv_nsec,
		           "cmd %zu: timedwait %lld.%09ld, model %lld.%09ld", i,
		           (long long)got->timeout.tv_sec, got->timeout.tv_nsec,
		           (long long)want->timeout.tv_sec, want->timeout.tv_nsec);
	else
		FUZZ_CHECK(got->n == want->n, "cmd %zu: %s n=%u, model %u", i,
		           op_name(got->op), got->n, want->n);
}

static void run(const char *buf, size_t len)
{
	static struct model m;
	struct ipcc_sem_cmd *cmds, *small;
	size_t count, small_count;
	int rc, small_rc;

	model_parse(buf, len, &m);
	rc = parse(ipcc_sem_cmd_parse, buf, len, IPCC_SEM_CMD_MAX, &cmds,
	           &count);

	check_answer(rc, count, len);
	for (size_t i = 0; rc == 0 && i < count; i++)
		check_cmd(&cmds[i], i);
	if (check_model(rc, count, m.rc, m.loose, m.count, len))
		for (size_t i = 0; i < count; i++)
			check_same(&cmds[i], &m.cmds[i], i);

	/* A smaller array: all or nothing, same answer when it fits. */
	small_rc = parse(ipcc_sem_cmd_parse, buf, len, 2, &small,
	                 &small_count);
	if (rc == 0 && count <= 2) {
		FUZZ_CHECK(small_rc == 0 && small_count == count,
		           "max 2: rc %d count %zu, max 64: count %zu",
		           small_rc, small_count, count);
		for (size_t i = 0; i < count; i++)
			check_same(&small[i], &cmds[i], i);
	} else {
		FUZZ_CHECK(small_rc < 0 && small_count == SENTINEL,
		           "max 2: rc %d count %zu (max 64: rc %d count %zu)",
		           small_rc, small_count, rc, count);
	}
	free(small);
	free(cmds);
}

/* Limits that -max_len=4096 keeps the fuzzer from reaching. */
static void check_limits(void)
{
	char *big = malloc(IPCC_SEM_CMD_BYTES_MAX + 2);
	size_t len = 0;

	FUZZ_CHECK(big != NULL, "out of memory");
	/* One command of 4097 bytes, then one of exactly 4096. */
	memcpy(big, "post ", 5);
	memset(big + 5, '0', IPCC_SEM_CMD_BYTES_MAX + 2 - 5);
	big[IPCC_SEM_CMD_BYTES_MAX] = '1';
	run(big, IPCC_SEM_CMD_BYTES_MAX + 1);
	big[IPCC_SEM_CMD_BYTES_MAX - 1] = '1';
	run(big, IPCC_SEM_CMD_BYTES_MAX);
	/* 64 and 65 commands. */
	for (int i = 0; i < IPCC_SEM_CMD_MAX + 1; i++) {
		memcpy(big + len, "post\n", 5);
		len += 5;
	}
	run(big, len - 5);
	run(big, len - 6);
	run(big, len);
	free(big);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	check_limits();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	run((const char *)data, size);
	return 0;
}
