/*
 * FUSE passthrough: see passthrough.h.  Built without it (libfuse < 3.17
 * or -Dpassthrough=disabled), every open takes FS_PT_DAEMON.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#if defined(IPCFS_HAVE_PASSTHROUGH)
#include <linux/capability.h>
#include <linux/magic.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#endif

#include "passthrough.h"

#define NBUCKETS 256

/* A node's backing file while any open of it holds it. */
struct backing {
	fuse_ino_t ino;
	int id;                 /* the kernel's backing id */
	int writable;           /* registered O_RDWR */
	unsigned refs;          /* opens holding it */
	struct backing *next;
};

struct fs_pt {
	int debug;
	/* set at init, cleared for good if the kernel refuses us (EPERM) */
	atomic_int enabled;
	struct fuse_session *se;
	pthread_mutex_t lock;
	struct backing *buckets[NBUCKETS];
};

int fs_pt_new(int debug, struct fs_pt **out)
{
	struct fs_pt *pt = calloc(1, sizeof(*pt));

	if (!pt)
		return -ENOMEM;
	pt->debug = debug;
	pthread_mutex_init(&pt->lock, NULL);
	*out = pt;
	return 0;
}

void fs_pt_free(struct fs_pt *pt)
{
	if (!pt)
		return;
	/* every open was released or dropped before */
	for (size_t i = 0; i < NBUCKETS; i++)
		assert(!pt->buckets[i]);
	pthread_mutex_destroy(&pt->lock);
	free(pt);
}

void fs_pt_set_session(struct fs_pt *pt, struct fuse_session *se)
{
	pt->se = se;
}

void fs_pt_version(FILE *out)
{
#if defined(IPCFS_HAVE_PASSTHROUGH)
	fprintf(out, "passthrough: built in (used where the kernel offers it, "
	        "Linux >= 6.9, and the daemon has CAP_SYS_ADMIN)\n");
#elif defined(IPCFS_PASSTHROUGH_DISABLED)
	fprintf(out, "passthrough: not available (left out at build time)\n");
#else
	fprintf(out, "passthrough: not available (built with libfuse %d.%d; "
	        "needs >= 3.17)\n", FUSE_MAJOR_VERSION, FUSE_MINOR_VERSION);
#endif
}

static const char *path_name(enum fs_pt_path path)
{
	switch (path) {
	case FS_PT_FULL:
		return "passthrough";
	case FS_PT_MMAP:
		return "daemon, mmap passthrough";
	default:
		return "daemon";
	}
}

#if defined(IPCFS_HAVE_PASSTHROUGH)

/* The kernel's ABI (fuse_kernel.h, which libfuse does not install). */
#ifndef FUSE_DEV_IOC_BACKING_CLOSE
#define FUSE_DEV_IOC_BACKING_CLOSE _IOW(229, 2, uint32_t)
#endif

static struct backing **slot(struct fs_pt *pt, fuse_ino_t ino)
{
	struct backing **pp = &pt->buckets[(ino ^ (ino >> 40)) % NBUCKETS];

	while (*pp && (*pp)->ino != ino)
		pp = &(*pp)->next;
	return pp;
}

/* Effective CAP_SYS_ADMIN, which registering a backing file needs. */
static int have_sys_admin(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
		.pid = 0,
	};
	struct __user_cap_data_struct data[2];

	memset(data, 0, sizeof(data));
	if (syscall(SYS_capget, &hdr, data) != 0)
		return 0;
	return (data[CAP_TO_INDEX(CAP_SYS_ADMIN)].effective &
	        CAP_TO_MASK(CAP_SYS_ADMIN)) != 0;
}

void fs_pt_init(struct fs_pt *pt, struct fuse_conn_info *conn)
{
	const char *off = NULL;

	if (!(conn->capable & FUSE_CAP_PASSTHROUGH))
		off = "the kernel does not offer it (Linux >= 6.9 with "
		      "CONFIG_FUSE_PASSTHROUGH)";
	else if (conn->want & FUSE_CAP_WRITEBACK_CACHE)
		off = "writeback cache is on";
	else if (!have_sys_admin())
		off = "the daemon has no CAP_SYS_ADMIN";
	if (off) {
		if (pt->debug)
			fuse_log(FUSE_LOG_DEBUG, "ipcfs: passthrough off: %s\n",
			         off);
		return;
	}
	conn->want |= FUSE_CAP_PASSTHROUGH;
	/* backing files are on tmpfs, which stacks on nothing */
	conn->max_backing_stack_depth = FUSE_BACKING_STACKED_UNDER;
	/*
	 * Before each passed-through write the kernel asks whether the file
	 * has privileges to drop (a GETXATTR of security.capability, a round
	 * trip per write) unless the filesystem says it drops them itself.
	 * Ours has none to drop: SysV modes have no set-id bits, and the
	 * daemon writes posix/ files as root, which never dropped them.
	 */
	if (conn->capable & FUSE_CAP_HANDLE_KILLPRIV_V2)
		conn->want |= FUSE_CAP_HANDLE_KILLPRIV_V2;
	atomic_store(&pt->enabled, 1);
	if (pt->debug)
		fuse_log(FUSE_LOG_DEBUG, "ipcfs: passthrough on\n");
}

int fs_pt_log_drop(const char *fmt)
{
	/* we fall back, and -d says so in our own words */
	return strncmp(fmt, "fuse: passthrough_open:", 23) == 0;
}

/*
 * Registers memfd(arg)'s file as node ino's backing; pt->lock held.  NULL
 * and *why set when the open has to go through the daemon.
 */
