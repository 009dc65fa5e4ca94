/* Small helpers shared by the operations of every kind of node. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

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
 * One read buffer per worker thread, kept: reads of up to max_read bytes
 * then allocate nothing, so memory stays flat however long the load.
 */
struct read_buf {
	size_t size;
	char data[];
};

static pthread_key_t buf_key;
static pthread_once_t buf_once = PTHREAD_ONCE_INIT;

static void buf_key_init(void)
{
	pthread_key_create(&buf_key, free);
}

void *fs_thread_buf(size_t size)
{
	struct read_buf *b;

	pthread_once(&buf_once, buf_key_init);
	b = pthread_getspecific(buf_key);
	if (b && b->size >= size)
		return b->data;
	free(b);
	pthread_setspecific(buf_key, NULL);
	b = malloc(sizeof(*b) + size);
	if (!b)
		return NULL;
	b->size = size;
	pthread_setspecific(buf_key, b);
	return b->data;
}

void fs_thread_buf_free(void)
{
	pthread_once(&buf_once, buf_key_init);
	free(pthread_getspecific(buf_key));
	pthread_setspecific(buf_key, NULL);
}
