/*
 * POSIX shared memory objects, by name.  On Linux the objects are files
 * in /dev/shm, reached relative to the held directory (ipcc_shm_dir_fd:
 * the system's /dev/shm, or a container's), never following a symlink;
 * that also gives stat and listing by name.  darwin has no such view and
 * goes through shm_open.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ipcc_int.h"

struct ipcc_pshm {
	int fd;
	int created;
};

#ifdef IPCC_PSHM_DIR
/* openat in the held directory; name is checked, so it has no '/' */
static int raw_open(const char *slashed, int oflag, mode_t mode)
{
	int dir = ipcc_shm_dir_fd();

	if (dir < 0)
		return dir;
	return openat(dir, slashed + 1, oflag, mode);
}

static int raw_unlink(const char *slashed)
{
	int dir = ipcc_shm_dir_fd();

	if (dir < 0) {
		errno = -dir;
		return -1;
	}
	return unlinkat(dir, slashed + 1, 0);
}
#else
#define raw_open(slashed, oflag, mode) shm_open((slashed), (oflag), (mode))
#define raw_unlink(slashed) shm_unlink(slashed)
#endif

/* Opens with our standing flags; a non-regular file reads as absent. */
static int sys_open(const char *slashed, int oflag, mode_t mode)
{
	struct stat st;
	int fd = raw_open(slashed, oflag | IPCC_PSHM_OFLAGS, mode);

	if (fd < 0)
		return errno == ELOOP ? -ENOENT : -errno;   /* a symlink */
#if IPCC_PSHM_NEED_FD_CLOEXEC
	fcntl(fd, F_SETFD, FD_CLOEXEC);
#endif
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -ENOENT;
	}
	return fd;
}

/* Opens name (checked) for a by-name operation. */
static int open_name(const char *name, int oflag)
{
	char slashed[IPCC_NAME_MAX + 2];
	int err = ipcc_name_check(name, 0);

	if (err)
		return err;
	ipcc_name_slash(name, slashed);
	return sys_open(slashed, oflag, 0);
}

int ipcc_pshm_open(const char *name, int oflag, mode_t mode, ipcc_pshm **out)
{
	char slashed[IPCC_NAME_MAX + 2];
	struct ipcc_pshm *p;
	int acc = oflag & O_ACCMODE;
	int fd = -ENOENT, created = 0, err;

	if (acc != O_RDONLY && acc != O_WRONLY && acc != O_RDWR)
		return -EINVAL;
	err = ipcc_name_check(name, (oflag & O_CREAT) != 0);
	if (err)
		return err;
	ipcc_name_slash(name, slashed);
	oflag &= O_ACCMODE | O_CREAT | O_EXCL | O_TRUNC;

	if (!(oflag & O_CREAT)) {
		fd = sys_open(slashed, oflag, 0);
	} else if (oflag & O_EXCL) {
		fd = sys_open(slashed, oflag & ~O_TRUNC, mode);
		created = fd >= 0;
	} else {
		/*
		 * To learn whether we create it: exclusive first, then plain
		 * open; a removal in between sends us round again.
		 */
		for (int tries = 0; tries < 100; tries++) {
			fd = sys_open(slashed, (oflag & ~O_TRUNC) | O_EXCL, mode);
			if (fd >= 0) {
				created = 1;
				break;
			}
			if (fd != -EEXIST)
				break;
			fd = sys_open(slashed, oflag & ~O_CREAT, 0);
			if (fd != -ENOENT)
				break;
		}
		/* still nothing: the name is taken by something not a file */
		if (fd == -ENOENT)
			fd = -EEXIST;
	}
	if (fd < 0)
		return fd;
	/* creating applies the umask; the contract is the exact mode */
	if (created && fchmod(fd, mode & 07777) < 0) {
		err = -errno;
		goto out_unlink;
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		err = -ENOMEM;
		if (created)
			goto out_unlink;
		goto out_close;
	}
	p->fd = fd;
	p->created = created;
	*out = p;
	return 0;

out_unlink:
	raw_unlink(slashed);
out_close:
	close(fd);
	return err;
}

void ipcc_pshm_close(ipcc_pshm *p)
{
	if (!p)
		return;
	close(p->fd);
	free(p);
}

int ipcc_pshm_created(const ipcc_pshm *p)
{
	return p->created;
}

int ipcc_pshm_fd(const ipcc_pshm *p)
{
	return p->fd;
}

