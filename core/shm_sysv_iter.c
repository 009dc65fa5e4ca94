/*
 * Listing every System V segment: /proc/sysvipc/shm in one pass, or, when
 * /proc is not there, the SHM_INFO / SHM_STAT walk over the kernel table.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>

#include "ipcc_int.h"

enum {
	COL_KEY, COL_SHMID, COL_PERMS, COL_SIZE, COL_CPID, COL_LPID,
	COL_NATTCH, COL_UID, COL_GID, COL_CUID, COL_CGID, COL_ATIME,
	COL_DTIME, COL_CTIME, COL_COUNT
};

static const char *const shm_cols[COL_COUNT] = {
	"key", "shmid", "perms", "size", "cpid", "lpid", "nattch", "uid",
	"gid", "cuid", "cgid", "atime", "dtime", "ctime",
};

struct ipcc_shm_iter {
	struct ipcc_ptab *tab;   /* NULL: walking the kernel table */
	int idx, max_idx;
};

/* SHM_DEST as /proc prints it (the kernel's value; darwin has no /proc) */
#define PROC_SHM_DEST 01000u

static int row_to_stat(const char **f, struct ipcc_shm_stat *st)
{
	int64_t key, id, cpid, lpid, uid, gid, cuid, cgid, at, dt, ct;
	uint64_t size, nattch;
	unsigned perms;

	if (ipcc_ptab_i64(f[COL_KEY], &key) || ipcc_ptab_i64(f[COL_SHMID], &id) ||
	    ipcc_ptab_octal(f[COL_PERMS], &perms) ||
	    ipcc_ptab_u64(f[COL_SIZE], &size) ||
	    ipcc_ptab_i64(f[COL_CPID], &cpid) ||
	    ipcc_ptab_i64(f[COL_LPID], &lpid) ||
	    ipcc_ptab_u64(f[COL_NATTCH], &nattch) ||
	    ipcc_ptab_i64(f[COL_UID], &uid) || ipcc_ptab_i64(f[COL_GID], &gid) ||
	    ipcc_ptab_i64(f[COL_CUID], &cuid) ||
	    ipcc_ptab_i64(f[COL_CGID], &cgid) ||
	    ipcc_ptab_i64(f[COL_ATIME], &at) ||
	    ipcc_ptab_i64(f[COL_DTIME], &dt) ||
	    ipcc_ptab_i64(f[COL_CTIME], &ct))
		return -EINVAL;
	memset(st, 0, sizeof(*st));
	st->key = (key_t)key;
	st->shmid = (int)id;
	st->size = size;
	st->mode = perms & 0777;
	st->uid = (uid_t)uid;
	st->gid = (gid_t)gid;
	st->cuid = (uid_t)cuid;
	st->cgid = (gid_t)cgid;
	st->cpid = (pid_t)cpid;
	st->lpid = (pid_t)lpid;
	st->nattch = nattch;
	st->atime = at;
	st->dtime = dt;
	st->ctime = ct;
	ipcc_shm_stat_times(st);
	st->removed = (perms & PROC_SHM_DEST) != 0;
	if (st->removed)
		st->key = IPC_PRIVATE;
	return 0;
}

int ipcc_shm_iter_new(ipcc_shm_iter **out)
{
	struct ipcc_shm_iter *it = calloc(1, sizeof(*it));
	int err;

	if (!it)
		return -ENOMEM;
	err = ipcc_ptab_open("/proc/sysvipc/shm", shm_cols, COL_COUNT, &it->tab);
	if (err) {
#ifdef SHM_INFO
		struct shm_info info;
		int max = shmctl(0, SHM_INFO, (struct shmid_ds *)(void *)&info);

		if (max < 0) {
			err = -errno;
			free(it);
			return err;
		}
		it->tab = NULL;
		it->max_idx = max;
#else
		free(it);
		return -ENOTSUP;
#endif
	}
	*out = it;
	return 0;
}

#ifdef SHM_INFO
/* One step of the kernel table walk: 1, 0 at the end, or -errno. */
static int walk_next(ipcc_shm_iter *it, struct ipcc_shm_stat *st)
{
	struct shmid_ds ds;
	int id = ipcc_sysv_walk(ipcc_shm_ctl, &it->idx, it->max_idx, &ds);

	if (id < 0)
		return 0;
	ipcc_shm_fill_stat(id, &ds, st);
	return 1;
}
#endif

int ipcc_shm_iter_next(ipcc_shm_iter *it, struct ipcc_shm_stat *st)
{
	const char *f[COL_COUNT];
	int r;

	if (!it->tab) {
#ifdef SHM_INFO
		return walk_next(it, st);
#else
		return 0;
#endif
	}
	while ((r = ipcc_ptab_next(it->tab, f)) == 1)
		if (row_to_stat(f, st) == 0)
			return 1;
	return r;
}

void ipcc_shm_iter_free(ipcc_shm_iter *it)
{
	if (!it)
		return;
	ipcc_ptab_close(it->tab);
	free(it);
}
