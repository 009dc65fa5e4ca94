/*
 * POSIX named semaphores as glibc keeps them: the file sem.<name> in the
 * POSIX object directory (/dev/shm, or another one given with
 * ipcc_shm_dir_set), holding one sem_t, mapped MAP_SHARED by everyone who
 * uses it.  We do what sem_open does inside, relative to the directory
 * fd (never by path, never through a symlink), and then use the C
 * library's own sem_post / sem_trywait / sem_clockwait / sem_getvalue on
 * the mapping, so the layout is the C library's business, not ours.  A
 * file of another size is not one of its semaphores and is left alone.
 *
 * Creating is race-free as in sem_open: the sem_t is written into a file
 * no one can see yet, which is then linked into place, so an opener
 * never finds a half-made semaphore.
 *
 * Anyone allowed to write the file may also truncate it under our
 * mapping; the next touch of the mapping would then raise SIGBUS and end
 * the daemon.  Every sem_* call on a mapping therefore runs with SIGBUS
 * caught for that thread (sem_call): such a call fails with -EIO instead,
 * and a SIGBUS that is not ours goes on as if we were not there.
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ipcc_int.h"

#define PREFIX "sem."
#define PREFIX_LEN 4
/* "sem." + name + NUL */
#define FNAME_MAX (PREFIX_LEN + IPCC_NAME_MAX + 1)
#define NSEC_PER_SEC 1000000000L

struct ipcc_psem {
	int fd;
	sem_t *sem;
	int writable;
	int created;
	atomic_int broken;      /* its file was cut short under the mapping */
};

/* ---- SIGBUS from a file cut short under the mapping ---- */

/*
 * The C library's sem_* cannot be left halfway (a wait's cleanup touches
 * the semaphore again), so a fault is not jumped out of: the handler puts
 * a private zero page where the file's page was, the call finishes on
 * it, and sem_call then reports EIO and marks the handle broken.
 */
static __thread char *bus_page;         /* the mapping a sem_call is on */
static __thread volatile sig_atomic_t bus_hit;
static struct sigaction bus_prev;
static long bus_pagesize;
static pthread_once_t bus_once = PTHREAD_ONCE_INIT;

static void on_bus(int sig, siginfo_t *si, void *ctx)
{
	char *a = si->si_addr;

	if (bus_page && a >= bus_page && a < bus_page + bus_pagesize &&
	    mmap(bus_page, (size_t)bus_pagesize, PROT_READ | PROT_WRITE,
	         MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) != MAP_FAILED) {
		bus_hit = 1;
		return;
	}
	/* not ours: whoever was there before */
	if ((bus_prev.sa_flags & SA_SIGINFO) && bus_prev.sa_sigaction) {
		bus_prev.sa_sigaction(sig, si, ctx);
	} else if (bus_prev.sa_handler != SIG_DFL &&
	           bus_prev.sa_handler != SIG_IGN) {
		bus_prev.sa_handler(sig);
	} else {
		/* the fault comes again on return, with the default action */
		sigaction(SIGBUS, &bus_prev, NULL);
	}
}

static void bus_install(void)
{
	struct sigaction sa;

	bus_pagesize = sysconf(_SC_PAGESIZE);
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_bus;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, &bus_prev);
}

enum sem_op { CALL_POST, CALL_TRYWAIT, CALL_CLOCKWAIT, CALL_VALUE };

/* "sem.<name>" from a checked name. */
static int file_name(const char *name, int for_create, char buf[FNAME_MAX])
{
	int err = ipcc_name_check(name, for_create);

	if (err)
		return err;
	snprintf(buf, FNAME_MAX, PREFIX "%s", ipcc_name_bare(name));
	return 0;
}

/* Opens an existing one: a symlink or a non-file reads as absent. */
static int open_existing(int dfd, const char *fname, int acc)
{
	int fd = openat(dfd, fname, acc | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	struct stat st;

	if (fd < 0)
		return errno == ELOOP ? -ENOENT : -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -ENOENT;
	}
	return fd;
}

static int write_all(int fd, const void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = write(fd, (const char *)buf + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		done += (size_t)n;
	}
	return 0;
}

