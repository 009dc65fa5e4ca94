/*
 * posix-mq/<name>: POSIX message queues (mq_open).
 *
 * POSIX has no way to look at a message without taking it, so looking
 * shows the queue's state: reading the plain name gives the status line
 * the mqueue filesystem prints ("QSIZE:..."), and takes nothing.  Taking
 * has names of its own, NAME@P (not listed): each read(2) takes one
 * message, highest priority first, each write(2) sends one of priority P.
 *
 * Listing and stat go through the mqueue filesystem of the daemon's IPC
 * namespace, taken at start as a detached mount that nobody else sees
 * (ipcc_mq_init); no /dev/mqueue is needed.  Without CAP_SYS_ADMIN (no
 * detached mount, no /dev/mqueue either) the folder lists nothing, but
 * every queue is still reached by its name.
 *
 * Every lookup makes a fresh node (see kind_sem.c for why), which
 * remembers the queue's inode: a queue unlinked and made again under the
 * name is reached by the next lookup, never through the old node.  The
 * node opens the queue (one mqd_t) while files of it are open (or a call
 * needs it), so that names the kernel merely keeps cached hold no
 * descriptor.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs.h"
#include "nodes.h"

#define PRIO_LAST ((long)IPCC_MQ_PRIO_MAX - 1)

struct mq_node {
	pthread_mutex_t lock;   /* guards q and users */
	ipcc_mq *q;             /* open while users > 0 */
	unsigned users;         /* open files, running jobs, calls */
	uint64_t qino;          /* the queue's inode at lookup */
	int stream;
	unsigned prio;
	char base[];            /* the queue's name */
};

static struct mq_node *mn_of(struct fs_node *n)
{
	return n->priv;
}

static void node_free(void *priv)
{
	struct mq_node *mn = priv;

	if (!mn)
		return;
	ipcc_mq_close(mn->q);
	pthread_mutex_destroy(&mn->lock);
	free(mn);
}

static struct mq_node *mn_new(const char *base, size_t len)
{
	struct mq_node *mn = calloc(1, sizeof(*mn) + len + 1);

	if (!mn)
		return NULL;
	memcpy(mn->base, base, len);
	mn->base[len] = '\0';
	pthread_mutex_init(&mn->lock, NULL);
	return mn;
}

static uint64_t stino(int stream, uint64_t qino)
{
	return fs_kind_base(&fs_kind_posix_mq) |
	       (stream ? UINT64_C(1) << 32 : 0) | (qino & 0xffffffffu);
}

static void mq_to_stat(const struct mq_node *mn,
                       const struct ipcc_mq_stat *s, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = stino(mn->stream, s->ino);
	st->st_mode = S_IFREG | (s->mode & 0777);
	st->st_nlink = 1;
	st->st_uid = s->uid;
	st->st_gid = s->gid;
	/* as in the mqueue filesystem: the status line has no size */
	st->st_size = 0;
	st->st_blksize = 4096;
	fs_time_set(&st->st_atim, s->atime, s->ctime);
	fs_time_set(&st->st_mtim, s->mtime, s->ctime);
	fs_time_set(&st->st_ctim, s->ctime, s->ctime);
}

/*
 * The queue a name stands for.  A queue of exactly that name wins (queue
 * names may hold '@'); else NAME@P is a stream of queue NAME.
 */
static int resolve(const char *name, struct mq_node **out,
                   struct ipcc_mq_stat *st)
{
	struct mq_node *mn;
	size_t len = strlen(name);
	long prio = 0;
	int stream = 0, err = ipcc_mq_name_check(name);

	if (err == -ENAMETOOLONG)
		return err;
	if (!err)
		err = ipcc_mq_stat(name, st);
	if (err) {
		if (ipcc_stream_parse(name, 0, PRIO_LAST, &len, &prio) != 1)
			return -ENOENT;
		mn = mn_new(name, len);
		if (!mn)
			return -ENOMEM;
		err = ipcc_mq_name_check(mn->base);
		if (!err)
			err = ipcc_mq_stat(mn->base, st);
		if (err) {
			node_free(mn);
			return err == -EINVAL ? -ENOENT : err;
		}
		stream = 1;
	} else {
		mn = mn_new(name, len);
		if (!mn)
			return -ENOMEM;
	}
	mn->qino = st->ino;
	mn->stream = stream;
	mn->prio = (unsigned)prio;
	*out = mn;
	return 0;
}

