/*
 * POSIX message queues: open, send and receive through mq_open's
 * descriptors, and looking (listing, stat, the status line) through the
 * mqueue filesystem.
 *
 * No mqueue filesystem needs to be mounted anywhere: ipcc_mq_init makes a
 * detached mount of the calling thread's IPC namespace's one (the new
 * mount API), which nobody else can see and which no /proc/mounts lists.
 * mq_open itself works without any mount (the kernel keeps one per IPC
 * namespace).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <mqueue.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include "ipcc_int.h"

#ifndef MQUEUE_MAGIC
#define MQUEUE_MAGIC 0x19800202
#endif

#define GIVE_BACK_MS 5000
#define GIVE_BACK_STEP_MS 5

/* The mqueue filesystem to look at, or -1: set once, before threads. */
static int mq_dir = -1;
static int mq_inited;

struct ipcc_mq {
	mqd_t mqd;
	int created;
	long msgsize;           /* fixed for the queue's life */
};

struct ipcc_mq_iter {
	DIR *dir;
};

int ipcc_mq_name_check(const char *name)
{
	size_t len;

	if (!name)
		return -EINVAL;
	name = ipcc_name_bare(name);
	len = strlen(name);
	if (len > IPCC_MQ_NAME_MAX)
		return -ENAMETOOLONG;
	if (len == 0 || strcmp(name, ".") == 0 || strcmp(name, "..") == 0 ||
	    memchr(name, '/', len))
		return -EINVAL;
	return 0;
}

/* "/" + the bare name, for mq_open and mq_unlink; name checked. */
static void slash(const char *name, char buf[IPCC_MQ_NAME_MAX + 2])
{
	name = ipcc_name_bare(name);
	buf[0] = '/';
	memcpy(buf + 1, name, strlen(name) + 1);
}

/* /dev/mqueue when it really is an mqueue filesystem, else -1. */
static int open_dev_mqueue(void)
{
	struct statfs sfs;
	int fd = open("/dev/mqueue", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	if (fstatfs(fd, &sfs) < 0 || sfs.f_type != MQUEUE_MAGIC) {
		close(fd);
		return -1;
	}
	return fd;
}

int ipcc_mq_init(void)
{
	int fs, mnt, err;

	if (mq_inited)
		return -EBUSY;
	mq_inited = 1;
	fs = fsopen("mqueue", FSOPEN_CLOEXEC);
	if (fs < 0) {
		err = -errno;
		goto fallback;
	}
	if (fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) {
		err = -errno;
		close(fs);
		goto fallback;
	}
	/* we only look through it: changes go through mq_* calls */
	mnt = fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_RDONLY |
	              MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
	              MOUNT_ATTR_NOEXEC);
	err = -errno;
	close(fs);
	if (mnt < 0)
		goto fallback;
	mq_dir = mnt;
	return 0;

fallback:
	/* no CAP_SYS_ADMIN: a mounted one will do, if there is one */
	mq_dir = open_dev_mqueue();
	return mq_dir >= 0 ? 0 : err;
}

int ipcc_mq_listable(void)
{
	return mq_dir >= 0;
}

static void fill_stat(const struct stat *sb, struct ipcc_mq_stat *st)
{
	memset(st, 0, sizeof(*st));
	st->ino = sb->st_ino;
	st->mode = sb->st_mode & 0777;
	st->uid = sb->st_uid;
	st->gid = sb->st_gid;
	st->atime = sb->st_atim.tv_sec;
	st->mtime = sb->st_mtim.tv_sec;
	st->ctime = sb->st_ctim.tv_sec;
}

/*
 * mq_open for looking only, by whichever access mode we are allowed
 * (the daemon is root, but need not be).
 */
static mqd_t open_any(const char *name)
{
	static const int modes[] = { O_RDWR, O_RDONLY, O_WRONLY };
	char path[IPCC_MQ_NAME_MAX + 2];
	mqd_t m = (mqd_t)-1;

	slash(name, path);
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		m = mq_open(path, modes[i] | O_CLOEXEC);
		if (m != (mqd_t)-1 || errno != EACCES)
			break;
	}
	return m;
}

