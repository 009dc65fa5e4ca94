/*
 * Read-only extended attributes: the IPC metadata that has no place in
 * struct stat, as user.ipc.* with decimal (keys: 0x%08x) text values.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "fs.h"

#define MAX_ATTRS 8

struct xattr {
	const char *name;
	char value[24];
};

static void put_key(struct xattr *a, key_t key)
{
	char buf[IPCC_KEY_STRLEN];

	ipcc_key_format(key, buf);
	memcpy(a->value, buf, sizeof(buf));
}

/*
 * The attributes of node ino: count, or a negative errno.  With req, the
 * caller must be allowed IPC_STAT (read permission by the IPC rule).
 */
static int collect(fuse_req_t req, fuse_ino_t ino, struct xattr *a)
{
	struct ipcc_shm_stat shm;
	struct ipcc_sem_stat sem;
	int n = 0, err;

	switch (fs_kind_of(ino)) {
	case FS_KIND_SYSV:
		err = fs_sysv_stat(ino, &shm);
		if (!err && req)
			err = fs_caller_ipc_may(req, shm.mode, shm.uid, shm.gid,
			                        shm.cuid, shm.cgid, 4);
		if (err)
			return err;
		a[n].name = "user.ipc.key";
		put_key(&a[n++], shm.key);
		a[n].name = "user.ipc.shmid";
		snprintf(a[n++].value, sizeof(a->value), "%d", shm.shmid);
		a[n].name = "user.ipc.nattch";
		snprintf(a[n++].value, sizeof(a->value), "%" PRIu64, shm.nattch);
		a[n].name = "user.ipc.cpid";
		snprintf(a[n++].value, sizeof(a->value), "%ld", (long)shm.cpid);
		a[n].name = "user.ipc.lpid";
		snprintf(a[n++].value, sizeof(a->value), "%ld", (long)shm.lpid);
		a[n].name = "user.ipc.cuid";
		snprintf(a[n++].value, sizeof(a->value), "%lu",
		         (unsigned long)shm.cuid);
		a[n].name = "user.ipc.cgid";
		snprintf(a[n++].value, sizeof(a->value), "%lu",
		         (unsigned long)shm.cgid);
		return n;
	case FS_KIND_SEM:
		err = fs_sem_stat(ino, &sem);
		if (!err && req)
			err = fs_caller_ipc_may(req, sem.mode, sem.uid, sem.gid,
			                        sem.cuid, sem.cgid, 4);
		if (err)
			return err;
		a[n].name = "user.ipc.key";
		put_key(&a[n++], sem.key);
		a[n].name = "user.ipc.semid";
		snprintf(a[n++].value, sizeof(a->value), "%d", sem.semid);
		a[n].name = "user.ipc.ncnt";
		snprintf(a[n++].value, sizeof(a->value), "%u", sem.ncnt);
		a[n].name = "user.ipc.zcnt";
		snprintf(a[n++].value, sizeof(a->value), "%u", sem.zcnt);
		a[n].name = "user.ipc.pid";
		snprintf(a[n++].value, sizeof(a->value), "%ld", (long)sem.pid);
		return n;
	default:
		/* directories and POSIX objects: nothing beyond stat */
		return 0;
	}
}

void fs_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
                 size_t size)
{
	struct xattr a[MAX_ATTRS];
	int n;

	/*
	 * Only user.* exists here.  ENOTSUP for the rest (ACLs, SELinux
	 * labels) also tells ls -l not to ask again for every file.
	 */
	if (strncmp(name, "user.", 5) != 0) {
		fuse_reply_err(req, ENOTSUP);
		return;
	}
	n = collect(req, ino, a);
	if (n < 0) {
		fuse_reply_err(req, -n);
		return;
	}
	for (int i = 0; i < n; i++) {
		size_t len;

		if (strcmp(a[i].name, name) != 0)
			continue;
		len = strlen(a[i].value);
		if (size == 0)
			fuse_reply_xattr(req, len);
		else if (size < len)
			fuse_reply_err(req, ERANGE);
		else
			fuse_reply_buf(req, a[i].value, len);
		return;
	}
	fuse_reply_err(req, ENODATA);
}

void fs_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct xattr a[MAX_ATTRS];
	char buf[MAX_ATTRS * 24];
	size_t len = 0;
	int n = collect(req, ino, a);

	if (n < 0) {
		fuse_reply_err(req, -n);
		return;
	}
	for (int i = 0; i < n; i++) {
		size_t l = strlen(a[i].name) + 1;

		memcpy(buf + len, a[i].name, l);
		len += l;
	}
	if (size == 0)
		fuse_reply_xattr(req, len);
	else if (size < len)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, buf, len);
}
