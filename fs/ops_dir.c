/*
 * The fixed directories: lookup (handing names to each kind), listings,
 * statfs, and the operations ipcfs refuses.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include "fs.h"

struct fs_dirent {
	char *name;
	uint64_t ino;
	mode_t type;
};

/* A directory listing taken at opendir, so that ls is always live. */
struct fs_dirbuf {
	struct fs_open open;    /* first: dropped at exit if open */
	struct fs_dirent *ents;
	size_t count, cap;
};

static const struct {
	fuse_ino_t ino;
	fuse_ino_t parent;
	const char *name;
	mode_t mode;
	nlink_t nlink;
} fixed_dirs[] = {
	{ FS_INO_ROOT, FS_INO_ROOT, "", 0755, 5 },
	{ FS_INO_SYSV, FS_INO_ROOT, "sysv", 01777, 3 },
	{ FS_INO_SYSV_ID, FS_INO_SYSV, "id", 0555, 2 },
	{ FS_INO_POSIX, FS_INO_ROOT, "posix", 01777, 2 },
	{ FS_INO_SEM, FS_INO_ROOT, "sem", 01777, 2 },
};

#define NFIXED (sizeof(fixed_dirs) / sizeof(fixed_dirs[0]))

int fs_dir_stat(fuse_ino_t ino, struct stat *st)
{
	for (size_t i = 0; i < NFIXED; i++) {
		if (fixed_dirs[i].ino != ino)
			continue;
		memset(st, 0, sizeof(*st));
		st->st_ino = ino;
		st->st_mode = S_IFDIR | fixed_dirs[i].mode;
		st->st_nlink = fixed_dirs[i].nlink;
		st->st_blksize = 4096;
		fs_time_set(&st->st_atim, fs_conf.start_time);
		fs_time_set(&st->st_mtim, fs_conf.start_time);
		fs_time_set(&st->st_ctim, fs_conf.start_time);
		return 0;
	}
	return -ENOENT;
}

static void reply_fixed_dir(fuse_req_t req, fuse_ino_t ino)
{
	struct fuse_entry_param e;

	fs_entry_init(&e, ino);
	/* never change: every path walk would otherwise ask about them */
	e.attr_timeout = FS_FIXED_TIMEOUT;
	e.entry_timeout = FS_FIXED_TIMEOUT;
	fs_dir_stat(ino, &e.attr);
	fuse_reply_entry(req, &e);
}

void fs_dir_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	switch (parent) {
	case FS_INO_ROOT:
		for (size_t i = 1; i < NFIXED; i++) {
			if (fixed_dirs[i].parent == FS_INO_ROOT &&
			    strcmp(fixed_dirs[i].name, name) == 0) {
				reply_fixed_dir(req, fixed_dirs[i].ino);
				return;
			}
		}
		fuse_reply_err(req, ENOENT);
		return;
	case FS_INO_SYSV:
		if (strcmp(name, "id") == 0) {
			reply_fixed_dir(req, FS_INO_SYSV_ID);
			return;
		}
		/* fall through */
	case FS_INO_SYSV_ID:
		fs_sysv_lookup(req, parent, name);
		return;
	case FS_INO_POSIX:
		fs_posix_lookup(req, name);
		return;
	case FS_INO_SEM:
		fs_sem_lookup(req, name);
		return;
	default:
		fuse_reply_err(req, ENOTDIR);
	}
}

int fs_dirbuf_add(struct fs_dirbuf *d, const char *name, uint64_t ino,
                  mode_t type)
{
	struct fs_dirent *e;

	if (d->count == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 16;
		struct fs_dirent *ents = realloc(d->ents, cap * sizeof(*ents));

		if (!ents)
			return -ENOMEM;
		d->ents = ents;
		d->cap = cap;
	}
	e = &d->ents[d->count];
	e->name = strdup(name);
	if (!e->name)
		return -ENOMEM;
	e->ino = ino;
	e->type = type;
	d->count++;
	return 0;
}

static void dirbuf_free(struct fs_dirbuf *d)
{
	if (!d)
		return;
	fs_open_del(&d->open);
	for (size_t i = 0; i < d->count; i++)
		free(d->ents[i].name);
	free(d->ents);
	free(d);
}

static void drop_dirbuf(struct fs_open *o)
{
	dirbuf_free((struct fs_dirbuf *)o);
}

