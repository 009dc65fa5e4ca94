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

/* glibc's named semaphores live beside shm objects: posix-sem/ has them. */
static int hidden(const char *name)
{
	return fs_is_glibc_sem(name);
}

/* st_ino shown: stable across lookups, which node ids are not. */
static uint64_t stino(ino_t ino)
{
	return fs_kind_base(&fs_kind_posix) |
	       ((uint64_t)ino & (FS_FILE_MIN - 1));
}

static void pstat_to_stat(const struct stat *in, struct stat *st)
{
	*st = *in;
	st->st_ino = stino(in->st_ino);
	st->st_nlink = 1;
	st->st_blksize = FS_BLKSIZE;
}

struct posix_file {
	struct fs_open open;    /* first: dropped at exit if open */
	struct fs_state *s;
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
	fs_pt_release(f->s->pt, f->ino, f->pt);
	fs_open_del(f->s, &f->open);
	ipcc_pshm_close(f->p);
	free(f);
}

static void drop_file(struct fs_open *o)
{
	file_free((struct posix_file *)o);
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
static void choose_path(fuse_req_t req, fuse_ino_t ino, const char *name,
                        struct posix_file *f, struct fuse_file_info *fi)
{
	char what[IPCC_NAME_MAX + 8];

	snprintf(what, sizeof(what), "posix/%s", name);
	f->ino = ino;
	f->pt = fs_pt_open(req, ino, FS_PT_FULL, object_memfd, f->p, fi, what);
}

/* A handle owning p; NULL (p left to the caller) when out of memory. */
static struct posix_file *file_new(struct fs_state *s, ipcc_pshm *p)
{
	struct posix_file *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->p = p;
	f->s = s;
	fs_open_add(s, &f->open, drop_file);
	return f;
}

/* A name looked up (not created): bad names are simply not there. */
static int lookup_err(int err)
{
	return err == -EINVAL ? -ENOENT : err;
}

static void posix_lookup(fuse_req_t req, int by_id, const char *name)
{
	struct fs_nodes *nodes = fs_state_of(req)->nodes;
	struct fuse_entry_param e;
	struct fs_node *n;
	struct stat st;
	int err = hidden(name) ? -ENOENT : ipcc_pshm_stat(name, &st);

	(void)by_id;
	if (err) {
		fuse_reply_err(req, -lookup_err(err));
		return;
	}
	n = fs_node_get(nodes, &fs_kind_posix, name, (uint64_t)st.st_ino);
	if (!n) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	fs_entry_init(&e, n->id);
	pstat_to_stat(&st, &e.attr);
	if (fuse_reply_entry(req, &e) != 0)
		fs_node_forget(nodes, n->id, 1);
}

static int posix_list(struct fs_state *s, struct fs_dirbuf *d, int by_id)
{
	ipcc_pshm_iter *it;
	char name[IPCC_NAME_MAX + 1];
	struct stat st;
	int r, err = 0;

	(void)s, (void)by_id;
	r = ipcc_pshm_iter_new(&it);
	if (r)
		return r;
	while ((r = ipcc_pshm_iter_next(it, name, &st)) > 0) {
		err = fs_dirbuf_add(d, name, stino(st.st_ino), S_IFREG);
		if (err)
			break;
	}
	ipcc_pshm_iter_free(it);
	return err ? err : r;
}

/* Stat of the object the node stands for: -ENOENT if the name moved on. */
static int node_stat(fuse_req_t req, fuse_ino_t ino, struct fs_node **np,
                     struct stat *st)
{
	struct fs_node *n = fs_node_of(req, ino);
	int err;

	if (!n)
		return -ENOENT;
	err = ipcc_pshm_stat(n->name, st);
	if (err)
		return lookup_err(err);
	if ((uint64_t)st->st_ino != n->tag)
		return -ENOENT;
	*np = n;
	return 0;
}

static int any_stat(fuse_req_t req, fuse_ino_t ino,
                    struct fuse_file_info *fi, struct fs_node **np,
                    struct stat *st)
{
	*np = NULL;
	if (fi)
		return ipcc_pshm_fstat(file_of(fi), st);
	return node_stat(req, ino, np, st);
}

static void reply_attr(fuse_req_t req, const struct stat *in)
{
	struct stat st;

	pstat_to_stat(in, &st);
	fuse_reply_attr(req, &st, 0.0);
}

static void posix_getattr(fuse_req_t req, fuse_ino_t ino,
                          struct fuse_file_info *fi)
{
	struct fs_node *n;
	struct stat st;
	int err = any_stat(req, ino, fi, &n, &st);

	if (err)
		fuse_reply_err(req, -err);
	else
		reply_attr(req, &st);
}

static void posix_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
                          int to_set, struct fuse_file_info *fi)
{
	struct fs_node *n;
	struct stat st;
	mode_t mode;
	uid_t uid;
	gid_t gid;
	int err = any_stat(req, ino, fi, &n, &st);

	if (!err)
		err = fs_setattr_owner(req, attr, to_set, st.st_uid, st.st_uid,
		                       &mode, &uid, &gid);
	if (err > 0)
		err = fi ? ipcc_pshm_fset(file_of(fi), mode, uid, gid) :
		      ipcc_pshm_set(n->name, mode, uid, gid);
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
		err = any_stat(req, ino, fi, &n, &st);
	if (err)
		fuse_reply_err(req, -err);
	else
		reply_attr(req, &st);
}

