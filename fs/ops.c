/*
 * The FUSE operation table: each operation on a file goes to its kind's
 * table (fs_kind_of), on a folder to dir.c; what a kind leaves out gets
 * the one default answer given here.
 */
#include <errno.h>

#include "fs.h"
#include "nodes.h"
#include "passthrough.h"

static void op_init(void *userdata, struct fuse_conn_info *conn)
{
	struct fs_state *s = userdata;

	conn->max_write = FS_MAX_WRITE;
	if (s->conf.max_read)
		conn->max_read = s->conf.max_read;
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
		s->conf.splice_max = fs_splice_max();
	/* contents are shared memory: never cache writes */
	conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
	conn->time_gran = 1000000000;
	/* last: it checks the writeback cache is off */
	fs_pt_init(s->pt, conn);
}

static void op_forget_one(struct fs_state *s, fuse_ino_t ino, uint64_t n)
{
	/* folders keep no node, nor do kinds named by numbers (not found) */
	if (fs_kind_of(ino))
		fs_node_forget(s->nodes, ino, n);
}

static void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	op_forget_one(fs_state_of(req), ino, nlookup);
	fuse_reply_none(req);
}

static void op_forget_multi(fuse_req_t req, size_t count,
                            struct fuse_forget_data *forgets)
{
	for (size_t i = 0; i < count; i++)
		op_forget_one(fs_state_of(req), forgets[i].ino,
		              forgets[i].nlookup);
	fuse_reply_none(req);
}

static void reply_dir_attr(fuse_req_t req, fuse_ino_t ino)
{
	struct stat st;
	int err = fs_dir_stat(fs_state_of(req), ino, &st);

	if (err)
		fuse_reply_err(req, -err);
	else
		fuse_reply_attr(req, &st, FS_FIXED_TIMEOUT);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino,
                       struct fuse_file_info *fi)
{
	const struct fs_kind *k = fs_kind_of(ino);

	if (k)
		k->getattr(req, ino, fi);
	else
		reply_dir_attr(req, ino);
}

static void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
                       int to_set, struct fuse_file_info *fi)
{
	const struct fs_kind *k = fs_kind_of(ino);

	if (k && k->setattr) {
		k->setattr(req, ino, attr, to_set, fi);
		return;
	}
	/* the default: touch is accepted, nothing else */
	if (to_set & (FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_UID |
	              FUSE_SET_ATTR_GID | FUSE_SET_ATTR_SIZE)) {
		fuse_reply_err(req, EPERM);
		return;
	}
	if (k)
		k->getattr(req, ino, fi);
	else
		reply_dir_attr(req, ino);
}

/* Operations on a name in a folder: the folder's kind decides. */
static const struct fs_kind *folder_kind(fuse_ino_t parent, int *by_id)
{
	const struct fs_kind *k;

	return fs_folder(parent, &k, by_id) == 0 ? k : NULL;
}

static void op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	int by_id;
	const struct fs_kind *k = folder_kind(parent, &by_id);

	if (k && k->unlink)
		k->unlink(req, by_id, name);
	else
		fuse_reply_err(req, EPERM);
}

static void op_create(fuse_req_t req, fuse_ino_t parent, const char *name,
                      mode_t mode, struct fuse_file_info *fi)
{
	int by_id;
	const struct fs_kind *k = folder_kind(parent, &by_id);

	if (k && k->create)
		k->create(req, by_id, name, mode, fi);
	else
		fuse_reply_err(req, EPERM);
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	const struct fs_kind *k = fs_kind_of(ino);

	if (k)
		k->open(req, ino, fi);
	else
		fuse_reply_err(req, EISDIR);
}

/* Read, write and release come with a handle from the kind's open. */
static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                    struct fuse_file_info *fi)
{
	const struct fs_kind *k = fs_kind_of(ino);

	if (k && k->read)
		k->read(req, ino, size, off, fi);
	else
		fuse_reply_err(req, k ? EBADF : EISDIR);
}

static void op_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
                     size_t size, off_t off, struct fuse_file_info *fi)
{
	const struct fs_kind *k = fs_kind_of(ino);

	if (k && k->write)
		k->write(req, ino, buf, size, off, fi);
	else
		fuse_reply_err(req, k ? EBADF : EISDIR);
}

static void op_release(fuse_req_t req, fuse_ino_t ino,
                       struct fuse_file_info *fi)
{
	const struct fs_kind *k = fs_kind_of(ino);

	if (k && k->release)
		k->release(req, ino, fi);
	else
		fuse_reply_err(req, 0);
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	fs_dir_lookup(req, parent, name);
}

static void op_opendir(fuse_req_t req, fuse_ino_t ino,
                       struct fuse_file_info *fi)
{
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

/* Folders are fixed; IPC objects have no links or special files. */
static void op_refuse_mknod(fuse_req_t req, fuse_ino_t parent,
                            const char *name, mode_t mode, dev_t rdev)
{
	(void)parent, (void)name, (void)mode, (void)rdev;
	fuse_reply_err(req, EPERM);
}

static void op_refuse_mkdir(fuse_req_t req, fuse_ino_t parent,
                            const char *name, mode_t mode)
{
	(void)parent, (void)name, (void)mode;
	fuse_reply_err(req, EPERM);
}

static void op_refuse_rmdir(fuse_req_t req, fuse_ino_t parent,
                            const char *name)
{
	(void)parent, (void)name;
	fuse_reply_err(req, EPERM);
}

static void op_refuse_symlink(fuse_req_t req, const char *link,
                              fuse_ino_t parent, const char *name)
{
	(void)link, (void)parent, (void)name;
	fuse_reply_err(req, EPERM);
}

static void op_refuse_link(fuse_req_t req, fuse_ino_t ino,
                           fuse_ino_t newparent, const char *newname)
{
	(void)ino, (void)newparent, (void)newname;
	fuse_reply_err(req, EPERM);
}

static void op_refuse_rename(fuse_req_t req, fuse_ino_t parent,
                             const char *name, fuse_ino_t newparent,
                             const char *newname, unsigned int flags)
{
	(void)name, (void)newname, (void)flags;
	fuse_reply_err(req, parent != newparent ? EXDEV : EPERM);
}

const struct fuse_lowlevel_ops fs_ops = {
	.init = op_init,
	.lookup = op_lookup,
	.forget = op_forget,
	.forget_multi = op_forget_multi,
	.getattr = op_getattr,
	.setattr = op_setattr,
	.mknod = op_refuse_mknod,
	.mkdir = op_refuse_mkdir,
	.unlink = op_unlink,
	.rmdir = op_refuse_rmdir,
	.symlink = op_refuse_symlink,
	.rename = op_refuse_rename,
	.link = op_refuse_link,
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