/* The queue of a node now: -ENOENT if its name went to another queue. */
static int node_stat(fuse_req_t req, fuse_ino_t ino, struct fs_node **np,
                     struct ipcc_mq_stat *st)
{
	struct fs_node *n = fs_node_of(req, ino);
	int err;

	if (!n)
		return -ENOENT;
	if (np)
		*np = n;
	err = ipcc_mq_stat(mn_of(n)->base, st);
	if (!err && st->ino != mn_of(n)->qino)
		err = -ENOENT;
	return err;
}

/*
 * The node's queue, opened by the daemon for the first user, closed after
 * the last (node_queue_put).
 */
static int node_queue_get(struct mq_node *mn, ipcc_mq **out)
{
	struct ipcc_mq_stat st;
	ipcc_mq *q = NULL;
	int err = 0;

	pthread_mutex_lock(&mn->lock);
	if (!mn->q) {
		err = ipcc_mq_open(mn->base, 0, 0, &q);
		if (!err)
			err = ipcc_mq_fstat(q, &st);
		if (!err && st.ino != mn->qino)
			err = -ENOENT;
		if (err)
			ipcc_mq_close(q);
		else
			mn->q = q;
	}
	if (!err) {
		mn->users++;
		*out = mn->q;
	}
	pthread_mutex_unlock(&mn->lock);
	return err;
}

static void node_queue_put(struct mq_node *mn)
{
	pthread_mutex_lock(&mn->lock);
	assert(mn->users > 0);
	if (--mn->users == 0) {
		ipcc_mq_close(mn->q);
		mn->q = NULL;
	}
	pthread_mutex_unlock(&mn->lock);
}

/* A file's end: its use of the queue. */
static void queue_close(struct fs_node *n)
{
	node_queue_put(mn_of(n));
}

static void mq_lookup(fuse_req_t req, int by_id, const char *name)
{
	struct ipcc_mq_stat st;
	struct mq_node *mn;
	struct stat attr;
	int err = resolve(name, &mn, &st);

	(void)by_id;
	if (err) {
		fuse_reply_err(req, -err);
		return;
	}
	mq_to_stat(mn, &st, &attr);
	fs_reply_node(req, &fs_kind_posix_mq, name, mn, &attr, NULL,
	              queue_close);
}

static int mq_list(struct fs_state *fs, struct fs_dirbuf *d, int by_id)
{
	char name[IPCC_MQ_NAME_MAX + 1];
	struct ipcc_mq_stat st;
	ipcc_mq_iter *it;
	int r, err = 0;

	(void)fs;
	(void)by_id;
	r = ipcc_mq_iter_new(&it);
	/* no mqueue filesystem to list (no CAP_SYS_ADMIN): names still work */
	if (r == -ENOTSUP)
		return 0;
	if (r)
		return r;
	while ((r = ipcc_mq_iter_next(it, name, &st)) > 0) {
		err = fs_dirbuf_add(d, name, stino(0, st.ino), S_IFREG);
		if (err)
			break;
	}
	ipcc_mq_iter_free(it);
	return err ? err : r;
}

static void reply_attr(fuse_req_t req, fuse_ino_t ino)
{
	struct ipcc_mq_stat s;
	struct fs_node *n;
	struct stat st;
	int err = node_stat(req, ino, &n, &s);

	if (err) {
		fuse_reply_err(req, -err);
		return;
	}
	mq_to_stat(mn_of(n), &s, &st);
	fuse_reply_attr(req, &st, 0.0);
}

static void mq_getattr(fuse_req_t req, fuse_ino_t ino,
                       struct fuse_file_info *fi)
{
	(void)fi;
	reply_attr(req, ino);
}

