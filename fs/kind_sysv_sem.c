/*
 * sysv-sem/<key> and sysv-sem/id/<semid>: System V semaphore sets of any
 * size.  Reading gives one value per line; a write is sysv-sem/ commands
 * (core's ipcc_semset_cmd_parse), performed as one semop.
 *
 * Every lookup makes a fresh node holding its own handle on the set, as
 * in sem/: the kernel holds an inode's lock for a whole write(), and a
 * blocked wait must not hold up a post from another shell.  st_ino is
 * the kind's base + semid, so every name of one set agrees.
 *
 * Creating: open(O_CREAT) makes a set of one semaphore; the first
 * truncate on that open file (truncate -s 5, ftruncate) gives it its
 * number of semaphores, by making it again under the same key before
 * anyone used it.  The node's handle then moves to the new set.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs.h"
#include "nodes.h"

/* What a node owns. */
struct ssem_node {
	/* write-held only while a first truncate moves set to a new set */
	pthread_rwlock_t lock;
	ipcc_semset *set;
	atomic_int creating;    /* made by the open of this node, not sized */
};

static struct ssem_node *priv_of(struct fs_node *n)
{
	return n->priv;
}

static uint64_t stino(int semid)
{
	return fs_kind_base(&fs_kind_sysv_sem) | (uint32_t)semid;
}

static void set_to_stat(const struct ipcc_semset_stat *s, struct stat *st)
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

static void node_free(void *priv)
{
	struct ssem_node *p = priv;

	if (!p)
		return;
	ipcc_semset_close(p->set);
	pthread_rwlock_destroy(&p->lock);
	free(p);
}

static struct ssem_node *priv_new(ipcc_semset *set, int creating)
{
	struct ssem_node *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	pthread_rwlock_init(&p->lock, NULL);
	p->set = set;
	atomic_init(&p->creating, creating);
	return p;
}

/* The set a name in sysv-sem/ or sysv-sem/id/ stands for. */
static int resolve(int by_id, const char *name, ipcc_semset **out)
{
	key_t key;
	int semid, err = fs_sysv_parse(by_id, name, &key, &semid);

	if (err)
		return err;
	if (!by_id)
		return ipcc_semset_open_key(key, out);
	return ipcc_semset_open_id(semid, out);
}

/* IPC_STAT through a node (cheap: no waiter counts). */
static int node_stat(struct fs_node *n, struct ipcc_semset_stat *st)
{
	struct ssem_node *p = priv_of(n);
	int err;

	pthread_rwlock_rdlock(&p->lock);
	err = ipcc_semset_stat(p->set, st);
	pthread_rwlock_unlock(&p->lock);
	return fs_gone(err);
}

static int may(fuse_req_t req, const struct ipcc_semset_stat *s,
               mode_t want)
{
	return fs_caller_ipc_may(req, s->mode, s->uid, s->gid, s->cuid,
	                         s->cgid, want);
}

/* A new node owning set (given up on failure); replies entry or create. */
static void reply_new_node(fuse_req_t req, const char *name, ipcc_semset *set,
                           int creating, struct fuse_file_info *fi)
{
	struct ipcc_semset_stat s;
	struct ssem_node *p;
	struct stat st;
	int err = fs_gone(ipcc_semset_stat(set, &s));

	if (!err && (p = priv_new(set, creating)) == NULL)
		err = -ENOMEM;
	if (err) {
		ipcc_semset_close(set);
		fuse_reply_err(req, -err);
		return;
	}
	set_to_stat(&s, &st);
	fs_reply_node(req, &fs_kind_sysv_sem, name, p, &st, fi, NULL);
}

static void ssem_lookup(fuse_req_t req, int by_id, const char *name)
{
	ipcc_semset *set;
	int err = resolve(by_id, name, &set);

	if (err) {
		fuse_reply_err(req, -err);
		return;
	}
	reply_new_node(req, name, set, 0, NULL);
}

