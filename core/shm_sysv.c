/*
 * System V shared memory: segments by key or shmid, and attachments
 * (ipcc_shm handles) that copy in and out of the shared memory directly.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <unistd.h>

#include "ipcc_int.h"

struct ipcc_shm {
	int shmid;
	unsigned flags;
	void *addr;
	uint64_t size;
};

/* An id that was valid once reads EINVAL or EIDRM when gone. */
static int gone_to(int err, int as)
{
	return (err == EINVAL || err == EIDRM) ? -as : -err;
}


int ipcc_shm_ctl(int id, int cmd, void *ds)
{
	if (cmd == IPCC_SYSV_STAT_IDX) {
		cmd = SHM_STAT;
	} else if (cmd == IPCC_SYSV_STAT_ANY) {
#ifdef SHM_STAT_ANY
		cmd = SHM_STAT_ANY;
#else
		errno = EINVAL;
		return -1;
#endif
	}
	return shmctl(id, cmd, ds);
}

/* IPC_STAT that also works on segments we may not read: 0 or -errno. */
static int stat_raw(int shmid, struct shmid_ds *ds)
{
	int err;

	if (shmid < 0)
		return -ENOENT;
	err = ipcc_sysv_stat(ipcc_shm_ctl, shmid, ds);
	return err ? gone_to(-err, ENOENT) : 0;
}

/* shmget: a create asks for size, an open takes the key whatever its size. */
static int shm_get(key_t key, int flags, void *arg)
{
	return shmget(key, flags ? (size_t)*(const uint64_t *)arg : 0, flags);
}

void ipcc_shm_fill_stat(int shmid, const struct shmid_ds *ds,
                      struct ipcc_shm_stat *st)
{
	memset(st, 0, sizeof(*st));
	st->key = IPCC_PERM_KEY(ds->shm_perm);
	st->shmid = shmid;
	st->size = ds->shm_segsz;
	st->mode = ds->shm_perm.mode & 0777;
	st->uid = ds->shm_perm.uid;
	st->gid = ds->shm_perm.gid;
	st->cuid = ds->shm_perm.cuid;
	st->cgid = ds->shm_perm.cgid;
	st->cpid = ds->shm_cpid;
	st->lpid = ds->shm_lpid;
	st->nattch = ds->shm_nattch;
	st->atime = ds->shm_atime;
	st->dtime = ds->shm_dtime;
	st->ctime = ds->shm_ctime;
	ipcc_shm_stat_times(st);
#ifdef SHM_DEST
	st->removed = (ds->shm_perm.mode & SHM_DEST) != 0;
#endif
	if (st->removed)
		st->key = IPC_PRIVATE;
}

int ipcc_shm_create(key_t key, uint64_t size, mode_t mode, unsigned flags,
                    int *shmid, int *created)
{
	int extra = 0;

	if (size == 0 || size > SIZE_MAX)
		return -EINVAL;
	if (flags & ~(IPCC_SHM_EXCL | IPCC_SHM_HUGETLB | IPCC_SHM_NORESERVE))
		return -EINVAL;
	if (flags & IPCC_SHM_HUGETLB) {
#ifdef SHM_HUGETLB
		extra |= SHM_HUGETLB;
#else
		return -ENOTSUP;
#endif
	}
	if (flags & IPCC_SHM_NORESERVE) {
#ifdef SHM_NORESERVE
		extra |= SHM_NORESERVE;
#else
		return -ENOTSUP;
#endif
	}
	return ipcc_sysv_create_or_open(shm_get, &size,
	                                key, extra | (int)(mode & 0777),
	                                (flags & IPCC_SHM_EXCL) != 0, shmid,
	                                created);
}

int ipcc_shm_find(key_t key, int *shmid)
{
	int id;

	/* shmget(IPC_PRIVATE) would create a segment */
	if (key == IPC_PRIVATE)
		return -ENOENT;
	id = shmget(key, 0, 0);
	if (id < 0)
		return -errno;
	*shmid = id;
	return 0;
}

int ipcc_shm_stat_id(int shmid, struct ipcc_shm_stat *st)
{
	struct shmid_ds ds;
	int err = stat_raw(shmid, &ds);

	if (err)
		return err;
	ipcc_shm_fill_stat(shmid, &ds, st);
	return 0;
}

