/*
 * System V semaphore sets of any size (sysv-sem/): by key or by id, the
 * values, the per-semaphore counts, and the command language run as one
 * semop.  Never SEM_UNDO: what a write posts stays posted when the writer
 * exits, as with the kernel's own semop without the flag.
 *
 * nsems is read once when a handle is made: a set never changes size, and
 * a removed set fails every later call with -EIDRM anyway.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <time.h>

#include "ipcc_int.h"
#include "sem_sysv.h"

struct ipcc_semset {
	int semid;
	unsigned nsems;
	key_t key;
};

#define NSEC_PER_SEC 1000000000L

/* An op on a stored id: EINVAL/EIDRM mean the set is gone. */
static int op_err(int err)
{
	return (err == EINVAL || err == EIDRM) ? -EIDRM : -err;
}

static void fill_stat(int semid, const struct semid_ds *ds,
                      struct ipcc_semset_stat *st)
{
	memset(st, 0, sizeof(*st));
	st->key = IPCC_PERM_KEY(ds->sem_perm);
	st->semid = semid;
	st->nsems = (unsigned)ds->sem_nsems;
	st->mode = ds->sem_perm.mode & 0777;
	st->uid = ds->sem_perm.uid;
	st->gid = ds->sem_perm.gid;
	st->cuid = ds->sem_perm.cuid;
	st->cgid = ds->sem_perm.cgid;
	st->otime = ds->sem_otime;
	st->ctime = ds->sem_ctime;
}

int ipcc_semset_stat_id(int semid, struct ipcc_semset_stat *st)
{
	struct semid_ds ds;
	int err;

	if (semid < 0)
		return -ENOENT;
	err = ipcc_sem_stat_raw(semid, &ds);
	if (err == -EINVAL || err == -EIDRM)
		return -ENOENT;
	if (err)
		return err;
	fill_stat(semid, &ds, st);
	return 0;
}

static int new_handle(const struct ipcc_semset_stat *st, ipcc_semset **out)
{
	struct ipcc_semset *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	s->semid = st->semid;
	s->nsems = st->nsems;
	s->key = st->key;
	*out = s;
	return 0;
}

int ipcc_semset_open_id(int semid, ipcc_semset **out)
{
	struct ipcc_semset_stat st;
	int err = ipcc_semset_stat_id(semid, &st);

	if (err)
		return err;
	return new_handle(&st, out);
}

int ipcc_semset_open_key(key_t key, ipcc_semset **out)
{
	/* semget(IPC_PRIVATE) would create a set */
	if (key == IPC_PRIVATE)
		return -EINVAL;
	for (int tries = 0; tries < 100; tries++) {
		struct ipcc_semset_stat st;
		/* flags 0 ask for no permission: never -EACCES */
		int id = semget(key, 0, 0), err;

		if (id < 0)
			return -errno;
		err = ipcc_semset_stat_id(id, &st);
		if (err == -ENOENT)
			continue;       /* removed meanwhile: look again */
		if (err)
			return err;
		return new_handle(&st, out);
	}
	return -ENOENT;
}

/* SEMMSL, the largest set the kernel makes: 0 if it cannot be read. */
static unsigned semmsl(void)
{
	struct seminfo info;
	union ipcc_semun arg = { .buf = (struct semid_ds *)(void *)&info };

	if (semctl(0, 0, IPC_INFO, arg) < 0 || info.semmsl <= 0)
		return 0;
	return (unsigned)info.semmsl;
}

static int nsems_ok(unsigned nsems)
{
	unsigned max = semmsl();

	if (nsems == 0 || nsems > IPCC_SEMSET_INDEX_MAX + 1 ||
	    (max && nsems > max))
		return -EINVAL;
	return 0;
}

int ipcc_semset_create(key_t key, unsigned nsems, mode_t mode, unsigned flags,
                       int *created, ipcc_semset **out)
{
	int perm = (int)(mode & 0777), err;

	err = nsems_ok(nsems);
	if (err)
		return err;
	/* a removal between the two steps sends us round again */
	for (int tries = 0; tries < 100; tries++) {
		struct ipcc_semset_stat st;
		int id = semget(key, (int)nsems, IPC_CREAT | IPC_EXCL | perm);

		if (id >= 0) {
			/* semget applies no umask: the mode is already exact */
			err = ipcc_semset_stat_id(id, &st);
			if (!err)
				err = new_handle(&st, out);
			if (err) {
				semctl(id, 0, IPC_RMID);
				return err;
			}
			if (created)
				*created = 1;
			return 0;
		}
		if (errno != EEXIST || (flags & IPCC_SEMSET_EXCL))
			return -errno;
		err = ipcc_semset_open_key(key, out);
		if (err == 0) {
			if (created)
				*created = 0;
			return 0;
		}
		if (err != -ENOENT)
			return err;
	}
	return -EAGAIN;
}

