/*
 * libFuzzer harness for ipcc_semset_cmd_parse (what is written to
 * sysv-sem/<key>): the sem/ language plus an "I:" semaphore index, the
 * word zero, and set alone in its write.
 *
 * The whole input is one write(2) buffer, not NUL-terminated.  Checked:
 *   - the result equals the reference model below (errno, and op, n,
 *     index and timeout of every command), except where core/ipcc.h
 *     leaves the choice open;
 *   - success: 1 <= count <= max, fields in range, index <= 65535, set
 *     only alone, zero with n 0;
 *   - failure: *count untouched, only -EINVAL or -ERANGE;
 *   - the sem/ parser never accepts an index or zero, and where the input
 *     has neither, both parsers agree;
 *   - nothing is read or written out of bounds (ASan: exactly sized heap
 *     blocks).
 */
#include <stdint.h>
#include <string.h>

#include "ipcc.h"
#include "fuzz.h"
#include "sem_cmd_model.h"

struct model {
	int rc;                 /* 0, -EINVAL, -ERANGE or FUZZ_EITHER */
	int loose;              /* an argument the header does not settle */
	int has_set_words;      /* an index or zero appears on some line */
	size_t count;
	struct ipcc_sem_cmd cmds[IPCC_SEM_CMD_MAX];
};

static const struct {
	const char *word;
	enum ipcc_sem_op op;
	int arg;                /* 0 optional count, 1 required, 2 none */
} words[] = {
	{ "post", IPCC_SEM_OP_POST, 0 },
	{ "wait", IPCC_SEM_OP_WAIT, 0 },
	{ "trywait", IPCC_SEM_OP_TRYWAIT, 0 },
	{ "timedwait", IPCC_SEM_OP_TIMEDWAIT, 1 },
	{ "set", IPCC_SEM_OP_SET, 1 },
	{ "zero", IPCC_SEM_OP_ZERO, 2 },
};

