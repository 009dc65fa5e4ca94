/*
 * posix/<name>: POSIX shared memory objects, behaving like files on tmpfs.
 * A node is (name, st_ino of the object's file): a name removed and made
 * again is a new node, and an open checks it still reaches the same file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs.h"
#include "nodes.h"
#include "passthrough.h"

/* glibc's named semaphores live beside shm objects; they are not ours. */
static int hidden(const char *name)
{
	return strncmp(name, "sem.", 4) == 0;
}

static void pstat_to_stat(const struct stat *in, struct stat *st)
{
	*st = *in;
	st->st_ino = FS_POSIX_STINO(in->st_ino);
	st->st_nlink = 1;
	st->st_blksize = FS_BLKSIZE;
}

struct posix_file {
	struct fs_open open;    /* first: dropped at exit if open */
	ipcc_pshm *p;
	fuse_ino_t ino;         /* the inode it is open on */
	enum fs_pt_path pt;     /* how its bytes travel */
};

static ipcc_pshm *file_of(const struct fuse_file_info *fi)
{
	return ((struct posix_file *)(uintptr_t)fi->fh)->p;
}

static void file_free(struct posix_file *f)
{
	fs_open_del(&f->open);
	ipcc_pshm_close(f->p);
	free(f);
}

static void drop_file(struct fs_open *o)
{
	struct posix_file *f = (struct posix_file *)o;

	fs_pt_release(NULL, f->ino, f->pt);
	file_free(f);
}

/*
 * The backing file for passthrough: the object opened again read-write,
 * so that writable opens sharing it pass their writes through too; else
 * the open's own fd.
 */
static int object_memfd(void *arg)
{
	int own = ipcc_pshm_fd(arg), fd;
	char path[32];

	snprintf(path, sizeof(path), "/proc/self/fd/%d", own);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		fd = fcntl(own, F_DUPFD_CLOEXEC, 0);
	return fd < 0 ? -errno : fd;
}

/* Reads, writes and mmap all go to the /dev/shm file when they can. */
static void posix_reply_flags(fuse_req_t req, fuse_ino_t ino,
                              const char *name, struct fuse_file_info *fi)
{
	struct posix_file *f = (struct posix_file *)(uintptr_t)fi->fh;
	char what[IPCC_NAME_MAX + 8];

	snprintf(what, sizeof(what), "posix/%s", name);
	f->ino = ino;
	f->pt = fs_pt_open(req, ino, FS_PT_FULL, object_memfd, f->p, fi, what);
}

/* Gives p to a new handle in fi; on failure p is left to the caller. */
static int file_new(ipcc_pshm *p, struct fuse_file_info *fi)
{
	struct posix_file *f = calloc(1, sizeof(*f));

	if (!f)
		return -ENOMEM;
	f->p = p;
	fs_open_add(&f->open, drop_file);
	fi->fh = (uintptr_t)f;
	/* no page cache: other processes map the same memory */
	fi->direct_io = 1;
	fi->keep_cache = 0;
	return 0;
}

/* A name looked up (not created): bad names are simply not there. */
static int lookup_err(int err)
{
	return err == -EINVAL ? -ENOENT : err;
}

void fs_posix_lookup(fuse_req_t req, const char *name)
{
	struct fuse_entry_param e;
	struct fs_node *n;
	struct stat st;
	int err = hidden(name) ? -ENOENT : ipcc_pshm_stat(name, &st);

	if (err) {
		fuse_reply_err(req, -lookup_err(err));
		return;
	}
	n = fs_node_posix_get(name, st.st_ino);
	if (!n) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	fs_entry_init(&e, n->id);
	pstat_to_stat(&st, &e.attr);
	if (fuse_reply_entry(req, &e) != 0)
		fs_node_forget(n->id, 1);
}

int fs_posix_list(struct fs_dirbuf *d)
{
	ipcc_pshm_iter *it;
	char name[IPCC_NAME_MAX + 1];
	struct stat st;
	int r, err = 0;

	r = ipcc_pshm_iter_new(&it);
	if (r)
		return r;
	while ((r = ipcc_pshm_iter_next(it, name, &st)) > 0) {
		err = fs_dirbuf_add(d, name, FS_POSIX_STINO(st.st_ino), S_IFREG);
		if (err)
			break;
	}
	ipcc_pshm_iter_free(it);
	return err ? err : r;
}