/* The new file's content: what sem_open writes, a process-shared sem_t. */
static int fill(int fd, mode_t mode, unsigned value)
{
	sem_t init;
	int err;

	memset(&init, 0, sizeof(init));
	if (sem_init(&init, 1, value) < 0)
		return -errno;
	err = write_all(fd, &init, sizeof(init));
	/* no umask: the create mode is exact */
	if (!err && fchmod(fd, mode & 0777) < 0)
		err = -errno;
	return err;
}

/*
 * An O_TMPFILE file put in place: 0, -EEXIST, or -ENOTSUP to fall back to
 * a named temporary file.  AT_EMPTY_PATH may need a capability (before
 * Linux 6.10), /proc/self/fd may be refused to a thread running as
 * another user than the process: neither is an answer for the caller.
 */
static int link_tmpfile(int dfd, int fd, const char *fname)
{
	char proc[64];

	if (linkat(fd, "", dfd, fname, AT_EMPTY_PATH) == 0)
		return 0;
	if (errno == EEXIST)
		return -EEXIST;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	if (linkat(AT_FDCWD, proc, dfd, fname, AT_SYMLINK_FOLLOW) == 0)
		return 0;
	return errno == EEXIST ? -EEXIST : -ENOTSUP;
}

/*
 * A fresh semaphore file linked in as fname: its fd, -EEXIST if the name
 * is taken, or another -errno.
 */
static int create_file(int dfd, const char *fname, mode_t mode, unsigned value)
{
	char tmp[PREFIX_LEN + 32];
	int fd, err;

	fd = openat(dfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0) {
		err = fill(fd, mode, value);
		if (!err)
			err = link_tmpfile(dfd, fd, fname);
		if (!err)
			return fd;
		close(fd);
		if (err != -ENOTSUP)
			return err;
	} else if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL) {
		return -errno;
	}
	/* no O_TMPFILE here: a random name, as sem_open itself does */
	for (int tries = 0; tries < 100; tries++) {
		uint64_t r;

		if (getrandom(&r, sizeof(r), 0) != sizeof(r))
			return -EIO;
		snprintf(tmp, sizeof(tmp), PREFIX "ipcc-tmp.%016llx",
		         (unsigned long long)r);
		fd = openat(dfd, tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC |
		            O_NOFOLLOW, 0600);
		if (fd >= 0)
			break;
		if (errno != EEXIST)
			return -errno;
	}
	if (fd < 0)
		return -EEXIST;
	err = fill(fd, mode, value);
	if (!err && linkat(dfd, tmp, dfd, fname, 0) < 0)
		err = -errno;
	unlinkat(dfd, tmp, 0);
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

/* Maps an open semaphore file; takes fd (closed on failure). */
static int map(int fd, int writable, int created, ipcc_psem **out)
{
	struct ipcc_psem *p;
	struct stat st;
	void *m;
	int err;

	if (fstat(fd, &st) < 0) {
		err = -errno;
		goto out_close;
	}
	/* not a sem_t of this C library: refuse rather than corrupt it */
	if (st.st_size != (off_t)sizeof(sem_t)) {
		err = -EINVAL;
		goto out_close;
	}
	m = mmap(NULL, sizeof(sem_t), PROT_READ | (writable ? PROT_WRITE : 0),
	         MAP_SHARED, fd, 0);
	if (m == MAP_FAILED) {
		err = -errno;
		goto out_close;
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		err = -ENOMEM;
		goto out_unmap;
	}
	p->fd = fd;
	p->sem = m;
	p->writable = writable;
	p->created = created;
	*out = p;
	return 0;

out_unmap:
	munmap(m, sizeof(sem_t));
out_close:
	close(fd);
	return err;
}

int ipcc_psem_open(const char *name, int oflag, mode_t mode, unsigned value,
                   ipcc_psem **out)
{
	char fname[FNAME_MAX];
	int acc = oflag & O_ACCMODE;
	int dfd, fd = -ENOENT, err;

	if (acc != O_RDONLY && acc != O_RDWR)
		return -EINVAL;
	err = file_name(name, (oflag & O_CREAT) != 0, fname);
	if (err)
		return err;
	/* a container's semaphores of another C library: never touched */
	err = ipcc_ns_sem_ok();
	if (err)
		return err;
	if ((oflag & O_CREAT) && value > IPCC_SEM_VALUE_MAX)
		return -ERANGE;
	dfd = ipcc_shm_dir_fd();
	if (dfd < 0)
		return dfd;
	/* a removal between the two steps sends us round again */
	for (int tries = 0; tries < 100; tries++) {
		if (!(oflag & O_EXCL) || !(oflag & O_CREAT)) {
			fd = open_existing(dfd, fname, acc);
			if (fd >= 0)
				return map(fd, acc == O_RDWR, 0, out);
			if (fd != -ENOENT || !(oflag & O_CREAT))
				return fd;
		}
		fd = create_file(dfd, fname, mode, value);
		if (fd >= 0)
			return map(fd, acc == O_RDWR, 1, out);
		if (fd != -EEXIST || (oflag & O_EXCL))
			return fd;
	}
	/* still nothing: the name is taken by something not a file */
	return -EEXIST;
}