static void mq_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
                       int to_set, struct fuse_file_info *fi)
{
	struct ipcc_mq_stat s;
	struct fs_node *n;
	ipcc_mq *q;
	mode_t mode;
	uid_t uid;
	gid_t gid;
	int err = node_stat(req, ino, &n, &s);

	(void)fi;
	/* size (truncate, O_TRUNC) and times: accepted, nothing changes */
	if (!err)
		err = fs_setattr_owner(req, attr, to_set, s.uid, s.uid, &mode,
		                       &uid, &gid);
	if (err > 0) {
		err = node_queue_get(mn_of(n), &q);
		if (!err) {
			err = ipcc_mq_set(q, mode == (mode_t)-1 ? mode :
			                  mode & 0777, uid, gid);
			node_queue_put(mn_of(n));
		}
	}
	if (err)
		fuse_reply_err(req, -err);
	else
		reply_attr(req, ino);
}

static void mq_create(fuse_req_t req, int by_id, const char *name,
                      mode_t mode, struct fuse_file_info *fi)
{
	struct fs_cred_saved cred;
	struct ipcc_mq_stat st;
	struct stat attr;
	struct mq_node *mn;
	ipcc_mq *q = NULL;
	size_t len = strlen(name);
	long prio = 0;
	int stream, created = 0, err;

	(void)by_id;
	/* NAME@P too: `echo hi > posix-mq/jobs@3` makes the queue */
	stream = ipcc_stream_parse(name, 0, PRIO_LAST, &len, &prio) == 1;
	mn = mn_new(name, len);
	if (!mn) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	err = ipcc_mq_name_check(mn->base);
	/* as the caller: the owner is theirs, and so are the checks */
	if (!err)
		err = fs_as_caller(req, &cred);
	if (!err) {
		err = ipcc_mq_open(mn->base, O_CREAT | (fi->flags & O_EXCL),
		                   mode & 0777, &q);
		fs_as_daemon(&cred);
	}
	if (!err && !created)
		created = ipcc_mq_created(q);
	if (!err)
		err = ipcc_mq_fstat(q, &st);
	if (!err && !created) {
		/* appeared since the kernel's lookup: not checked by it */
		err = fs_caller_may_open(req, st.mode, st.uid, st.gid,
		                         fi->flags);
		/* opened as the caller; the daemon's own handle reads and writes */
		ipcc_mq_close(q);
		q = NULL;
		if (!err)
			err = ipcc_mq_open(mn->base, 0, 0, &q);
	}
	if (err) {
		ipcc_mq_close(q);
		node_free(mn);
		fuse_reply_err(req, -err);
		return;
	}
	/* the new file is the queue's first user */
	mn->q = q;
	mn->users = 1;
	mn->qino = st.ino;
	mn->stream = stream;
	mn->prio = (unsigned)prio;
	mq_to_stat(mn, &st, &attr);
	fs_reply_node(req, &fs_kind_posix_mq, name, mn, &attr, fi, queue_close);
}

static void mq_open_file(fuse_req_t req, fuse_ino_t ino,
                         struct fuse_file_info *fi)
{
	struct ipcc_mq_stat s;
	struct fs_node *n;
	ipcc_mq *q;
	int err = node_stat(req, ino, &n, &s);

	/* the kernel checked the mode (default_permissions): it is the file's */
	if (!err)
		err = node_queue_get(mn_of(n), &q);
	if (err) {
		fuse_reply_err(req, -err);
		return;
	}
	fs_file_open(req, n, fi, queue_close);
}

/* The status line, as the mqueue filesystem shows it. */
static int status(struct fs_node *n, char **text, size_t *len)
{
	char *line = malloc(IPCC_MQ_STATUS_MAX);
	ssize_t r;

	if (!line)
		return -ENOMEM;
	r = ipcc_mq_fstatus(mn_of(n)->q, line);
	if (r < 0) {
		free(line);
		return (int)r;
	}
	*text = line;
	*len = (size_t)r;
	return 0;
}

static ssize_t stream_take(struct fs_node *n, void *buf, size_t size,
                           long *tag, int flags,
                           const struct ipcc_cancel *cancel)
{
	unsigned prio = 0;
	ssize_t r = ipcc_mq_receive(mn_of(n)->q, buf, size, &prio, flags,
	                            cancel);

	*tag = prio;
	return r;
}

