/*
 * Each kind's system limits and usage on its folder, as user.ipc.*
 * attributes named as lsipc and /proc/sys name them (`getfattr -d sysv/`),
 * read fresh on every call from the namespace being served.
 */
#include <errno.h>
#include <inttypes.h>

#include "fs.h"

struct named {
	const char *name;
	uint64_t value;
};

static int add_all(struct fs_xattrs *x, const struct named *n, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		int err = fs_xattr_add(x, n[i].name, "%" PRIu64, n[i].value);

		if (err)
			return err;
	}
	return 0;
}

#define ADD_ALL(x, n) add_all((x), (n), sizeof(n) / sizeof((n)[0]))

int fs_dir_xattrs_shm(struct fs_xattrs *x)
{
	struct ipcc_limits_shm l;
	int err = ipcc_limits_shm(&l);

	if (err)
		return err == -ENOTSUP ? 0 : err;
	{
		const struct named n[] = {
			{ "user.ipc.shmmni", l.shmmni },
			{ "user.ipc.shmmax", l.shmmax },
			{ "user.ipc.shmmin", l.shmmin },
			{ "user.ipc.shmall", l.shmall },
			{ "user.ipc.segments", l.segments },
			{ "user.ipc.pages", l.pages },
		};

		return ADD_ALL(x, n);
	}
}

int fs_dir_xattrs_sem(struct fs_xattrs *x)
{
	struct ipcc_limits_sem l;
	int err = ipcc_limits_sem(&l);

	if (err)
		return err == -ENOTSUP ? 0 : err;
	{
		const struct named n[] = {
			{ "user.ipc.semmni", l.semmni },
			{ "user.ipc.semmsl", l.semmsl },
			{ "user.ipc.semmns", l.semmns },
			{ "user.ipc.semopm", l.semopm },
			{ "user.ipc.semvmx", l.semvmx },
			{ "user.ipc.sets", l.sets },
			{ "user.ipc.semaphores", l.semaphores },
		};

		return ADD_ALL(x, n);
	}
}

int fs_dir_xattrs_msg(struct fs_xattrs *x)
{
	struct ipcc_limits_msg l;
	int err = ipcc_limits_msg(&l);

	if (err)
		return err == -ENOTSUP ? 0 : err;
	{
		const struct named n[] = {
			{ "user.ipc.msgmni", l.msgmni },
			{ "user.ipc.msgmax", l.msgmax },
			{ "user.ipc.msgmnb", l.msgmnb },
			{ "user.ipc.queues", l.queues },
			{ "user.ipc.messages", l.messages },
			{ "user.ipc.bytes", l.bytes },
		};

		return ADD_ALL(x, n);
	}
}

int fs_dir_xattrs_mq(struct fs_xattrs *x)
{
	struct ipcc_limits_mq l;
	int err = ipcc_limits_mq(&l);

	if (err)
		return err == -ENOTSUP ? 0 : err;
	{
		const struct named n[] = {
			{ "user.ipc.queues_max", l.queues_max },
			{ "user.ipc.msg_max", l.msg_max },
			{ "user.ipc.msgsize_max", l.msgsize_max },
			{ "user.ipc.msg_default", l.msg_default },
			{ "user.ipc.msgsize_default", l.msgsize_default },
		};

		return ADD_ALL(x, n);
	}
}
