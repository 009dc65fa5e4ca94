/*
 * Named semaphores on Linux: a System V set of exactly one semaphore whose
 * key is fnv1a32("/" name).  Never SEM_UNDO: a value posted stays posted
 * when the poster exits, like a POSIX semaphore.
 *
 * Creation is made race-free the classic way: the creator's first semop
 * sets sem_otime, and openers wait (briefly) for a non-zero sem_otime
 * before they trust the value.  The wait is put off until the handle is
 * first used on the value: opening to stat a set (ls -l sem/) never waits,
 * which matters for sets made by others that never saw a semop.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <time.h>

#include "ipcc_int.h"
#include "sem_sysv.h"

struct ipcc_sem {
	int semid;
	atomic_int ready;       /* its creator is known to be done with it */
};

/* Longest wait for a new set's creator to finish initialising it. */
#define OTIME_WAIT_MS 200

/* An op on a stored id: EINVAL/EIDRM mean the set is gone. */
static int op_err(int err)
{
	return (err == EINVAL || err == EIDRM) ? -EIDRM : -err;
}


int ipcc_sem_ctl(int id, int cmd, void *ds)
{
	union ipcc_semun arg = { .buf = ds };

	if (cmd == IPCC_SYSV_STAT_IDX) {
		cmd = SEM_STAT;
	} else if (cmd == IPCC_SYSV_STAT_ANY) {
#ifdef SEM_STAT_ANY
		cmd = SEM_STAT_ANY;
#else
		errno = EINVAL;
		return -1;
#endif
	}
	return semctl(id, 0, cmd, arg);
}

int ipcc_sem_stat_raw(int semid, struct semid_ds *ds)
{
	return ipcc_sysv_stat(ipcc_sem_ctl, semid, ds);
}

void ipcc_sem_fill_stat(int semid, const struct semid_ds *ds,
                        struct ipcc_sem_stat *st)
{
	memset(st, 0, sizeof(*st));
	st->key = IPCC_PERM_KEY(ds->sem_perm);
	st->semid = semid;
	st->mode = ds->sem_perm.mode & 0777;
	st->uid = ds->sem_perm.uid;
	st->gid = ds->sem_perm.gid;
	st->cuid = ds->sem_perm.cuid;
	st->cgid = ds->sem_perm.cgid;
	st->otime = ds->sem_otime;
	st->ctime = ds->sem_ctime;
	ipcc_sem_stat_times(st);
}

int ipcc_sem_fill_counts(int semid, struct ipcc_sem_stat *st)
{
	int v;

	if ((v = semctl(semid, 0, GETVAL)) < 0)
		return -errno;
	st->value = (unsigned)v;
	if ((v = semctl(semid, 0, GETNCNT)) < 0)
		return -errno;
	st->ncnt = (unsigned)v;
	if ((v = semctl(semid, 0, GETZCNT)) < 0)
		return -errno;
	st->zcnt = (unsigned)v;
	if ((v = semctl(semid, 0, GETPID)) < 0)
		return -errno;
	st->pid = (pid_t)v;
	return 0;
}

static int new_handle(int semid, int ready, ipcc_sem **out)
{
	struct ipcc_sem *sem = calloc(1, sizeof(*sem));

	if (!sem)
		return -ENOMEM;
	sem->semid = semid;
	atomic_init(&sem->ready, ready);
	*out = sem;
	return 0;
}

/* The id of the one-semaphore set with this key. */
static int find_key(key_t key, int *semid)
{
	for (int tries = 0; tries < 100; tries++) {
		struct semid_ds ds;
		int id = semget(key, 0, 0);
		int err;

		if (id < 0)
			return -errno;
		err = ipcc_sem_stat_raw(id, &ds);
		if (err == -EINVAL || err == -EIDRM)
			continue;       /* removed meanwhile: look again */
		if (err)
			return err;
		if (ds.sem_nsems != 1)
			return -EINVAL;
		*semid = id;
		return 0;
	}
	return -ENOENT;
}

/*
 * Waits until the creator has initialised the set: a non-zero otime.
 * Sets that never saw a semop (ipcmk -S 1) keep otime 0 for ever, so wait
 * only for young sets, and not long.
 */