void ipcc_psem_close(ipcc_psem *p)
{
	if (!p)
		return;
	munmap(p->sem, sizeof(sem_t));
	close(p->fd);
	free(p);
}

int ipcc_psem_dup(const ipcc_psem *p, ipcc_psem **out)
{
	int fd = fcntl(p->fd, F_DUPFD_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	return map(fd, p->writable, p->created, out);
}

int ipcc_psem_created(const ipcc_psem *p)
{
	return p->created;
}

static int count_ok(unsigned n)
{
	if (n == 0)
		return -EINVAL;
	return n > IPCC_SEM_VALUE_MAX ? -ERANGE : 0;
}

/*
 * One sem_* call on p's mapping, as the C library answers it (-1 and
 * errno), or -1 with errno EIO if the file was cut short under it (then
 * and ever after).  The thread may block every signal (FUSE workers do):
 * SIGBUS is let through for the call, as a blocked fault signal would
 * end the process.
 */
static int sem_call(ipcc_psem *p, enum sem_op op, const struct timespec *abs,
                    int *value)
{
	sigset_t bus, old;
	int r = -1, saved;

	if (atomic_load(&p->broken)) {
		errno = EIO;
		return -1;
	}
	pthread_once(&bus_once, bus_install);
	sigemptyset(&bus);
	sigaddset(&bus, SIGBUS);
	pthread_sigmask(SIG_UNBLOCK, &bus, &old);
	bus_hit = 0;
	bus_page = (char *)p->sem;
	switch (op) {
	case CALL_POST:
		r = sem_post(p->sem);
		break;
	case CALL_TRYWAIT:
		r = sem_trywait(p->sem);
		break;
	case CALL_CLOCKWAIT:
		r = sem_clockwait(p->sem, CLOCK_MONOTONIC, abs);
		break;
	case CALL_VALUE:
		r = sem_getvalue(p->sem, value);
		break;
	}
	saved = errno;
	bus_page = NULL;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (bus_hit) {
		atomic_store(&p->broken, 1);
		saved = EIO;
		r = -1;
	}
	errno = saved;
	return r;
}

/* Posts n without the command limit (for giving back). */
static int post_n(ipcc_psem *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (sem_call(p, CALL_POST, NULL, NULL) < 0) {
			int err = errno == EOVERFLOW ? -ERANGE : -errno;

			/* take back what went in: all or nothing */
			while (i-- > 0)
				sem_call(p, CALL_TRYWAIT, NULL, NULL);
			return err;
		}
	}
	return 0;
}

static void give_back(ipcc_psem *p, unsigned taken)
{
	while (taken--)
		sem_call(p, CALL_POST, NULL, NULL);
}

int ipcc_psem_post(ipcc_psem *p, unsigned n)
{
	int err = count_ok(n);

	if (err)
		return err;
	if (!p->writable)
		return -EBADF;
	return post_n(p, n);
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
}

/* Whether the file still holds the whole sem_t we mapped. */
static int intact(const ipcc_psem *p)
{
	struct stat st;

	return !atomic_load(&p->broken) && fstat(p->fd, &st) == 0 &&
	       st.st_size >= (off_t)sizeof(sem_t);
}

/*
 * Chunks of a wait: shorter than IPCC_CANCEL_POLL_MS, since the file can
 * be cut short under a waiter (anyone who may write it may truncate it),
 * which only a look between chunks sees.
 */
#define PSEM_CHUNK_MS 1000

/*
 * One unit, by deadline (monotonic ns, -1: none), asking cancel; in
 * chunks of at most PSEM_CHUNK_MS, with or without a hook.
 */
