/*
 * The command language written to sem/<name>: parsed completely before
 * anything runs, so a bad write changes nothing.  The parser reads exactly
 * len bytes of untrusted input and needs no NUL terminator.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "ipcc_int.h"

#define NSEC_PER_SEC 1000000000L
/* timedwait accepts up to this many seconds */
#define SECONDS_MAX 1000000000L
#define FRACTION_DIGITS_MAX 9

struct word {
	const char *text;
	size_t len;
	enum ipcc_sem_op op;
};

static const struct word words[] = {
	{ "post", 4, IPCC_SEM_OP_POST },
	{ "wait", 4, IPCC_SEM_OP_WAIT },
	{ "trywait", 7, IPCC_SEM_OP_TRYWAIT },
	{ "timedwait", 9, IPCC_SEM_OP_TIMEDWAIT },
	{ "set", 3, IPCC_SEM_OP_SET },
};

static int is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/*
 * Digits only, at least one.  Values past max saturate at max + 1, so the
 * syntax is checked to the end before a range error is reported.
 */
static int parse_number(const char *s, size_t len, unsigned long max,
                        unsigned long *v)
{
	unsigned long r = 0;

	if (len == 0)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (!is_digit(s[i]))
			return -EINVAL;
		r = r * 10 + (unsigned long)(s[i] - '0');
		if (r > max)
			r = max + 1;
	}
	*v = r;
	return r > max ? -ERANGE : 0;
}

/* SECONDS: digits, optionally '.' and 1 to 9 digits. */
static int parse_seconds(const char *s, size_t len, struct timespec *ts)
{
	const char *dot = memchr(s, '.', len);
	size_t ilen = dot ? (size_t)(dot - s) : len;
	size_t flen = dot ? len - ilen - 1 : 0;
	unsigned long sec, frac = 0;
	int err;

	if (ilen == 0 || (dot && (flen == 0 || flen > FRACTION_DIGITS_MAX)))
		return -EINVAL;
	if (dot) {
		err = parse_number(dot + 1, flen, NSEC_PER_SEC - 1, &frac);
		if (err)
			return -EINVAL;   /* a second '.' or other junk */
		for (size_t i = flen; i < FRACTION_DIGITS_MAX; i++)
			frac *= 10;
	}
	err = parse_number(s, ilen, SECONDS_MAX, &sec);
	if (err)
		return err;
	if (sec == SECONDS_MAX && frac)
		return -ERANGE;
	ts->tv_sec = (time_t)sec;
	ts->tv_nsec = (long)frac;
	return 0;
}

static int parse_line(const char *s, size_t len, struct ipcc_sem_cmd *cmd)
{
	const struct word *w = NULL;
	size_t wlen = 0, alen;
	const char *arg;
	unsigned long v;
	int err;

	while (wlen < len && !is_blank(s[wlen]))
		wlen++;
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (words[i].len == wlen && memcmp(words[i].text, s, wlen) == 0)
			w = &words[i];
	if (!w)
		return -EINVAL;
	arg = s + wlen;
	alen = len - wlen;
	if (alen) {
		/* at least one blank separates; none may trail (digits check) */
		while (alen && is_blank(*arg)) {
			arg++;
			alen--;
		}
		if (alen == 0)
			return -EINVAL;
	}
	memset(cmd, 0, sizeof(*cmd));
	cmd->op = w->op;
	cmd->n = 1;
	switch (w->op) {
	case IPCC_SEM_OP_POST:
	case IPCC_SEM_OP_WAIT:
	case IPCC_SEM_OP_TRYWAIT:
		if (alen == 0)
			return 0;
		err = parse_number(arg, alen, IPCC_SEM_VALUE_MAX, &v);
		if (err)
			return err;
		if (v == 0)
			return -EINVAL;
		cmd->n = (unsigned)v;
		return 0;
	case IPCC_SEM_OP_SET:
		err = parse_number(arg, alen, IPCC_SEM_VALUE_MAX, &v);
		if (err)
			return err;
		cmd->n = (unsigned)v;
		return 0;
	case IPCC_SEM_OP_TIMEDWAIT:
		return parse_seconds(arg, alen, &cmd->timeout);
	}
	return -EINVAL;
}

