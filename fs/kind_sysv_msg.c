/*
 * sysv-msg/<key> and sysv-msg/id/<msqid>: System V message queues.
 *
 * Looking never takes: reading the plain name gives a snapshot of the
 * queued messages (msgrcv MSG_COPY), so grep -r, tar and backups leave a
 * queue as it was.  Taking has names of its own, NAME@T (not listed):
 * each read(2) takes one message by msgrcv's type rule T, each write(2)
 * sends one of type T.
 *
 * Every lookup makes a fresh node holding the queue's msqid, as sem/
 * does: the kernel holds an inode's lock for a whole write(), and a
 * writer blocked on a full queue must not hold up another one.  A node
 * stays on the queue it was looked up on; a queue removed and made again
 * under the key is reached by the next lookup.
 *
 * Blocking reads and writes run on the waiter pool.  A message taken for
 * a reader whose reply fails (the reader is gone) or was interrupted
 * meanwhile goes back to the queue: at its end, since msgsnd appends.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs.h"
#include "nodes.h"

/* What a node stands for: a queue, and for NAME@T its stream type. */
struct msq_node {
	ipcc_msq *q;
	int stream;
	long type;
};

static struct msq_node *mn_of(struct fs_node *n)
{
	return n->priv;
}

static void node_free(void *priv)
{
	struct msq_node *mn = priv;

	if (!mn)
		return;
	ipcc_msq_close(mn->q);
	free(mn);
}

/* st_ino: the plain name and its streams differ, every lookup agrees. */
static uint64_t stino(const struct msq_node *mn, int msqid)
{
	return fs_kind_base(&fs_kind_sysv_msg) |
	       (mn->stream ? UINT64_C(1) << 32 : 0) | (uint32_t)msqid;
}

static void msq_to_stat(const struct msq_node *mn,
                        const struct ipcc_msq_stat *s, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = stino(mn, s->msqid);
	st->st_mode = S_IFREG | (s->mode & 0777);
	st->st_nlink = 1;
	st->st_uid = s->uid;
	st->st_gid = s->gid;
	/* a stream has no size: what it gives is taken, not stored */
	st->st_size = mn->stream ? 0 : (off_t)s->cbytes;
	st->st_blksize = 4096;
	st->st_blocks = mn->stream ? 0 : (blkcnt_t)((s->cbytes + 511) / 512);
	/* never sent to / received from: the ctime, not 1970 */
	fs_time_set(&st->st_atim, s->rtime, s->ctime);
	fs_time_set(&st->st_mtim, s->stime, s->ctime);
	fs_time_set(&st->st_ctim, s->ctime, s->ctime);
}

/*
 * Splits a name into the queue part and the stream type.  1: a stream,
 * 0: the plain name, -ENOENT: a malformed suffix.  base gets the queue
 * part (at most NAME_MAX bytes).
 */
static int split(const char *name, char base[NAME_MAX + 1], long *type)
{
	size_t len;
	int r = ipcc_stream_parse(name, -LONG_MAX, LONG_MAX, &len, type);

	if (r < 0)
		return -ENOENT;
	if (r == 0)
		len = strlen(name);
	if (len > NAME_MAX)
		return -ENAMETOOLONG;
	memcpy(base, name, len);
	base[len] = '\0';
	return r;
}

/* The live queue a name in sysv-msg/ or sysv-msg/id/ stands for. */
static int resolve(int by_id, const char *name, struct msq_node **out)
{
	char base[NAME_MAX + 1];
	struct msq_node *mn;
	long type = 0;
	key_t key;
	int msqid, err, stream = split(name, base, &type);

	if (stream < 0)
		return stream;
	err = fs_sysv_parse(by_id, base, &key, &msqid);
	if (!err && !by_id)
		err = ipcc_msq_find(key, &msqid);
	if (err)
		return err;
	mn = calloc(1, sizeof(*mn));
	if (!mn)
		return -ENOMEM;
	err = ipcc_msq_open(msqid, &mn->q);
	if (err) {
		free(mn);
		return err;
	}
	mn->stream = stream;
	mn->type = type;
	*out = mn;
	return 0;
}

static int node_stat(fuse_req_t req, fuse_ino_t ino, struct fs_node **np,
                     struct ipcc_msq_stat *st)
{
	struct fs_node *n = fs_node_of(req, ino);

	if (!n)
		return -ENOENT;
	if (np)
		*np = n;
	return fs_gone(ipcc_msq_stat(mn_of(n)->q, st));
}

/* Replies to a lookup (fi NULL) or a create with a new node for mn. */
static void reply_new_node(fuse_req_t req, const char *name,
                           struct msq_node *mn, struct fuse_file_info *fi)
{
	struct ipcc_msq_stat s;
	struct stat st;
	int err = fs_gone(ipcc_msq_stat(mn->q, &s));