static int ssem_list(struct fs_state *fs, struct fs_dirbuf *d, int by_id)
{
	ipcc_semset_iter *it;
	struct ipcc_semset_stat s;
	char name[FS_SYSV_NAME_MAX];
	int r, err = 0;

	(void)fs;
	r = ipcc_semset_iter_new(&it);
	if (r)
		return r;
	while ((r = ipcc_semset_iter_next(it, &s)) > 0) {
		if (!fs_sysv_list_name(by_id, s.key, s.semid, name))
			continue;
		err = fs_dirbuf_add(d, name, stino(s.semid), S_IFREG);
		if (err)
			break;
	}
	ipcc_semset_iter_free(it);
	return err ? err : r;
}

static void reply_attr(fuse_req_t req, struct fs_node *n)
{
	struct ipcc_semset_stat s;
	struct stat st;
	int err = node_stat(n, &s);

	if (err) {
		fuse_reply_err(req, -err);
		return;
	}
	set_to_stat(&s, &st);
	fuse_reply_attr(req, &st, 0.0);
}

static void ssem_getattr(fuse_req_t req, fuse_ino_t ino,
                         struct fuse_file_info *fi)
{
	struct fs_node *n = fi ? fs_file_of(fi)->node : fs_node_of(req, ino);

	if (!n) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	reply_attr(req, n);
}

/*
 * A truncate: the first one on the open file that made the set gives it
 * size semaphores; 0 (O_TRUNC, `>`) and the current number change
 * nothing; anything else is refused, as a set never changes size.
 */
static int truncate_set(struct fs_node *n, off_t size)
{
	struct ssem_node *p = priv_of(n);
	struct ipcc_semset_stat s;
	struct fs_cred_saved cred;
	int err;

	if (size < 0)
		return -EINVAL;
	if (size == 0)
		return 0;
	err = node_stat(n, &s);
	if (err)
		return err;
	if ((uint64_t)size == s.nsems)
		return 0;
	if (!atomic_load(&p->creating) || (uint64_t)size > UINT32_MAX)
		return -EINVAL;
	/* the new set's creator is the old one's, whoever truncates */
	err = fs_as(s.cuid, s.cgid, 0, NULL, &cred);
	if (err)
		return err;
	/* a write blocked on this node holds the lock: not sized any more */
	if (pthread_rwlock_trywrlock(&p->lock) != 0) {
		fs_as_daemon(&cred);
		return -EBUSY;
	}
	err = ipcc_semset_resize(p->set, (unsigned)size);
	pthread_rwlock_unlock(&p->lock);
	fs_as_daemon(&cred);
	if (err == -EBUSY)
		err = -EINVAL;  /* used already: its size is final */
	if (!err)
		atomic_store(&p->creating, 0);
	return err;
}

static void ssem_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
                         int to_set, struct fuse_file_info *fi)
{
	struct fs_node *n = fi ? fs_file_of(fi)->node : fs_node_of(req, ino);
	struct ipcc_semset_stat s;
	mode_t mode;
	uid_t uid;
	gid_t gid;
	int err;

	if (!n) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	err = node_stat(n, &s);
	if (!err && (to_set & FUSE_SET_ATTR_SIZE)) {
		/* by path: the IPC rule too (an open file was checked at open) */
		if (!fi)
			err = may(req, &s, 2);
		if (!err)
			err = truncate_set(n, attr->st_size);
		if (!err)
			err = node_stat(n, &s);
	}
	if (!err)
		err = fs_setattr_owner(req, attr, to_set, s.uid, s.cuid, &mode,
		                       &uid, &gid);
	if (err > 0) {
		struct ssem_node *p = priv_of(n);

		pthread_rwlock_rdlock(&p->lock);
		err = fs_gone(ipcc_semset_set_perm(p->set, mode == (mode_t)-1 ?
		                                   mode : mode & 0777, uid, gid));
		pthread_rwlock_unlock(&p->lock);
	}
	if (err) {
		fuse_reply_err(req, -err);
		return;
	}
	/* times: accepted, the kernel's IPC times stay what is shown */
	reply_attr(req, n);
}