int ipcc_sem_cmd_parse(const char *buf, size_t len, struct ipcc_sem_cmd *cmds,
                       size_t max, size_t *count)
{
	struct ipcc_sem_cmd parsed[IPCC_SEM_CMD_MAX];
	size_t n = 0;
	const char *p, *end;

	if (max > IPCC_SEM_CMD_MAX)
		max = IPCC_SEM_CMD_MAX;
	if (!buf || !cmds || !count || len == 0 || len > IPCC_SEM_CMD_BYTES_MAX)
		return -EINVAL;
	if (memchr(buf, '\0', len))
		return -EINVAL;
	if (buf[len - 1] == '\n')
		len--;
	if (len == 0)
		return -EINVAL;
	p = buf;
	end = buf + len;
	for (;;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *line_end = nl ? nl : end;
		int err;

		if (n == max)
			return -EINVAL;
		err = parse_line(p, (size_t)(line_end - p), &parsed[n]);
		if (err)
			return err;
		n++;
		if (!nl)
			break;
		p = nl + 1;
	}
	memcpy(cmds, parsed, n * sizeof(parsed[0]));
	*count = n;
	return 0;
}

int ipcc_sem_cmd_run(ipcc_sem *sem, const struct ipcc_sem_cmd *cmd)
{
	switch (cmd->op) {
	case IPCC_SEM_OP_POST:
		return ipcc_sem_post(sem, cmd->n);
	case IPCC_SEM_OP_WAIT:
		return ipcc_sem_wait(sem, cmd->n, NULL);
	case IPCC_SEM_OP_TRYWAIT:
		return ipcc_sem_trywait(sem, cmd->n);
	case IPCC_SEM_OP_TIMEDWAIT:
		return ipcc_sem_wait(sem, cmd->n ? cmd->n : 1, &cmd->timeout);
	case IPCC_SEM_OP_SET:
		return ipcc_sem_set(sem, cmd->n);
	}
	return -EINVAL;
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
}

static int is_cancelled(const struct ipcc_cancel *cancel)
{
	return cancel && cancel->cancelled(cancel->arg);
}

/*
 * Takes n, waiting at most until deadline_ns (< 0: no limit), in chunks
 * so that a cancel is seen even if the signal meant to cut the wait short
 * came just before it began.  Each chunk is one atomic semop: a wait
 * that gives up has taken nothing.
 */
static int wait_cancellable(ipcc_sem *sem, unsigned n, int64_t deadline_ns,
                            const struct ipcc_cancel *cancel)
{
	const int64_t chunk_ns = (int64_t)IPCC_CANCEL_POLL_MS * 1000000;

	for (;;) {
		struct timespec chunk;
		int64_t left = chunk_ns;
		int err;

		if (is_cancelled(cancel))
			return -EINTR;
		if (deadline_ns >= 0) {
			left = deadline_ns - now_ns();
			if (left <= 0) {
				err = ipcc_sem_trywait(sem, n);
				return err == -EAGAIN ? -ETIMEDOUT : err;
			}
			if (left > chunk_ns)
				left = chunk_ns;
		}
		chunk.tv_sec = (time_t)(left / NSEC_PER_SEC);
		chunk.tv_nsec = (long)(left % NSEC_PER_SEC);
		if (!cancel && deadline_ns < 0)
			return ipcc_sem_wait(sem, n, NULL);
		err = ipcc_sem_wait(sem, n, &chunk);
		if (err == -EINTR && !cancel)
			return err;
		if (err != -ETIMEDOUT && err != -EAGAIN && err != -EINTR)
			return err;
	}
}

int ipcc_sem_cmds_run(ipcc_sem *sem, const struct ipcc_sem_cmd *cmds,
                      size_t count, const struct ipcc_cancel *cancel,
                      unsigned *taken)
{
	int err = 0;

	*taken = 0;
	for (size_t i = 0; i < count && !err; i++) {
		const struct ipcc_sem_cmd *c = &cmds[i];
		int64_t deadline;

		switch (c->op) {
		case IPCC_SEM_OP_WAIT:
			err = wait_cancellable(sem, c->n, -1, cancel);
			break;
		case IPCC_SEM_OP_TIMEDWAIT:
			deadline = now_ns() +
			           (int64_t)c->timeout.tv_sec * NSEC_PER_SEC +
			           c->timeout.tv_nsec;
			err = wait_cancellable(sem, c->n ? c->n : 1, deadline,
			                       cancel);
			break;
		default:
			err = ipcc_sem_cmd_run(sem, c);
			break;
		}
		if (err)
			break;
		if (c->op == IPCC_SEM_OP_WAIT || c->op == IPCC_SEM_OP_TRYWAIT)
			*taken += c->n;
		else if (c->op == IPCC_SEM_OP_TIMEDWAIT)
			*taken += c->n ? c->n : 1;
	}
	return err;
}