static struct backing *backing_new(struct fs_pt *pt, fuse_req_t req,
                                   fuse_ino_t ino, int (*memfd)(void *),
                                   void *arg, const char **why, int *err)
{
	struct backing *b;
	struct statfs sfs;
	int fd, id, flags;

	fd = memfd(arg);
	if (fd < 0) {
		*why = "no fd of its memory";
		*err = -fd;
		return NULL;
	}
	/*
	 * Only shmem files: a huge-page segment's hugetlbfs file cannot take
	 * writes, nor an mmap of any length a program asks for.
	 */
	if (fstatfs(fd, &sfs) != 0 || sfs.f_type != TMPFS_MAGIC) {
		close(fd);
		*why = "memory not on tmpfs";
		return NULL;
	}
	flags = fcntl(fd, F_GETFL);
	errno = 0;
	id = fuse_passthrough_open(req, fd);
	*err = errno;
	close(fd);
	if (id <= 0) {
		/* no privilege in the kernel's eyes: that will not change */
		if (*err == EPERM)
			atomic_store(&pt->enabled, 0);
		*why = "the kernel refused the backing file";
		return NULL;
	}
	b = calloc(1, sizeof(*b));
	if (!b) {
		fuse_passthrough_close(req, id);
		*why = "out of memory";
		*err = ENOMEM;
		return NULL;
	}
	b->ino = ino;
	b->id = id;
	b->writable = flags >= 0 && (flags & O_ACCMODE) == O_RDWR;
	return b;
}

enum fs_pt_path fs_pt_open(fuse_req_t req, fuse_ino_t ino,
                           enum fs_pt_path want, int (*memfd)(void *arg),
                           void *arg, struct fuse_file_info *fi,
                           const char *what)
{
	struct fs_pt *pt = fs_state_of(req)->pt;
	enum fs_pt_path path = FS_PT_DAEMON;
	const char *why = "off";
	struct backing **pp, *b = NULL;
	int err = 0;

	/* the daemon's path: no page cache, every byte reaches the object */
	fi->direct_io = 1;
	fi->keep_cache = 0;
	fi->backing_id = 0;
	if (want == FS_PT_DAEMON) {
		why = "not for this open";
		goto out;
	}
	if (!atomic_load(&pt->enabled))
		goto out;
	pthread_mutex_lock(&pt->lock);
	pp = slot(pt, ino);
	b = *pp;
	if (!b && atomic_load(&pt->enabled)) {
		b = backing_new(pt, req, ino, memfd, arg, &why, &err);
		*pp = b;
	}
	if (b) {
		b->refs++;
		path = want;
		/* a read-only backing file cannot take this open's writes */
		if (path == FS_PT_FULL && !b->writable &&
		    fs_open_writable(fi->flags))
			path = FS_PT_MMAP;
		fi->backing_id = b->id;
		fi->direct_io = path == FS_PT_MMAP;
	}
	pthread_mutex_unlock(&pt->lock);
out:
	if (!pt->debug)
		return path;
	if (path != FS_PT_DAEMON)
		fuse_log(FUSE_LOG_DEBUG, "ipcfs: open %s (node %#llx): %s, "
		         "backing %d\n", what, (unsigned long long)ino,
		         path_name(path), fi->backing_id);
	else
		fuse_log(FUSE_LOG_DEBUG, "ipcfs: open %s (node %#llx): daemon "
		         "(passthrough %s%s%s)\n", what,
		         (unsigned long long)ino, why, err ? ": " : "",
		         err ? strerror(err) : "");
	return path;
}

void fs_pt_release(struct fs_pt *pt, fuse_ino_t ino, enum fs_pt_path path)
{
	struct backing **pp, *b;

	if (path == FS_PT_DAEMON)
		return;
	pthread_mutex_lock(&pt->lock);
	pp = slot(pt, ino);
	b = *pp;
	if (b && --b->refs == 0) {
		*pp = b->next;
		/*
		 * libfuse's fuse_passthrough_close wants a request, which a
		 * handle dropped after a failed reply or at exit has not;
		 * the ioctl is the same.  At exit it may fail: the kernel
		 * drops every backing file with the connection anyway.
		 */
		if (pt->se)
			ioctl(fuse_session_fd(pt->se),
			      FUSE_DEV_IOC_BACKING_CLOSE, &b->id);
		free(b);
	}
	pthread_mutex_unlock(&pt->lock);
}

#else /* !IPCFS_HAVE_PASSTHROUGH */

void fs_pt_init(struct fs_pt *pt, struct fuse_conn_info *conn)
{
	(void)pt;
	(void)conn;
}

int fs_pt_log_drop(const char *fmt)
{
	(void)fmt;
	return 0;
}

enum fs_pt_path fs_pt_open(fuse_req_t req, fuse_ino_t ino,
                           enum fs_pt_path want, int (*memfd)(void *arg),
                           void *arg, struct fuse_file_info *fi,
                           const char *what)
{
	(void)want;
	(void)memfd;
	(void)arg;
	fi->direct_io = 1;
	fi->keep_cache = 0;
	if (fs_state_of(req)->pt->debug)
		fuse_log(FUSE_LOG_DEBUG, "ipcfs: open %s (node %#llx): %s "
		         "(passthrough not built in)\n", what,
		         (unsigned long long)ino, path_name(FS_PT_DAEMON));
	return FS_PT_DAEMON;
}

void fs_pt_release(struct fs_pt *pt, fuse_ino_t ino, enum fs_pt_path path)
{
	(void)pt;
	(void)ino;
	(void)path;
}

#endif /* IPCFS_HAVE_PASSTHROUGH */