static int stream_send(struct fs_node *n, const void *buf, size_t size,
                       int flags, const struct ipcc_cancel *cancel)
{
	unsigned prio = mn_of(n)->stream ? mn_of(n)->prio : 0;

	return ipcc_mq_send(mn_of(n)->q, buf, size, prio, flags, cancel);
}

/* A reader that cannot get its message: it goes back (see core). */
static void stream_give_back(struct fs_node *n, const void *buf,
                             size_t len, long tag)
{
	ipcc_mq_give_back(mn_of(n)->q, buf, len, (unsigned)tag);
}

static int queue_use(struct fs_node *n)
{
	ipcc_mq *q;

	return node_queue_get(mn_of(n), &q);
}

static const struct fs_stream_ops stream_ops = {
	.take = stream_take,
	.send = stream_send,
	.give_back = stream_give_back,
	.use = queue_use,
	.unuse = queue_close,
};

static void mq_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                    struct fuse_file_info *fi)
{
	struct fs_file *f = fs_file_of(fi);

	(void)ino;
	if (!mn_of(f->node)->stream)
		fs_file_read_text(req, f, size, off < 0 ? 0 : off, 1, status);
	else
		fs_stream_read(req, f, size, fi, &stream_ops);
}

static void mq_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
                     size_t size, off_t off, struct fuse_file_info *fi)
{
	(void)ino;
	(void)off;
	fs_stream_write(req, fs_file_of(fi), buf, size, fi, &stream_ops);
}

static void mq_unlink(fuse_req_t req, int by_id, const char *name)
{
	struct ipcc_mq_stat st;
	struct mq_node *mn = NULL;
	int err = resolve(name, &mn, &st);

	(void)by_id;
	/* the kernel checked the sticky folder: owner or root only */
	if (!err && mn->stream)
		err = -EPERM;
	if (!err)
		err = ipcc_mq_unlink(mn->base);
	if (mn)
		node_free(mn);
	fuse_reply_err(req, -err);
}

static int mq_xattrs(fuse_req_t req, fuse_ino_t ino, struct fs_xattrs *x)
{
	struct ipcc_mq_attr a;
	struct ipcc_mq_stat s;
	struct fs_node *n;
	ipcc_mq *q;
	int err = node_stat(req, ino, &n, &s);

	/* mq_getattr needs the queue open, for reading or for writing */
	if (!err && fs_caller_ipc_may(req, s.mode, s.uid, s.gid, s.uid, s.gid,
	                              4) != 0)
		err = fs_caller_ipc_may(req, s.mode, s.uid, s.gid, s.uid, s.gid,
		                        2);
	if (!err) {
		err = node_queue_get(mn_of(n), &q);
		if (!err) {
			err = ipcc_mq_getattr(q, &a);
			node_queue_put(mn_of(n));
		}
	}
	if (!err)
		err = fs_xattr_add(x, "user.ipc.maxmsg", "%ld", a.maxmsg);
	if (!err)
		err = fs_xattr_add(x, "user.ipc.msgsize", "%ld", a.msgsize);
	if (!err)
		err = fs_xattr_add(x, "user.ipc.curmsgs", "%ld", a.curmsgs);
	return err;
}

static int mq_init(struct fs_state *s, void **data)
{
	int err;

	(void)s;
	*data = NULL;
	/*
	 * Once, before the session's threads, in the IPC namespace served.
	 * Refused without CAP_SYS_ADMIN: listing then shows nothing, names
	 * still work; already done by whoever set the daemon up: fine.
	 */
	err = ipcc_mq_init();
	(void)err;
	return 0;
}

const struct fs_kind fs_kind_posix_mq = {
	.name = "posix-mq",
	.lookup = mq_lookup,
	.list = mq_list,
	.create = mq_create,
	.unlink = mq_unlink,
	.getattr = mq_getattr,
	.setattr = mq_setattr,
	.open = mq_open_file,
	.read = mq_read,
	.write = mq_write,
	.release = fs_file_release,
	.xattrs = mq_xattrs,
	.dir_xattrs = fs_dir_xattrs_mq,
	.node_free = node_free,
	.init = mq_init,
};
