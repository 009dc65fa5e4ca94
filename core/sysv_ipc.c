/*
 * What the System V kinds (segments, queues, semaphore sets) share: the
 * create-or-open by key, IPC_STAT with the *_STAT_ANY fallback, and the
 * walk of the kernel's table.  The kind's own syscall comes in as a small
 * function (see ipcc_int.h).
 */
#include <errno.h>
#include <sys/ipc.h>

#include "ipcc_int.h"

int ipcc_sysv_create_or_open(ipcc_sysv_get_fn *get, void *arg, key_t key,
                             int create_flags, int excl, int *id,
                             int *created)
{
	/*
	 * Exclusively first, so we know whether we made it; when the key
	 * exists, open it.  A removal between the two calls sends us round.
	 */
	for (int tries = 0; tries < 100; tries++) {
		int r = get(key, IPC_CREAT | IPC_EXCL | create_flags, arg);

		if (r >= 0) {
			*id = r;
			if (created)
				*created = 1;
			return 0;
		}
		if (errno != EEXIST || excl)
			return -errno;
		r = get(key, 0, arg);
		if (r >= 0) {
			*id = r;
			if (created)
				*created = 0;
			return 0;
		}
		if (errno != ENOENT)
			return -errno;
	}
	return -EAGAIN;
}

int ipcc_sysv_stat(ipcc_sysv_ctl_fn *ctl, int id, void *ds)
{
	static const unsigned shifts[] = { 15, 24 };

	if (ctl(id, IPC_STAT, ds) == 0)
		return 0;
	if (errno != EACCES)
		return -errno;
	/*
	 * IPC_STAT needs read permission; *_STAT_ANY does not, but takes a
	 * table index: the id's low 15 bits (24 with ipcmni_extend).  The id
	 * it answers with tells whether we found ours.
	 */
	for (size_t i = 0; i < sizeof(shifts) / sizeof(*shifts); i++)
		if (ctl(id & ((1 << shifts[i]) - 1), IPCC_SYSV_STAT_ANY, ds) == id)
			return 0;
	return -EACCES;
}

int ipcc_sysv_walk(ipcc_sysv_ctl_fn *ctl, int *idx, int max_idx, void *ds)
{
	while (*idx <= max_idx) {
		int i = (*idx)++;
		int id = ctl(i, IPCC_SYSV_STAT_IDX, ds);

		if (id < 0 && errno == EACCES)
			id = ctl(i, IPCC_SYSV_STAT_ANY, ds);
		if (id >= 0)
			return id;
		/* a free slot, or removed meanwhile */
	}
	return -1;
}