ssize_t ipcc_pshm_read(const ipcc_pshm *p, void *buf, size_t len,
                       uint64_t off)
{
	size_t done = 0;

	if (off > INT64_MAX)
		return -EINVAL;
	if (len > SSIZE_MAX)
		len = SSIZE_MAX;
	while (done < len) {
		ssize_t n = pread(p->fd, (char *)buf + done, len - done,
		                  (off_t)(off + done));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (done)
				break;
			return -errno;
		}
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

ssize_t ipcc_pshm_write(ipcc_pshm *p, const void *buf, size_t len,
                        uint64_t off)
{
	size_t done = 0;

	if (off > INT64_MAX)
		return -EINVAL;
	if (len > SSIZE_MAX)
		len = SSIZE_MAX;
	while (done < len) {
		ssize_t n = pwrite(p->fd, (const char *)buf + done, len - done,
		                   (off_t)(off + done));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (done)
				break;
			return -errno;
		}
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

static int resize_fd(int fd, uint64_t size)
{
	if (size > INT64_MAX)
		return -EINVAL;
	while (ftruncate(fd, (off_t)size) < 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}

int ipcc_pshm_resize(ipcc_pshm *p, uint64_t size)
{
	return resize_fd(p->fd, size);
}

int ipcc_pshm_fstat(const ipcc_pshm *p, struct stat *st)
{
	return fstat(p->fd, st) < 0 ? -errno : 0;
}

/* chown before chmod: chown may clear set-id bits that mode asks for */
static int set_fd(int fd, mode_t mode, uid_t uid, gid_t gid)
{
	if ((uid != (uid_t)-1 || gid != (gid_t)-1) && fchown(fd, uid, gid) < 0)
		return -errno;
	if (mode != (mode_t)-1 && fchmod(fd, mode & 07777) < 0)
		return -errno;
	return 0;
}

int ipcc_pshm_fset(ipcc_pshm *p, mode_t mode, uid_t uid, gid_t gid)
{
	return set_fd(p->fd, mode, uid, gid);
}

int ipcc_pshm_resize_name(const char *name, uint64_t size)
{
	int fd, err;

	if (size > INT64_MAX)
		return -EINVAL;
	fd = open_name(name, O_RDWR);
	if (fd < 0)
		return fd;
	err = resize_fd(fd, size);
	close(fd);
	return err;
}

#ifdef IPCC_PSHM_DIR

/*
 * By name in the held directory: no open, so no read permission needed,
 * and never following a symlink (the name has no '/', so we stay inside).
 */
static int dir_name(const char *name, int *dir)
{
	int err = ipcc_name_check(name, 0);

	if (err)
		return err;
	*dir = ipcc_shm_dir_fd();
	return *dir < 0 ? *dir : 0;
}

int ipcc_pshm_stat(const char *name, struct stat *st)
{
	int dir, err = dir_name(name, &dir);

	if (err)
		return err;
	if (fstatat(dir, ipcc_name_bare(name), st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	return S_ISREG(st->st_mode) ? 0 : -ENOENT;
}

int ipcc_pshm_set(const char *name, mode_t mode, uid_t uid, gid_t gid)
{
	struct stat st;
	int dir = -1, err = ipcc_pshm_stat(name, &st);

	if (!err)
		err = dir_name(name, &dir);
	if (err)
		return err;
	if ((uid != (uid_t)-1 || gid != (gid_t)-1) &&
	    fchownat(dir, ipcc_name_bare(name), uid, gid,
	             AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	if (mode != (mode_t)-1 &&
	    fchmodat(dir, ipcc_name_bare(name), mode & 07777,
	             AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	return 0;
}

int ipcc_pshm_unlink(const char *name)
{
	struct stat st;
	int dir = -1, err = ipcc_pshm_stat(name, &st);

	if (!err)
		err = dir_name(name, &dir);
	if (err)
		return err;
	return unlinkat(dir, ipcc_name_bare(name), 0) < 0 ? -errno : 0;
}

struct ipcc_pshm_iter {
	DIR *dir;
};

int ipcc_pshm_iter_new(ipcc_pshm_iter **out)
{
	struct ipcc_pshm_iter *it;
	int dir = ipcc_shm_dir_fd(), fd, err;

	if (dir < 0)
		return dir;
	/*
	 * A fresh open of the directory, not a dup of the held fd: a dup
	 * would share the read position with every other listing.
	 */
	fd = openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	it = calloc(1, sizeof(*it));
	if (!it) {
		close(fd);
		return -ENOMEM;
	}
	it->dir = fdopendir(fd);
	if (!it->dir) {
		err = -errno;
		close(fd);
		free(it);
		return err;
	}
	*out = it;
	return 0;
}

int ipcc_pshm_iter_next(ipcc_pshm_iter *it, char name[IPCC_NAME_MAX + 1],
                        struct stat *st)
{
	struct dirent *de;

	for (;;) {
		size_t len;

		errno = 0;
		de = readdir(it->dir);
		if (!de)
			return errno ? -errno : 0;
		len = strlen(de->d_name);
		/* sem.* are glibc's named semaphores, not shared memory */
		if (len > IPCC_NAME_MAX || strncmp(de->d_name, "sem.", 4) == 0 ||
		    strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (de->d_type != DT_REG && de->d_type != DT_UNKNOWN)
			continue;
		if (fstatat(dirfd(it->dir), de->d_name, st,
		            AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st->st_mode))
			continue;   /* removed meanwhile, or not a file */
		memcpy(name, de->d_name, len + 1);
		return 1;
	}
}

void ipcc_pshm_iter_free(ipcc_pshm_iter *it)
{
	if (!it)
		return;
	closedir(it->dir);
	free(it);
}

#else /* no directory view of POSIX shm (darwin) */

int ipcc_pshm_stat(const char *name, struct stat *st)
{
	int fd = open_name(name, O_RDONLY);

	if (fd < 0)
		return fd;
	if (fstat(fd, st) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	close(fd);
	return 0;
}

int ipcc_pshm_set(const char *name, mode_t mode, uid_t uid, gid_t gid)
{
	int fd = open_name(name, O_RDONLY), err;

	if (fd < 0)
		return fd;
	err = set_fd(fd, mode, uid, gid);
	close(fd);
	return err;
}

int ipcc_pshm_unlink(const char *name)
{
	char slashed[IPCC_NAME_MAX + 2];
	int err = ipcc_name_check(name, 0);

	if (err)
		return err;
	ipcc_name_slash(name, slashed);
	return shm_unlink(slashed) < 0 ? -errno : 0;
}

struct ipcc_pshm_iter {
	int unused;
};

int ipcc_pshm_iter_new(ipcc_pshm_iter **out)
{
	(void)out;
	return -ENOTSUP;
}

int ipcc_pshm_iter_next(ipcc_pshm_iter *it, char name[IPCC_NAME_MAX + 1],
                        struct stat *st)
{
	(void)it;
	(void)name;
	(void)st;
	return 0;
}

void ipcc_pshm_iter_free(ipcc_pshm_iter *it)
{
	(void)it;
}

#endif
