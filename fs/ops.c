/*
 * The FUSE operation table: each operation goes to the code for the kind
 * of node it is about (fixed directory, SysV segment, POSIX object,
 * semaphore).
 */
#include <errno.h>

#include "fs.h"
#include "nodes.h"
#include "passthrough.h"

enum fs_kind fs_kind_of(fuse_ino_t ino)
{
	if (ino >= FS_INO_ROOT && ino <= FS_INO_SEM)
		return FS_KIND_DIR;
	if (ino >= FS_SEM_BASE && ino < (FS_SEM_BASE << 1))
		return FS_KIND_SEM;
	if (ino >= FS_POSIX_BASE && ino < FS_SEM_BASE)
		return FS_KIND_POSIX;
	if (ino >= FS_SYSV_BASE && ino < FS_POSIX_BASE)
		return FS_KIND_SYSV;
	return FS_KIND_NONE;
}

static void op_init(void *userdata, struct fuse_conn_info *conn)
{
	(void)userdata;
	conn->max_write = FS_MAX_WRITE;
	if (fs_conf.max_read)
		conn->max_read = fs_conf.max_read;
	/* O_TRUNC comes with open: zero-fill, not a resize, for segments */
	if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC)
		conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
	/*
	 * Large POSIX reads go from the /dev/shm file to the reader through
	 * a pipe: one copy instead of pread's two.
	 */
	if (conn->capable & FUSE_CAP_SPLICE_WRITE)
		conn->want |= FUSE_CAP_SPLICE_WRITE;
	if (conn->want & FUSE_CAP_SPLICE_WRITE)
		fs_conf.splice_max = fs_splice_max();
	/* contents are shared memory: never cache writes */
	conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
	conn->time_gran = 1000000000;
	/* last: it checks the writeback cache is off */
	fs_pt_init(conn);
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	if (fs_kind_of(parent) != FS_KIND_DIR)
		fuse_reply_err(req, ENOTDIR);
	else
		fs_dir_lookup(req, parent, name);
}

static void forget_one(fuse_ino_t ino, uint64_t nlookup)
{
	enum fs_kind k = fs_kind_of(ino);

	/* SysV nodes and directories keep no state */
	if (k == FS_KIND_POSIX || k == FS_KIND_SEM)
		fs_node_forget(ino, nlookup);
}

static void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	forget_one(ino, nlookup);
	fuse_reply_none(req);
}

static void op_forget_multi(fuse_req_t req, size_t count,
                            struct fuse_forget_data *forgets)
{
	for (size_t i = 0; i < count; i++)
		forget_one(forgets[i].ino, forgets[i].nlookup);
	fuse_reply_none(req);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino,
                       struct fuse_file_info *fi)
{
	struct stat st;

	switch (fs_kind_of(ino)) {
	case FS_KIND_DIR:
		fs_dir_stat(ino, &st);
		fuse_reply_attr(req, &st, FS_FIXED_TIMEOUT);
		return;
	case FS_KIND_SYSV:
		fs_sysv_getattr(req, ino, fi);
		return;
	case FS_KIND_POSIX:
		fs_posix_getattr(req, ino, fi);
		return;
	case FS_KIND_SEM:
		fs_sem_getattr(req, ino, fi);
		return;
	default:
		fuse_reply_err(req, ENOENT);
	}
}

static void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
                       int to_set, struct fuse_file_info *fi)
{
	struct stat st;

	switch (fs_kind_of(ino)) {
	case FS_KIND_DIR:
		/* fixed folders: touch is accepted, nothing else */
		if (to_set & (FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_UID |
		              FUSE_SET_ATTR_GID | FUSE_SET_ATTR_SIZE)) {
			fuse_reply_err(req, EPERM);
			return;
		}
		fs_dir_stat(ino, &st);
		fuse_reply_attr(req, &st, FS_FIXED_TIMEOUT);
		return;
	case FS_KIND_SYSV:
		fs_sysv_setattr(req, ino, attr, to_set, fi);
		return;
	case FS_KIND_POSIX:
		fs_posix_setattr(req, ino, attr, to_set, fi);
		return;
	case FS_KIND_SEM:
		fs_sem_setattr(req, ino, attr, to_set, fi);
		return;
	default:
		fuse_reply_err(req, ENOENT);
	}
}

