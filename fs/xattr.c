/*
 * Read-only extended attributes: the IPC metadata that has no place in
 * struct stat, as user.ipc.* with decimal (keys: 0x%08x) text values,
 * from each kind's xattrs hook (dir_xattrs on its folder).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs.h"

#define XATTRS_MAX 16
/* Lists (one value per semaphore of a set) can be long. */
#define XATTR_VALUE_MAX 65536

struct fs_xattrs {
	unsigned count;
	const char *names[XATTRS_MAX];
	char *values[XATTRS_MAX];
};

int fs_xattr_add(struct fs_xattrs *x, const char *name, const char *fmt, ...)
{
	va_list ap;
	char *v;
	int n;

	if (x->count == XATTRS_MAX)
		return -ERANGE;
	va_start(ap, fmt);
	n = vasprintf(&v, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -ENOMEM;
	if (n > XATTR_VALUE_MAX) {
		free(v);
		return -ERANGE;
	}
	x->names[x->count] = name;
	x->values[x->count++] = v;
	return 0;
}

int fs_xattr_add_key(struct fs_xattrs *x, key_t key)
{
	char buf[IPCC_KEY_STRLEN];

	ipcc_key_format(key, buf);
	return fs_xattr_add(x, "user.ipc.key", "%s", buf);
}

static void xattrs_clear(struct fs_xattrs *x)
{
	for (unsigned i = 0; i < x->count; i++)
		free(x->values[i]);
	x->count = 0;
}

/* The attributes of node ino: 0 or -errno (x cleared on error). */
static int collect(fuse_req_t req, fuse_ino_t ino, struct fs_xattrs *x)
{
	const struct fs_kind *k = fs_kind_of(ino);
	int by_id, err = 0;

	x->count = 0;
	if (k) {
		if (k->xattrs)
			err = k->xattrs(req, ino, x);
	} else if (fs_folder(ino, &k, &by_id) == 0) {
		if (k->dir_xattrs)
			err = k->dir_xattrs(x);
	}
	if (err)
		xattrs_clear(x);
	return err;
}

static void reply_bytes(fuse_req_t req, const char *buf, size_t len,
                        size_t size)
{
	if (size == 0)
		fuse_reply_xattr(req, len);
	else if (size < len)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, buf, len);
}

void fs_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
                 size_t size)
{
	struct fs_xattrs x;
	int err;

	/*
	 * Only user.* exists here.  ENOTSUP for the rest (ACLs, SELinux
	 * labels) also tells ls -l not to ask again for every file.
	 */
	if (strncmp(name, "user.", 5) != 0) {
		fuse_reply_err(req, ENOTSUP);
		return;
	}
	err = collect(req, ino, &x);
	if (err) {
		fuse_reply_err(req, -err);
		return;
	}
	for (unsigned i = 0; i < x.count; i++) {
		if (strcmp(x.names[i], name) == 0) {
			reply_bytes(req, x.values[i], strlen(x.values[i]),
			            size);
			xattrs_clear(&x);
			return;
		}
	}
	xattrs_clear(&x);
	fuse_reply_err(req, ENODATA);
}

void fs_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct fs_xattrs x;
	char buf[XATTRS_MAX * 32];
	size_t len = 0;
	int err = collect(req, ino, &x);

	if (err) {
		fuse_reply_err(req, -err);
		return;
	}
	for (unsigned i = 0; i < x.count; i++) {
		size_t l = strlen(x.names[i]) + 1;

		assert(len + l <= sizeof(buf));
		memcpy(buf + len, x.names[i], l);
		len += l;
	}
	xattrs_clear(&x);
	reply_bytes(req, buf, len, size);
}
