/*
 * sysv/<key> and sysv/id/<shmid>: System V shared memory segments.  The
 * node id is the kind's base + shmid, so nothing is kept per node (a key
 * removed and made again has a new shmid, hence a new node); each open
 * file holds one attachment, dropped at release.
 */
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs.h"
#include "passthrough.h"

struct sysv_file {
	struct fs_open open;            /* first: dropped at exit if open */
	struct fs_state *s;
	/* write-held only while ipcc_shm_replace moves the attachment */
	pthread_rwlock_t lock;
	ipcc_shm *shm;
	/*
	 * Made by this open and neither written nor resized yet: the first
	 * truncate gives the segment its size.
	 */
	atomic_int creating;
	int node_shmid;                 /* the shmid the inode was named by */
	fuse_ino_t ino;                 /* the inode it is open on */
	enum fs_pt_path pt;             /* how its bytes travel */
	struct sysv_file *next;         /* in the kind's created list */
};

/*
 * Open files that made their segment, so that requests without a file
 * handle still find them: a truncate by path while creating, and after a
 * resize moved the segment to a new shmid, stat/chmod of the inode, which
 * the kernel still names by the old one.
 */
struct sysv_state {
	pthread_mutex_t lock;
	struct sysv_file *created;
};

static int sysv_init(struct fs_state *s, void **data)
{
	struct sysv_state *st = calloc(1, sizeof(*st));

	(void)s;
	if (!st)
		return -ENOMEM;
	pthread_mutex_init(&st->lock, NULL);
	*data = st;
	return 0;
}

static void sysv_destroy(void *data)
{
	struct sysv_state *st = data;

	if (!st)
		return;
	assert(!st->created);
	pthread_mutex_destroy(&st->lock);
	free(st);
}

static struct sysv_state *state_of(struct fs_state *s)
{
	return fs_kind_data(s, &fs_kind_sysv);
}

static fuse_ino_t node_of(int shmid)
{
	return fs_kind_base(&fs_kind_sysv) | (uint32_t)shmid;
}

static int ino_shmid(fuse_ino_t ino)
{
	return (int)(uint32_t)(ino & 0xffffffffu);
}

static struct sysv_file *file_of(const struct fuse_file_info *fi)
{
	return (struct sysv_file *)(uintptr_t)fi->fh;
}

static void shm_to_stat(const struct ipcc_shm_stat *s, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = node_of(s->shmid);
	st->st_mode = S_IFREG | (s->mode & 0777);
	st->st_nlink = 1;
	st->st_uid = s->uid;
	st->st_gid = s->gid;
	st->st_size = (off_t)s->size;
	st->st_blksize = FS_BLKSIZE;
	st->st_blocks = (blkcnt_t)((s->size + 511) / 512);
	/* never attached or detached: the ctime, not 1970 */
	fs_time_set(&st->st_atim, s->atime, s->ctime);
	fs_time_set(&st->st_mtim, s->dtime, s->ctime);
	fs_time_set(&st->st_ctim, s->ctime, s->ctime);
}

/* The live (not removed) segment a name in sysv/ or sysv/id/ stands for. */
static int resolve(int by_id, const char *name, struct ipcc_shm_stat *st)
{
	key_t key;
	int shmid, err;

	if (!by_id) {
		if (ipcc_key_parse(name, &key) != 0)
			return -ENOENT;
		err = ipcc_shm_find(key, &shmid);
		if (err)
			return err;
	} else if (ipcc_id_parse(name, &shmid) != 0) {
		return -ENOENT;
	}
	err = ipcc_shm_stat_id(shmid, st);
	if (err)
		return err;
	return st->removed ? -ENOENT : 0;
}

static void sysv_lookup(fuse_req_t req, int by_id, const char *name)
{
	struct fuse_entry_param e;
	struct ipcc_shm_stat s;
	int err = resolve(by_id, name, &s);

	if (err) {
		fuse_reply_err(req, -err);
		return;
	}
	fs_entry_init(&e, node_of(s.shmid));
	shm_to_stat(&s, &e.attr);
	fuse_reply_entry(req, &e);
}

