/*
 * sem/<name>: named counting semaphores.  Reading gives the value, writing
 * runs commands.  Every lookup makes a fresh node: the kernel holds an
 * inode's lock for a whole write(), and a blocked `wait` must not hold up
 * an `echo post` from another shell, which therefore gets another inode.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs.h"
#include "nodes.h"

struct sem_file {
	struct fs_open open;    /* first: dropped at exit if open */
	struct fs_node *node;
	pthread_mutex_t lock;
	char line[16];          /* the value read at offset 0, "%u\n" */
	size_t len;
};

static struct sem_file *file_of(const struct fuse_file_info *fi)
{
	return (struct sem_file *)(uintptr_t)fi->fh;
}

static void file_free(struct sem_file *f)
{
	fs_open_del(&f->open);
	pthread_mutex_destroy(&f->lock);
	free(f);
}

static void drop_file(struct fs_open *o)
{
	file_free((struct sem_file *)o);
}

static struct sem_file *file_new(struct fs_node *n)
{
	struct sem_file *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->node = n;
	pthread_mutex_init(&f->lock, NULL);
	fs_open_add(&f->open, drop_file);
	return f;
}

static void sem_to_stat(const struct ipcc_sem_stat *s, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = FS_SEM_STINO(s->semid);
	st->st_mode = S_IFREG | (s->mode & 0777);
	st->st_nlink = 1;
	st->st_uid = s->uid;
	st->st_gid = s->gid;
	st->st_blksize = 4096;
	fs_time_set(&st->st_atim, s->otime);
	fs_time_set(&st->st_mtim, s->otime);
	fs_time_set(&st->st_ctim, s->ctime);
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

/* Semaphore gone (removed): the file is gone too. */
static int gone(int err)
{
	return err == -EIDRM || err == -EINVAL ? -ENOENT : err;
}

int fs_sem_stat(fuse_ino_t ino, struct ipcc_sem_stat *st)
{
	struct fs_node *n = fs_node_find(ino);

	if (!n)
		return -ENOENT;
	return gone(ipcc_sem_stat(n->sem, st));
}

static void reply_new_node(fuse_req_t req, const char *name, int by_key,
                           ipcc_sem *sem, struct fuse_file_info *fi)
{
	struct fuse_entry_param e;
	struct ipcc_sem_stat s;
	struct sem_file *f = NULL;
	struct fs_node *n;
	int err = gone(ipcc_sem_stat(sem, &s));

	if (err)
		goto out_close;
	n = fs_node_sem_new(name, by_key, sem);
	if (!n) {
		err = -ENOMEM;
		goto out_close;
	}
	if (!by_key)
		fs_sem_names_remember(name);
	fs_entry_init(&e, n->id);
	sem_to_stat(&s, &e.attr);
	if (!fi) {
		if (fuse_reply_entry(req, &e) != 0)
			fs_node_forget(n->id, 1);
		return;
	}
	f = file_new(n);
	if (!f) {
		fs_node_forget(n->id, 1);
		fuse_reply_err(req, ENOMEM);
		return;
	}
	fi->fh = (uintptr_t)f;
	fi->direct_io = 1;
	fi->keep_cache = 0;
	if (fuse_reply_create(req, &e, fi) != 0) {
		file_free(f);
		fs_node_forget(n->id, 1);
	}
	return;

out_close:
	ipcc_sem_close(sem);
	fuse_reply_err(req, -err);
}

void fs_sem_lookup(fuse_req_t req, const char *name)
{
	ipcc_sem *sem;
	int by_key, err = resolve(name, &sem, &by_key);

	if (err) {
		fuse_reply_err(req, -err);
		return;
	}
	reply_new_node(req, name, by_key, sem, NULL);
}

int fs_sem_list(struct fs_dirbuf *d)
{
	ipcc_sem_iter *it;
	struct ipcc_sem_stat s;
	char name[IPCC_NAME_MAX + 1];
	int r, err = 0;

	r = ipcc_sem_iter_new(&it);
	if (r)
		return r;
	while ((r = ipcc_sem_iter_next(it, &s)) > 0) {
		/* IPC_PRIVATE sets cannot be reached by any name */
		if (s.key == 0)
			continue;
		if (fs_sem_names_find(s.key, name) != 0)
			ipcc_key_format(s.key, name);
		err = fs_dirbuf_add(d, name, FS_SEM_STINO(s.semid), S_IFREG);
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
	int err = fs_sem_stat(ino, &s);

	if (err) {
		fuse_reply_err(req, -err);
		return;
	}
	sem_to_stat(&s, &st);
	fuse_reply_attr(req, &st, 0.0);
}

void fs_sem_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)fi;
	reply_attr(req, ino);
}

