/*
 * Reader for the tables in /proc/sysvipc: one pass over the file, no
 * syscall per row, which is what keeps listing 10,000 segments fast.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipcc_int.h"

/* /proc/sysvipc/shm has 16 columns today; leave room for more. */
#define PTAB_FIELDS_MAX 64
#define PTAB_COLS_MAX 16

struct ipcc_ptab {
	FILE *f;
	char *line;
	size_t cap;
	size_t ncols;
	size_t index[PTAB_COLS_MAX];   /* field number of each wanted column */
	size_t need;                   /* fields a row must have */
};

/* Splits line at blanks in place; returns the number of fields. */
static size_t split(char *line, char **fields, size_t max)
{
	size_t n = 0;
	char *p = line;

	while (n < max) {
		while (*p == ' ' || *p == '\t' || *p == '\n')
			p++;
		if (!*p)
			break;
		fields[n++] = p;
		while (*p && *p != ' ' && *p != '\t' && *p != '\n')
			p++;
		if (*p)
			*p++ = '\0';
	}
	return n;
}

int ipcc_ptab_open(const char *path, const char *const *cols, size_t ncols,
                   struct ipcc_ptab **out)
{
	struct ipcc_ptab *t;
	char *fields[PTAB_FIELDS_MAX];
	size_t nf;
	int err;

	if (ncols > PTAB_COLS_MAX)
		return -EINVAL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->f = fopen(path, "re");
	if (!t->f) {
		err = -errno;
		goto out_free;
	}
	/* big reads: the kernel formats a whole buffer per read() call */
	setvbuf(t->f, NULL, _IOFBF, 1 << 16);
	if (getline(&t->line, &t->cap, t->f) < 0) {
		err = ferror(t->f) ? -EIO : -ENOTSUP;
		goto out_close;
	}
	nf = split(t->line, fields, PTAB_FIELDS_MAX);
	t->ncols = ncols;
	for (size_t c = 0; c < ncols; c++) {
		size_t i;

		for (i = 0; i < nf; i++)
			if (strcmp(fields[i], cols[c]) == 0)
				break;
		if (i == nf) {
			err = -ENOTSUP;
			goto out_close;
		}
		t->index[c] = i;
		if (i + 1 > t->need)
			t->need = i + 1;
	}
	*out = t;
	return 0;

out_close:
	fclose(t->f);
	free(t->line);
out_free:
	free(t);
	return err;
}

int ipcc_ptab_next(struct ipcc_ptab *t, const char **out)
{
	char *fields[PTAB_FIELDS_MAX];

	for (;;) {
		errno = 0;
		if (getline(&t->line, &t->cap, t->f) < 0)
			return ferror(t->f) ? (errno ? -errno : -EIO) : 0;
		if (split(t->line, fields, PTAB_FIELDS_MAX) < t->need)
			continue;
		for (size_t c = 0; c < t->ncols; c++)
			out[c] = fields[t->index[c]];
		return 1;
	}
}

void ipcc_ptab_close(struct ipcc_ptab *t)
{
	if (!t)
		return;
	fclose(t->f);
	free(t->line);
	free(t);
}

static int digits(const char *s, unsigned base, uint64_t *v)
{
	uint64_t r = 0;

	if (!*s)
		return -EINVAL;
	for (; *s; s++) {
		unsigned d = (unsigned)(*s - '0');

		if (*s < '0' || d >= base || r > (UINT64_MAX - d) / base)
			return -EINVAL;
		r = r * base + d;
	}
	*v = r;
	return 0;
}

int ipcc_ptab_u64(const char *s, uint64_t *v)
{
	return digits(s, 10, v);
}

int ipcc_ptab_i64(const char *s, int64_t *v)
{
	uint64_t u;
	int neg = s[0] == '-';

	if (digits(s + neg, 10, &u) < 0 || u > (uint64_t)INT64_MAX + neg)
		return -EINVAL;
	*v = neg ? (int64_t)(0 - u) : (int64_t)u;
	return 0;
}

int ipcc_ptab_octal(const char *s, unsigned *v)
{
	uint64_t u;

	if (digits(s, 8, &u) < 0 || u > 0xffffffffu)
		return -EINVAL;
	*v = (unsigned)u;
	return 0;
}