static int sysv_list(struct fs_state *fs, struct fs_dirbuf *d, int by_id)
{
	ipcc_shm_iter *it;
	struct ipcc_shm_stat s;
	char name[32];
	int r, err = 0;

	(void)fs;
	r = ipcc_shm_iter_new(&it);
	if (r)
		return r;
	while ((r = ipcc_shm_iter_next(it, &s)) > 0) {
		if (s.removed)
			continue;
		if (by_id) {
			snprintf(name, sizeof(name), "%d", s.shmid);
		} else {
			if (s.key == 0)
				continue;
			ipcc_key_format(s.key, name);
		}
		err = fs_dirbuf_add(d, name, node_of(s.shmid), S_IFREG);
		if (err)
			break;
	}
	ipcc_shm_iter_free(it);
	return err ? err : r;
}

static int file_shmid(struct sysv_file *f)
{
	int id;

	pthread_rwlock_rdlock(&f->lock);
	id = ipcc_shm_id(f->shm);
	pthread_rwlock_unlock(&f->lock);
	return id;
}

/*
 * The segment an inode stands for now: its own, or the one a resize of an
 * open file that created it moved to.
 */
static int current_shmid(struct fs_state *fs, fuse_ino_t ino)
{
	struct sysv_state *ks = state_of(fs);
	struct ipcc_shm_stat s;
	struct sysv_file *f;
	int shmid = ino_shmid(ino);

	if (ipcc_shm_stat_id(shmid, &s) == 0)
		return shmid;
	pthread_mutex_lock(&ks->lock);
	for (f = ks->created; f; f = f->next) {
		if (f->node_shmid == shmid) {
			shmid = file_shmid(f);
			break;
		}
	}
	pthread_mutex_unlock(&ks->lock);
	return shmid;
}

static void reply_attr_id(fuse_req_t req, int shmid)
{
	struct ipcc_shm_stat s;
	struct stat st;
	int err = ipcc_shm_stat_id(shmid, &s);

	if (err) {
		fuse_reply_err(req, -err);
		return;
	}
	shm_to_stat(&s, &st);
	fuse_reply_attr(req, &st, 0.0);
}

static void sysv_getattr(fuse_req_t req, fuse_ino_t ino,
                         struct fuse_file_info *fi)
{
	/* through an open file: works for a removed but attached segment */
	reply_attr_id(req, fi ? file_shmid(file_of(fi)) :
	              current_shmid(fs_state_of(req), ino));
}

/* Zero-fills segment shmid through a short-lived attachment. */
static int zero_by_id(int shmid)
{
	ipcc_shm *shm;
	int err = ipcc_shm_open(shmid, 0, &shm);

	if (err)
		return err;
	err = ipcc_shm_zero(shm);
	ipcc_shm_close(shm);
	return err;
}

/* f's lock write-held. */
static int truncate_file(struct sysv_file *f, uint64_t size)
{
	struct fs_cred_saved cred;
	struct ipcc_shm_stat s;
	int err;

	if (size == ipcc_shm_size(f->shm))
		return 0;
	if (size == 0)
		return ipcc_shm_readonly(f->shm) ?
		       zero_by_id(ipcc_shm_id(f->shm)) : ipcc_shm_zero(f->shm);
	if (!atomic_load(&f->creating))
		return -EINVAL;
	/* the new segment's creator is the old one's, whoever truncates */
	err = ipcc_shm_stat_id(ipcc_shm_id(f->shm), &s);
	if (!err)
		err = fs_as(s.cuid, s.cgid, 0, NULL, &cred);
	if (err)
		return err;
	err = ipcc_shm_replace(f->shm, size);
	fs_as_daemon(&cred);
	if (!err)
		atomic_store(&f->creating, 0);
	return err;
}

/*
 * Truncate of segment shmid, through open file f if given.  Returns the
 * shmid the segment has afterwards (a first truncate while creating makes
 * a new one) or a negative errno.
 */