	if (err) {
		node_free(mn);
		fuse_reply_err(req, -err);
		return;
	}
	msq_to_stat(mn, &s, &st);
	fs_reply_node(req, &fs_kind_sysv_msg, name, mn, &st, fi, NULL);
}

static void msg_lookup(fuse_req_t req, int by_id, const char *name)
{
	struct msq_node *mn;
	int err = resolve(by_id, name, &mn);

	if (err)
		fuse_reply_err(req, -err);
	else
		reply_new_node(req, name, mn, NULL);
}

static int msg_list(struct fs_state *fs, struct fs_dirbuf *d, int by_id)
{
	static const struct msq_node plain = { NULL, 0, 0 };
	struct ipcc_msq_stat s;
	ipcc_msq_iter *it;
	char name[FS_SYSV_NAME_MAX];
	int r, err = 0;

	(void)fs;
	r = ipcc_msq_iter_new(&it);
	if (r)
		return r;
	while ((r = ipcc_msq_iter_next(it, &s)) > 0) {
		if (!fs_sysv_list_name(by_id, s.key, s.msqid, name))
			continue;
		err = fs_dirbuf_add(d, name, stino(&plain, s.msqid), S_IFREG);
		if (err)
			break;
	}
	ipcc_msq_iter_free(it);
	return err ? err : r;
}

static void reply_attr(fuse_req_t req, fuse_ino_t ino)
{
	struct ipcc_msq_stat s;
	struct fs_node *n;
	struct stat st;
	int err = node_stat(req, ino, &n, &s);

	if (err) {
		fuse_reply_err(req, -err);
		return;
	}
	msq_to_stat(mn_of(n), &s, &st);
	fuse_reply_attr(req, &st, 0.0);
}

static void msg_getattr(fuse_req_t req, fuse_ino_t ino,
                        struct fuse_file_info *fi)
{
	(void)fi;
	reply_attr(req, ino);
}

static void msg_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
                        int to_set, struct fuse_file_info *fi)
{
	struct ipcc_msq_stat s;
	struct fs_node *n;
	mode_t mode;
	uid_t uid;
	gid_t gid;
	int err = node_stat(req, ino, &n, &s);

	(void)fi;
	/* size (truncate, O_TRUNC) and times: accepted, nothing changes */
	if (!err)
		err = fs_setattr_owner(req, attr, to_set, s.uid, s.cuid, &mode,
		                       &uid, &gid);
	if (err > 0)
		err = fs_gone(ipcc_msq_set(s.msqid, mode == (mode_t)-1 ? mode :
		                           mode & 0777, uid, gid));
	if (err)
		fuse_reply_err(req, -err);
	else
		reply_attr(req, ino);
}

static int may(fuse_req_t req, const struct ipcc_msq_stat *s, mode_t want)
{
	return fs_caller_ipc_may(req, s->mode, s->uid, s->gid, s->cuid,
	                         s->cgid, want);
}

static void msg_create(fuse_req_t req, int by_id, const char *name,
                       mode_t mode, struct fuse_file_info *fi)
{
	char base[NAME_MAX + 1];
	struct fs_cred_saved cred;
	struct ipcc_msq_stat s;
	struct msq_node *mn;
	long type = 0;
	key_t key;
	int msqid, created = 0, err, stream;

	if (by_id) {
		fuse_reply_err(req, EPERM);
		return;
	}
	/* NAME@T too: `echo hi > sysv-msg/0x1234@5` makes the queue */
	stream = split(name, base, &type);
	if (stream < 0 || ipcc_key_parse(base, &key) != 0) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	/* as the caller: owner and creator are theirs, and so are the checks */
	err = fs_as_caller(req, &cred);
	if (err)
		goto out_err;
	err = ipcc_msq_create(key, mode & 0777,
	                      (fi->flags & O_EXCL) ? IPCC_MSQ_EXCL : 0, &msqid,
	                      &created);
	fs_as_daemon(&cred);
	if (err)
		goto out_err;
	if (!created) {
		/* appeared since the kernel's lookup: not checked by it */
		err = ipcc_msq_stat_id(msqid, &s);
		if (!err)
			err = fs_caller_may_open(req, s.mode, s.uid, s.gid,
			                         fi->flags);
		if (!err)
			err = may(req, &s, fs_open_want(fi->flags));
		if (err)
			goto out_err;
	}
	mn = calloc(1, sizeof(*mn));
	if (!mn) {
		err = -ENOMEM;
		goto out_remove;
	}
	err = ipcc_msq_open(msqid, &mn->q);
	if (err) {
		free(mn);
		goto out_remove;
	}
	mn->stream = stream;
	mn->type = type;
	reply_new_node(req, name, mn, fi);
	return;

out_remove:
	if (created)
		ipcc_msq_remove(msqid);
out_err:
	fuse_reply_err(req, -err);
}