static int open_flags(int flags)
{
	return fs_open_writable(flags) ? O_RDWR : O_RDONLY;
}

static void posix_create(fuse_req_t req, int by_id, const char *name,
                         mode_t mode, struct fuse_file_info *fi)
{
	struct fs_state *fs = fs_state_of(req);
	struct fuse_entry_param e;
	struct fs_cred_saved cred;
	struct posix_file *f;
	struct fs_node *n;
	struct stat st;
	ipcc_pshm *p;
	int created, err;

	(void)by_id;
	err = hidden(name) ? -EINVAL : ipcc_name_check(name, 1);
	if (err)
		goto out_err;
	/*
	 * As the caller: the kernel's own checks of /dev/shm and of an
	 * existing object apply, and what is made is theirs.
	 */
	err = fs_as_caller(req, &cred);
	if (err)
		goto out_err;
	err = ipcc_pshm_open(name, open_flags(fi->flags) | O_CREAT |
	                     (fi->flags & (O_EXCL | O_TRUNC)), mode & 07777, &p);
	fs_as_daemon(&cred);
	if (err)
		goto out_err;
	created = ipcc_pshm_created(p);
	err = ipcc_pshm_fstat(p, &st);
	if (err)
		goto out_unlink;
	n = fs_node_get(fs->nodes, &fs_kind_posix, name, (uint64_t)st.st_ino);
	if (!n) {
		err = -ENOMEM;
		goto out_unlink;
	}
	f = file_new(fs, p);
	if (!f) {
		fs_node_forget(fs->nodes, n->id, 1);
		err = -ENOMEM;
		goto out_unlink;
	}
	fs_entry_init(&e, n->id);
	pstat_to_stat(&st, &e.attr);
	choose_path(req, n->id, name, f, fi);
	fs_reply_create(req, &e, fi, &f->open);
	return;

out_unlink:
	if (created)
		ipcc_pshm_unlink(name);
	ipcc_pshm_close(p);
out_err:
	fuse_reply_err(req, -err);
}

static void posix_open(fuse_req_t req, fuse_ino_t ino,
                       struct fuse_file_info *fi)
{
	struct fs_state *fs = fs_state_of(req);
	struct fs_node *n = fs_node_find(fs->nodes, ino);
	struct posix_file *f = NULL;
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
	if (!err && (uint64_t)st.st_ino != n->tag)
		err = -ENOENT;
	if (!err && (fi->flags & O_TRUNC))
		err = ipcc_pshm_resize(p, 0);
	if (!err && !(f = file_new(fs, p)))
		err = -ENOMEM;
	if (err) {
		ipcc_pshm_close(p);
		fuse_reply_err(req, -err);
		return;
	}
	choose_path(req, ino, n->name, f, fi);
	fs_reply_open(req, fi, &f->open);
}

/* Below this splice's extra system calls cost more than a copy saves. */
#define SPLICE_MIN (64 * 1024)

static void posix_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                       struct fuse_file_info *fi)
{
	struct fs_state *fs = fs_state_of(req);
	char *buf;
	ssize_t n;

	(void)ino;
	if (off < 0) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	if (size >= SPLICE_MIN && size <= fs->conf.splice_max) {
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
	buf = fs_buf_get(fs, size);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	n = ipcc_pshm_read(file_of(fi), buf, size, (uint64_t)off);
	if (n < 0)
		fuse_reply_err(req, (int)-n);
	else
		fuse_reply_buf(req, buf, (size_t)n);
	fs_buf_put(fs, buf);
}

static void posix_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
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

static void posix_release(fuse_req_t req, fuse_ino_t ino,
                          struct fuse_file_info *fi)
{
	(void)ino;
	file_free((struct posix_file *)(uintptr_t)fi->fh);
	fuse_reply_err(req, 0);
}

static void posix_unlink(fuse_req_t req, int by_id, const char *name)
{
	struct stat st;
	int err = hidden(name) ? -ENOENT : ipcc_pshm_stat(name, &st);

	(void)by_id;
	err = lookup_err(err);
	if (!err && !fs_caller_owns(req, st.st_uid, st.st_uid))
		err = -EPERM;
	if (!err)
		err = ipcc_pshm_unlink(name);
	fuse_reply_err(req, -err);
}

const struct fs_kind fs_kind_posix = {
	.name = "posix",
	.lookup = posix_lookup,
	.list = posix_list,
	.create = posix_create,
	.unlink = posix_unlink,
	.getattr = posix_getattr,
	.setattr = posix_setattr,
	.open = posix_open,
	.read = posix_read,
	.write = posix_write,
	.release = posix_release,
};
