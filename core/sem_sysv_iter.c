/*
 * Listing every one-semaphore System V set: /proc/sysvipc/sem, or the
 * SEM_INFO / SEM_STAT walk when /proc is not there.  The table has no
 * values, so each listed set costs a few semctl calls for its counts.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/sem.h>

#include "ipcc_int.h"
#include "sem_sysv.h"

enum {
	COL_KEY, COL_SEMID, COL_PERMS, COL_NSEMS, COL_UID, COL_GID, COL_CUID,
	COL_CGID, COL_OTIME, COL_CTIME, COL_COUNT
};

static const char *const sem_cols[COL_COUNT] = {
	"key", "semid", "perms", "nsems", "uid", "gid", "cuid", "cgid",
	"otime", "ctime",
};

struct ipcc_sem_iter {
	struct ipcc_ptab *tab;   /* NULL: walking the kernel table */
	int idx, max_idx;
};

/* 0 if the row is a one-semaphore set, filled in; -EINVAL to skip it. */
static int row_to_stat(const char **f, struct ipcc_sem_stat *st)
{
	int64_t key, id, uid, gid, cuid, cgid, ot, ct;
	uint64_t nsems;
	unsigned perms;

	if (ipcc_ptab_i64(f[COL_KEY], &key) || ipcc_ptab_i64(f[COL_SEMID], &id) ||
	    ipcc_ptab_octal(f[COL_PERMS], &perms) ||
	    ipcc_ptab_u64(f[COL_NSEMS], &nsems) ||
	    ipcc_ptab_i64(f[COL_UID], &uid) || ipcc_ptab_i64(f[COL_GID], &gid) ||
	    ipcc_ptab_i64(f[COL_CUID], &cuid) ||
	    ipcc_ptab_i64(f[COL_CGID], &cgid) ||
	    ipcc_ptab_i64(f[COL_OTIME], &ot) ||
	    ipcc_ptab_i64(f[COL_CTIME], &ct) || nsems != 1)
		return -EINVAL;
	memset(st, 0, sizeof(*st));
	st->key = (key_t)key;
	st->semid = (int)id;
	st->mode = perms & 0777;
	st->uid = (uid_t)uid;
	st->gid = (gid_t)gid;
	st->cuid = (uid_t)cuid;
	st->cgid = (gid_t)cgid;
	st->otime = ot;
	st->ctime = ct;
	ipcc_sem_stat_times(st);
	return 0;
}

/* Counts for a listed set: 0, or -EINVAL when it vanished meanwhile. */
static int add_counts(struct ipcc_sem_stat *st)
{
	int err = ipcc_sem_fill_counts(st->semid, st);

	if (err == -EINVAL || err == -EIDRM)
		return -EINVAL;
	/* not readable by us (EACCES): list it, counts unknown (0) */
	if (err) {
		st->value = st->ncnt = st->zcnt = 0;
		st->pid = 0;
	}
	return 0;
}

int ipcc_sem_iter_new(ipcc_sem_iter **out)
{
	struct ipcc_sem_iter *it = calloc(1, sizeof(*it));
	int err;

	if (!it)
		return -ENOMEM;
	err = ipcc_ptab_open("/proc/sysvipc/sem", sem_cols, COL_COUNT, &it->tab);
	if (err) {
		struct seminfo info;
		union ipcc_semun arg = { .buf = (struct semid_ds *)(void *)&info };
		int max = semctl(0, 0, SEM_INFO, arg);

		if (max < 0) {
			err = -errno;
			free(it);
			return err;
		}
		it->tab = NULL;
		it->max_idx = max;
	}
	*out = it;
	return 0;
}

static int walk_next(ipcc_sem_iter *it, struct ipcc_sem_stat *st)
{
	while (it->idx <= it->max_idx) {
		struct semid_ds ds;
		union ipcc_semun arg = { .buf = &ds };
		int idx = it->idx++;
		int id = semctl(idx, 0, SEM_STAT, arg);

#ifdef SEM_STAT_ANY
		if (id < 0 && errno == EACCES)
			id = semctl(idx, 0, SEM_STAT_ANY, arg);
#endif
		if (id < 0 || ds.sem_nsems != 1)
			continue;   /* free slot, removed, or not one of ours */
		ipcc_sem_fill_stat(id, &ds, st);
		if (add_counts(st) == 0)
			return 1;
	}
	return 0;
}

int ipcc_sem_iter_next(ipcc_sem_iter *it, struct ipcc_sem_stat *st)
{
	const char *f[COL_COUNT];
	int r;

	if (!it->tab)
		return walk_next(it, st);
	while ((r = ipcc_ptab_next(it->tab, f)) == 1)
		if (row_to_stat(f, st) == 0 && add_counts(st) == 0)
			return 1;
	return r;
}

void ipcc_sem_iter_free(ipcc_sem_iter *it)
{
	if (!it)
		return;
	ipcc_ptab_close(it->tab);
	free(it);
}
