/*
 * Named semaphores on darwin: POSIX named semaphores "/name".
 *
 * macOS cannot read a named semaphore's value (sem_getvalue is ENOSYS),
 * has no sem_timedwait and no way to list them, so value, set, stat,
 * set_perm, open_key and listing answer -ENOTSUP.  Counts above 1 are
 * taken one by one and given back when the whole count cannot be had, so
 * they are not atomic.  A removed semaphore keeps working for handles
 * already open (no -EIDRM), and the create mode is subject to the umask.
 */
#include <errno.h>
#include <semaphore.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ipcc_int.h"

struct ipcc_sem {
	sem_t *s;
	char name[IPCC_NAME_MAX + 2];
};

/* How often a timed wait polls (no sem_timedwait on darwin). */
#define POLL_MS 5

static int sys_open(const char *name, int oflag, mode_t mode, unsigned value,
                    ipcc_sem **out)
{
	struct ipcc_sem *sem;
	int err = ipcc_name_check(name, 0);

	if (err)
		return err;
	if (value > IPCC_SEM_VALUE_MAX)
		return -ERANGE;
	sem = calloc(1, sizeof(*sem));
	if (!sem)
		return -ENOMEM;
	ipcc_name_slash(name, sem->name);
	sem->s = sem_open(sem->name, oflag, mode & 0777, value);
	if (sem->s == SEM_FAILED) {
		err = -errno;
		free(sem);
		return err;
	}
	*out = sem;
	return 0;
}

int ipcc_sem_create(const char *name, mode_t mode, unsigned value,
                    ipcc_sem **out)
{
	return sys_open(name, O_CREAT | O_EXCL, mode, value, out);
}

int ipcc_sem_open(const char *name, ipcc_sem **out)
{
	return sys_open(name, 0, 0, 0, out);
}

int ipcc_sem_open_or_create(const char *name, mode_t mode, unsigned value,
                            int *created, ipcc_sem **out)
{
	int err = -EAGAIN;

	for (int tries = 0; tries < 100; tries++) {
		err = ipcc_sem_create(name, mode, value, out);
		if (err != -EEXIST)
			break;
		err = ipcc_sem_open(name, out);
		if (err != -ENOENT) {
			if (err == 0 && created)
				*created = 0;
			return err;
		}
	}
	if (err == 0 && created)
		*created = 1;
	return err;
}

int ipcc_sem_open_key(key_t key, ipcc_sem **out)
{
	(void)key;
	(void)out;
	return -ENOTSUP;
}

void ipcc_sem_close(ipcc_sem *sem)
{
	if (!sem)
		return;
	sem_close(sem->s);
	free(sem);
}

static int count_ok(unsigned n)
{
	if (n == 0)
		return -EINVAL;
	return n > IPCC_SEM_VALUE_MAX ? -ERANGE : 0;
}

static void give_back(ipcc_sem *sem, unsigned taken)
{
	while (taken--)
		sem_post(sem->s);
}

int ipcc_sem_post(ipcc_sem *sem, unsigned n)
{
	int err = count_ok(n);

	if (err)
		return err;
	for (unsigned i = 0; i < n; i++) {
		if (sem_post(sem->s) < 0) {
			err = errno == EOVERFLOW ? -ERANGE : -errno;
			/* take back what went in: all or nothing */
			while (i-- > 0)
				sem_trywait(sem->s);
			return err;
		}
	}
	return 0;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One unit, polling until the deadline (ms on the monotonic clock). */
static int take_one_by(ipcc_sem *sem, int64_t deadline)
{
	for (;;) {
		int64_t left;

		if (sem_trywait(sem->s) == 0)
			return 0;
		if (errno != EAGAIN)
			return -errno;
		left = deadline - now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		/* a plain nanosleep so that a signal ends the wait */
		struct timespec ts = { 0, (left < POLL_MS ? left : POLL_MS) *
		                          1000000L };
		if (nanosleep(&ts, NULL) < 0 && errno == EINTR)
			return -EINTR;
	}
}

int ipcc_sem_wait(ipcc_sem *sem, unsigned n, const struct timespec *timeout)
{
	int64_t deadline = 0;
	int err = count_ok(n);

	if (err)
		return err;
	if (timeout) {
		if (timeout->tv_sec < 0 || timeout->tv_nsec < 0 ||
		    timeout->tv_nsec >= 1000000000L)
			return -EINVAL;
		deadline = now_ms() + (int64_t)timeout->tv_sec * 1000 +
		           timeout->tv_nsec / 1000000;
	}
	for (unsigned i = 0; i < n; i++) {
		if (timeout)
			err = take_one_by(sem, deadline);
		else
			err = sem_wait(sem->s) < 0 ? -errno : 0;
		if (err) {
			give_back(sem, i);
			return err;
		}
	}
	return 0;
}

int ipcc_sem_trywait(ipcc_sem *sem, unsigned n)
{
	int err = count_ok(n);

	if (err)
		return err;
	for (unsigned i = 0; i < n; i++) {
		if (sem_trywait(sem->s) < 0) {
			err = -errno;
			give_back(sem, i);
			return err;
		}
	}
	return 0;
}

int ipcc_sem_set(ipcc_sem *sem, unsigned value)
{
	(void)sem;
	(void)value;
	return -ENOTSUP;
}

int ipcc_sem_value(const ipcc_sem *sem, unsigned *value)
{
	(void)sem;
	(void)value;
	return -ENOTSUP;
}

int ipcc_sem_stat_lite(const ipcc_sem *sem, struct ipcc_sem_stat *st)
{
	/* nothing here is costly to count */
	return ipcc_sem_stat(sem, st);
}

int ipcc_sem_stat(const ipcc_sem *sem, struct ipcc_sem_stat *st)
{
	(void)sem;
	(void)st;
	return -ENOTSUP;
}

int ipcc_sem_set_perm(ipcc_sem *sem, mode_t mode, uid_t uid, gid_t gid)
{
	(void)sem;
	(void)mode;
	(void)uid;
	(void)gid;
	return -ENOTSUP;
}

int ipcc_sem_remove(ipcc_sem *sem)
{
	return sem_unlink(sem->name) < 0 ? -errno : 0;
}

int ipcc_sem_unlink(const char *name)
{
	char slashed[IPCC_NAME_MAX + 2];
	int err = ipcc_name_check(name, 0);

	if (err)
		return err;
	ipcc_name_slash(name, slashed);
	return sem_unlink(slashed) < 0 ? -errno : 0;
}

struct ipcc_sem_iter {
	int unused;
};

int ipcc_sem_iter_new(ipcc_sem_iter **out)
{
	(void)out;
	return -ENOTSUP;
}

int ipcc_sem_iter_next(ipcc_sem_iter *it, struct ipcc_sem_stat *st)
{
	(void)it;
	(void)st;
	return 0;
}

void ipcc_sem_iter_free(ipcc_sem_iter *it)
{
	(void)it;
}