void ipcc_semset_close(ipcc_semset *s)
{
	free(s);
}

int ipcc_semset_id(const ipcc_semset *s)
{
	return s->semid;
}

unsigned ipcc_semset_nsems(const ipcc_semset *s)
{
	return s->nsems;
}

int ipcc_semset_stat(const ipcc_semset *s, struct ipcc_semset_stat *st)
{
	struct semid_ds ds;
	int err = ipcc_sem_stat_raw(s->semid, &ds);

	if (err)
		return op_err(-err);
	fill_stat(s->semid, &ds, st);
	return 0;
}

int ipcc_semset_counts(const ipcc_semset *s, unsigned *ncnt, unsigned *zcnt,
                       pid_t *pid, size_t n)
{
	for (unsigned i = 0; i < s->nsems && i < n; i++) {
		int v;

		if (ncnt) {
			if ((v = semctl(s->semid, (int)i, GETNCNT)) < 0)
				return op_err(errno);
			ncnt[i] = (unsigned)v;
		}
		if (zcnt) {
			if ((v = semctl(s->semid, (int)i, GETZCNT)) < 0)
				return op_err(errno);
			zcnt[i] = (unsigned)v;
		}
		if (pid) {
			if ((v = semctl(s->semid, (int)i, GETPID)) < 0)
				return op_err(errno);
			pid[i] = (pid_t)v;
		}
	}
	return (int)s->nsems;
}

int ipcc_semset_values(const ipcc_semset *s, unsigned *values, size_t n)
{
	unsigned short small[64], *all = small;
	union ipcc_semun arg;
	int err = 0;

	if (s->nsems > sizeof(small) / sizeof(small[0])) {
		all = malloc(s->nsems * sizeof(*all));
		if (!all)
			return -ENOMEM;
	}
	arg.array = all;
	/* GETALL: every value at one instant, not one GETVAL after another */
	if (semctl(s->semid, 0, GETALL, arg) < 0) {
		err = op_err(errno);
		goto out;
	}
	for (unsigned i = 0; i < s->nsems && i < n; i++)
		values[i] = all[i];
out:
	if (all != small)
		free(all);
	return err ? err : (int)s->nsems;
}

int ipcc_semset_setval(ipcc_semset *s, unsigned index, unsigned value)
{
	union ipcc_semun arg = { .val = 0 };

	if (index >= s->nsems)
		return -EINVAL;
	if (value > IPCC_SEM_VALUE_MAX)
		return -ERANGE;
	arg.val = (int)value;
	return semctl(s->semid, (int)index, SETVAL, arg) < 0 ? op_err(errno) : 0;
}

int ipcc_semset_set_perm(ipcc_semset *s, mode_t mode, uid_t uid, gid_t gid)
{
	struct semid_ds ds;
	union ipcc_semun arg = { .buf = &ds };
	int err = ipcc_sem_stat_raw(s->semid, &ds);

	if (err)
		return op_err(-err);
	if (mode != (mode_t)-1)
		ds.sem_perm.mode = (ds.sem_perm.mode & ~0777u) | (mode & 0777);
	if (uid != (uid_t)-1)
		ds.sem_perm.uid = uid;
	if (gid != (gid_t)-1)
		ds.sem_perm.gid = gid;
	return semctl(s->semid, 0, IPC_SET, arg) < 0 ? op_err(errno) : 0;
}

int ipcc_semset_remove(ipcc_semset *s)
{
	return semctl(s->semid, 0, IPC_RMID) < 0 ? op_err(errno) : 0;
}

