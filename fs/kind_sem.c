/*
 * sem/<name>: named counting semaphores.  Reading gives the value, writing
 * runs commands.  Every lookup makes a fresh node: the kernel holds an
 * inode's lock for a whole write(), and a blocked `wait` must not hold up
 * an `echo post` from another shell, which therefore gets another inode.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs.h"
#include "nodes.h"

static ipcc_sem *sem_of(struct fs_node *n)
{
	return n->priv;
}

/* st_ino shown: both names of one semaphore, and every lookup, agree. */
static uint64_t stino(int semid)
{
	return fs_kind_base(&fs_kind_sem) | (uint32_t)semid;
}

static void sem_to_stat(const struct ipcc_sem_stat *s, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = stino(s->semid);
	st->st_mode = S_IFREG | (s->mode & 0777);
	st->st_nlink = 1;
	st->st_uid = s->uid;
	st->st_gid = s->gid;
	st->st_blksize = 4096;
	/* never operated on: the ctime, not 1970 */
	fs_time_set(&st->st_atim, s->otime, s->ctime);
	fs_time_set(&st->st_mtim, s->otime, s->ctime);
	fs_time_set(&st->st_ctim, s->ctime, s->ctime);
}

/* The name ls shows for a set ipcfs has no name for: "0x" + 8 lowercase. */
static int canonical_key(const char *name, key_t *key)
{
	char canon[IPCC_KEY_STRLEN];

	if (ipcc_key_parse(name, key) != 0)
		return 0;
	ipcc_key_format(*key, canon);
	return strcmp(canon, name) == 0;
}

/*
 * Opens the semaphore a name stands for: by name, else a set listed by
 * its key.
 */
static int resolve(const char *name, ipcc_sem **out, int *by_key)
{
	key_t key;
	int err = ipcc_name_check(name, 0);

	if (err)
		return err == -ENAMETOOLONG ? err : -ENOENT;
	*by_key = 0;
	err = ipcc_sem_open(name, out);
	if (err != -ENOENT || !canonical_key(name, &key))
		return err;
	*by_key = 1;
	return ipcc_sem_open_key(key, out);
}

/* Cheap: no waiter counts (stat runs on every lookup and getattr). */
static int node_stat(fuse_req_t req, fuse_ino_t ino, struct fs_node **np,
                     struct ipcc_sem_stat *st)
{
	struct fs_node *n = fs_node_of(req, ino);

	if (!n)
		return -ENOENT;
	if (np)
		*np = n;
	return fs_gone(ipcc_sem_stat_lite(sem_of(n), st));
}

static void reply_new_node(fuse_req_t req, const char *name, int by_key,
                           ipcc_sem *sem, struct fuse_file_info *fi)
{
	struct ipcc_sem_stat s;
	struct stat st;
	int err = fs_gone(ipcc_sem_stat_lite(sem, &s));

	if (err) {
		ipcc_sem_close(sem);
		fuse_reply_err(req, -err);
		return;
	}
	if (!by_key)
		fs_sem_names_remember(fs_state_of(req)->sem_names, name);
	sem_to_stat(&s, &st);
	fs_reply_node(req, &fs_kind_sem, name, sem, &st, fi, NULL);
}

static void sem_lookup(fuse_req_t req, int by_id, const char *name)
{
	ipcc_sem *sem;
	int by_key, err = resolve(name, &sem, &by_key);

	(void)by_id;
	if (err) {
		fuse_reply_err(req, -err);
		return;
	}
	reply_new_node(req, name, by_key, sem, NULL);
}

static int sem_list(struct fs_state *fs, struct fs_dirbuf *d, int by_id)
{
	ipcc_sem_iter *it;
	struct ipcc_sem_stat s;
	char name[IPCC_NAME_MAX + 1];
	int r, err = 0;

	(void)by_id;
	r = ipcc_sem_iter_new(&it);
	if (r)
		return r;
	while ((r = ipcc_sem_iter_next(it, &s)) > 0) {
		/* IPC_PRIVATE sets cannot be reached by any name */
		if (s.key == 0)
			continue;
		if (fs_sem_names_find(fs->sem_names, s.key, name) != 0)
			ipcc_key_format(s.key, name);
		err = fs_dirbuf_add(d, name, stino(s.semid), S_IFREG);
		if (err)
			break;
	}
	ipcc_sem_iter_free(it);
	return err ? err : r;
}