static int sysv_truncate(struct fs_state *fs, int shmid, struct sysv_file *f,
                         uint64_t size)
{
	struct sysv_state *ks = state_of(fs);
	struct ipcc_shm_stat s;
	int err;

	if (f) {
		pthread_rwlock_wrlock(&f->lock);
		err = truncate_file(f, size);
		shmid = ipcc_shm_id(f->shm);
		pthread_rwlock_unlock(&f->lock);
		return err ? err : shmid;
	}
	/* by path: the one open file still creating this segment, if any */
	pthread_mutex_lock(&ks->lock);
	for (f = ks->created; f; f = f->next)
		if (atomic_load(&f->creating) && file_shmid(f) == shmid)
			break;
	if (f) {
		pthread_rwlock_wrlock(&f->lock);
		err = truncate_file(f, size);
		shmid = ipcc_shm_id(f->shm);
		pthread_rwlock_unlock(&f->lock);
		pthread_mutex_unlock(&ks->lock);
		return err ? err : shmid;
	}
	pthread_mutex_unlock(&ks->lock);

	err = ipcc_shm_stat_id(shmid, &s);
	if (err)
		return err;
	if (size == s.size)
		return shmid;
	if (size != 0)
		return -EINVAL;
	err = zero_by_id(shmid);
	return err ? err : shmid;
}

/*
 * Writing needs read and write permission by the IPC rule: a writable
 * shmat() does, and the mount must not grant what shmat refuses (a 0602
 * segment is writable by nobody but its owner).
 */
static mode_t want_of(int flags)
{
	mode_t want = fs_open_want(flags);

	return (want & 2) ? (want | 4) : want;
}

static int may(fuse_req_t req, const struct ipcc_shm_stat *s, mode_t want)
{
	return fs_caller_ipc_may(req, s->mode, s->uid, s->gid, s->cuid,
	                         s->cgid, want);
}

static void sysv_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
                         int to_set, struct fuse_file_info *fi)
{
	struct fs_state *fs = fs_state_of(req);
	struct sysv_file *f = fi ? file_of(fi) : NULL;
	int shmid = f ? file_shmid(f) : current_shmid(fs, ino);
	struct ipcc_shm_stat s;
	mode_t mode;
	uid_t uid;
	gid_t gid;
	int err;

	if (to_set & FUSE_SET_ATTR_SIZE) {
		if (attr->st_size < 0) {
			fuse_reply_err(req, EINVAL);
			return;
		}
		/* by path: the IPC rule too (an open file was checked at open) */
		err = f ? 0 : ipcc_shm_stat_id(shmid, &s);
		if (!f && !err)
			err = may(req, &s, 6);
		if (!err)
			err = sysv_truncate(fs, shmid, f, (uint64_t)attr->st_size);
		if (err < 0) {
			fuse_reply_err(req, -err);
			return;
		}
		shmid = err;
	}
	err = ipcc_shm_stat_id(shmid, &s);
	if (!err)
		err = fs_setattr_owner(req, attr, to_set, s.uid, s.cuid, &mode,
		                       &uid, &gid);
	if (err > 0)
		err = ipcc_shm_set(shmid, mode == (mode_t)-1 ? mode : mode & 0777,
		                   uid, gid);
	if (err) {
		fuse_reply_err(req, -err);
		return;
	}
	/* times: accepted, the kernel's IPC times stay what is shown */
	reply_attr_id(req, shmid);
}

static void file_free(struct sysv_file *f);

static void drop_file(struct fs_open *o)
{
	file_free((struct sysv_file *)o);
}

static int file_new(struct fs_state *fs, int shmid, int flags,
                    struct sysv_file **out)
{
	struct sysv_file *f = calloc(1, sizeof(*f));
	int err;

	if (!f)
		return -ENOMEM;
	err = ipcc_shm_open(shmid, fs_open_writable(flags) ? 0 : IPCC_RDONLY,
	                    &f->shm);
	if (err) {
		free(f);
		return err;
	}
	pthread_rwlock_init(&f->lock, NULL);
	f->node_shmid = shmid;
	f->s = fs;
	fs_open_add(fs, &f->open, drop_file);
	*out = f;
	return 0;
}

static void file_free(struct sysv_file *f)
{
	struct sysv_state *ks = state_of(f->s);
	struct sysv_file **pp;

	pthread_mutex_lock(&ks->lock);
	for (pp = &ks->created; *pp; pp = &(*pp)->next) {
		if (*pp == f) {
			*pp = f->next;
			break;
		}
	}
	pthread_mutex_unlock(&ks->lock);
	fs_pt_release(f->s->pt, f->ino, f->pt);
	fs_open_del(f->s, &f->open);
	ipcc_shm_close(f->shm);
	pthread_rwlock_destroy(&f->lock);
	free(f);
}

/* The open's own attachment as a file: the backing file for passthrough. */
static int attachment_memfd(void *arg)
{
	return ipcc_shm_memfd(arg, 0);
}