static void op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	switch (parent) {
	case FS_INO_SYSV:
	case FS_INO_SYSV_ID:
		fs_sysv_unlink(req, parent, name);
		return;
	case FS_INO_POSIX:
		fs_posix_unlink(req, name);
		return;
	case FS_INO_SEM:
		fs_sem_unlink(req, name);
		return;
	default:
		fuse_reply_err(req, EPERM);
	}
}

static void op_create(fuse_req_t req, fuse_ino_t parent, const char *name,
                      mode_t mode, struct fuse_file_info *fi)
{
	switch (parent) {
	case FS_INO_SYSV:
	case FS_INO_SYSV_ID:
		fs_sysv_create(req, parent, name, mode, fi);
		return;
	case FS_INO_POSIX:
		fs_posix_create(req, name, mode, fi);
		return;
	case FS_INO_SEM:
		fs_sem_create(req, name, mode, fi);
		return;
	default:
		fuse_reply_err(req, EPERM);
	}
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	switch (fs_kind_of(ino)) {
	case FS_KIND_SYSV:
		fs_sysv_open(req, ino, fi);
		return;
	case FS_KIND_POSIX:
		fs_posix_open(req, ino, fi);
		return;
	case FS_KIND_SEM:
		fs_sem_open(req, ino, fi);
		return;
	case FS_KIND_DIR:
		fuse_reply_err(req, EISDIR);
		return;
	default:
		fuse_reply_err(req, ENOENT);
	}
}

/* Only called with a file handle from open/create, so the kind is known. */
static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                    struct fuse_file_info *fi)
{
	switch (fs_kind_of(ino)) {
	case FS_KIND_SYSV:
		fs_sysv_read(req, ino, size, off, fi);
		return;
	case FS_KIND_POSIX:
		fs_posix_read(req, ino, size, off, fi);
		return;
	case FS_KIND_SEM:
		fs_sem_read(req, ino, size, off, fi);
		return;
	default:
		fuse_reply_err(req, EISDIR);
	}
}

static void op_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
                     size_t size, off_t off, struct fuse_file_info *fi)
{
	switch (fs_kind_of(ino)) {
	case FS_KIND_SYSV:
		fs_sysv_write(req, ino, buf, size, off, fi);
		return;
	case FS_KIND_POSIX:
		fs_posix_write(req, ino, buf, size, off, fi);
		return;
	case FS_KIND_SEM:
		fs_sem_write(req, ino, buf, size, off, fi);
		return;
	default:
		fuse_reply_err(req, EISDIR);
	}
}

static void op_release(fuse_req_t req, fuse_ino_t ino,
                       struct fuse_file_info *fi)
{
	switch (fs_kind_of(ino)) {
	case FS_KIND_SYSV:
		fs_sysv_release(req, ino, fi);
		return;
	case FS_KIND_POSIX:
		fs_posix_release(req, ino, fi);
		return;
	case FS_KIND_SEM:
		fs_sem_release(req, ino, fi);
		return;
	default:
		fuse_reply_err(req, 0);
	}
}

static void op_opendir(fuse_req_t req, fuse_ino_t ino,
                       struct fuse_file_info *fi)
{
	if (fs_kind_of(ino) != FS_KIND_DIR)
		fuse_reply_err(req, ENOTDIR);
	else
		fs_dir_opendir(req, ino, fi);
}

static void op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
                        const char *value, size_t size, int flags)
{
	(void)ino;
	(void)name;
	(void)value;
	(void)size;
	(void)flags;
	fuse_reply_err(req, ENOTSUP);
}

static void op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	(void)ino;
	(void)name;
	fuse_reply_err(req, ENOTSUP);
}

const struct fuse_lowlevel_ops fs_ops = {
	.init = op_init,
	.lookup = op_lookup,
	.forget = op_forget,
	.forget_multi = op_forget_multi,
	.getattr = op_getattr,
	.setattr = op_setattr,
	.mknod = fs_refuse_mknod,
	.mkdir = fs_refuse_mkdir,
	.unlink = op_unlink,
	.rmdir = fs_refuse_rmdir,
	.symlink = fs_refuse_symlink,
	.rename = fs_refuse_rename,
	.link = fs_refuse_link,
	.open = op_open,
	.read = op_read,
	.write = op_write,
	.release = op_release,
	.opendir = op_opendir,
	.readdir = fs_dir_readdir,
	.releasedir = fs_dir_releasedir,
	.statfs = fs_dir_statfs,
	.setxattr = op_setxattr,
	.getxattr = fs_getxattr,
	.listxattr = fs_listxattr,
	.removexattr = op_removexattr,
	.create = op_create,
};