static void ssem_create(fuse_req_t req, int by_id, const char *name,
                        mode_t mode, struct fuse_file_info *fi)
{
	struct fs_cred_saved cred;
	struct ipcc_semset_stat s;
	ipcc_semset *set;
	key_t key;
	int created = 0, err;

	/* ids are the kernel's to give */
	if (by_id) {
		fuse_reply_err(req, EPERM);
		return;
	}
	if (ipcc_key_parse(name, &key) != 0) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	/* as the caller: owner and creator are theirs, and so are the checks */
	err = fs_as_caller(req, &cred);
	if (!err) {
		err = ipcc_semset_create(key, 1, mode & 0777,
		                         (fi->flags & O_EXCL) ? IPCC_SEMSET_EXCL : 0,
		                         &created, &set);
		fs_as_daemon(&cred);
	}
	if (!err && !created) {
		/* appeared since the kernel's lookup: not checked by it */
		err = fs_gone(ipcc_semset_stat(set, &s));
		if (!err)
			err = may(req, &s, fs_open_want(fi->flags));
		if (err)
			ipcc_semset_close(set);
	}
	if (err) {
		fuse_reply_err(req, -err);
		return;
	}
	reply_new_node(req, name, set, created && fs_open_writable(fi->flags),
	               fi);
}

static void ssem_open(fuse_req_t req, fuse_ino_t ino,
                      struct fuse_file_info *fi)
{
	struct fs_node *n = fs_node_of(req, ino);
	struct ipcc_semset_stat s;
	int err = n ? node_stat(n, &s) : -ENOENT;

	/* the kernel checked the file's mode; IPC's rule may be stricter */
	if (!err)
		err = may(req, &s, fs_open_want(fi->flags));
	if (err) {
		fuse_reply_err(req, -err);
		return;
	}
	fs_file_open(req, n, fi, NULL);
}

/* "v0\nv1\n..." of every semaphore, in one GETALL. */
static int values_text(struct fs_node *node, char **text, size_t *len)
{
	struct ssem_node *p = priv_of(node);
	unsigned small[64], *vals = small;
	size_t cap, n = 0;
	char *buf = NULL;
	int nsems, err = 0;

	pthread_rwlock_rdlock(&p->lock);
	nsems = (int)ipcc_semset_nsems(p->set);
	if ((size_t)nsems > sizeof(small) / sizeof(small[0])) {
		vals = malloc((size_t)nsems * sizeof(*vals));
		if (!vals) {
			err = -ENOMEM;
			goto out;
		}
	}
	err = ipcc_semset_values(p->set, vals, (size_t)nsems);
	if (err < 0)
		goto out;
	err = 0;
	/* "32767\n" is the longest line */
	cap = (size_t)nsems * 6 + 1;
	buf = malloc(cap);
	if (!buf) {
		err = -ENOMEM;
		goto out;
	}
	for (int i = 0; i < nsems; i++)
		n += (size_t)snprintf(buf + n, cap - n, "%u\n", vals[i]);
	*text = buf;
	*len = n;
	buf = NULL;
out:
	pthread_rwlock_unlock(&p->lock);
	if (vals != small)
		free(vals);
	free(buf);
	return fs_gone(err);
}

static void ssem_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                      struct fuse_file_info *fi)
{
	(void)ino;
	fs_file_read_text(req, fs_file_of(fi), size, off, 0, values_text);
}

/* The reply to a write; what it took goes back if the writer is gone. */
static void reply_write(fuse_req_t req, ipcc_semset *set,
                        const struct ipcc_sem_cmd *cmds, size_t count,
                        int err, size_t size)
{
	if (err)
		fuse_reply_err(req, -err);
	else if (fuse_reply_write(req, size) != 0)
		ipcc_semset_give_back(set, cmds, count);
}

