/*
 * posix-sem/<name>: POSIX named semaphores, the sem.<name> files glibc's
 * sem_open keeps in /dev/shm (core's ipcc_psem_*).  Reading gives the
 * value; a write is sem/ commands run in order; set is ENOTSUP.
 *
 * Mode, owner and times are those of the file in /dev/shm, so the
 * kernel's default_permissions checks are the file checks sem_open meets.
 * Every lookup makes a fresh node (as in sem/: a write blocked on one
 * inode must not hold up another shell's post); nodes keep only the name,
 * and each open file holds its own mapping of the semaphore, so a file
 * opened before an rm keeps working on the nameless semaphore.  A blocked
 * write holds its file (a reference), which may be released meanwhile.
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

struct psem_file {
	struct fs_open open;    /* first: dropped at exit if open */
	struct fs_state *s;
	ipcc_psem *sem;
	pthread_mutex_t lock;
	char line[16];          /* the value read at offset 0, "%u\n" */
	size_t len;
	atomic_uint refs;       /* the open file's, and each blocked write's */
};

static struct psem_file *file_of(const struct fuse_file_info *fi)
{
	return (struct psem_file *)(uintptr_t)fi->fh;
}

/* st_ino shown: the /dev/shm file's, inside the kind's range. */
static uint64_t stino(const struct stat *real)
{
	return fs_kind_base(&fs_kind_posix_sem) |
	       ((uint64_t)real->st_ino & ((UINT64_C(1) << FS_KIND_SHIFT) - 1));
}

static void file_to_stat(const struct stat *real, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = stino(real);
	st->st_mode = S_IFREG | (real->st_mode & 07777);
	st->st_nlink = 1;
	st->st_uid = real->st_uid;
	st->st_gid = real->st_gid;
	st->st_blksize = 4096;
	st->st_atim = real->st_atim;
	st->st_mtim = real->st_mtim;
	st->st_ctim = real->st_ctim;
}

static int name_ok(const char *name)
{
	int err = ipcc_name_check(name, 0);

	return err == -ENAMETOOLONG ? err : (err ? -ENOENT : 0);
}

static void file_put(struct psem_file *f)
{
	if (atomic_fetch_sub(&f->refs, 1) != 1)
		return;
	ipcc_psem_close(f->sem);
	pthread_mutex_destroy(&f->lock);
	free(f);
}

/* The file is closed; a write still blocked on it keeps its mapping. */
static void file_free(struct psem_file *f)
{
	fs_open_del(f->s, &f->open);
	file_put(f);
}

static void drop_file(struct fs_open *o)
{
	file_free((struct psem_file *)o);
}

/* Takes sem. */
static struct psem_file *file_new(struct fs_state *s, ipcc_psem *sem)
{
	struct psem_file *f = calloc(1, sizeof(*f));

	if (!f) {
		ipcc_psem_close(sem);
		return NULL;
	}
	f->sem = sem;
	f->s = s;
	atomic_init(&f->refs, 1);
	pthread_mutex_init(&f->lock, NULL);
	fs_open_add(s, &f->open, drop_file);
	return f;
}

/* A new node for name; replies entry, or create with an open file. */
static void reply_new_node(fuse_req_t req, const char *name,
                           const struct stat *real, ipcc_psem *sem,
                           struct fuse_file_info *fi)
{
	struct fs_state *fs = fs_state_of(req);
	struct fuse_entry_param e;
	struct psem_file *f;
	struct fs_node *n = fs_node_new(fs->nodes, &fs_kind_posix_sem, name,
	                                NULL);

	if (!n) {
		ipcc_psem_close(sem);
		fuse_reply_err(req, ENOMEM);
		return;
	}
	fs_entry_init(&e, n->id);
	file_to_stat(real, &e.attr);
	if (!fi) {
		if (fuse_reply_entry(req, &e) != 0)
			fs_node_forget(fs->nodes, n->id, 1);
		return;
	}
	f = file_new(fs, sem);
	if (!f) {
		fs_node_forget(fs->nodes, n->id, 1);
		fuse_reply_err(req, ENOMEM);
		return;
	}
	fs_reply_create(req, &e, fi, &f->open);
}

static void psem_lookup(fuse_req_t req, int by_id, const char *name)
{
	struct stat real;
	int err = name_ok(name);

	(void)by_id;
	if (!err)
		err = ipcc_psem_stat(name, &real);
	if (err) {
		fuse_reply_err(req, -err);
		return;
	}
	reply_new_node(req, name, &real, NULL, NULL);
}