int ipcc_shm_set(int shmid, mode_t mode, uid_t uid, gid_t gid)
{
	struct shmid_ds ds;
	int err = stat_raw(shmid, &ds);

	if (err)
		return err;
	if (mode != (mode_t)-1)
		ds.shm_perm.mode = (ds.shm_perm.mode & ~0777u) | (mode & 0777);
	if (uid != (uid_t)-1)
		ds.shm_perm.uid = uid;
	if (gid != (gid_t)-1)
		ds.shm_perm.gid = gid;
	if (shmctl(shmid, IPC_SET, &ds) < 0)
		return gone_to(errno, ENOENT);
	return 0;
}

int ipcc_shm_remove(int shmid)
{
	if (shmid < 0)
		return -ENOENT;
	if (shmctl(shmid, IPC_RMID, NULL) < 0)
		return gone_to(errno, ENOENT);
	return 0;
}

int ipcc_shm_open(int shmid, unsigned flags, ipcc_shm **out)
{
	struct ipcc_shm *shm;
	struct shmid_ds ds;
	int err;

	if (shmid < 0)
		return -ENOENT;
	if (flags & ~IPCC_RDONLY)
		return -EINVAL;
	shm = calloc(1, sizeof(*shm));
	if (!shm)
		return -ENOMEM;
	shm->addr = shmat(shmid, NULL, (flags & IPCC_RDONLY) ? SHM_RDONLY : 0);
	if (shm->addr == (void *)-1) {
		err = gone_to(errno, ENOENT);
		goto out_free;
	}
	/* once attached the id stays valid, even if removed meanwhile */
	err = stat_raw(shmid, &ds);
	if (err)
		goto out_detach;
	shm->shmid = shmid;
	shm->flags = flags;
	shm->size = ds.shm_segsz;
	*out = shm;
	return 0;

out_detach:
	shmdt(shm->addr);
out_free:
	free(shm);
	return err;
}

int ipcc_shm_open_key(key_t key, unsigned flags, ipcc_shm **out)
{
	int err = -ENOENT;

	/* the key may be removed (and made again) between find and attach */
	for (int tries = 0; tries < 100 && err == -ENOENT; tries++) {
		int shmid;

		err = ipcc_shm_find(key, &shmid);
		if (err)
			return err;
		err = ipcc_shm_open(shmid, flags, out);
	}
	return err;
}

void ipcc_shm_close(ipcc_shm *shm)
{
	if (!shm)
		return;
	shmdt(shm->addr);
	free(shm);
}

int ipcc_shm_id(const ipcc_shm *shm)
{
	return shm->shmid;
}

uint64_t ipcc_shm_size(const ipcc_shm *shm)
{
	return shm->size;
}

int ipcc_shm_readonly(const ipcc_shm *shm)
{
	return (shm->flags & IPCC_RDONLY) != 0;
}

size_t ipcc_shm_span(const ipcc_shm *shm, uint64_t off, size_t len,
                     void **ptr)
{
	if (off >= shm->size) {
		*ptr = NULL;
		return 0;
	}
	if (len > shm->size - off)
		len = (size_t)(shm->size - off);
	*ptr = (char *)shm->addr + off;
	return len;
}

ssize_t ipcc_shm_read(const ipcc_shm *shm, void *buf, size_t len,
                      uint64_t off)
{
	void *src;

	if (len > SSIZE_MAX)
		len = SSIZE_MAX;
	len = ipcc_shm_span(shm, off, len, &src);
	if (len)
		memcpy(buf, src, len);
	return (ssize_t)len;
}

ssize_t ipcc_shm_write(ipcc_shm *shm, const void *buf, size_t len,
                       uint64_t off)
{
	void *dst;

	if (shm->flags & IPCC_RDONLY)
		return -EBADF;
	if (len == 0)
		return 0;
	if (off >= shm->size)
		return -ENOSPC;
	if (len > SSIZE_MAX)
		len = SSIZE_MAX;
	len = ipcc_shm_span(shm, off, len, &dst);
	IPCC_COPY_TO_MAPPING(dst, buf, len);
	return (ssize_t)len;
}