/* Stat of the object the node stands for: -ENOENT if the name moved on. */
static int node_stat(fuse_ino_t ino, struct fs_node **np, struct stat *st)
{
	struct fs_node *n = fs_node_find(ino);
	int err;

	if (!n)
		return -ENOENT;
	err = ipcc_pshm_stat(n->name, st);
	if (err)
		return lookup_err(err);
	if (st->st_ino != n->ino)
		return -ENOENT;
	*np = n;
	return 0;
}

static int any_stat(fuse_ino_t ino, struct fuse_file_info *fi,
                    struct fs_node **np, struct stat *st)
{
	*np = NULL;
	if (fi)
		return ipcc_pshm_fstat(file_of(fi), st);
	return node_stat(ino, np, st);
}

static void reply_attr(fuse_req_t req, const struct stat *in)
{
	struct stat st;

	pstat_to_stat(in, &st);
	fuse_reply_attr(req, &st, 0.0);
}

void fs_posix_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs_node *n;
	struct stat st;
	int err = any_stat(ino, fi, &n, &st);

	if (err)
		fuse_reply_err(req, -err);
	else
		reply_attr(req, &st);
}

void fs_posix_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
                      int to_set, struct fuse_file_info *fi)
{
	struct fs_node *n;
	struct stat st;
	int err = any_stat(ino, fi, &n, &st);

	if (!err && (to_set & (FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_UID |
	                       FUSE_SET_ATTR_GID))) {
		mode_t mode = (to_set & FUSE_SET_ATTR_MODE) ?
		              (attr->st_mode & 07777) : (mode_t)-1;
		uid_t uid = (to_set & FUSE_SET_ATTR_UID) ?
		            attr->st_uid : (uid_t)-1;
		gid_t gid = (to_set & FUSE_SET_ATTR_GID) ?
		            attr->st_gid : (gid_t)-1;

		if (!fs_caller_owns(req, st.st_uid, st.st_uid))
			err = -EPERM;
		else if (fi)
			err = ipcc_pshm_fset(file_of(fi), mode, uid, gid);
		else
			err = ipcc_pshm_set(n->name, mode, uid, gid);
	}
	if (!err && (to_set & FUSE_SET_ATTR_SIZE)) {
		if (attr->st_size < 0)
			err = -EINVAL;
		else if (fi)
			err = ipcc_pshm_resize(file_of(fi), (uint64_t)attr->st_size);
		else
			err = ipcc_pshm_resize_name(n->name,
			                            (uint64_t)attr->st_size);
	}
	/* times: no core call sets them; accepted, like on the other kinds */
	if (!err)
		err = any_stat(ino, fi, &n, &st);
	if (err)
		fuse_reply_err(req, -err);
	else
		reply_attr(req, &st);
}

static int open_flags(int flags)
{
	return fs_open_writable(flags) ? O_RDWR : O_RDONLY;
}

void fs_posix_create(fuse_req_t req, const char *name, mode_t mode,
                     struct fuse_file_info *fi)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct fuse_entry_param e;
	struct fs_node *n;
	struct stat st;
	ipcc_pshm *p;
	int created, err;

	err = hidden(name) ? -EINVAL : ipcc_name_check(name, 1);
	if (err)
		goto out_err;
	err = ipcc_pshm_open(name, open_flags(fi->flags) | O_CREAT |
	                     (fi->flags & O_EXCL), mode & 07777, &p);
	if (err)
		goto out_err;
	created = ipcc_pshm_created(p);
	if (created) {
		/* the caller owns what it creates, not the daemon */
		err = ipcc_pshm_fset(p, (mode_t)-1, ctx->uid, ctx->gid);
		if (err)
			goto out_unlink;
	} else {
		/* appeared since the kernel's lookup: not checked by it */
		err = ipcc_pshm_fstat(p, &st);
		if (!err)
			err = fs_caller_may_open(req, st.st_mode, st.st_uid,
			                         st.st_gid, fi->flags);
		if (!err && (fi->flags & O_TRUNC))
			err = ipcc_pshm_resize(p, 0);
		if (err)
			goto out_close;
	}
	err = ipcc_pshm_fstat(p, &st);
	if (err)
		goto out_unlink;
	n = fs_node_posix_get(name, st.st_ino);
	if (!n) {
		err = -ENOMEM;
		goto out_unlink;
	}
	err = file_new(p, fi);
	if (err) {
		fs_node_forget(n->id, 1);
		goto out_unlink;
	}
	fs_entry_init(&e, n->id);
	pstat_to_stat(&st, &e.attr);
	posix_reply_flags(req, n->id, name, fi);
	if (fuse_reply_create(req, &e, fi) != 0) {
		struct posix_file *f = (struct posix_file *)(uintptr_t)fi->fh;

		/* the caller is gone; the object stays */
		fs_pt_release(req, f->ino, f->pt);
		fs_node_forget(n->id, 1);
		file_free(f);
	}
	return;