static void msg_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct ipcc_msq_stat s;
	struct fs_node *n;
	int err = node_stat(req, ino, &n, &s);

	/*
	 * The kernel checked the file's mode; IPC's rule (the creator counts
	 * as owner) may be stricter.  Reading, even a snapshot, needs r
	 * (MSG_COPY does); writing needs w.  O_TRUNC is accepted and changes
	 * nothing.
	 */
	if (!err)
		err = may(req, &s, fs_open_want(fi->flags & ~O_TRUNC));
	if (err) {
		fuse_reply_err(req, -err);
		return;
	}
	fs_file_open(req, n, fi, NULL);
}

/* ---- the plain name: a snapshot, taking nothing ---------------------- */

/* The queue as it is now; at offset 0 (cat, a new pass of less). */
static int snapshot(struct fs_node *n, char **text, size_t *len)
{
	void *data = NULL;
	int err = fs_gone(ipcc_msq_snapshot(mn_of(n)->q, &data, len));

	if (!err)
		*text = data;
	return err;
}

/* ---- streams: taking and sending, maybe blocking -------------------- */

static ssize_t stream_take(struct fs_node *n, void *buf, size_t size,
                           long *tag, int flags,
                           const struct ipcc_cancel *cancel)
{
	return ipcc_msq_receive(mn_of(n)->q, mn_of(n)->type, buf, size, tag,
	                        flags, cancel);
}

static int stream_send(struct fs_node *n, const void *buf, size_t size,
                       int flags, const struct ipcc_cancel *cancel)
{
	/* the plain name sends type 1; a stream its own type */
	long type = mn_of(n)->stream ? mn_of(n)->type : 1;

	return ipcc_msq_send(mn_of(n)->q, type, buf, size, flags, cancel);
}

/* at the queue's end, since msgsnd appends */
static void stream_give_back(struct fs_node *n, const void *buf,
                             size_t len, long tag)
{
	ipcc_msq_give_back(mn_of(n)->q, tag, buf, len);
}

static const struct fs_stream_ops stream_ops = {
	.take = stream_take,
	.send = stream_send,
	.give_back = stream_give_back,
};

static void msg_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                     struct fuse_file_info *fi)
{
	struct fs_file *f = fs_file_of(fi);

	(void)ino;
	if (!mn_of(f->node)->stream)
		fs_file_read_text(req, f, size, off < 0 ? 0 : off, 1, snapshot);
	else
		fs_stream_read(req, f, size, fi, &stream_ops);
}

static void msg_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
                      size_t size, off_t off, struct fuse_file_info *fi)
{
	(void)ino;
	(void)off;      /* messages, not contents: > and >> both work */
	fs_stream_write(req, fs_file_of(fi), buf, size, fi, &stream_ops);
}

static void msg_unlink(fuse_req_t req, int by_id, const char *name)
{
	struct ipcc_msq_stat s;
	struct msq_node *mn;
	int err = resolve(by_id, name, &mn);

	if (err) {
		fuse_reply_err(req, -err);
		return;
	}
	/* a stream is a way to the queue, not the queue: rm q@0 removes none */
	if (mn->stream)
		err = -EPERM;
	if (!err)
		err = fs_gone(ipcc_msq_stat(mn->q, &s));
	if (!err && !fs_caller_owns(req, s.uid, s.cuid))
		err = -EPERM;
	if (!err)
		err = ipcc_msq_remove(s.msqid);
	node_free(mn);
	fuse_reply_err(req, -err);
}

static int msg_xattrs(fuse_req_t req, fuse_ino_t ino, struct fs_xattrs *x)
{
	struct ipcc_msq_stat s;
	int err = node_stat(req, ino, NULL, &s);

	/* IPC_STAT needs read permission */
	if (!err)
		err = may(req, &s, 4);
	if (!err)
		err = fs_xattr_add_key(x, s.key);
	if (!err)
		err = fs_xattr_add(x, "user.ipc.msqid", "%d", s.msqid);
	if (!err)
		err = fs_xattr_add(x, "user.ipc.qnum", "%" PRIu64, s.qnum);
	if (!err)
		err = fs_xattr_add(x, "user.ipc.qbytes", "%" PRIu64, s.qbytes);
	if (!err)
		err = fs_xattr_add(x, "user.ipc.lspid", "%ld", (long)s.lspid);
	if (!err)
		err = fs_xattr_add(x, "user.ipc.lrpid", "%ld", (long)s.lrpid);
	return err;
}

const struct fs_kind fs_kind_sysv_msg = {
	.name = "sysv-msg",
	.has_ids = 1,
	.lookup = msg_lookup,
	.list = msg_list,
	.create = msg_create,
	.unlink = msg_unlink,
	.getattr = msg_getattr,
	.setattr = msg_setattr,
	.open = msg_open,
	.read = msg_read,
	.write = msg_write,
	.release = fs_file_release,
	.xattrs = msg_xattrs,
	.dir_xattrs = fs_dir_xattrs_msg,
	.node_free = node_free,
};