/* One line (no '\n'): sets *inval / *range, fills *cmd. */
static void model_line(const char *s, size_t len, struct ipcc_sem_cmd *cmd,
                       int *inval, int *range, int *loose, int *set_words)
{
	size_t w = 0, a, alen, run = 0, colon = len;
	unsigned index = 0;
	int found = -1;
	uint64_t v;

	/* "I:" : digits then ':' within the first blank-free run */
	while (run < len && !is_blank(s[run]))
		run++;
	for (size_t i = 0; i < run; i++)
		if (s[i] == ':') {
			colon = i;
			break;
		}
	if (colon < len) {
		*set_words = 1;
		if (model_number(s, colon, &v) != 0 || v > 65535) {
			*inval = 1;
			return;
		}
		index = (unsigned)v;
		s += colon + 1;
		len -= colon + 1;
	}
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
	cmd->n = cmd->op == IPCC_SEM_OP_ZERO ? 0 : 1;
	cmd->index = index;
	if (cmd->op == IPCC_SEM_OP_ZERO)
		*set_words = 1;
	if (w == len) {
		if (words[found].arg == 1)
			*inval = 1;
		return;
	}
	if (words[found].arg == 2) {
		*inval = 1;     /* zero takes nothing */
		return;
	}
	a = w;
	while (a < len && is_blank(s[a]))
		a++;
	alen = 0;
	while (a + alen < len && !is_blank(s[a + alen]))
		alen++;
	if (alen == 0 || a + alen != len) {
		*inval = 1;
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
	int inval = 0, range = 0, sets = 0;
	size_t start = 0, n = 0;

	m->loose = 0;
	m->count = 0;
	m->has_set_words = 0;
	if (len == 0 || len > IPCC_SEM_CMD_BYTES_MAX || memchr(buf, 0, len))
		inval = 1;
	if (len > 0 && buf[len - 1] == '\n')
		len--;
	for (;;) {
		const char *nl = memchr(buf + start, '\n', len - start);
		size_t end = nl ? (size_t)(nl - buf) : len;
		struct ipcc_sem_cmd scratch;
		struct ipcc_sem_cmd *c = n < IPCC_SEM_CMD_MAX ? &m->cmds[n] : &scratch;
		int before = inval;

		if (n >= IPCC_SEM_CMD_MAX)
			inval = 1;
		memset(c, 0, sizeof(*c));
		c->op = IPCC_SEM_OP_POST;
		model_line(buf + start, end - start, c, &inval, &range, &m->loose,
		           &m->has_set_words);
		if (inval == before && c->op == IPCC_SEM_OP_SET)
			sets++;
		n++;
		if (!nl)
			break;
		start = end + 1;
	}
	/* set must be alone; only knowable when every line parsed */
	if (sets && n > 1)
		inval = 1;
	m->rc = fuzz_fold(inval, range);
	if (m->rc == 0)
		m->count = n;
}

static void check_cmd(const struct ipcc_sem_cmd *c, size_t i, size_t count)
{
	FUZZ_CHECK(c->index <= IPCC_SEMSET_INDEX_MAX, "cmd %zu index %u", i,
	           c->index);
	switch (c->op) {
	case IPCC_SEM_OP_POST:
	case IPCC_SEM_OP_WAIT:
	case IPCC_SEM_OP_TRYWAIT:
		FUZZ_CHECK(c->n >= 1 && c->n <= IPCC_SEM_VALUE_MAX,
		           "cmd %zu %s n=%u", i, op_name(c->op), c->n);
		break;
	case IPCC_SEM_OP_SET:
		FUZZ_CHECK(c->n <= IPCC_SEM_VALUE_MAX, "cmd %zu set n=%u", i, c->n);
		FUZZ_CHECK(count == 1, "set among %zu commands", count);
		break;
	case IPCC_SEM_OP_ZERO:
		FUZZ_CHECK(c->n == 0, "cmd %zu zero n=%u", i, c->n);
		break;
	case IPCC_SEM_OP_TIMEDWAIT:
		FUZZ_CHECK(c->n == 1 && c->timeout.tv_sec >= 0 &&
		           c->timeout.tv_sec <= 1000000000 &&
		           c->timeout.tv_nsec >= 0 &&
		           c->timeout.tv_nsec < 1000000000,
		           "cmd %zu timedwait n=%u %lld.%09ld", i, c->n,
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
	FUZZ_CHECK(got->index == want->index, "cmd %zu: index %u, model %u", i,
	           got->index, want->index);
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
	struct ipcc_sem_cmd *cmds, *plain;
	size_t count, plain_count;
	int rc, plain_rc;

	model_parse(buf, len, &m);
	rc = parse(ipcc_semset_cmd_parse, buf, len, IPCC_SEM_CMD_MAX, &cmds,
	           &count);

	check_answer(rc, count, len);
	for (size_t i = 0; rc == 0 && i < count; i++)
		check_cmd(&cmds[i], i, count);
	if (check_model(rc, count, m.rc, m.loose, m.count, len))
		for (size_t i = 0; i < count; i++)
			check_same(&cmds[i], &m.cmds[i], i);

	/* the sem/ dialect: never an index or zero; else the same answer */
	plain_rc = parse(ipcc_sem_cmd_parse, buf, len, IPCC_SEM_CMD_MAX, &plain,
	                 &plain_count);
	if (plain_rc == 0) {
		FUZZ_CHECK(!m.has_set_words, "sem/ parser took an index or zero");
		for (size_t i = 0; i < plain_count; i++)
			FUZZ_CHECK(plain[i].index == 0 &&
			           plain[i].op != IPCC_SEM_OP_ZERO,
			           "sem/ cmd %zu: index %u op %s", i,
			           plain[i].index, op_name(plain[i].op));
	}
	if (!m.has_set_words && !m.loose) {
		int has_set = 0;

		for (size_t i = 0; rc == 0 && i < count; i++)
			has_set |= cmds[i].op == IPCC_SEM_OP_SET;
		/* the one rule only sysv-sem/ has: set alone */
		if (plain_rc == 0 && rc != 0)
			FUZZ_CHECK(rc == -EINVAL && plain_count > 1,
			           "sem/ accepts, sysv-sem/ says %d", rc);
		else
			FUZZ_CHECK(plain_rc == rc || (plain_rc != 0 && rc != 0 &&
			           m.rc == FUZZ_EITHER),
			           "sem/ rc %d, sysv-sem/ rc %d", plain_rc, rc);
		if (rc == 0 && plain_rc == 0) {
			FUZZ_CHECK(plain_count == count, "counts %zu %zu",
			           plain_count, count);
			for (size_t i = 0; i < count; i++)
				check_same(&plain[i], &cmds[i], i);
		}
		(void)has_set;
	}
	free(plain);
	free(cmds);
}

/* Limits that -max_len=4096 keeps the fuzzer from reaching. */
static void check_limits(void)
{
	char *big = malloc(IPCC_SEM_CMD_BYTES_MAX + 2);
	size_t len = 0;

	FUZZ_CHECK(big != NULL, "out of memory");
	memcpy(big, "1:post ", 7);
	memset(big + 7, '0', IPCC_SEM_CMD_BYTES_MAX + 2 - 7);
	big[IPCC_SEM_CMD_BYTES_MAX] = '1';
	run(big, IPCC_SEM_CMD_BYTES_MAX + 1);
	big[IPCC_SEM_CMD_BYTES_MAX - 1] = '1';
	run(big, IPCC_SEM_CMD_BYTES_MAX);
	for (int i = 0; i < IPCC_SEM_CMD_MAX + 1; i++) {
		memcpy(big + len, "9:zero\n", 7);
		len += 7;
	}
	run(big, len - 7);
	run(big, len - 8);
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