out_unlink:
	if (created)
		ipcc_pshm_unlink(name);
out_close:
	ipcc_pshm_close(p);
out_err:
	fuse_reply_err(req, -err);
}

void fs_posix_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs_node *n = fs_node_find(ino);
	struct stat st;
	ipcc_pshm *p;
	int err;

	if (!n) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	err = ipcc_pshm_open(n->name, open_flags(fi->flags), 0, &p);
	if (err) {
		fuse_reply_err(req, -lookup_err(err));
		return;
	}
	err = ipcc_pshm_fstat(p, &st);
	/* the name now stands for another object than this inode's */
	if (!err && st.st_ino != n->ino)
		err = -ENOENT;
	if (!err && (fi->flags & O_TRUNC))
		err = ipcc_pshm_resize(p, 0);
	if (!err)
		err = file_new(p, fi);
	if (err) {
		ipcc_pshm_close(p);
		fuse_reply_err(req, -err);
		return;
	}
	posix_reply_flags(req, ino, n->name, fi);
	if (fuse_reply_open(req, fi) != 0) {
		struct posix_file *f = (struct posix_file *)(uintptr_t)fi->fh;

		fs_pt_release(req, f->ino, f->pt);
		file_free(f);
	}
}

/* Below this splice's extra system calls cost more than a copy saves. */
#define SPLICE_MIN (64 * 1024)

void fs_posix_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                   struct fuse_file_info *fi)
{
	char *buf;
	ssize_t n;

	(void)ino;
	if (off < 0) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	if (size >= SPLICE_MIN && size <= fs_conf.splice_max) {
		/*
		 * libfuse splices the file into a pipe and the pipe into the
		 * reply, cutting it short at the end of the file.
		 */
		struct fuse_bufvec bv = FUSE_BUFVEC_INIT(size);

		bv.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
		bv.buf[0].fd = ipcc_pshm_fd(file_of(fi));
		bv.buf[0].pos = off;
		fuse_reply_data(req, &bv, 0);
		return;
	}
	buf = fs_buf_get(size);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	n = ipcc_pshm_read(file_of(fi), buf, size, (uint64_t)off);
	if (n < 0)
		fuse_reply_err(req, (int)-n);
	else
		fuse_reply_buf(req, buf, (size_t)n);
	fs_buf_put(buf);
}

void fs_posix_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
                    size_t size, off_t off, struct fuse_file_info *fi)
{
	ssize_t n;

	(void)ino;
	if (off < 0) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	n = ipcc_pshm_write(file_of(fi), buf, size, (uint64_t)off);
	if (n < 0)
		fuse_reply_err(req, (int)-n);
	else
		fuse_reply_write(req, (size_t)n);
}

void fs_posix_release(fuse_req_t req, fuse_ino_t ino,
                      struct fuse_file_info *fi)
{
	struct posix_file *f = (struct posix_file *)(uintptr_t)fi->fh;

	fs_pt_release(req, ino, f->pt);
	file_free(f);
	fuse_reply_err(req, 0);
}

void fs_posix_unlink(fuse_req_t req, const char *name)
{
	struct stat st;
	int err = hidden(name) ? -ENOENT : ipcc_pshm_stat(name, &st);

	err = lookup_err(err);
	if (!err && !fs_caller_owns(req, st.st_uid, st.st_uid))
		err = -EPERM;
	if (!err)
		err = ipcc_pshm_unlink(name);
	fuse_reply_err(req, -err);
}