static int wait_one(ipcc_psem *p, int64_t deadline,
                    const struct ipcc_cancel *cancel)
{
	for (;;) {
		struct timespec abs;
		int64_t now, until;

		if (cancel && cancel->cancelled(cancel->arg))
			return -EINTR;
		/*
		 * The futex call of a wait on a file cut short fails with
		 * EFAULT, which the C library takes for a fatal error: look
		 * before each chunk (a cut inside one ends in SIGBUS, caught).
		 */
		if (!intact(p))
			return -EIO;
		now = now_ns();
		until = deadline;
		if (until < 0 || until - now > PSEM_CHUNK_MS * 1000000LL)
			until = now + PSEM_CHUNK_MS * 1000000LL;
		abs.tv_sec = (time_t)(until / NSEC_PER_SEC);
		abs.tv_nsec = (long)(until % NSEC_PER_SEC);
		if (sem_call(p, CALL_CLOCKWAIT, &abs, NULL) == 0)
			return 0;
		switch (errno) {
		case ETIMEDOUT:
			if (deadline >= 0 && now_ns() >= deadline)
				return -ETIMEDOUT;
			continue;       /* a chunk ended: ask the hook again */
		case EINTR:
			if (!cancel)
				return -EINTR;
			continue;       /* the signal only says: ask now */
		default:
			return -errno;
		}
	}
}

int ipcc_psem_wait(ipcc_psem *p, unsigned n, const struct timespec *timeout,
                   const struct ipcc_cancel *cancel)
{
	int64_t deadline = -1;
	int err = count_ok(n);

	if (err)
		return err;
	if (!p->writable)
		return -EBADF;
	if (timeout) {
		if (timeout->tv_sec < 0 || timeout->tv_nsec < 0 ||
		    timeout->tv_nsec >= NSEC_PER_SEC)
			return -EINVAL;
		deadline = now_ns() + (int64_t)timeout->tv_sec * NSEC_PER_SEC +
		           timeout->tv_nsec;
	}
	for (unsigned i = 0; i < n; i++) {
		err = wait_one(p, deadline, cancel);
		if (err) {
			give_back(p, i);
			return err;
		}
	}
	return 0;
}

int ipcc_psem_trywait(ipcc_psem *p, unsigned n)
{
	int err = count_ok(n);

	if (err)
		return err;
	if (!p->writable)
		return -EBADF;
	for (unsigned i = 0; i < n; i++) {
		if (sem_call(p, CALL_TRYWAIT, NULL, NULL) < 0) {
			err = -errno;
			give_back(p, i);
			return err;
		}
	}
	return 0;
}

int ipcc_psem_value(const ipcc_psem *p, unsigned *value)
{
	int v;

	/* broken may be set: a note about the file, not a change of p */
	if (sem_call((ipcc_psem *)p, CALL_VALUE, NULL, &v) < 0)
		return -errno;
	*value = v < 0 ? 0 : (unsigned)v;
	return 0;
}

int ipcc_psem_fstat(const ipcc_psem *p, struct stat *st)
{
	return fstat(p->fd, st) < 0 ? -errno : 0;
}

/* chown before chmod: chown may clear set-id bits that mode asks for */
int ipcc_psem_fset(ipcc_psem *p, mode_t mode, uid_t uid, gid_t gid)
{
	if ((uid != (uid_t)-1 || gid != (gid_t)-1) && fchown(p->fd, uid, gid) < 0)
		return -errno;
	if (mode != (mode_t)-1 && fchmod(p->fd, mode & 0777) < 0)
		return -errno;
	return 0;
}

int ipcc_psem_run(ipcc_psem *p, const struct ipcc_sem_cmd *cmds, size_t count,
                  const struct ipcc_cancel *cancel, size_t *done)
{
	size_t i;
	int err = 0;

	for (i = 0; i < count && !err; i++) {
		const struct ipcc_sem_cmd *c = &cmds[i];

		switch (c->op) {
		case IPCC_SEM_OP_POST:
			err = ipcc_psem_post(p, c->n);
			break;
		case IPCC_SEM_OP_WAIT:
			err = ipcc_psem_wait(p, c->n, NULL, cancel);
			break;
		case IPCC_SEM_OP_TRYWAIT:
			err = ipcc_psem_trywait(p, c->n);
			break;
		case IPCC_SEM_OP_TIMEDWAIT:
			err = ipcc_psem_wait(p, 1, &c->timeout, cancel);
			break;
		case IPCC_SEM_OP_SET:
			err = -ENOTSUP;     /* POSIX has no atomic set */
			break;
		default:
			err = -EINVAL;
			break;
		}
		if (err)
			break;
	}
	if (done)
		*done = i;
	return err;
}