/* A write that blocks, on the waiter pool, with a handle of its own. */
struct ssem_job {
	struct fs_job job;      /* first */
	ipcc_semset *set;
	size_t size;
	size_t count;
	struct ipcc_sem_cmd cmds[IPCC_SEM_CMD_MAX];
};

static int job_run(struct fs_job *job, const struct ipcc_cancel *cancel)
{
	struct ssem_job *j = (struct ssem_job *)job;

	return ipcc_semset_run(j->set, j->cmds, j->count, cancel);
}

static void job_reply(struct fs_job *job, fuse_req_t req, int result)
{
	struct ssem_job *j = (struct ssem_job *)job;

	reply_write(req, j->set, j->cmds, j->count, result, j->size);
}

static void job_free(struct fs_job *job)
{
	struct ssem_job *j = (struct ssem_job *)job;

	ipcc_semset_close(j->set);
	free(j);
}

static int start_job(fuse_req_t req, int semid,
                     const struct ipcc_sem_cmd *cmds, size_t count,
                     size_t size)
{
	struct ssem_job *j = calloc(1, sizeof(*j));
	int err;

	if (!j)
		return -ENOMEM;
	/* the writer's file may be released before the job ends */
	err = ipcc_semset_open_id(semid, &j->set);
	if (err) {
		free(j);
		return err == -ENOENT ? -EIDRM : err;
	}
	j->job.run = job_run;
	j->job.reply = job_reply;
	j->job.free = job_free;
	j->size = size;
	j->count = count;
	memcpy(j->cmds, cmds, count * sizeof(*cmds));
	err = fs_job_start(req, &j->job);
	if (err)
		job_free(&j->job);
	return err;
}

static int has_op(const struct ipcc_sem_cmd *cmds, size_t count,
                  enum ipcc_sem_op op)
{
	for (size_t i = 0; i < count; i++)
		if (cmds[i].op == op)
			return 1;
	return 0;
}

/*
 * After a reply that did not reach the writer: what the write took goes
 * back.  By id, through a handle of our own: once a reply is out, the
 * writer may close and the kernel forget the node at any moment.
 */
static void give_back_id(int semid, const struct ipcc_sem_cmd *cmds,
                         size_t count)
{
	ipcc_semset *set;

	if (ipcc_semset_open_id(semid, &set) != 0)
		return;
	ipcc_semset_give_back(set, cmds, count);
	ipcc_semset_close(set);
}

static void ssem_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
                       size_t size, off_t off, struct fuse_file_info *fi)
{
	struct ipcc_sem_cmd cmds[IPCC_SEM_CMD_MAX];
	struct ssem_node *p = priv_of(fs_file_of(fi)->node);
	size_t count = 0;
	int semid, err;

	(void)ino;
	(void)off;      /* commands, not contents: > and >> both work */
	err = ipcc_semset_cmd_parse(buf, size, cmds, IPCC_SEM_CMD_MAX, &count);
	if (err) {
		fuse_reply_err(req, -err);
		return;
	}
	/* a write that can go through at once is answered here */
	pthread_rwlock_rdlock(&p->lock);
	atomic_store(&p->creating, 0);          /* used: its size is final */
	err = ipcc_semset_try(p->set, cmds, count);
	semid = ipcc_semset_id(p->set);
	pthread_rwlock_unlock(&p->lock);
	/* the node is not touched after this: it may go with the reply */
	if (err == -EAGAIN && !has_op(cmds, count, IPCC_SEM_OP_TRYWAIT)) {
		err = start_job(req, semid, cmds, count, size);
		if (err)
			fuse_reply_err(req, -err);
		return;
	}
	if (err)
		fuse_reply_err(req, -err);
	else if (fuse_reply_write(req, size) != 0)
		give_back_id(semid, cmds, count);
}