int ipcc_mq_stat(const char *name, struct ipcc_mq_stat *st)
{
	struct stat sb;
	mqd_t m;
	int err = ipcc_mq_name_check(name);

	if (err)
		return err;
	if (mq_dir >= 0) {
		if (fstatat(mq_dir, ipcc_name_bare(name), &sb,
		            AT_SYMLINK_NOFOLLOW) < 0)
			return -errno;
		if (!S_ISREG(sb.st_mode))
			return -ENOENT;
		fill_stat(&sb, st);
		return 0;
	}
	m = open_any(name);
	if (m == (mqd_t)-1)
		return -errno;
	err = fstat(m, &sb) < 0 ? -errno : 0;
	if (!err)
		fill_stat(&sb, st);
	mq_close(m);
	return err;
}

/* Reads the status line of an open queue file from offset 0. */
static ssize_t read_status(int fd, char buf[IPCC_MQ_STATUS_MAX])
{
	ssize_t n = pread(fd, buf, IPCC_MQ_STATUS_MAX - 1, 0);

	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return n;
}

ssize_t ipcc_mq_status(const char *name, char buf[IPCC_MQ_STATUS_MAX])
{
	ssize_t n;
	int fd, err = ipcc_mq_name_check(name);

	if (err)
		return err;
	if (mq_dir >= 0) {
		fd = openat(mq_dir, ipcc_name_bare(name),
		            O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
		if (fd < 0)
			return -errno;
		n = read_status(fd, buf);
		close(fd);
		return n;
	}
	fd = open_any(name);
	if (fd < 0)
		return -errno;
	n = read_status(fd, buf);
	mq_close(fd);
	return n;
}

int ipcc_mq_unlink(const char *name)
{
	char path[IPCC_MQ_NAME_MAX + 2];
	int err = ipcc_mq_name_check(name);

	if (err)
		return err;
	slash(name, path);
	return mq_unlink(path) < 0 ? -errno : 0;
}

/* ---- handles --------------------------------------------------------- */

/*
 * Opens an existing queue read-write, or as much as we may; with create,
 * makes it exclusively (exact mode, default limits).  -errno.
 */
static mqd_t open_mode(const char *path, int create, mode_t mode)
{
	static const int modes[] = { O_RDWR, O_WRONLY, O_RDONLY };
	mqd_t m = (mqd_t)-1;

	if (create)
		return mq_open(path, O_RDWR | O_CLOEXEC | O_CREAT | O_EXCL,
		               mode & 0777, NULL);
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		m = mq_open(path, modes[i] | O_CLOEXEC);
		if (m != (mqd_t)-1 || errno != EACCES)
			break;
	}
	return m;
}

int ipcc_mq_open(const char *name, int oflag, mode_t mode, ipcc_mq **out)
{
	char path[IPCC_MQ_NAME_MAX + 2];
	struct ipcc_mq *q;
	struct mq_attr attr;
	mqd_t m = (mqd_t)-1;
	int err = ipcc_mq_name_check(name), created = 0;

	if (err)
		return err;
	if ((oflag & ~(O_CREAT | O_EXCL)) || oflag == O_EXCL)
		return -EINVAL;
	slash(name, path);
	/*
	 * Exclusively first, so we know whether we made it; an unlink between
	 * the two calls sends us round again.
	 */
	for (int tries = 0; tries < 100; tries++) {
		if (oflag & O_CREAT) {
			m = open_mode(path, 1, mode);
			if (m != (mqd_t)-1) {
				created = 1;
				break;
			}
			if (errno != EEXIST || (oflag & O_EXCL))
				return -errno;
		}
		m = open_mode(path, 0, 0);
		if (m != (mqd_t)-1 || errno != ENOENT || !(oflag & O_CREAT))
			break;
	}
	if (m == (mqd_t)-1)
		return -errno;
	/* mq_open applies the umask; the contract wants the mode exact */
	if (created && fchmod(m, mode & 0777) < 0) {
		err = -errno;
		goto out_close;
	}
	if (mq_getattr(m, &attr) < 0) {
		err = -errno;
		goto out_close;
	}
	q = calloc(1, sizeof(*q));
	if (!q) {
		err = -ENOMEM;
		goto out_close;
	}
	q->mqd = m;
	q->created = created;
	q->msgsize = attr.mq_msgsize;
	*out = q;
	return 0;

out_close:
	mq_close(m);
	if (created)
		mq_unlink(path);
	return err;
}

