/*
 * Listing every System V message queue: /proc/sysvipc/msg in one pass,
 * or the MSG_INFO / MSG_STAT walk when /proc is not there.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>

#include "ipcc_int.h"

enum {
	COL_KEY, COL_MSQID, COL_PERMS, COL_CBYTES, COL_QNUM, COL_LSPID,
	COL_LRPID, COL_UID, COL_GID, COL_CUID, COL_CGID, COL_STIME, COL_RTIME,
	COL_CTIME, COL_COUNT
};

static const char *const msg_cols[COL_COUNT] = {
	"key", "msqid", "perms", "cbytes", "qnum", "lspid", "lrpid", "uid",
	"gid", "cuid", "cgid", "stime", "rtime", "ctime",
};

struct ipcc_msq_iter {
	struct ipcc_ptab *tab;   /* NULL: walking the kernel table */
	int idx, max_idx;
};

static int row_to_stat(const char **f, struct ipcc_msq_stat *st)
{
	int64_t key, id, lspid, lrpid, uid, gid, cuid, cgid, s, r, c;
	uint64_t cbytes, qnum;
	unsigned perms;

	if (ipcc_ptab_i64(f[COL_KEY], &key) ||
	    ipcc_ptab_i64(f[COL_MSQID], &id) ||
	    ipcc_ptab_octal(f[COL_PERMS], &perms) ||
	    ipcc_ptab_u64(f[COL_CBYTES], &cbytes) ||
	    ipcc_ptab_u64(f[COL_QNUM], &qnum) ||
	    ipcc_ptab_i64(f[COL_LSPID], &lspid) ||
	    ipcc_ptab_i64(f[COL_LRPID], &lrpid) ||
	    ipcc_ptab_i64(f[COL_UID], &uid) || ipcc_ptab_i64(f[COL_GID], &gid) ||
	    ipcc_ptab_i64(f[COL_CUID], &cuid) ||
	    ipcc_ptab_i64(f[COL_CGID], &cgid) ||
	    ipcc_ptab_i64(f[COL_STIME], &s) ||
	    ipcc_ptab_i64(f[COL_RTIME], &r) || ipcc_ptab_i64(f[COL_CTIME], &c))
		return -EINVAL;
	memset(st, 0, sizeof(*st));
	st->key = (key_t)key;
	st->msqid = (int)id;
	st->mode = perms & 0777;
	st->cbytes = cbytes;
	st->qnum = qnum;
	st->lspid = (pid_t)lspid;
	st->lrpid = (pid_t)lrpid;
	st->uid = (uid_t)uid;
	st->gid = (gid_t)gid;
	st->cuid = (uid_t)cuid;
	st->cgid = (gid_t)cgid;
	st->stime = s;
	st->rtime = r;
	st->ctime = c;
	return 0;
}

int ipcc_msq_iter_new(ipcc_msq_iter **out)
{
	struct ipcc_msq_iter *it = calloc(1, sizeof(*it));
	int err;

	if (!it)
		return -ENOMEM;
	err = ipcc_ptab_open("/proc/sysvipc/msg", msg_cols, COL_COUNT,
	                     &it->tab);
	if (err) {
		struct msginfo info;
		int max = msgctl(0, MSG_INFO, (struct msqid_ds *)(void *)&info);

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

static int walk_next(ipcc_msq_iter *it, struct ipcc_msq_stat *st)
{
	struct msqid_ds ds;
	int id;

	while ((id = ipcc_sysv_walk(ipcc_msq_ctl, &it->idx, it->max_idx,
	                            &ds)) >= 0)
		if (ipcc_msq_stat_id(id, st) == 0)
			return 1;
	return 0;
}

int ipcc_msq_iter_next(ipcc_msq_iter *it, struct ipcc_msq_stat *st)
{
	const char *f[COL_COUNT];
	int r;

	if (!it->tab)
		return walk_next(it, st);
	while ((r = ipcc_ptab_next(it->tab, f)) == 1)
		if (row_to_stat(f, st) == 0)
			return 1;
	return r;
}

void ipcc_msq_iter_free(ipcc_msq_iter *it)
{
	if (!it)
		return;
	ipcc_ptab_close(it->tab);
	free(it);
}