static fuse_ino_t parent_of(fuse_ino_t ino)
{
	for (size_t i = 0; i < NFIXED; i++)
		if (fixed_dirs[i].ino == ino)
			return fixed_dirs[i].parent;
	return FS_INO_ROOT;
}

static int fill_dir(struct fs_dirbuf *d, fuse_ino_t ino)
{
	int err;

	err = fs_dirbuf_add(d, ".", ino, S_IFDIR);
	if (!err)
		err = fs_dirbuf_add(d, "..", parent_of(ino), S_IFDIR);
	if (err)
		return err;
	switch (ino) {
	case FS_INO_ROOT:
		for (size_t i = 1; i < NFIXED && !err; i++)
			if (fixed_dirs[i].parent == FS_INO_ROOT)
				err = fs_dirbuf_add(d, fixed_dirs[i].name,
				                    fixed_dirs[i].ino, S_IFDIR);
		return err;
	case FS_INO_SYSV:
		err = fs_dirbuf_add(d, "id", FS_INO_SYSV_ID, S_IFDIR);
		return err ? err : fs_sysv_list(d, 0);
	case FS_INO_SYSV_ID:
		return fs_sysv_list(d, 1);
	case FS_INO_POSIX:
		return fs_posix_list(d);
	case FS_INO_SEM:
		return fs_sem_list(d);
	default:
		return -ENOTDIR;
	}
}

void fs_dir_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs_dirbuf *d = calloc(1, sizeof(*d));
	int err;

	if (!d) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	fs_open_add(&d->open, drop_dirbuf);
	err = fill_dir(d, ino);
	if (err) {
		dirbuf_free(d);
		fuse_reply_err(req, -err);
		return;
	}
	fi->fh = (uintptr_t)d;
	if (fuse_reply_open(req, fi) != 0)
		dirbuf_free(d);
}

void fs_dir_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                    struct fuse_file_info *fi)
{
	struct fs_dirbuf *d = (struct fs_dirbuf *)(uintptr_t)fi->fh;
	char *buf;
	size_t used = 0;

	(void)ino;
	buf = fs_buf_get(size);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	for (size_t i = off < 0 ? 0 : (size_t)off; i < d->count; i++) {
		struct stat st;
		size_t need;

		memset(&st, 0, sizeof(st));
		st.st_ino = d->ents[i].ino;
		st.st_mode = d->ents[i].type;
		need = fuse_add_direntry(req, buf + used, size - used,
		                         d->ents[i].name, &st, (off_t)(i + 1));
		if (need > size - used)
			break;
		used += need;
	}
	fuse_reply_buf(req, buf, used);
	fs_buf_put(buf);
}

void fs_dir_releasedir(fuse_req_t req, fuse_ino_t ino,
                       struct fuse_file_info *fi)
{
	(void)ino;
	dirbuf_free((struct fs_dirbuf *)(uintptr_t)fi->fh);
	fuse_reply_err(req, 0);
}

void fs_dir_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct statvfs sv;

	(void)ino;
	memset(&sv, 0, sizeof(sv));
	sv.f_bsize = 4096;
	sv.f_frsize = 4096;
	sv.f_namemax = 255;
	fuse_reply_statfs(req, &sv);
}

/*
 * What ipcfs refuses: its folders are fixed and IPC objects have no
 * links, subfolders or special files.
 */
void fs_refuse_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
                     mode_t mode, dev_t rdev)
{
	(void)parent;
	(void)name;
	(void)mode;
	(void)rdev;
	fuse_reply_err(req, EPERM);
}

void fs_refuse_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
                     mode_t mode)
{
	(void)parent;
	(void)name;
	(void)mode;
	fuse_reply_err(req, EPERM);
}

void fs_refuse_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	(void)parent;
	(void)name;
	fuse_reply_err(req, EPERM);
}

void fs_refuse_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
                       const char *name)
{
	(void)link;
	(void)parent;
	(void)name;
	fuse_reply_err(req, EPERM);
}

void fs_refuse_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
                    const char *newname)
{
	(void)ino;
	(void)newparent;
	(void)newname;
	fuse_reply_err(req, EPERM);
}

void fs_refuse_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
                      fuse_ino_t newparent, const char *newname,
                      unsigned int flags)
{
	(void)name;
	(void)newname;
	(void)flags;
	fuse_reply_err(req, parent != newparent ? EXDEV : EPERM);
}