/*
 * Read-only opens pass everything through.  Writable ones keep reads and
 * writes in the daemon: the kernel would let a passed-through write past
 * the end grow the segment's hidden file, where the contract says ENOSPC;
 * their mmap still maps the segment.  A file that is creating its segment
 * never takes passthrough: its first truncate replaces the segment, and no
 * backing file may stay on the old one.
 */
static void choose_path(fuse_req_t req, fuse_ino_t ino, struct sysv_file *f,
                        struct fuse_file_info *fi)
{
	enum fs_pt_path want = FS_PT_FULL;
	char what[48];

	if (atomic_load(&f->creating))
		want = FS_PT_DAEMON;
	else if (!ipcc_shm_readonly(f->shm))
		want = FS_PT_MMAP;
	snprintf(what, sizeof(what), "sysv shmid %d", ipcc_shm_id(f->shm));
	f->ino = ino;
	f->pt = fs_pt_open(req, ino, want, attachment_memfd, f->shm, fi, what);
}

/* O_TRUNC (atomic_o_trunc): an existing segment keeps its size, zeroed. */
static int open_trunc(struct sysv_file *f)
{
	if (ipcc_shm_readonly(f->shm))
		return zero_by_id(ipcc_shm_id(f->shm));
	return ipcc_shm_zero(f->shm);
}

static void sysv_create(fuse_req_t req, int by_id, const char *name,
                        mode_t mode, struct fuse_file_info *fi)
{
	struct fs_state *fs = fs_state_of(req);
	struct sysv_state *ks = state_of(fs);
	struct fuse_entry_param e;
	struct fs_cred_saved cred;
	struct ipcc_shm_stat s;
	struct sysv_file *f;
	key_t key;
	int shmid, created = 0, err;

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
	if (err)
		goto out_err;
	err = ipcc_shm_create(key, fs->conf.sysv_size, mode & 0777,
	                      (fi->flags & O_EXCL) ? IPCC_SHM_EXCL : 0,
	                      &shmid, &created);
	fs_as_daemon(&cred);
	if (err)
		goto out_err;
	if (!created) {
		/* appeared since the kernel's lookup: not checked by it */
		err = ipcc_shm_stat_id(shmid, &s);
		if (!err)
			err = may(req, &s, want_of(fi->flags));
		if (err)
			goto out_err;
	}
	err = file_new(fs, shmid, fi->flags, &f);
	if (err)
		goto out_remove;
	if (!created && (fi->flags & O_TRUNC)) {
		err = open_trunc(f);
		if (err)
			goto out_free;
	}
	err = ipcc_shm_stat_id(shmid, &s);
	if (err)
		goto out_free;
	if (created) {
		atomic_store(&f->creating, !ipcc_shm_readonly(f->shm));
		pthread_mutex_lock(&ks->lock);
		f->next = ks->created;
		ks->created = f;
		pthread_mutex_unlock(&ks->lock);
	}
	fs_entry_init(&e, node_of(shmid));
	shm_to_stat(&s, &e.attr);
	choose_path(req, e.ino, f, fi);
	fs_reply_create(req, &e, fi, &f->open);
	return;

out_free:
	file_free(f);
out_remove:
	if (created)
		ipcc_shm_remove(shmid);
out_err:
	fuse_reply_err(req, -err);
}

static void sysv_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs_state *fs = fs_state_of(req);
	struct ipcc_shm_stat s;
	struct sysv_file *f;
	int shmid = current_shmid(fs, ino);
	int err = ipcc_shm_stat_id(shmid, &s);

	if (!err && s.removed)
		err = -ENOENT;
	/* the kernel checked the file's mode; IPC's rule may be stricter */
	if (!err)
		err = may(req, &s, want_of(fi->flags));
	if (!err)
		err = file_new(fs, shmid, fi->flags, &f);
	if (err) {
		fuse_reply_err(req, -err);
		return;
	}
	if (fi->flags & O_TRUNC) {
		err = open_trunc(f);
		if (err) {
			file_free(f);
			fuse_reply_err(req, -err);
			return;
		}
	}
	choose_path(req, ino, f, fi);
	fs_reply_open(req, fi, &f->open);
}

