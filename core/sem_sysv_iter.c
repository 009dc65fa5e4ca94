/*
 * Listing every one-semaphore System V set: the sets of any size that
 * ipcc_semset_iter finds, minus the bigger ones.  The table has no values,
 * so each listed set costs a few semctl calls for its counts.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/sem.h>

#include "ipcc_int.h"
#include "sem_sysv.h"

struct ipcc_sem_iter {
	ipcc_semset_iter *sets;
};

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
	err = ipcc_semset_iter_new(&it->sets);
	if (err) {
		free(it);
		return err;
	}
	*out = it;
	return 0;
}

int ipcc_sem_iter_next(ipcc_sem_iter *it, struct ipcc_sem_stat *st)
{
	struct ipcc_semset_stat set;
	int r;

	while ((r = ipcc_semset_iter_next(it->sets, &set)) == 1) {
		if (set.nsems != 1)
			continue;   /* not a named semaphore */
		memset(st, 0, sizeof(*st));
		st->key = set.key;
		st->semid = set.semid;
		st->mode = set.mode;
		st->uid = set.uid;
		st->gid = set.gid;
		st->cuid = set.cuid;
		st->cgid = set.cgid;
		st->otime = set.otime;
		st->ctime = set.ctime;
		ipcc_sem_stat_times(st);
		if (add_counts(st) == 0)
			return 1;
	}
	return r;
}

void ipcc_sem_iter_free(ipcc_sem_iter *it)
{
	if (!it)
		return;
	ipcc_semset_iter_free(it->sets);
	free(it);
}