int ipcc_semset_resize(ipcc_semset *s, unsigned nsems)
{
	struct ipcc_semset_stat st;
	int err, id;

	err = ipcc_semset_stat(s, &st);
	if (err)
		return err;
	if (nsems == st.nsems)
		return 0;
	if (st.key == IPC_PRIVATE)
		return -EINVAL;
	/* checked before the old set is removed: no way back after that */
	err = nsems_ok(nsems);
	if (err)
		return err;
	if (st.otime != 0)
		return -EBUSY;
	if (semctl(s->semid, 0, IPC_RMID) < 0)
		return op_err(errno);
	id = semget(st.key, (int)nsems, IPC_CREAT | IPC_EXCL | (int)st.mode);
	if (id < 0)
		return -errno;
	s->semid = id;
	s->nsems = nsems;
	return 0;
}

/* ---- the command runner ---- */

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
}

static int count_ok(unsigned n)
{
	if (n == 0)
		return -EINVAL;
	return n > IPCC_SEM_VALUE_MAX ? -ERANGE : 0;
}

/* How one command changes its semaphore; 0 with *op set, or -errno. */
static int to_op(const struct ipcc_sem_cmd *c, int *op)
{
	int err;

	switch (c->op) {
	case IPCC_SEM_OP_POST:
		err = count_ok(c->n);
		*op = (int)c->n;
		return err;
	case IPCC_SEM_OP_WAIT:
	case IPCC_SEM_OP_TRYWAIT:
		err = count_ok(c->n);
		*op = -(int)c->n;
		return err;
	case IPCC_SEM_OP_TIMEDWAIT:
		if (c->timeout.tv_sec < 0 || c->timeout.tv_nsec < 0 ||
		    c->timeout.tv_nsec >= NSEC_PER_SEC)
			return -EINVAL;
		*op = -1;
		return 0;
	case IPCC_SEM_OP_ZERO:
		*op = 0;
		return 0;
	case IPCC_SEM_OP_SET:
		break;
	}
	return -EINVAL;
}

static int run(ipcc_semset *s, const struct ipcc_sem_cmd *cmds, size_t count,
               const struct ipcc_cancel *cancel, int nowait)
{
	struct sembuf ops[IPCC_SEM_CMD_MAX];
	int64_t timeout_ns = -1, deadline = 0;

	if (count == 0 || count > IPCC_SEM_CMD_MAX)
		return -EINVAL;
	if (cmds[0].op == IPCC_SEM_OP_SET) {
		if (count != 1)
			return -EINVAL;
		return ipcc_semset_setval(s, cmds[0].index, cmds[0].n);
	}
	for (size_t i = 0; i < count; i++) {
		const struct ipcc_sem_cmd *c = &cmds[i];
		int op = 0, err;

		if (c->index >= s->nsems)
			return -EINVAL;
		err = to_op(c, &op);
		if (err)
			return err;
		if (c->op == IPCC_SEM_OP_TRYWAIT)
			nowait = 1;
		if (c->op == IPCC_SEM_OP_TIMEDWAIT) {
			int64_t t = (int64_t)c->timeout.tv_sec * NSEC_PER_SEC +
			            c->timeout.tv_nsec;

			if (timeout_ns < 0 || t < timeout_ns)
				timeout_ns = t;
		}
		ops[i].sem_num = (unsigned short)c->index;
		ops[i].sem_op = (short)op;
		ops[i].sem_flg = 0;
	}
	if (nowait) {
		for (size_t i = 0; i < count; i++)
			ops[i].sem_flg = IPC_NOWAIT;
		timeout_ns = -1;
	}
	if (timeout_ns >= 0)
		deadline = now_ns() + timeout_ns;

	for (;;) {
		struct timespec chunk, *tp = NULL;
		int64_t left = -1;

		if (cancel && cancel->cancelled(cancel->arg))
			return -EINTR;
		if (timeout_ns >= 0) {
			left = deadline - now_ns();
			if (left < 0)
				left = 0;   /* one last try that does not block */
		}
		if (cancel && !nowait &&
		    (left < 0 || left > IPCC_CANCEL_POLL_MS * 1000000LL))
			left = IPCC_CANCEL_POLL_MS * 1000000LL;
		if (left >= 0) {
			chunk.tv_sec = (time_t)(left / NSEC_PER_SEC);
			chunk.tv_nsec = (long)(left % NSEC_PER_SEC);
			tp = &chunk;
		}
		if (semtimedop(s->semid, ops, count, tp) == 0)
			return 0;
		switch (errno) {
		case EAGAIN:
			if (nowait)
				return -EAGAIN;
			if (timeout_ns >= 0 && now_ns() >= deadline)
				return -ETIMEDOUT;
			continue;       /* a chunk ended: ask the hook again */
		case EINTR:
			if (!cancel)
				return -EINTR;
			continue;       /* the signal only says: ask now */
		case EFBIG:
			return -EINVAL; /* an index past the set */
		default:
			return op_err(errno);
		}
	}
}

