/* Small helpers shared by the operations of every kind. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fs.h"
#include "nodes.h"
#include "passthrough.h"

void fs_entry_init(struct fuse_entry_param *e, fuse_ino_t ino)
{
	memset(e, 0, sizeof(*e));
	e->ino = ino;
	/* Revoked access and removed objects must act at once. */
	e->attr_timeout = 0.0;
	e->entry_timeout = 0.0;
}

void fs_time_set(struct timespec *ts, int64_t sec, int64_t fallback)
{
	ts->tv_sec = (time_t)(sec ? sec : fallback);
	ts->tv_nsec = 0;
}

static void set_handle(struct fuse_file_info *fi, struct fs_open *o)
{
	fi->fh = (uintptr_t)o;
	/* passthrough.c chose already where a backing file was given */
	if (!fs_pt_decided(fi))
		fi->direct_io = 1;
	fi->keep_cache = 0;
}

void fs_reply_open(fuse_req_t req, struct fuse_file_info *fi,
                   struct fs_open *o)
{
	set_handle(fi, o);
	if (fuse_reply_open(req, fi) != 0)
		o->drop(o);
}

void fs_reply_create(fuse_req_t req, const struct fuse_entry_param *e,
                     struct fuse_file_info *fi, struct fs_open *o)
{
	set_handle(fi, o);
	if (fuse_reply_create(req, e, fi) != 0) {
		/* the caller is gone; the object stays */
		o->drop(o);
		fs_node_forget(fs_state_of(req)->nodes, e->ino, 1);
	}
}

int fs_is_glibc_sem(const char *name)
{
	return strncmp(name, "sem.", 4) == 0;
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

/*
 * Every handle given out.  The kernel releases them all before an
 * unmount, but not when the daemon is stopped by a signal with files
 * still open: those are dropped at exit, so that no attachment or
 * descriptor outlives the session.
 */
void fs_opens_init(struct fs_opens *l)
{
	pthread_mutex_init(&l->lock, NULL);
	l->head.prev = l->head.next = &l->head;
	l->head.drop = NULL;
}

void fs_open_add(struct fs_state *s, struct fs_open *o,
                 void (*drop)(struct fs_open *))
{
	struct fs_opens *l = &s->opens;

	o->drop = drop;
	pthread_mutex_lock(&l->lock);
	o->next = &l->head;
	o->prev = l->head.prev;
	l->head.prev->next = o;
	l->head.prev = o;
	pthread_mutex_unlock(&l->lock);
}

void fs_open_del(struct fs_state *s, struct fs_open *o)
{
	struct fs_opens *l = &s->opens;

	pthread_mutex_lock(&l->lock);
	assert(o->next->prev == o && o->prev->next == o);
	o->prev->next = o->next;
	o->next->prev = o->prev;
	o->prev = o->next = o;
	pthread_mutex_unlock(&l->lock);
}

void fs_open_drop_all(struct fs_state *s)
{
	struct fs_opens *l = &s->opens;

	for (;;) {
		struct fs_open *o;

		pthread_mutex_lock(&l->lock);
		o = l->head.next;
		pthread_mutex_unlock(&l->lock);
		if (o == &l->head)
			return;
		/* drop unlinks it (through fs_open_del) and frees it */
		o->drop(o);
	}
}

/*
 * A process killed while its read waits in the daemon still gets the
 * reply: the kernel copies it into the dying process and the reply
 * "succeeds".  A message taken for it would be lost, so whoever took one
 * looks first: a fatal signal shows as SIGKILL pending on the thread
 * (the kernel turns every fatal signal into one).  This leaves a window
 * of microseconds instead of the time libfuse takes to read and pass on
 * the FUSE_INTERRUPT.
 */
int fs_caller_dying(fuse_req_t req)
{
	char path[64], line[256];
	int dying = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/status",
	         (long)fuse_req_ctx(req)->pid);
	f = fopen(path, "re");
	if (!f)
		return 0;       /* gone, or another pid namespace: cannot tell */
	while (fgets(line, sizeof(line), f)) {
		unsigned long long mask;

		if ((sscanf(line, "SigPnd: %llx", &mask) == 1 ||
		     sscanf(line, "ShdPnd: %llx", &mask) == 1) &&
		    (mask & (1ULL << (SIGKILL - 1))))
			dying = 1;
	}
	fclose(f);
	return dying;
}