static void reply_attr(fuse_req_t req, fuse_ino_t ino)
{
	struct ipcc_sem_stat s;
	struct stat st;
	int err = node_stat(req, ino, NULL, &s);

	if (err) {
		fuse_reply_err(req, -err);
		return;
	}
	sem_to_stat(&s, &st);
	fuse_reply_attr(req, &st, 0.0);
}

static void sem_getattr(fuse_req_t req, fuse_ino_t ino,
                        struct fuse_file_info *fi)
{
	(void)fi;
	reply_attr(req, ino);
}

static void sem_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
                        int to_set, struct fuse_file_info *fi)
{
	struct ipcc_sem_stat s;
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
		err = fs_gone(ipcc_sem_set_perm(sem_of(n), mode == (mode_t)-1 ?
		                                mode : mode & 0777, uid, gid));
	if (err)
		fuse_reply_err(req, -err);
	else
		reply_attr(req, ino);
}

static void sem_create(fuse_req_t req, int by_id, const char *name,
                       mode_t mode, struct fuse_file_info *fi)
{
	struct fs_cred_saved cred;
	struct ipcc_sem_stat s;
	ipcc_sem *sem;
	int created = 0, err = ipcc_name_check(name, 1);

	(void)by_id;
	/* as the caller: owner and creator are theirs */
	if (!err)
		err = fs_as_caller(req, &cred);
	if (!err) {
		err = ipcc_sem_open_or_create(name, mode & 0777, 0, &created,
		                              &sem);
		fs_as_daemon(&cred);
	}
	if (err) {
		fuse_reply_err(req, -err);
		return;
	}
	if (!created) {
		/* appeared since the kernel's lookup: not checked by it */
		err = fs_gone(ipcc_sem_stat_lite(sem, &s));
		if (!err)
			err = fs_caller_ipc_may(req, s.mode, s.uid, s.gid, s.cuid,
			                        s.cgid, fs_open_want(fi->flags));
		if (err) {
			ipcc_sem_close(sem);
			fuse_reply_err(req, -err);
			return;
		}
	}
	reply_new_node(req, name, 0, sem, fi);
}

static void sem_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct ipcc_sem_stat s;
	struct fs_node *n;
	int err = node_stat(req, ino, &n, &s);

	/* the kernel checked the file's mode; IPC's rule may be stricter */
	if (!err)
		err = fs_caller_ipc_may(req, s.mode, s.uid, s.gid, s.cuid, s.cgid,
		                        fs_open_want(fi->flags));
	if (err) {
		fuse_reply_err(req, -err);
		return;
	}
	fs_file_open(req, n, fi, NULL);
}

/* The value as a line, "%u\n". */
static int value_line(struct fs_node *n, char **text, size_t *len)
{
	unsigned value;
	int err = fs_gone(ipcc_sem_value(sem_of(n), &value));

	if (!err && (*text = malloc(16)) == NULL)
		err = -ENOMEM;
	if (!err)
		*len = (size_t)snprintf(*text, 16, "%u\n", value);
	return err;
}

static void sem_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                     struct fuse_file_info *fi)
{
	(void)ino;
	fs_file_read_text(req, fs_file_of(fi), size, off, 0, value_line);
}

/* The reply to a write of commands; what it took goes back if unheard. */
static void reply_write(fuse_req_t req, ipcc_sem *sem, int err, size_t size,
                        unsigned taken)
{
	if (err)
		fuse_reply_err(req, -err);
	else if (fuse_reply_write(req, size) != 0 && taken)
		ipcc_sem_post(sem, taken);      /* the writer never learns it */
}

/* A write that may block, on the waiter pool; holds its node meanwhile. */
struct sem_job {
	struct fs_job job;      /* first */
	struct fs_state *s;
	struct fs_node *node;
	size_t size;
	size_t count;
	unsigned taken;
	struct ipcc_sem_cmd cmds[IPCC_SEM_CMD_MAX];
};

static int job_run(struct fs_job *job, const struct ipcc_cancel *cancel)
{
	struct sem_job *j = (struct sem_job *)job;

	return ipcc_sem_cmds_run(sem_of(j->node), j->cmds, j->count, cancel,
	                         &j->taken);
}

static void job_reply(struct fs_job *job, fuse_req_t req, int result)
{
	struct sem_job *j = (struct sem_job *)job;

	reply_write(req, sem_of(j->node), result, j->size, j->taken);
}

static void job_free(struct fs_job *job)
{
	struct sem_job *j = (struct sem_job *)job;

	fs_node_put(j->s->nodes, j->node);
	free(j);
}

