/* Small helpers shared by the operations of every kind of node. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fs.h"

int fs_caller_owns(fuse_req_t req, uid_t uid, uid_t cuid)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);

	return ctx->uid == 0 || ctx->uid == uid || ctx->uid == cuid;
}

static int caller_in_group(fuse_req_t req, gid_t gid)
{
	gid_t groups[64];
	int n;

	if (fuse_req_ctx(req)->gid == gid)
		return 1;
	n = fuse_req_getgroups(req, 64, groups);
	if (n > 64)
		n = 64;
	for (int i = 0; i < n; i++)
		if (groups[i] == gid)
			return 1;
	return 0;
}

int fs_caller_ipc_may(fuse_req_t req, mode_t mode, uid_t uid, gid_t gid,
                      uid_t cuid, gid_t cgid, mode_t want)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	mode_t have;

	if (ctx->uid == 0)
		return 0;
	if (ctx->uid == uid || ctx->uid == cuid)
		have = (mode >> 6) & 7;
	else if (caller_in_group(req, gid) || caller_in_group(req, cgid))
		have = (mode >> 3) & 7;
	else
		have = mode & 7;
	return (have & want) == want ? 0 : -EACCES;
}

mode_t fs_open_want(int flags)
{
	mode_t want = 0;

	if ((flags & O_ACCMODE) != O_WRONLY)
		want |= 4;
	if (fs_open_writable(flags) || (flags & O_TRUNC))
		want |= 2;
	return want;
}

/*
 * Only needed where the kernel did not check: an object that appeared
 * between the kernel's lookup (no entry) and our create.
 */
int fs_caller_may_open(fuse_req_t req, mode_t mode, uid_t uid, gid_t gid,
                       int flags)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	mode_t want = fs_open_want(flags), have;

	if (ctx->uid == 0)
		return 0;
	if (ctx->uid == uid)
		have = (mode >> 6) & 7;
	else if (caller_in_group(req, gid))
		have = (mode >> 3) & 7;
	else
		have = mode & 7;
	return (have & want) == want ? 0 : -EACCES;
}

void fs_entry_init(struct fuse_entry_param *e, fuse_ino_t ino)
{
	memset(e, 0, sizeof(*e));
	e->ino = ino;
	/* Revoked access and removed objects must act at once. */
	e->attr_timeout = 0.0;
	e->entry_timeout = 0.0;
}

void fs_time_set(struct timespec *ts, int64_t sec)
{
	ts->tv_sec = (time_t)sec;
	ts->tv_nsec = 0;
}

int fs_open_writable(int flags)
{
	return (flags & O_ACCMODE) == O_WRONLY || (flags & O_ACCMODE) == O_RDWR;
}

/*
 * libfuse splices a reply only if its pipe holds the data, the header and
 * three pages of slack; otherwise it mallocs a buffer of the reply's size
 * for every request, which costs more than our own pread.  Pipes beyond
 * fs.pipe-max-size need CAP_SYS_RESOURCE, which root may lack (containers).
 */
size_t fs_splice_max(void)
{
#ifdef F_SETPIPE_SZ
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t slack = 3 * page + 16;   /* 16: struct fuse_out_header */
	unsigned long max = 0;
	int p[2];
	int got;
	FILE *f;

	if (pipe2(p, O_CLOEXEC) != 0)
		return 0;
	got = fcntl(p[0], F_SETPIPE_SZ, (int)(FS_MAX_WRITE + slack));
	close(p[0]);
	close(p[1]);
	if (got > 0)
		return FS_MAX_WRITE;
	f = fopen("/proc/sys/fs/pipe-max-size", "re");
	if (!f)
		return 0;
	if (fscanf(f, "%lu", &max) != 1)
		max = 0;
	fclose(f);
	return max > slack ? max - slack : 0;
#else
	return 0;
#endif
}