int ipcc_mq_created(const ipcc_mq *q)
{
	return q->created;
}

void ipcc_mq_close(ipcc_mq *q)
{
	if (!q)
		return;
	mq_close(q->mqd);
	free(q);
}

int ipcc_mq_getattr(const ipcc_mq *q, struct ipcc_mq_attr *a)
{
	struct mq_attr attr;

	if (mq_getattr(q->mqd, &attr) < 0)
		return -errno;
	a->maxmsg = attr.mq_maxmsg;
	a->msgsize = attr.mq_msgsize;
	a->curmsgs = attr.mq_curmsgs;
	return 0;
}

int ipcc_mq_fstat(const ipcc_mq *q, struct ipcc_mq_stat *st)
{
	struct stat sb;

	if (fstat(q->mqd, &sb) < 0)
		return -errno;
	fill_stat(&sb, st);
	return 0;
}

ssize_t ipcc_mq_fstatus(const ipcc_mq *q, char buf[IPCC_MQ_STATUS_MAX])
{
	return read_status(q->mqd, buf);
}

int ipcc_mq_set(ipcc_mq *q, mode_t mode, uid_t uid, gid_t gid)
{
	if (mode != (mode_t)-1 && fchmod(q->mqd, mode & 0777) < 0)
		return -errno;
	if ((uid != (uid_t)-1 || gid != (gid_t)-1) &&
	    fchown(q->mqd, uid, gid) < 0)
		return -errno;
	return 0;
}

/* ---- send and receive ------------------------------------------------ */

static int is_cancelled(const struct ipcc_cancel *c)
{
	return c && c->cancelled && c->cancelled(c->arg);
}