static int settle(const ipcc_sem *sem)
{
	unsigned waited = 0, step = 1;

	if (atomic_load(&sem->ready))
		return 0;
	for (;;) {
		struct semid_ds ds;
		int err = ipcc_sem_stat_raw(sem->semid, &ds);

		if (err)
			return op_err(-err);
		if (ds.sem_otime != 0 || waited >= OTIME_WAIT_MS ||
		    time(NULL) - ds.sem_ctime > 2)
			break;
		ipcc_sleep_ms(step);
		waited += step;
		if (step < 20)
			step *= 2;
	}
	/* the flag only ever goes from 0 to 1: a cache, not the object */
	atomic_store(&((ipcc_sem *)sem)->ready, 1);
	return 0;
}

static int name_key(const char *name, key_t *key)
{
	int err = ipcc_name_check(name, 0);

	if (err)
		return err;
	*key = ipcc_sem_key(name);
	/* key 0 is IPC_PRIVATE: such a name cannot have a semaphore */
	return *key == IPC_PRIVATE ? -EINVAL : 0;
}

static int create_key(key_t key, mode_t mode, unsigned value, ipcc_sem **out)
{
	/* we must be able to do the first semop: owner rw until it is done */
	mode_t first = (mode & 0600) == 0600 ? (mode & 0777) : 0600;
	struct sembuf op = { .sem_num = 0, .sem_op = (short)value,
	                     .sem_flg = IPC_NOWAIT };
	int id, err;

	mode &= 0777;
	if (value > IPCC_SEM_VALUE_MAX)
		return -ERANGE;
	id = semget(key, 1, IPC_CREAT | IPC_EXCL | (int)first);
	if (id < 0)
		return -errno;
	/* sets value and sem_otime in one step (op 0 when value is 0) */
	if (semop(id, &op, 1) < 0) {
		err = -errno;
		goto out_remove;
	}
	if (first != mode) {
		struct semid_ds ds;
		union ipcc_semun arg = { .buf = &ds };

		if (semctl(id, 0, IPC_STAT, arg) < 0) {
			err = -errno;
			goto out_remove;
		}
		ds.sem_perm.mode = mode;
		if (semctl(id, 0, IPC_SET, arg) < 0) {
			err = -errno;
			goto out_remove;
		}
	}
	err = new_handle(id, 1, out);
	if (err)
		goto out_remove;
	return 0;

out_remove:
	semctl(id, 0, IPC_RMID);
	return err;
}

int ipcc_sem_create(const char *name, mode_t mode, unsigned value,
                    ipcc_sem **out)
{
	key_t key;
	int err = name_key(name, &key);

	if (err)
		return err;
	return create_key(key, mode, value, out);
}

int ipcc_sem_open(const char *name, ipcc_sem **out)
{
	key_t key;
	int err = name_key(name, &key);

	if (err)
		return err;
	return ipcc_sem_open_key(key, out);
}

