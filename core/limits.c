/*
 * System limits and usage of each kind, as `ipcs -l`, `ipcs -u` and
 * `lsipc` show them, read fresh on every call from the IPC namespace the
 * calling thread is in (IPC_INFO / *_INFO answer for that namespace; so
 * do the /proc/sys/fs/mqueue files for the thread that opens them).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include "ipcc_int.h"

#if IPCC_SYSV_INFO

int ipcc_limits_shm(struct ipcc_limits_shm *l)
{
	struct shminfo lim;
	struct shm_info use;

	memset(l, 0, sizeof(*l));
	if (shmctl(0, IPC_INFO, (struct shmid_ds *)(void *)&lim) < 0 ||
	    shmctl(0, SHM_INFO, (struct shmid_ds *)(void *)&use) < 0)
		return -errno;
	l->shmmni = lim.shmmni;
	l->shmmax = lim.shmmax;
	l->shmmin = lim.shmmin;
	l->shmall = lim.shmall;
	l->segments = (uint64_t)use.used_ids;
	l->pages = use.shm_tot;
	l->pages_resident = use.shm_rss;
	l->pages_swapped = use.shm_swp;
	return 0;
}

/* semctl's fourth argument, for IPC_INFO / SEM_INFO only */
union info_arg {
	struct seminfo *info;
};

int ipcc_limits_sem(struct ipcc_limits_sem *l)
{
	struct seminfo lim, use;
	union info_arg a;

	memset(l, 0, sizeof(*l));
	a.info = &lim;
	if (semctl(0, 0, IPC_INFO, a) < 0)
		return -errno;
	a.info = &use;
	if (semctl(0, 0, SEM_INFO, a) < 0)
		return -errno;
	l->semmni = (uint64_t)lim.semmni;
	l->semmsl = (uint64_t)lim.semmsl;
	l->semmns = (uint64_t)lim.semmns;
	l->semopm = (uint64_t)lim.semopm;
	l->semvmx = (uint64_t)lim.semvmx;
	/* SEM_INFO reuses two fields: sets in use, semaphores in use */
	l->sets = (uint64_t)use.semusz;
	l->semaphores = (uint64_t)use.semaem;
	return 0;
}

int ipcc_limits_msg(struct ipcc_limits_msg *l)
{
	struct msginfo lim, use;

	memset(l, 0, sizeof(*l));
	if (msgctl(0, IPC_INFO, (struct msqid_ds *)(void *)&lim) < 0 ||
	    msgctl(0, MSG_INFO, (struct msqid_ds *)(void *)&use) < 0)
		return -errno;
	l->msgmni = (uint64_t)lim.msgmni;
	l->msgmax = (uint64_t)lim.msgmax;
	l->msgmnb = (uint64_t)lim.msgmnb;
	/* MSG_INFO reuses three fields: queues, messages, bytes in use */
	l->queues = (uint64_t)use.msgpool;
	l->messages = (uint64_t)use.msgmap;
	l->bytes = (uint64_t)use.msgtql;
	return 0;
}

#else /* no IPC_INFO (darwin) */

int ipcc_limits_shm(struct ipcc_limits_shm *l)
{
	memset(l, 0, sizeof(*l));
	return -ENOTSUP;
}

int ipcc_limits_sem(struct ipcc_limits_sem *l)
{
	memset(l, 0, sizeof(*l));
	return -ENOTSUP;
}

int ipcc_limits_msg(struct ipcc_limits_msg *l)
{
	memset(l, 0, sizeof(*l));
	return -ENOTSUP;
}

#endif

#ifdef IPCC_MQ_SYSCTL_DIR

/* One decimal number from a small /proc file: 0 or -errno. */
static int read_u64(const char *path, uint64_t *v)
{
	char buf[32];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return -errno;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		n--;
	buf[n] = '\0';
	return ipcc_ptab_u64(buf, v);
}

int ipcc_limits_mq(struct ipcc_limits_mq *l)
{
	static const struct {
		const char *file;
		size_t off;
	} f[] = {
		{ "queues_max", offsetof(struct ipcc_limits_mq, queues_max) },
		{ "msg_max", offsetof(struct ipcc_limits_mq, msg_max) },
		{ "msgsize_max", offsetof(struct ipcc_limits_mq, msgsize_max) },
		{ "msg_default", offsetof(struct ipcc_limits_mq, msg_default) },
		{ "msgsize_default",
		  offsetof(struct ipcc_limits_mq, msgsize_default) },
	};

	memset(l, 0, sizeof(*l));
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		char path[64];
		int err;

		memcpy(path, IPCC_MQ_SYSCTL_DIR "/", sizeof(IPCC_MQ_SYSCTL_DIR));
		strcpy(path + sizeof(IPCC_MQ_SYSCTL_DIR), f[i].file);
		err = read_u64(path, (uint64_t *)(void *)((char *)l + f[i].off));
		if (err)
			return err;
	}
	return 0;
}

#else

int ipcc_limits_mq(struct ipcc_limits_mq *l)
{
	memset(l, 0, sizeof(*l));
	return -ENOTSUP;
}

#endif

int ipcc_limits_statfs(struct ipcc_statfs *s)
{
	struct ipcc_limits_shm shm;
	struct ipcc_limits_sem sem;
	struct ipcc_limits_msg msg;
	struct sysinfo si;
	long page = sysconf(_SC_PAGESIZE);
	uint64_t ram;
	int err;

	memset(s, 0, sizeof(*s));
	if (page <= 0)
		return -EINVAL;
	err = ipcc_limits_shm(&shm);
	if (!err)
		err = ipcc_limits_sem(&sem);
	if (!err)
		err = ipcc_limits_msg(&msg);
	if (err)
		return err;
	if (sysinfo(&si) < 0)
		return -errno;
	/* SHMALL is often "unlimited" (near 2^64): what RAM can hold instead */
	ram = (uint64_t)si.totalram * (si.mem_unit ? si.mem_unit : 1) /
	      (uint64_t)page;
	s->page_size = (uint64_t)page;
	s->blocks = shm.shmall < ram ? shm.shmall : ram;
	s->blocks_used = shm.pages;
	s->blocks_free = s->blocks > s->blocks_used ? s->blocks - s->blocks_used
	                                            : 0;
	s->files = shm.shmmni + sem.semmni + msg.msgmni;
	s->files_used = shm.segments + sem.sets + msg.queues;
	s->files_free = s->files > s->files_used ? s->files - s->files_used : 0;
	return 0;
}
