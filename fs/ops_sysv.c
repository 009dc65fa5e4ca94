/*
 * sysv/<key> and sysv/id/<shmid>: System V shared memory segments.  The
 * node id is FS_SYSV_BASE | shmid, so nothing is kept per node; each open
 * file holds one attachment, dropped at release.
 */
#include <errno.h>
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
	struct sysv_file *next;         /* in created_files */
};

/*
 * Open files that made their segment, so that requests without a file
 * handle still find them: a truncate by path while creating, and after a
 * resize moved the segment to a new shmid, stat/chmod of the inode, which
 * the kernel still names by the old one.
 */
static pthread_mutex_t creating_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sysv_file *created_files;

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
	st->st_ino = FS_SYSV_BASE | (uint32_t)s->shmid;
	st->st_mode = S_IFREG | (s->mode & 0777);
	st->st_nlink = 1;
	st->st_uid = s->uid;
	st->st_gid = s->gid;
	st->st_size = (off_t)s->size;
	st->st_blksize = FS_BLKSIZE;
	st->st_blocks = (blkcnt_t)((s->size + 511) / 512);
	fs_time_set(&st->st_atim, s->atime);
	fs_time_set(&st->st_mtim, s->dtime);
	fs_time_set(&st->st_ctim, s->ctime);
}

static int current_shmid(fuse_ino_t ino);

int fs_sysv_stat(fuse_ino_t ino, struct ipcc_shm_stat *st)
{
	return ipcc_shm_stat_id(current_shmid(ino), st);
}

/* The live (not removed) segment a name in sysv/ or sysv/id/ stands for. */
static int resolve(fuse_ino_t parent, const char *name,
                   struct ipcc_shm_stat *st)
{
	key_t key;
	int shmid, err;