static int may_block(const struct ipcc_sem_cmd *cmds, size_t count)
{
	for (size_t i = 0; i < count; i++)
		if (cmds[i].op == IPCC_SEM_OP_WAIT ||
		    cmds[i].op == IPCC_SEM_OP_TIMEDWAIT)
			return 1;
	return 0;
}

static int start_job(fuse_req_t req, struct fs_node *node,
                     const struct ipcc_sem_cmd *cmds, size_t count,
                     size_t size)
{
	struct fs_state *fs = fs_state_of(req);
	struct sem_job *j = calloc(1, sizeof(*j));
	int err;

	if (!j)
		return -ENOMEM;
	assert(count <= IPCC_SEM_CMD_MAX);
	j->job.run = job_run;
	j->job.reply = job_reply;
	j->job.free = job_free;
	j->s = fs;
	j->node = node;
	j->size = size;
	j->count = count;
	memcpy(j->cmds, cmds, count * sizeof(*cmds));
	/* the writer may be gone, and the kernel's lookups with it */
	fs_node_hold(fs->nodes, node);
	err = fs_job_start(req, &j->job);
	if (err)
		job_free(&j->job);
	return err;
}

static void sem_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
                      size_t size, off_t off, struct fuse_file_info *fi)
{
	struct ipcc_sem_cmd cmds[IPCC_SEM_CMD_MAX];
	struct fs_node *node = fs_file_of(fi)->node;
	ipcc_sem *sem = sem_of(node);
	size_t count = 0;
	unsigned taken = 0;
	int err;

	(void)ino;
	(void)off;      /* commands, not contents: > and >> both work */
	err = ipcc_sem_cmd_parse(buf, size, cmds, IPCC_SEM_CMD_MAX, &count);
	/* a lone wait that need not block is answered here, without a thread */
	if (!err && count == 1 && cmds[0].op == IPCC_SEM_OP_WAIT) {
		err = ipcc_sem_trywait(sem, cmds[0].n);
		if (!err)
			taken = cmds[0].n;
		if (err != -EAGAIN)
			goto reply;
		err = 0;
	}
	if (!err && may_block(cmds, count)) {
		err = start_job(req, node, cmds, count, size);
		if (!err)
			return;         /* the pool replies */
	} else if (!err) {
		err = ipcc_sem_cmds_run(sem, cmds, count, NULL, &taken);
	}
reply:
	reply_write(req, sem, err, size, taken);
}

static void sem_unlink(fuse_req_t req, int by_id, const char *name)
{
	struct ipcc_sem_stat s;
	ipcc_sem *sem;
	int by_key, err = resolve(name, &sem, &by_key);

	(void)by_id;
	if (err) {
		fuse_reply_err(req, -err);
		return;
	}
	err = fs_gone(ipcc_sem_stat_lite(sem, &s));
	if (!err && !fs_caller_owns(req, s.uid, s.cuid))
		err = -EPERM;
	if (!err)
		err = fs_gone(ipcc_sem_remove(sem));
	ipcc_sem_close(sem);
	fuse_reply_err(req, -err);
}

static int sem_xattrs(fuse_req_t req, fuse_ino_t ino, struct fs_xattrs *x)
{
	struct fs_node *n = fs_node_of(req, ino);
	struct ipcc_sem_stat s;
	int err = n ? fs_gone(ipcc_sem_stat(sem_of(n), &s)) : -ENOENT;

	/* IPC_STAT needs read permission */
	if (!err)
		err = fs_caller_ipc_may(req, s.mode, s.uid, s.gid, s.cuid, s.cgid,
		                        4);
	if (!err)
		err = fs_xattr_add_key(x, s.key);
	if (!err)
		err = fs_xattr_add(x, "user.ipc.semid", "%d", s.semid);
	if (!err)
		err = fs_xattr_add(x, "user.ipc.ncnt", "%u", s.ncnt);
	if (!err)
		err = fs_xattr_add(x, "user.ipc.zcnt", "%u", s.zcnt);
	if (!err)
		err = fs_xattr_add(x, "user.ipc.pid", "%ld", (long)s.pid);
	return err;
}

static void node_free(void *priv)
{
	ipcc_sem_close(priv);
}

const struct fs_kind fs_kind_sem = {
	.name = "sem",
	.lookup = sem_lookup,
	.list = sem_list,
	.create = sem_create,
	.unlink = sem_unlink,
	.getattr = sem_getattr,
	.setattr = sem_setattr,
	.open = sem_open,
	.read = sem_read,
	.write = sem_write,
	.release = fs_file_release,
	.xattrs = sem_xattrs,
	.dir_xattrs = fs_dir_xattrs_sem,
	.node_free = node_free,
};