int ipcc_semset_run(ipcc_semset *s, const struct ipcc_sem_cmd *cmds,
                    size_t count, const struct ipcc_cancel *cancel)
{
	return run(s, cmds, count, cancel, 0);
}

int ipcc_semset_try(ipcc_semset *s, const struct ipcc_sem_cmd *cmds,
                    size_t count)
{
	return run(s, cmds, count, NULL, 1);
}

int ipcc_semset_give_back(ipcc_semset *s, const struct ipcc_sem_cmd *cmds,
                          size_t count)
{
	struct sembuf ops[IPCC_SEM_CMD_MAX];
	int net[IPCC_SEM_CMD_MAX];
	unsigned short idx[IPCC_SEM_CMD_MAX];
	size_t n = 0, nops = 0;

	if (count > IPCC_SEM_CMD_MAX)
		return -EINVAL;
	/* the net change per semaphore: a post then a wait took nothing */
	for (size_t i = 0; i < count; i++) {
		int op = 0;
		size_t j;

		if (cmds[i].op == IPCC_SEM_OP_SET || to_op(&cmds[i], &op) < 0)
			continue;
		for (j = 0; j < n && idx[j] != cmds[i].index; j++)
			;
		if (j == n) {
			idx[n] = (unsigned short)cmds[i].index;
			net[n++] = 0;
		}
		net[j] += op;
	}
	for (size_t j = 0; j < n; j++) {
		if (net[j] >= 0)
			continue;
		/* what succeeded was at most the value before: fits in short */
		ops[nops].sem_num = idx[j];
		ops[nops].sem_op = (short)-net[j];
		ops[nops].sem_flg = IPC_NOWAIT;
		nops++;
	}
	if (nops == 0)
		return 0;
	return semop(s->semid, ops, nops) < 0 ? op_err(errno) : 0;
}

/* ---- listing ---- */

enum {
	COL_KEY, COL_SEMID, COL_PERMS, COL_NSEMS, COL_UID, COL_GID, COL_CUID,
	COL_CGID, COL_OTIME, COL_CTIME, COL_COUNT
};

static const char *const sem_cols[COL_COUNT] = {
	"key", "semid", "perms", "nsems", "uid", "gid", "cuid", "cgid",
	"otime", "ctime",
};

struct ipcc_semset_iter {
	struct ipcc_ptab *tab;   /* NULL: walking the kernel table */
	int idx, max_idx;
};

/* 0 with *st filled, -EINVAL for a row we cannot read. */
static int row_to_stat(const char **f, struct ipcc_semset_stat *st)
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
	    ipcc_ptab_i64(f[COL_CTIME], &ct) || id < 0 || id > INT32_MAX ||
	    nsems > UINT32_MAX)
		return -EINVAL;
	memset(st, 0, sizeof(*st));
	st->key = (key_t)key;
	st->semid = (int)id;
	st->nsems = (unsigned)nsems;
	st->mode = perms & 0777;
	st->uid = (uid_t)uid;
	st->gid = (gid_t)gid;
	st->cuid = (uid_t)cuid;
	st->cgid = (gid_t)cgid;
	st->otime = ot;
	st->ctime = ct;
	return 0;
}

int ipcc_semset_iter_new(ipcc_semset_iter **out)
{
	struct ipcc_semset_iter *it = calloc(1, sizeof(*it));
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

static int walk_next(ipcc_semset_iter *it, struct ipcc_semset_stat *st)
{
	struct semid_ds ds;
	int id = ipcc_sysv_walk(ipcc_sem_ctl, &it->idx, it->max_idx, &ds);

	if (id < 0)
		return 0;
	fill_stat(id, &ds, st);
	return 1;
}

int ipcc_semset_iter_next(ipcc_semset_iter *it, struct ipcc_semset_stat *st)
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

void ipcc_semset_iter_free(ipcc_semset_iter *it)
{
	if (!it)
		return;
	ipcc_ptab_close(it->tab);
	free(it);
}