int ipcc_shm_zero(ipcc_shm *shm)
{
	if (shm->flags & IPCC_RDONLY)
		return -EBADF;
	memset(shm->addr, 0, (size_t)shm->size);
	return 0;
}

/* A kernel limit from /proc/sys/kernel, or dflt when it cannot be read. */
static uint64_t kernel_limit(const char *path, uint64_t dflt)
{
	char buf[32];
	uint64_t v;
	size_t n;
	FILE *f = fopen(path, "re");

	if (!f)
		return dflt;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return ipcc_ptab_u64(buf, &v) == 0 ? v : dflt;
}

int ipcc_shm_replace(ipcc_shm *shm, uint64_t size)
{
	struct shmid_ds ds;
	key_t key;
	void *addr;
	int id, err;

	if (shm->flags & IPCC_RDONLY)
		return -EBADF;
	/* refuse a bad size before the old segment is gone */
	if (size == 0 || size > SIZE_MAX ||
	    size < kernel_limit("/proc/sys/kernel/shmmin", 1) ||
	    size > kernel_limit("/proc/sys/kernel/shmmax", UINT64_MAX))
		return -EINVAL;
	err = stat_raw(shm->shmid, &ds);
	if (err)
		return err;
	key = IPCC_PERM_KEY(ds.shm_perm);
#ifdef SHM_DEST
	if (ds.shm_perm.mode & SHM_DEST)
		key = IPC_PRIVATE;
#endif
	if (key == IPC_PRIVATE)
		return -EINVAL;
	if (ds.shm_nattch != 1)
		return -EBUSY;
	if (shmctl(shm->shmid, IPC_RMID, NULL) < 0)
		return gone_to(errno, ENOENT);
	/*
	 * Read and write for the creator until attached (a caller running as
	 * the old creator may lack them), then the old mode and owner; the
	 * creator fields are whoever runs this.
	 */
	id = shmget(key, (size_t)size, IPC_CREAT | IPC_EXCL |
	            (int)((ds.shm_perm.mode & 0777) | 0600));
	if (id < 0)
		return -errno;
	addr = shmat(id, NULL, 0);
	if (addr == (void *)-1) {
		err = -errno;
		goto out_remove;
	}
	if (((ds.shm_perm.mode & 0600) != 0600 ||
	     ds.shm_perm.uid != geteuid() || ds.shm_perm.gid != getegid()) &&
	    shmctl(id, IPC_SET, &ds) < 0) {
		err = -errno;
		goto out_detach;
	}
	shmdt(shm->addr);
	shm->addr = addr;
	shm->shmid = id;
	shm->size = size;
	return 0;

out_detach:
	shmdt(addr);
out_remove:
	shmctl(id, IPC_RMID, NULL);
	return err;
}

#if defined(__linux__)
int ipcc_shm_memfd(const ipcc_shm *shm, unsigned flags)
{
	long page = sysconf(_SC_PAGESIZE);
	uintptr_t start = (uintptr_t)shm->addr, len;
	char path[64];
	int fd;

	if (flags & ~IPCC_RDONLY)
		return -EINVAL;
	if (page <= 0)
		return -ENOTSUP;
	/*
	 * map_files names a mapping by its exact range.  shmat() maps whole
	 * pages, and the mapping never merges with a neighbour (each
	 * attachment has its own file), so the range is known without
	 * reading /proc/self/maps.  (A huge-page segment is mapped in huge
	 * pages: unless its size is a multiple of one, that name does not
	 * exist and the open fails with ENOENT.)
	 */
	len = (uintptr_t)((shm->size + (uint64_t)page - 1) &
	                  ~((uint64_t)page - 1));
	snprintf(path, sizeof(path), "/proc/self/map_files/%lx-%lx",
	         (unsigned long)start, (unsigned long)(start + len));
	fd = open(path, ((flags & IPCC_RDONLY) ? O_RDONLY : O_RDWR) |
	          O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}
#else
int ipcc_shm_memfd(const ipcc_shm *shm, unsigned flags)
{
	(void)shm;
	(void)flags;
	return -ENOTSUP;
}
#endif