static int psem_list(struct fs_state *fs, struct fs_dirbuf *d, int by_id)
{
	char name[IPCC_NAME_MAX + 1];
	ipcc_psem_iter *it;
	struct stat real;
	int r, err = 0;

	(void)fs;
	(void)by_id;
	r = ipcc_psem_iter_new(&it);
	if (r)
		return r;
	while ((r = ipcc_psem_iter_next(it, name, &real)) > 0) {
		err = fs_dirbuf_add(d, name, stino(&real), S_IFREG);
		if (err)
			break;
	}
	ipcc_psem_iter_free(it);
	return err ? err : r;
}

/* The file now: through an open file (even unlinked), else by name. */
static int real_stat(fuse_req_t req, fuse_ino_t ino,
                     struct fuse_file_info *fi, struct stat *real)
{
	struct fs_node *n;

	if (fi)
		return ipcc_psem_fstat(file_of(fi)->sem, real);
	n = fs_node_of(req, ino);
	return n ? ipcc_psem_stat(n->name, real) : -ENOENT;
}

static void reply_attr(fuse_req_t req, fuse_ino_t ino,
                       struct fuse_file_info *fi)
{
	struct stat real, st;
	int err = real_stat(req, ino, fi, &real);

	if (err) {
		fuse_reply_err(req, -err);
		return;
	}
	file_to_stat(&real, &st);
	fuse_reply_attr(req, &st, 0.0);
}

static void psem_getattr(fuse_req_t req, fuse_ino_t ino,
                         struct fuse_file_info *fi)
{
	reply_attr(req, ino, fi);
}

static void psem_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
                         int to_set, struct fuse_file_info *fi)
{
	struct fs_node *n = fs_node_of(req, ino);
	struct fs_cred_saved cred;
	ipcc_psem *own = NULL, *sem = fi ? file_of(fi)->sem : NULL;
	mode_t mode = (to_set & FUSE_SET_ATTR_MODE) ? attr->st_mode & 07777 :
	              (mode_t)-1;
	uid_t uid = (to_set & FUSE_SET_ATTR_UID) ? attr->st_uid : (uid_t)-1;
	gid_t gid = (to_set & FUSE_SET_ATTR_GID) ? attr->st_gid : (gid_t)-1;
	int err = 0;

	/* size (O_TRUNC, truncate) and times: accepted, nothing changes */
	if (mode != (mode_t)-1 || uid != (uid_t)-1 || gid != (gid_t)-1) {
		if (!sem) {
			err = n ? ipcc_psem_open(n->name, O_RDONLY, 0, 0, &own) :
			      -ENOENT;
			sem = own;
		}
		/* as the caller: the kernel's own chmod / chown rules */
		if (!err)
			err = fs_as_caller(req, &cred);
		if (!err) {
			err = ipcc_psem_fset(sem, mode, uid, gid);
			fs_as_daemon(&cred);
		}
		ipcc_psem_close(own);
	}
	if (err) {
		fuse_reply_err(req, -err);
		return;
	}
	reply_attr(req, ino, fi);
}

static void psem_create(fuse_req_t req, int by_id, const char *name,
                        mode_t mode, struct fuse_file_info *fi)
{
	struct fs_cred_saved cred;
	struct stat real;
	ipcc_psem *sem = NULL;
	int err = ipcc_name_check(name, 1);

	(void)by_id;
	/* as the caller: the owner is theirs, the directory checks too */
	if (!err)
		err = fs_as_caller(req, &cred);
	if (!err) {
		err = ipcc_psem_open(name, O_RDWR | O_CREAT | O_EXCL, mode, 0,
		                     &sem);
		fs_as_daemon(&cred);
	}
	if (err == -EEXIST && !(fi->flags & O_EXCL)) {
		/* appeared since the kernel's lookup: not checked by it */
		err = ipcc_psem_stat(name, &real);
		if (err == -ENOENT)
			err = -EEXIST;  /* the name is something else's */
		if (!err)
			err = fs_caller_may_open(req, real.st_mode, real.st_uid,
			                         real.st_gid, fi->flags);
		if (!err)
			err = ipcc_psem_open(name, O_RDWR, 0, 0, &sem);
	}
	if (!err)
		err = ipcc_psem_fstat(sem, &real);
	if (err) {
		ipcc_psem_close(sem);
		fuse_reply_err(req, -err);
		return;
	}
	reply_new_node(req, name, &real, sem, fi);
}

static void psem_open(fuse_req_t req, fuse_ino_t ino,
                      struct fuse_file_info *fi)
{
	struct fs_node *n = fs_node_of(req, ino);
	struct psem_file *f;
	ipcc_psem *sem;
	int err;

	/*
	 * The kernel checked the file's mode (the /dev/shm file's); the
	 * daemon maps it read-write so that writes can post and wait.
	 */
	err = n ? ipcc_psem_open(n->name, O_RDWR, 0, 0, &sem) : -ENOENT;
	if (err) {
		fuse_reply_err(req, -err);
		return;
	}
	f = file_new(fs_state_of(req), sem);
	if (!f) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	fs_reply_open(req, fi, &f->open);
}

