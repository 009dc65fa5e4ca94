/*
 * The folders: the root, one folder per kind (fs_kinds) and the id/
 * subfolders of kinds that have them.  Lookup hands names to the kind;
 * listings are taken at opendir, so that ls is always live.
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

struct fs_dirbuf {
	struct fs_open open;    /* first: dropped at exit if open */
	struct fs_state *s;
	struct fs_dirent *ents;
	size_t count, cap;
};

static unsigned count_kinds(void)
{
	unsigned n = 0;

	while (fs_kinds[n + 1])
		n++;
	return n;
}

int fs_dir_stat(struct fs_state *s, fuse_ino_t ino, struct stat *st)
{
	const struct fs_kind *k;
	int by_id;

	memset(st, 0, sizeof(*st));
	if (ino == FS_INO_ROOT) {
		st->st_mode = S_IFDIR | 0755;
		st->st_nlink = 2 + count_kinds();
	} else if (fs_folder(ino, &k, &by_id) == 0) {
		/* like /dev/shm: anyone may create, the sticky bit protects */
		st->st_mode = S_IFDIR | (by_id ? 0555 : 01777);
		st->st_nlink = by_id || !k->has_ids ? 2 : 3;
	} else {
		return -ENOENT;
	}
	st->st_ino = ino;
	st->st_blksize = 4096;
	fs_time_set(&st->st_atim, s->conf.start_time, 0);
	fs_time_set(&st->st_mtim, s->conf.start_time, 0);
	fs_time_set(&st->st_ctim, s->conf.start_time, 0);
	return 0;
}

static void reply_folder(fuse_req_t req, fuse_ino_t ino)
{
	struct fuse_entry_param e;

	fs_entry_init(&e, ino);
	/* never change: every path walk would otherwise ask about them */
	e.attr_timeout = FS_FIXED_TIMEOUT;
	e.entry_timeout = FS_FIXED_TIMEOUT;
	fs_dir_stat(fs_state_of(req), ino, &e.attr);
	fuse_reply_entry(req, &e);
}

void fs_dir_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	const struct fs_kind *k;
	int by_id;

	if (parent == FS_INO_ROOT) {
		for (unsigned i = 1; fs_kinds[i]; i++) {
			if (strcmp(fs_kinds[i]->name, name) == 0) {
				reply_folder(req, fs_folder_ino(fs_kinds[i], 0));
				return;
			}
		}
		fuse_reply_err(req, ENOENT);
	} else if (fs_folder(parent, &k, &by_id) != 0) {
		fuse_reply_err(req, ENOTDIR);
	} else if (!by_id && k->has_ids && strcmp(name, "id") == 0) {
		reply_folder(req, fs_folder_ino(k, 1));
	} else if (k->lookup) {
		k->lookup(req, by_id, name);
	} else {
		fuse_reply_err(req, ENOENT);
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
	fs_open_del(d->s, &d->open);
	for (size_t i = 0; i < d->count; i++)
		free(d->ents[i].name);
	free(d->ents);
	free(d);
}

static void drop_dirbuf(struct fs_open *o)
{
	dirbuf_free((struct fs_dirbuf *)o);
}

static int fill_dir(struct fs_dirbuf *d, fuse_ino_t ino)
{
	const struct fs_kind *k;
	int by_id, err;

	if (ino == FS_INO_ROOT) {
		err = fs_dirbuf_add(d, ".", ino, S_IFDIR);
		if (!err)
			err = fs_dirbuf_add(d, "..", ino, S_IFDIR);
		for (unsigned i = 1; fs_kinds[i] && !err; i++)
			err = fs_dirbuf_add(d, fs_kinds[i]->name,
			                    fs_folder_ino(fs_kinds[i], 0),
			                    S_IFDIR);
		return err;
	}
	if (fs_folder(ino, &k, &by_id) != 0)
		return -ENOTDIR;
	err = fs_dirbuf_add(d, ".", ino, S_IFDIR);
	if (!err)
		err = fs_dirbuf_add(d, "..", by_id ? fs_folder_ino(k, 0) :
		                    FS_INO_ROOT, S_IFDIR);
	if (!err && !by_id && k->has_ids)
		err = fs_dirbuf_add(d, "id", fs_folder_ino(k, 1), S_IFDIR);
	if (!err && k->list)
		err = k->list(d->s, d, by_id);
	return err;
}

void fs_dir_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs_dirbuf *d;
	int err;

	if (fs_kind_of(ino)) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	d = calloc(1, sizeof(*d));
	if (!d) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	d->s = fs_state_of(req);
	fs_open_add(d->s, &d->open, drop_dirbuf);
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
	/* once replied, a RELEASEDIR on another thread may free d */
	struct fs_state *s = d->s;
	char *buf;
	size_t used = 0;

	(void)ino;
	buf = fs_buf_get(s, size);
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
	fs_buf_put(s, buf);
}

void fs_dir_releasedir(fuse_req_t req, fuse_ino_t ino,
                       struct fuse_file_info *fi)
{
	(void)ino;
	dirbuf_free((struct fs_dirbuf *)(uintptr_t)fi->fh);
	fuse_reply_err(req, 0);
}

/*
 * df: SysV shared memory pages in use against SHMALL (capped to RAM), and
 * SysV objects in use against their limits, read fresh every time.  Where
 * the system cannot tell (no IPC_INFO), zeros as before.
 */
void fs_dir_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct ipcc_statfs u;
	struct statvfs sv;

	(void)ino;
	memset(&sv, 0, sizeof(sv));
	sv.f_bsize = 4096;
	sv.f_frsize = 4096;
	sv.f_namemax = 255;
	if (ipcc_limits_statfs(&u) == 0) {
		sv.f_bsize = (unsigned long)u.page_size;
		sv.f_frsize = (unsigned long)u.page_size;
		sv.f_blocks = (fsblkcnt_t)u.blocks;
		sv.f_bfree = (fsblkcnt_t)u.blocks_free;
		sv.f_bavail = (fsblkcnt_t)u.blocks_free;
		sv.f_files = (fsfilcnt_t)u.files;
		sv.f_ffree = (fsfilcnt_t)u.files_free;
		sv.f_favail = (fsfilcnt_t)u.files_free;
	}
	fuse_reply_statfs(req, &sv);
}