static void sysv_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                      struct fuse_file_info *fi)
{
	struct sysv_file *f = file_of(fi);
	struct fs_state *fs = f->s;
	void *ptr = NULL, *copy;
	ssize_t got;
	size_t n;

	(void)ino;
	if (off < 0) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	pthread_rwlock_rdlock(&f->lock);
	if (!atomic_load(&f->creating)) {
		/*
		 * Never creating again, so the attachment stays put until
		 * release, which cannot come before this reply is written.
		 * Nothing may touch f after the reply: release may free it.
		 */
		n = ipcc_shm_span(f->shm, (uint64_t)off, size, &ptr);
		pthread_rwlock_unlock(&f->lock);
		/* straight from the segment's memory: no copy in between */
		fuse_reply_buf(req, n ? ptr : NULL, n);
		return;
	}
	/* a truncate may still move the attachment: copy out under the lock */
	copy = fs_buf_get(fs, size);
	got = copy ? ipcc_shm_read(f->shm, copy, size, (uint64_t)off) : -ENOMEM;
	pthread_rwlock_unlock(&f->lock);
	if (got < 0)
		fuse_reply_err(req, (int)-got);
	else
		fuse_reply_buf(req, copy, (size_t)got);
	fs_buf_put(fs, copy);
}

static void sysv_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
                       size_t size, off_t off, struct fuse_file_info *fi)
{
	struct sysv_file *f = file_of(fi);
	ssize_t n;

	(void)ino;
	if (off < 0) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	pthread_rwlock_rdlock(&f->lock);
	/* written to: its size is settled */
	atomic_store(&f->creating, 0);
	n = ipcc_shm_write(f->shm, buf, size, (uint64_t)off);
	pthread_rwlock_unlock(&f->lock);
	if (n < 0)
		fuse_reply_err(req, (int)-n);
	else
		fuse_reply_write(req, (size_t)n);
}

static void sysv_release(fuse_req_t req, fuse_ino_t ino,
                         struct fuse_file_info *fi)
{
	(void)ino;
	file_free(file_of(fi));
	fuse_reply_err(req, 0);
}

static void sysv_unlink(fuse_req_t req, int by_id, const char *name)
{
	struct ipcc_shm_stat s;
	int err;

	if (by_id) {
		fuse_reply_err(req, EPERM);
		return;
	}
	err = resolve(by_id, name, &s);
	if (!err && !fs_caller_owns(req, s.uid, s.cuid))
		err = -EPERM;
	if (!err)
		err = ipcc_shm_remove(s.shmid);
	fuse_reply_err(req, -err);
}

static int sysv_xattrs(fuse_req_t req, fuse_ino_t ino, struct fs_xattrs *x)
{
	struct ipcc_shm_stat s;
	int err = ipcc_shm_stat_id(current_shmid(fs_state_of(req), ino), &s);

	/* IPC_STAT needs read permission */
	if (!err)
		err = may(req, &s, 4);
	if (!err)
		err = fs_xattr_add_key(x, s.key);
	if (!err)
		err = fs_xattr_add(x, "user.ipc.shmid", "%d", s.shmid);
	if (!err)
		err = fs_xattr_add(x, "user.ipc.nattch", "%" PRIu64, s.nattch);
	if (!err)
		err = fs_xattr_add(x, "user.ipc.cpid", "%ld", (long)s.cpid);
	if (!err)
		err = fs_xattr_add(x, "user.ipc.lpid", "%ld", (long)s.lpid);
	if (!err)
		err = fs_xattr_add(x, "user.ipc.cuid", "%lu",
		                   (unsigned long)s.cuid);
	if (!err)
		err = fs_xattr_add(x, "user.ipc.cgid", "%lu",
		                   (unsigned long)s.cgid);
	return err;
}

const struct fs_kind fs_kind_sysv = {
	.name = "sysv",
	.has_ids = 1,
	.lookup = sysv_lookup,
	.list = sysv_list,
	.create = sysv_create,
	.unlink = sysv_unlink,
	.getattr = sysv_getattr,
	.setattr = sysv_setattr,
	.open = sysv_open,
	.read = sysv_read,
	.write = sysv_write,
	.release = sysv_release,
	.xattrs = sysv_xattrs,
	.dir_xattrs = fs_dir_xattrs_shm,
	.init = sysv_init,
	.destroy = sysv_destroy,
};