void fs_sem_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
                    int to_set, struct fuse_file_info *fi)
{
	struct fs_node *n = fs_node_find(ino);
	struct ipcc_sem_stat s;
	int err;

	(void)fi;
	if (!n) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	/* size (truncate, O_TRUNC) and times: accepted, nothing changes */
	if (to_set & (FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_UID |
	              FUSE_SET_ATTR_GID)) {
		err = gone(ipcc_sem_stat(n->sem, &s));
		if (!err && !fs_caller_owns(req, s.uid, s.cuid))
			err = -EPERM;
		if (!err)
			err = gone(ipcc_sem_set_perm(n->sem,
			           (to_set & FUSE_SET_ATTR_MODE) ?
			           (attr->st_mode & 0777) : (mode_t)-1,
			           (to_set & FUSE_SET_ATTR_UID) ?
			           attr->st_uid : (uid_t)-1,
			           (to_set & FUSE_SET_ATTR_GID) ?
			           attr->st_gid : (gid_t)-1));
		if (err) {
			fuse_reply_err(req, -err);
			return;
		}
	}
	reply_attr(req, ino);
}

void fs_sem_create(fuse_req_t req, const char *name, mode_t mode,
                   struct fuse_file_info *fi)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct ipcc_sem_stat s;
	ipcc_sem *sem;
	int created = 0, err = ipcc_name_check(name, 1);

	if (!err)
		err = ipcc_sem_open_or_create(name, mode & 0777, 0, &created,
		                              &sem);
	if (err) {
		fuse_reply_err(req, -err);
		return;
	}
	if (created) {
		/* the caller owns what it creates, not the daemon */
		err = ipcc_sem_set_perm(sem, (mode_t)-1, ctx->uid, ctx->gid);
		if (err)
			ipcc_sem_remove(sem);
	} else {
		/* appeared since the kernel's lookup: not checked by it */
		err = gone(ipcc_sem_stat(sem, &s));
		if (!err)
			err = fs_caller_may_open(req, s.mode, s.uid, s.gid,
			                         fi->flags);
	}
	if (err) {
		ipcc_sem_close(sem);
		fuse_reply_err(req, -err);
		return;
	}
	reply_new_node(req, name, 0, sem, fi);
}

void fs_sem_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs_node *n = fs_node_find(ino);
	struct ipcc_sem_stat s;
	struct sem_file *f;
	int err = n ? gone(ipcc_sem_stat(n->sem, &s)) : -ENOENT;

	/* the kernel checked the file's mode; IPC's rule may be stricter */
	if (!err)
		err = fs_caller_ipc_may(req, s.mode, s.uid, s.gid, s.cuid, s.cgid,
		                        fs_open_want(fi->flags));
	if (err) {
		fuse_reply_err(req, -err);
		return;
	}
	f = file_new(n);
	if (!f) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	fi->fh = (uintptr_t)f;
	/* values are never cached; seekable so that >> works */
	fi->direct_io = 1;
	fi->keep_cache = 0;
	if (fuse_reply_open(req, fi) != 0)
		file_free(f);
}

void fs_sem_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                 struct fuse_file_info *fi)
{
	struct sem_file *f = file_of(fi);
	char line[sizeof(f->line)];
	size_t len = 0;
	unsigned value;
	int err = 0;

	(void)ino;
	pthread_mutex_lock(&f->lock);
	if (off == 0) {
		err = gone(ipcc_sem_value(f->node->sem, &value));
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
	/* f may be released as soon as the reply is out: not used after */
	pthread_mutex_unlock(&f->lock);
	if (err)
		fuse_reply_err(req, -err);
	else
		fuse_reply_buf(req, line, len);
}

static int may_block(const struct ipcc_sem_cmd *cmds, size_t count)
{
	for (size_t i = 0; i < count; i++)
		if (cmds[i].op == IPCC_SEM_OP_WAIT ||
		    cmds[i].op == IPCC_SEM_OP_TIMEDWAIT)
			return 1;
	return 0;
}

void fs_sem_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
                  size_t size, off_t off, struct fuse_file_info *fi)
{
	struct ipcc_sem_cmd cmds[IPCC_SEM_CMD_MAX];
	struct fs_node *node = file_of(fi)->node;
	ipcc_sem *sem = node->sem;
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
		err = fs_waiter_start(req, node, cmds, count, size);
		if (!err)
			return;         /* the waiter replies */
	} else {
		for (size_t i = 0; i < count && !err; i++) {
			err = ipcc_sem_cmd_run(sem, &cmds[i]);
			if (!err && cmds[i].op == IPCC_SEM_OP_TRYWAIT)
				taken += cmds[i].n;
		}
	}
reply:
	if (err)
		fuse_reply_err(req, -err);
	else if (fuse_reply_write(req, size) != 0 && taken)
		ipcc_sem_post(sem, taken);      /* the writer never learns it */
}

void fs_sem_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	file_free(file_of(fi));
	fuse_reply_err(req, 0);
}

void fs_sem_unlink(fuse_req_t req, const char *name)
{
	struct ipcc_sem_stat s;
	ipcc_sem *sem;
	int by_key, err = resolve(name, &sem, &by_key);

	if (err) {
		fuse_reply_err(req, -err);
		return;
	}
	err = gone(ipcc_sem_stat(sem, &s));
	if (!err && !fs_caller_owns(req, s.uid, s.cuid))
		err = -EPERM;
	if (!err)
		err = gone(ipcc_sem_remove(sem));
	ipcc_sem_close(sem);
	fuse_reply_err(req, -err);
}