static void psem_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                      struct fuse_file_info *fi)
{
	struct psem_file *f = file_of(fi);
	char line[sizeof(f->line)];
	size_t len = 0;
	unsigned value;
	int err = 0;

	(void)ino;
	pthread_mutex_lock(&f->lock);
	if (off == 0) {
		err = ipcc_psem_value(f->sem, &value);
		if (!err)
			f->len = (size_t)snprintf(f->line, sizeof(f->line),
			                          "%u\n", value);
	}
	if (!err && off >= 0 && (size_t)off < f->len) {
		len = f->len - (size_t)off;
		if (len > size)
			len = size;
		memcpy(line, f->line + off, len);
	}
	pthread_mutex_unlock(&f->lock);
	if (err)
		fuse_reply_err(req, -err);
	else
		fuse_reply_buf(req, line, len);
}

static void reply_write(fuse_req_t req, ipcc_psem *sem,
                        const struct ipcc_sem_cmd *cmds, size_t count,
                        int err, size_t size)
{
	if (err)
		fuse_reply_err(req, -err);
	else if (fuse_reply_write(req, size) != 0)
		ipcc_psem_give_back(sem, cmds, count);  /* the writer is gone */
}

/* A write that may block, on the waiter pool, holding its file. */
struct psem_job {
	struct fs_job job;      /* first */
	struct psem_file *f;
	size_t size;
	size_t count;
	struct ipcc_sem_cmd cmds[IPCC_SEM_CMD_MAX];
};

static int job_run(struct fs_job *job, const struct ipcc_cancel *cancel)
{
	struct psem_job *j = (struct psem_job *)job;

	return ipcc_psem_run(j->f->sem, j->cmds, j->count, cancel, NULL);
}

static void job_reply(struct fs_job *job, fuse_req_t req, int result)
{
	struct psem_job *j = (struct psem_job *)job;

	reply_write(req, j->f->sem, j->cmds, j->count, result, j->size);
}

static void job_free(struct fs_job *job)
{
	struct psem_job *j = (struct psem_job *)job;

	file_put(j->f);
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

static void psem_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
                       size_t size, off_t off, struct fuse_file_info *fi)
{
	struct ipcc_sem_cmd cmds[IPCC_SEM_CMD_MAX];
	struct psem_file *f = file_of(fi);
	struct psem_job *j;
	size_t count = 0;
	int err;

	(void)ino;
	(void)off;      /* commands, not contents: > and >> both work */
	err = ipcc_sem_cmd_parse(buf, size, cmds, IPCC_SEM_CMD_MAX, &count);
	/* a lone wait that need not block is answered here */
	if (!err && count == 1 && cmds[0].op == IPCC_SEM_OP_WAIT) {
		err = ipcc_psem_trywait(f->sem, cmds[0].n);
		if (err != -EAGAIN) {
			reply_write(req, f->sem, cmds, count, err, size);
			return;
		}
		err = 0;
	}
	if (!err && !may_block(cmds, count)) {
		err = ipcc_psem_run(f->sem, cmds, count, NULL, NULL);
		reply_write(req, f->sem, cmds, count, err, size);
		return;
	}
	if (err) {
		fuse_reply_err(req, -err);
		return;
	}
	j = calloc(1, sizeof(*j));
	if (!j) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	/* the writer's file may be released before the job ends */
	atomic_fetch_add(&f->refs, 1);
	j->f = f;
	j->job.run = job_run;
	j->job.reply = job_reply;
	j->job.free = job_free;
	j->size = size;
	j->count = count;
	memcpy(j->cmds, cmds, count * sizeof(*cmds));
	err = fs_job_start(req, &j->job);
	if (!err)
		return;         /* the pool replies */
	job_free(&j->job);
	fuse_reply_err(req, -err);
}

static void psem_release(fuse_req_t req, fuse_ino_t ino,
                         struct fuse_file_info *fi)
{
	(void)ino;
	file_free(file_of(fi));
	fuse_reply_err(req, 0);
}

static void psem_unlink(fuse_req_t req, int by_id, const char *name)
{
	struct fs_cred_saved cred;
	int err = name_ok(name);

	(void)by_id;
	/* as the caller: /dev/shm's sticky bit decides, as for sem_unlink */
	if (!err)
		err = fs_as_caller(req, &cred);
	if (!err) {
		err = ipcc_psem_unlink(name);
		fs_as_daemon(&cred);
	}
	fuse_reply_err(req, -err);
}

const struct fs_kind fs_kind_posix_sem = {
	.name = "posix-sem",
	.lookup = psem_lookup,
	.list = psem_list,
	.create = psem_create,
	.unlink = psem_unlink,
	.getattr = psem_getattr,
	.setattr = psem_setattr,
	.open = psem_open,
	.read = psem_read,
	.write = psem_write,
	.release = psem_release,
};