	if (parent == FS_INO_SYSV) {
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

void fs_sysv_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fuse_entry_param e;
	struct ipcc_shm_stat s;
	int err = resolve(parent, name, &s);

	if (err) {
		fuse_reply_err(req, -err);
		return;
	}
	fs_entry_init(&e, FS_SYSV_BASE | (uint32_t)s.shmid);
	shm_to_stat(&s, &e.attr);
	fuse_reply_entry(req, &e);
}

int fs_sysv_list(struct fs_dirbuf *d, int by_id)
{
	ipcc_shm_iter *it;
	struct ipcc_shm_stat s;
	char name[32];
	int r, err = 0;

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
		err = fs_dirbuf_add(d, name, FS_SYSV_BASE | (uint32_t)s.shmid,
		                    S_IFREG);
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
static int current_shmid(fuse_ino_t ino)
{
	struct ipcc_shm_stat s;
	struct sysv_file *f;
	int shmid = ino_shmid(ino);

	if (ipcc_shm_stat_id(shmid, &s) == 0)
		return shmid;
	pthread_mutex_lock(&creating_lock);
	for (f = created_files; f; f = f->next) {
		if (f->node_shmid == shmid) {
			shmid = file_shmid(f);
			break;
		}
	}
	pthread_mutex_unlock(&creating_lock);
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

void fs_sysv_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	/* through an open file: works for a removed but attached segment */
	reply_attr_id(req, fi ? file_shmid(file_of(fi)) : current_shmid(ino));
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
	int err;

	if (size == ipcc_shm_size(f->shm))
		return 0;
	if (size == 0)
		return ipcc_shm_readonly(f->shm) ?
		       zero_by_id(ipcc_shm_id(f->shm)) : ipcc_shm_zero(f->shm);
	if (!atomic_load(&f->creating))
		return -EINVAL;
	err = ipcc_shm_replace(f->shm, size);
	if (!err)
		atomic_store(&f->creating, 0);
	return err;
}

/*
 * Truncate of segment shmid, through open file f if given.  Returns the
 * shmid the segment has afterwards (a first truncate while creating makes
 * a new one) or a negative errno.
 */
static int sysv_truncate(int shmid, struct sysv_file *f, uint64_t size)
{
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
	pthread_mutex_lock(&creating_lock);
	for (f = created_files; f; f = f->next)
		if (atomic_load(&f->creating) && file_shmid(f) == shmid)
			break;
	if (f) {
		pthread_rwlock_wrlock(&f->lock);
		err = truncate_file(f, size);
		shmid = ipcc_shm_id(f->shm);
		pthread_rwlock_unlock(&f->lock);
		pthread_mutex_unlock(&creating_lock);
		return err ? err : shmid;
	}
	pthread_mutex_unlock(&creating_lock);

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

void fs_sysv_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
                     int to_set, struct fuse_file_info *fi)
{
	struct sysv_file *f = fi ? file_of(fi) : NULL;
	int shmid = f ? file_shmid(f) : current_shmid(ino);
	int err;

	if (to_set & FUSE_SET_ATTR_SIZE) {
		struct ipcc_shm_stat s;

		if (attr->st_size < 0) {
			fuse_reply_err(req, EINVAL);
			return;
		}
		/* by path: the IPC rule too (an open file was checked at open) */
		err = f ? 0 : ipcc_shm_stat_id(shmid, &s);
		if (!f && !err)
			err = fs_caller_ipc_may(req, s.mode, s.uid, s.gid, s.cuid,
			                        s.cgid, 2);
		if (err) {
			fuse_reply_err(req, -err);
			return;
		}
		err = sysv_truncate(shmid, f, (uint64_t)attr->st_size);
		if (err < 0) {
			fuse_reply_err(req, -err);
			return;
		}
		shmid = err;
	}
	if (to_set & (FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_UID |
	              FUSE_SET_ATTR_GID)) {
		struct ipcc_shm_stat s;

		err = ipcc_shm_stat_id(shmid, &s);
		if (!err && !fs_caller_owns(req, s.uid, s.cuid))
			err = -EPERM;
		if (!err)
			err = ipcc_shm_set(shmid,
			                   (to_set & FUSE_SET_ATTR_MODE) ?
			                   (attr->st_mode & 0777) : (mode_t)-1,
			                   (to_set & FUSE_SET_ATTR_UID) ?
			                   attr->st_uid : (uid_t)-1,
			                   (to_set & FUSE_SET_ATTR_GID) ?
			                   attr->st_gid : (gid_t)-1);
		if (err) {
			fuse_reply_err(req, -err);
			return;
		}
	}
	/* times: accepted, the kernel's IPC times stay what is shown */
	reply_attr_id(req, shmid);
}

static void file_free(struct sysv_file *f);

static void drop_file(struct fs_open *o)
{
	struct sysv_file *f = (struct sysv_file *)o;

	fs_pt_release(NULL, f->ino, f->pt);
	file_free(f);
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
static void sysv_reply_flags(fuse_req_t req, fuse_ino_t ino,
                             struct sysv_file *f, struct fuse_file_info *fi)
{
	char what[48];
	enum fs_pt_path want = FS_PT_FULL;

	if (atomic_load(&f->creating))
		want = FS_PT_DAEMON;
	else if (!ipcc_shm_readonly(f->shm))
		want = FS_PT_MMAP;
	snprintf(what, sizeof(what), "sysv shmid %d", ipcc_shm_id(f->shm));
	f->ino = ino;
	f->pt = fs_pt_open(req, ino, want, attachment_memfd, f->shm, fi, what);
}

static int file_new(int shmid, int flags, struct sysv_file **out)
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
	fs_open_add(&f->open, drop_file);
	*out = f;
	return 0;
}

static void file_free(struct sysv_file *f)
{
	struct sysv_file **pp;

	pthread_mutex_lock(&creating_lock);
	for (pp = &created_files; *pp; pp = &(*pp)->next) {
		if (*pp == f) {
			*pp = f->next;
			break;
		}
	}
	pthread_mutex_unlock(&creating_lock);
	fs_open_del(&f->open);
	ipcc_shm_close(f->shm);
	pthread_rwlock_destroy(&f->lock);
	free(f);
}

/* O_TRUNC (atomic_o_trunc): an existing segment keeps its size, zeroed. */
static int open_trunc(struct sysv_file *f)
{
	if (ipcc_shm_readonly(f->shm))
		return zero_by_id(ipcc_shm_id(f->shm));
	return ipcc_shm_zero(f->shm);
}

void fs_sysv_create(fuse_req_t req, fuse_ino_t parent, const char *name,
                    mode_t mode, struct fuse_file_info *fi)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct fuse_entry_param e;
	struct ipcc_shm_stat s;
	struct sysv_file *f;
	key_t key;
	int shmid, created = 0, err;

	if (parent != FS_INO_SYSV) {
		fuse_reply_err(req, EPERM);
		return;
	}
	if (ipcc_key_parse(name, &key) != 0) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	err = ipcc_shm_create(key, fs_conf.sysv_size, mode & 0777,
	                      (fi->flags & O_EXCL) ? IPCC_SHM_EXCL : 0,
	                      &shmid, &created);
	if (err)
		goto out_err;
	if (created) {
		/* the caller owns what it creates, not the daemon */
		err = ipcc_shm_set(shmid, (mode_t)-1, ctx->uid, ctx->gid);
		if (err)
			goto out_remove;
	} else {
		/* appeared since the kernel's lookup: not checked by it */
		err = ipcc_shm_stat_id(shmid, &s);
		if (!err)
			err = fs_caller_may_open(req, s.mode, s.uid, s.gid,
			                         fi->flags);
		if (err)
			goto out_err;
	}
	err = file_new(shmid, fi->flags, &f);
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
		pthread_mutex_lock(&creating_lock);
		f->next = created_files;
		created_files = f;
		pthread_mutex_unlock(&creating_lock);
	}
	fs_entry_init(&e, FS_SYSV_BASE | (uint32_t)shmid);
	shm_to_stat(&s, &e.attr);
	fi->fh = (uintptr_t)f;
	sysv_reply_flags(req, e.ino, f, fi);
	if (fuse_reply_create(req, &e, fi) != 0) {
		/* the caller is gone; the segment stays */
		fs_pt_release(req, f->ino, f->pt);
		file_free(f);
	}
	return;

out_free:
	file_free(f);
out_remove:
	if (created)
		ipcc_shm_remove(shmid);
out_err:
	fuse_reply_err(req, -err);
}

