/*
 * Acting as the caller for one create: the calling thread's effective and
 * file-system ids and supplementary groups become the caller's, so that
 * whatever it creates meanwhile (shmget/semget/msgget IPC_CREAT, an
 * O_CREAT open in /dev/shm, mq_open) is owned by and created by the
 * caller, and the kernel's own create checks see the caller.
 *
 * The raw syscalls, not the C library's wrappers: on Linux credentials
 * belong to a thread, and glibc's setresuid/setgroups broadcast the change
 * to every thread of the process (POSIX's rule), which would hand every
 * concurrent request the caller's identity.
 *
 * Real and saved ids stay as they were (root): that is what lets the
 * thread come back, and it keeps the thread's real uid from being the
 * caller's (the caller could otherwise signal that thread, and resource
 * accounting tied to the real uid would move).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ipcc_int.h"

#if IPCC_THREAD_CREDS

/* The 32-bit-id syscalls where a platform has both (i386, arm). */
#ifdef SYS_setresuid32
#define SYS_SETRESUID SYS_setresuid32
#define SYS_SETRESGID SYS_setresgid32
#define SYS_SETGROUPS SYS_setgroups32
#define SYS_GETGROUPS SYS_getgroups32
#define SYS_GETRESUID SYS_getresuid32
#define SYS_GETRESGID SYS_getresgid32
#else
#define SYS_SETRESUID SYS_setresuid
#define SYS_SETRESGID SYS_setresgid
#define SYS_SETGROUPS SYS_setgroups
#define SYS_GETGROUPS SYS_getgroups
#define SYS_GETRESUID SYS_getresuid
#define SYS_GETRESGID SYS_getresgid
#endif

static int sys_err(long r)
{
	return r < 0 ? -errno : 0;
}

static int set_euid(uid_t uid)
{
	return sys_err(syscall(SYS_SETRESUID, (uid_t)-1, uid, (uid_t)-1));
}

static int set_egid(gid_t gid)
{
	return sys_err(syscall(SYS_SETRESGID, (gid_t)-1, gid, (gid_t)-1));
}

static int set_groups(int n, const gid_t *groups)
{
	return sys_err(syscall(SYS_SETGROUPS, (size_t)n, groups));
}

static void saved_free(struct ipcc_cred_saved *s)
{
	free(s->heap_groups);
	s->heap_groups = NULL;
}

static const gid_t *saved_groups(const struct ipcc_cred_saved *s)
{
	return s->heap_groups ? s->heap_groups : s->groups;
}

/* This thread's ids and groups, into s. */
static int save(struct ipcc_cred_saved *s)
{
	uid_t ruid, suid;
	gid_t rgid, sgid;
	long n;

	if (syscall(SYS_GETRESUID, &ruid, &s->euid, &suid) < 0 ||
	    syscall(SYS_GETRESGID, &rgid, &s->egid, &sgid) < 0)
		return -errno;
	/* one call in the common case: the groups fit inline */
	n = syscall(SYS_GETGROUPS, IPCC_CRED_GROUPS_INLINE, s->groups);
	if (n < 0 && errno == EINVAL) {
		n = syscall(SYS_GETGROUPS, 0, NULL);
		if (n < 0)
			return -errno;
		s->heap_groups = calloc((size_t)n + 1, sizeof(gid_t));
		if (!s->heap_groups)
			return -ENOMEM;
		/* groups cannot change under us: only this thread changes them */
		n = syscall(SYS_GETGROUPS, n, s->heap_groups);
	}
	if (n < 0) {
		int err = -errno;

		saved_free(s);
		return err;
	}
	s->ngroups = (int)n;
	return 0;
}

int ipcc_cred_enter(uid_t uid, gid_t gid, int ngroups, const gid_t *groups,
                    struct ipcc_cred_saved *saved)
{
	int err;

	memset(saved, 0, sizeof(*saved));
	if (ngroups < 0 || (ngroups > 0 && !groups) || uid == (uid_t)-1 ||
	    gid == (gid_t)-1)
		return -EINVAL;
	err = save(saved);
	if (err)
		return err;
	/*
	 * Groups and gid first, while our euid is still 0 and CAP_SETGID is
	 * effective; the uid last, since leaving euid 0 clears the
	 * effective capabilities.
	 */
	err = set_groups(ngroups, groups);
	if (err)
		goto out_free;
	err = set_egid(gid);
	if (err)
		goto out_groups;
	err = set_euid(uid);
	if (err)
		goto out_gid;
	saved->active = 1;
	return 0;

out_gid:
	set_egid(saved->egid);
out_groups:
	set_groups(saved->ngroups, saved_groups(saved));
out_free:
	saved_free(saved);
	return err;
}

int ipcc_cred_leave(struct ipcc_cred_saved *saved)
{
	int err = 0, e;

	if (!saved->active)
		return 0;
	/*
	 * The uid first: back to euid 0 the kernel refills the effective
	 * capabilities from the permitted set, which the gid and groups
	 * need.  Every step is tried even if one fails.
	 */
	e = set_euid(saved->euid);
	if (e)
		err = e;
	e = set_egid(saved->egid);
	if (e && !err)
		err = e;
	e = set_groups(saved->ngroups, saved_groups(saved));
	if (e && !err)
		err = e;
	saved_free(saved);
	saved->active = 0;
	return err;
}

#else /* no per-thread credentials */

int ipcc_cred_enter(uid_t uid, gid_t gid, int ngroups, const gid_t *groups,
                    struct ipcc_cred_saved *saved)
{
	(void)uid;
	(void)gid;
	(void)ngroups;
	(void)groups;
	memset(saved, 0, sizeof(*saved));
	return -ENOTSUP;
}

int ipcc_cred_leave(struct ipcc_cred_saved *saved)
{
	(void)saved;
	return 0;
}

#endif