static void ssem_unlink(fuse_req_t req, int by_id, const char *name)
{
	struct ipcc_semset_stat s;
	ipcc_semset *set;
	int err = resolve(by_id, name, &set);

	if (err) {
		fuse_reply_err(req, -err);
		return;
	}
	err = fs_gone(ipcc_semset_stat(set, &s));
	/* IPC_RMID: the owner, the creator or root */
	if (!err && !fs_caller_owns(req, s.uid, s.cuid))
		err = -EPERM;
	if (!err)
		err = fs_gone(ipcc_semset_remove(set));
	ipcc_semset_close(set);
	fuse_reply_err(req, -err);
}

/* "a b c": n numbers, space-separated. */
static int add_list(struct fs_xattrs *x, const char *name, const long *v,
                    size_t n)
{
	size_t cap = n * 21 + 1, len = 0;
	char *buf = malloc(cap);
	int err;

	if (!buf)
		return -ENOMEM;
	buf[0] = '\0';
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(buf + len, cap - len, "%s%ld",
		                        i ? " " : "", v[i]);
	err = fs_xattr_add(x, name, "%s", buf);
	free(buf);
	return err;
}

static int ssem_xattrs(fuse_req_t req, fuse_ino_t ino, struct fs_xattrs *x)
{
	struct fs_node *n = fs_node_of(req, ino);
	struct ipcc_semset_stat s;
	struct ssem_node *p;
	unsigned *ncnt = NULL, *zcnt = NULL;
	pid_t *pid = NULL;
	long *list = NULL;
	int err = n ? node_stat(n, &s) : -ENOENT;

	if (err)
		return err;
	/* GETNCNT and the others need read permission */
	err = may(req, &s, 4);
	if (err)
		return err;
	p = priv_of(n);
	ncnt = calloc(s.nsems, sizeof(*ncnt));
	zcnt = calloc(s.nsems, sizeof(*zcnt));
	pid = calloc(s.nsems, sizeof(*pid));
	list = calloc(s.nsems, sizeof(*list));
	if (!ncnt || !zcnt || !pid || !list) {
		err = -ENOMEM;
		goto out;
	}
	pthread_rwlock_rdlock(&p->lock);
	err = ipcc_semset_counts(p->set, ncnt, zcnt, pid, s.nsems);
	pthread_rwlock_unlock(&p->lock);
	if (err < 0) {
		err = fs_gone(err);
		goto out;
	}
	err = fs_xattr_add_key(x, s.key);
	if (!err)
		err = fs_xattr_add(x, "user.ipc.semid", "%d", s.semid);
	if (!err)
		err = fs_xattr_add(x, "user.ipc.nsems", "%u", s.nsems);
	for (unsigned i = 0; !err && i < s.nsems; i++)
		list[i] = (long)ncnt[i];
	if (!err)
		err = add_list(x, "user.ipc.ncnt", list, s.nsems);
	for (unsigned i = 0; !err && i < s.nsems; i++)
		list[i] = (long)zcnt[i];
	if (!err)
		err = add_list(x, "user.ipc.zcnt", list, s.nsems);
	for (unsigned i = 0; !err && i < s.nsems; i++)
		list[i] = (long)pid[i];
	if (!err)
		err = add_list(x, "user.ipc.pid", list, s.nsems);
out:
	free(ncnt);
	free(zcnt);
	free(pid);
	free(list);
	return err;
}

const struct fs_kind fs_kind_sysv_sem = {
	.name = "sysv-sem",
	.has_ids = 1,
	.lookup = ssem_lookup,
	.list = ssem_list,
	.create = ssem_create,
	.unlink = ssem_unlink,
	.getattr = ssem_getattr,
	.setattr = ssem_setattr,
	.open = ssem_open,
	.read = ssem_read,
	.write = ssem_write,
	.release = fs_file_release,
	.xattrs = ssem_xattrs,
	.dir_xattrs = fs_dir_xattrs_sem,
	.node_free = node_free,
};