void fs_sysv_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct ipcc_shm_stat s;
	struct sysv_file *f;
	int shmid = current_shmid(ino);
	int err = ipcc_shm_stat_id(shmid, &s);

	if (!err && s.removed)
		err = -ENOENT;
	/* the kernel checked the file's mode; IPC's rule may be stricter */
	if (!err)
		err = fs_caller_ipc_may(req, s.mode, s.uid, s.gid, s.cuid, s.cgid,
		                        fs_open_want(fi->flags));
	if (!err)
		err = file_new(shmid, fi->flags, &f);
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
	fi->fh = (uintptr_t)f;
	sysv_reply_flags(req, ino, f, fi);
	if (fuse_reply_open(req, fi) != 0) {
		fs_pt_release(req, f->ino, f->pt);
		file_free(f);
	}
}

void fs_sysv_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                  struct fuse_file_info *fi)
{
	struct sysv_file *f = file_of(fi);
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
	copy = fs_buf_get(size);
	got = copy ? ipcc_shm_read(f->shm, copy, size, (uint64_t)off) : -ENOMEM;
	pthread_rwlock_unlock(&f->lock);
	if (got < 0)
		fuse_reply_err(req, (int)-got);
	else
		fuse_reply_buf(req, copy, (size_t)got);
	fs_buf_put(copy);
}

void fs_sysv_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
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

void fs_sysv_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct sysv_file *f = file_of(fi);

	fs_pt_release(req, ino, f->pt);
	file_free(f);
	fuse_reply_err(req, 0);
}

void fs_sysv_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct ipcc_shm_stat s;
	int err;

	if (parent != FS_INO_SYSV) {
		fuse_reply_err(req, EPERM);
		return;
	}
	err = resolve(parent, name, &s);
	if (!err && !fs_caller_owns(req, s.uid, s.cuid))
		err = -EPERM;
	if (!err)
		err = ipcc_shm_remove(s.shmid);
	fuse_reply_err(req, -err);
}
