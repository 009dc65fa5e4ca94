/*
 * Who may do what.  default_permissions makes the kernel check every
 * access against the mode and owner a file shows; what IPC checks beyond
 * that (the creator counts as owner, shmat needs read and write to
 * write) is checked here, and objects are created as the caller.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "fs.h"

#define GROUPS_MAX 64

int fs_caller_owns(fuse_req_t req, uid_t uid, uid_t cuid)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);

	return ctx->uid == 0 || ctx->uid == uid || ctx->uid == cuid;
}

static int caller_in_group(fuse_req_t req, gid_t gid)
{
	gid_t groups[GROUPS_MAX];
	int n;

	if (fuse_req_ctx(req)->gid == gid)
		return 1;
	n = fuse_req_getgroups(req, GROUPS_MAX, groups);
	if (n > GROUPS_MAX)
		n = GROUPS_MAX;
	for (int i = 0; i < n; i++)
		if (groups[i] == gid)
			return 1;
	return 0;
}

/* The class of bits that applies: owner (uid or cuid), group, other. */
static mode_t bits_for(fuse_req_t req, mode_t mode, uid_t uid, gid_t gid,
                       uid_t cuid, gid_t cgid)
{
	uid_t me = fuse_req_ctx(req)->uid;

	if (me == uid || me == cuid)
		return (mode >> 6) & 7;
	if (caller_in_group(req, gid) || caller_in_group(req, cgid))
		return (mode >> 3) & 7;
	return mode & 7;
}

int fs_caller_ipc_may(fuse_req_t req, mode_t mode, uid_t uid, gid_t gid,
                      uid_t cuid, gid_t cgid, mode_t want)
{
	if (fuse_req_ctx(req)->uid == 0)
		return 0;
	return (bits_for(req, mode, uid, gid, cuid, cgid) & want) == want ?
	       0 : -EACCES;
}

int fs_caller_may_open(fuse_req_t req, mode_t mode, uid_t uid, gid_t gid,
                       int flags)
{
	/* the file rule: the owner alone is the owner */
	return fs_caller_ipc_may(req, mode, uid, gid, uid, gid,
	                         fs_open_want(flags));
}

int fs_open_writable(int flags)
{
	return (flags & O_ACCMODE) == O_WRONLY || (flags & O_ACCMODE) == O_RDWR;
}

mode_t fs_open_want(int flags)
{
	mode_t want = 0;

	if ((flags & O_ACCMODE) != O_WRONLY)
		want |= 4;
	if (fs_open_writable(flags) || (flags & O_TRUNC))
		want |= 2;
	return want;
}

int fs_setattr_owner(fuse_req_t req, const struct stat *attr, int to_set,
                     uid_t uid, uid_t cuid, mode_t *mode, uid_t *new_uid,
                     gid_t *new_gid)
{
	if (!(to_set & (FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_UID |
	                FUSE_SET_ATTR_GID)))
		return 0;
	if (!fs_caller_owns(req, uid, cuid))
		return -EPERM;
	*mode = (to_set & FUSE_SET_ATTR_MODE) ? (attr->st_mode & 07777) :
	        (mode_t)-1;
	*new_uid = (to_set & FUSE_SET_ATTR_UID) ? attr->st_uid : (uid_t)-1;
	*new_gid = (to_set & FUSE_SET_ATTR_GID) ? attr->st_gid : (gid_t)-1;
	return 1;
}

int fs_as(uid_t uid, gid_t gid, size_t ngroups, const gid_t *groups,
          struct fs_cred_saved *saved)
{
	int err;

	saved->switched = 0;
	/* a daemon that is not root creates as itself: it cannot switch */
	if (geteuid() != 0 || (uid == 0 && gid == 0))
		return 0;
	if (ngroups > GROUPS_MAX)
		return -E2BIG;
	/* core switches the calling thread alone, never the whole daemon */
	err = ipcc_cred_enter(uid, gid, (int)ngroups, groups, &saved->core);
	saved->switched = !err;
	return err;
}

int fs_as_caller(fuse_req_t req, struct fs_cred_saved *saved)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	gid_t groups[GROUPS_MAX];
	int n;

	n = fuse_req_getgroups(req, GROUPS_MAX, groups);
	if (n < 0)
		n = 0;          /* unknown groups: create with none */
	if (n > GROUPS_MAX)
		return -E2BIG;
	return fs_as(ctx->uid, ctx->gid, (size_t)n, groups, saved);
}

void fs_as_daemon(struct fs_cred_saved *saved)
{
	if (!saved->switched)
		return;
	/* a worker left as another user would serve everyone as them */
	if (ipcc_cred_leave(&saved->core) != 0)
		abort();
	saved->switched = 0;
}