/* now + IPCC_CANCEL_POLL_MS on the clock mq_timed* use. */
static struct timespec step_deadline(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += IPCC_CANCEL_POLL_MS / 1000;
	ts.tv_nsec += (IPCC_CANCEL_POLL_MS % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

/*
 * One step of a send (buf const) or receive.  A deadline in the past
 * makes it a try: the kernel does the work if it can, else ETIMEDOUT.
 */
static ssize_t step(const ipcc_mq *q, int receive, void *buf, size_t len,
                    unsigned *prio, const struct timespec *deadline)
{
	if (receive)
		return mq_timedreceive(q->mqd, buf, len, prio, deadline);
	return mq_timedsend(q->mqd, buf, len, *prio, deadline) < 0 ? -1 : 0;
}

/* Tries once, then (unless nowait) waits in cancellable steps. */
static ssize_t transfer(const ipcc_mq *q, int receive, void *buf, size_t len,
                        unsigned *prio, unsigned flags,
                        const struct ipcc_cancel *c)
{
	static const struct timespec past = { 0, 0 };
	ssize_t n;

	if (is_cancelled(c))
		return -EINTR;
	n = step(q, receive, buf, len, prio, &past);
	if (n >= 0)
		return n;
	if (errno != ETIMEDOUT)
		return -errno;
	if (flags & IPCC_MSG_NOWAIT)
		return -EAGAIN;
	for (;;) {
		struct timespec deadline = step_deadline();

		n = step(q, receive, buf, len, prio, &deadline);
		if (n >= 0)
			return n;
		if (errno != ETIMEDOUT && errno != EINTR)
			return -errno;
		if (errno == EINTR && (!c || !c->cancelled))
			return -EINTR;
		if (is_cancelled(c))
			return -EINTR;
	}
}

int ipcc_mq_send(ipcc_mq *q, const void *data, size_t len, unsigned prio,
                 unsigned flags, const struct ipcc_cancel *cancel)
{
	if (prio >= IPCC_MQ_PRIO_MAX)
		return -EINVAL;
	return (int)transfer(q, 0, (void *)data, len, &prio, flags, cancel);
}

int ipcc_mq_give_back(ipcc_mq *q, const void *data, size_t len,
                      unsigned prio)
{
	int r = -EAGAIN;

	for (unsigned waited = 0; waited <= GIVE_BACK_MS;
	     waited += GIVE_BACK_STEP_MS) {
		r = ipcc_mq_send(q, data, len, prio, IPCC_MSG_NOWAIT, NULL);
		if (r != -EAGAIN)
			break;
		ipcc_sleep_ms(GIVE_BACK_STEP_MS);
	}
	return r;
}

ssize_t ipcc_mq_receive(ipcc_mq *q, void *buf, size_t cap, unsigned *prio,
                        unsigned flags, const struct ipcc_cancel *cancel)
{
	unsigned p = 0;
	char *tmp;
	ssize_t n;

	if (q->msgsize <= 0 || cap >= (size_t)q->msgsize) {
		n = transfer(q, 1, buf, cap, &p, flags, cancel);
		if (n >= 0 && prio)
			*prio = p;
		return n;
	}
	/* mq_receive wants room for the longest message: use our own */
	tmp = malloc((size_t)q->msgsize);
	if (!tmp)
		return -ENOMEM;
	n = transfer(q, 1, tmp, (size_t)q->msgsize, &p, flags, cancel);
	if (n > (ssize_t)cap) {
		/* never truncate: it goes back, the reader learns EMSGSIZE */
		n = ipcc_mq_give_back(q, tmp, (size_t)n, p) == 0 ? -EMSGSIZE
		                                                   : -EIO;
	} else if (n >= 0) {
		memcpy(buf, tmp, (size_t)n);
		if (prio)
			*prio = p;
	}
	free(tmp);
	return n;
}

/* ---- listing --------------------------------------------------------- */

int ipcc_mq_iter_new(ipcc_mq_iter **out)
{
	struct ipcc_mq_iter *it;
	int fd, err;

	if (mq_dir < 0)
		return -ENOTSUP;
	/* a descriptor of its own: readdir keeps its position in it */
	fd = openat(mq_dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	it = calloc(1, sizeof(*it));
	if (!it) {
		err = -ENOMEM;
		goto out_close;
	}
	it->dir = fdopendir(fd);
	if (!it->dir) {
		err = -errno;
		free(it);
		goto out_close;
	}
	*out = it;
	return 0;

out_close:
	close(fd);
	return err;
}

int ipcc_mq_iter_next(ipcc_mq_iter *it, char name[IPCC_MQ_NAME_MAX + 1],
                      struct ipcc_mq_stat *st)
{
	for (;;) {
		struct dirent *de;
		struct stat sb;

		errno = 0;
		de = readdir(it->dir);
		if (!de)
			return errno ? -errno : 0;
		if (de->d_name[0] == '.' && (de->d_name[1] == '\0' ||
		    (de->d_name[1] == '.' && de->d_name[2] == '\0')))
			continue;
		if (strlen(de->d_name) > IPCC_MQ_NAME_MAX)
			continue;
		if (fstatat(dirfd(it->dir), de->d_name, &sb,
		            AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(sb.st_mode))
			continue;       /* unlinked meanwhile */
		strcpy(name, de->d_name);
		fill_stat(&sb, st);
		return 1;
	}
}

void ipcc_mq_iter_free(ipcc_mq_iter *it)
{
	if (!it)
		return;
	closedir(it->dir);
	free(it);
}