int ipcc_psem_give_back(ipcc_psem *p, const struct ipcc_sem_cmd *cmds,
                        size_t count)
{
	size_t taken = 0;

	for (size_t i = 0; i < count; i++) {
		if (cmds[i].op == IPCC_SEM_OP_WAIT ||
		    cmds[i].op == IPCC_SEM_OP_TRYWAIT)
			taken += cmds[i].n;
		else if (cmds[i].op == IPCC_SEM_OP_TIMEDWAIT)
			taken += 1;
	}
	if (!p->writable)
		return taken ? -EBADF : 0;
	return post_n(p, taken);
}

/* ---- by name ---- */

static int lookup(const char *name, char fname[FNAME_MAX], int *dfd,
                  struct stat *st)
{
	int err = file_name(name, 0, fname);

	if (err)
		return err;
	*dfd = ipcc_shm_dir_fd();
	if (*dfd < 0)
		return *dfd;
	if (fstatat(*dfd, fname, st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	return S_ISREG(st->st_mode) ? 0 : -ENOENT;
}

int ipcc_psem_stat(const char *name, struct stat *st)
{
	char fname[FNAME_MAX];
	int dfd;

	return lookup(name, fname, &dfd, st);
}

int ipcc_psem_set(const char *name, mode_t mode, uid_t uid, gid_t gid)
{
	char fname[FNAME_MAX];
	struct stat st;
	int dfd, err = lookup(name, fname, &dfd, &st);

	if (err)
		return err;
	if ((uid != (uid_t)-1 || gid != (gid_t)-1) &&
	    fchownat(dfd, fname, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	/* NOFOLLOW: a symlink swapped in meanwhile is not followed */
	if (mode != (mode_t)-1 &&
	    fchmodat(dfd, fname, mode & 0777, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == EOPNOTSUPP ? -ENOENT : -errno;
	return 0;
}

int ipcc_psem_unlink(const char *name)
{
	char fname[FNAME_MAX];
	struct stat st;
	int dfd, err = lookup(name, fname, &dfd, &st);

	if (err)
		return err;
	return unlinkat(dfd, fname, 0) < 0 ? -errno : 0;
}

/* ---- listing ---- */

struct ipcc_psem_iter {
	DIR *dir;
};

int ipcc_psem_iter_new(ipcc_psem_iter **out)
{
	struct ipcc_psem_iter *it;
	int dfd = ipcc_shm_dir_fd(), fd, err;

	if (dfd < 0)
		return dfd;
	it = calloc(1, sizeof(*it));
	if (!it)
		return -ENOMEM;
	/* a new open, not a dup: iterators must not share one offset */
	fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		goto out_free;
	}
	it->dir = fdopendir(fd);
	if (!it->dir) {
		err = -errno;
		close(fd);
		goto out_free;
	}
	*out = it;
	return 0;

out_free:
	free(it);
	return err;
}

int ipcc_psem_iter_next(ipcc_psem_iter *it, char name[IPCC_NAME_MAX + 1],
                        struct stat *st)
{
	for (;;) {
		struct dirent *de;
		const char *n;

		errno = 0;
		de = readdir(it->dir);
		if (!de)
			return errno ? -errno : 0;
		if (strncmp(de->d_name, PREFIX, PREFIX_LEN) != 0)
			continue;
		n = de->d_name + PREFIX_LEN;
		if (ipcc_name_check(n, 0) != 0 || n[0] == '/')
			continue;
		if (de->d_type != DT_REG && de->d_type != DT_UNKNOWN)
			continue;
		if (fstatat(dirfd(it->dir), de->d_name, st,
		            AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st->st_mode))
			continue;   /* removed meanwhile, or not a file */
		memcpy(name, n, strlen(n) + 1);
		return 1;
	}
}

void ipcc_psem_iter_free(ipcc_psem_iter *it)
{
	if (!it)
		return;
	closedir(it->dir);
	free(it);
}