int ipcc_sem_open_or_create(const char *name, mode_t mode, unsigned value,
                            int *created, ipcc_sem **out)
{
	key_t key;
	int err = name_key(name, &key);

	if (err)
		return err;
	if (value > IPCC_SEM_VALUE_MAX)
		return -ERANGE;
	/* a removal between the two steps sends us round again */
	for (int tries = 0; tries < 100; tries++) {
		err = create_key(key, mode, value, out);
		if (err == 0) {
			if (created)
				*created = 1;
			return 0;
		}
		if (err != -EEXIST)
			return err;
		err = ipcc_sem_open_key(key, out);
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

int ipcc_sem_open_key(key_t key, ipcc_sem **out)
{
	int semid = -1, err;

	/* semget(IPC_PRIVATE) would create a set */
	if (key == IPC_PRIVATE)
		return -EINVAL;
	err = find_key(key, &semid);
	if (err)
		return err;
	return new_handle(semid, 0, out);
}

void ipcc_sem_close(ipcc_sem *sem)
{
	free(sem);
}

static int count_ok(unsigned n)
{
	if (n == 0)
		return -EINVAL;
	return n > IPCC_SEM_VALUE_MAX ? -ERANGE : 0;
}

int ipcc_sem_post(ipcc_sem *sem, unsigned n)
{
	struct sembuf op = { .sem_num = 0, .sem_op = 0, .sem_flg = IPC_NOWAIT };
	int err = count_ok(n);

	if (!err)
		err = settle(sem);
	if (err)
		return err;
	op.sem_op = (short)n;
	return semop(sem->semid, &op, 1) < 0 ? op_err(errno) : 0;
}

int ipcc_sem_wait(ipcc_sem *sem, unsigned n, const struct timespec *timeout)
{
	struct sembuf op = { .sem_num = 0, .sem_op = 0, .sem_flg = 0 };
	int err = count_ok(n);

	if (!err)
		err = settle(sem);
	if (err)
		return err;
	op.sem_op = (short)-(int)n;
	if (!timeout) {
		/* no retry on EINTR: that is how callers cancel a wait */
		if (semop(sem->semid, &op, 1) == 0)
			return 0;
		return errno == EINTR ? -EINTR : op_err(errno);
	}
	/* checked here: semtimedop's EINVAL would read as "removed" */
	if (timeout->tv_sec < 0 || timeout->tv_nsec < 0 ||
	    timeout->tv_nsec >= 1000000000L)
		return -EINVAL;
	if (semtimedop(sem->semid, &op, 1, timeout) == 0)
		return 0;
	if (errno == EAGAIN)
		return -ETIMEDOUT;
	return errno == EINTR ? -EINTR : op_err(errno);
}

int ipcc_sem_trywait(ipcc_sem *sem, unsigned n)
{
	struct sembuf op = { .sem_num = 0, .sem_op = 0, .sem_flg = IPC_NOWAIT };
	int err = count_ok(n);

	if (!err)
		err = settle(sem);
	if (err)
		return err;
	op.sem_op = (short)-(int)n;
	if (semop(sem->semid, &op, 1) == 0)
		return 0;
	return errno == EAGAIN ? -EAGAIN : op_err(errno);
}

int ipcc_sem_set(ipcc_sem *sem, unsigned value)
{
	union ipcc_semun arg = { .val = 0 };
	int err;

	if (value > IPCC_SEM_VALUE_MAX)
		return -ERANGE;
	err = settle(sem);
	if (err)
		return err;
	arg.val = (int)value;
	return semctl(sem->semid, 0, SETVAL, arg) < 0 ? op_err(errno) : 0;
}

int ipcc_sem_value(const ipcc_sem *sem, unsigned *value)
{
	int err = settle(sem);
	int v;

	if (err)
		return err;
	v = semctl(sem->semid, 0, GETVAL);
	if (v < 0)
		return op_err(errno);
	*value = (unsigned)v;
	return 0;
}

int ipcc_sem_stat(const ipcc_sem *sem, struct ipcc_sem_stat *st)
{
	struct semid_ds ds;
	int err = ipcc_sem_stat_raw(sem->semid, &ds);

	if (err)
		return op_err(-err);
	ipcc_sem_fill_stat(sem->semid, &ds, st);
	err = ipcc_sem_fill_counts(sem->semid, st);
	return err ? op_err(-err) : 0;
}

int ipcc_sem_stat_lite(const ipcc_sem *sem, struct ipcc_sem_stat *st)
{
	struct semid_ds ds;
	int err = ipcc_sem_stat_raw(sem->semid, &ds);

	if (err)
		return op_err(-err);
	ipcc_sem_fill_stat(sem->semid, &ds, st);
	return 0;
}

int ipcc_sem_set_perm(ipcc_sem *sem, mode_t mode, uid_t uid, gid_t gid)
{
	struct semid_ds ds;
	union ipcc_semun arg = { .buf = &ds };
	int err = ipcc_sem_stat_raw(sem->semid, &ds);

	if (err)
		return op_err(-err);
	if (mode != (mode_t)-1)
		ds.sem_perm.mode = (ds.sem_perm.mode & ~0777u) | (mode & 0777);
	if (uid != (uid_t)-1)
		ds.sem_perm.uid = uid;
	if (gid != (gid_t)-1)
		ds.sem_perm.gid = gid;
	return semctl(sem->semid, 0, IPC_SET, arg) < 0 ? op_err(errno) : 0;
}

int ipcc_sem_remove(ipcc_sem *sem)
{
	return semctl(sem->semid, 0, IPC_RMID) < 0 ? op_err(errno) : 0;
}

int ipcc_sem_unlink(const char *name)
{
	key_t key;
	int semid = -1, err = name_key(name, &key);

	if (err)
		return err;
	err = find_key(key, &semid);
	/* a set of another size under our key is not ours to remove */
	if (err == -EINVAL)
		return -ENOENT;
	if (err)
		return err;
	if (semctl(semid, 0, IPC_RMID) < 0)
		return (errno == EINVAL || errno == EIDRM) ? -ENOENT : -errno;
	return 0;
}
