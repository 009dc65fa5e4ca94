/*
 * Timed inner loops for tests/bench/run.
 *
 * The loops live in C because a Python loop adds about a microsecond per
 * operation, which would flatter the FUSE side of every per-operation
 * comparison (random 4 KiB reads, semaphore ping-pong).  tests/bench/run
 * compiles this file with cc on the fly; it is not part of the meson build.
 *
 * Every command prints "<count> <seconds>" on stdout (count = bytes,
 * operations or round trips) and exits 0, or prints one line on stderr and
 * exits 1.
 *
 *   seqread FILE BS                 read FILE to its end in BS-byte blocks
 *   seqwrite FILE BS TOTAL          overwrite TOTAL bytes from offset 0
 *   randread FILE BS COUNT SEED     COUNT preads of BS bytes at aligned offsets
 *   pingfs FILE_A FILE_B COUNT      ping-pong writing "post"/"wait" to sem files
 *   pingsysv KEY_A KEY_B COUNT      the same ping-pong with semop on SysV sets
 *   pingfsn FILE_A FILE_B COUNT N   ping-pong through sysv-sem/ files of sets of
 *                                   N: "0:post\n1:post\n..." / "0:wait\n..."
 *   pingsysvn KEY_A KEY_B COUNT N   the same with one N-op semop per side
 *   pingposix NAME_A NAME_B COUNT   ping-pong with sem_open/sem_post/sem_wait
 *   shmfill SHMID BYTE              memset a whole segment (setup, untimed)
 *   msgfs WFILE RFILE SIZE COUNT    a child writes COUNT messages of SIZE
 *                                   bytes to WFILE, one write(2) each; we
 *                                   read them from RFILE (a stream), one
 *                                   read(2) each: messages/s
 *   msgsysv SIZE COUNT              the same with msgsnd / msgrcv on a new
 *                                   IPC_PRIVATE queue (removed at the end)
 *   msgmq SIZE COUNT                the same with mq_send / mq_receive on a
 *                                   new queue (unlinked once open)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <semaphore.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <mqueue.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/prctl.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int fail(const char *what, const char *arg)
{
	fprintf(stderr, "loops: %s %s: %s\n", what, arg ? arg : "", strerror(errno));
	return 1;
}

static unsigned long long num(const char *s)
{
	return strtoull(s, NULL, 0);
}

static void report(unsigned long long count, double seconds)
{
	printf("%llu %.9f\n", count, seconds);
}

/* 4096-aligned so both sides copy whole pages the same way. */
static char *block(size_t bs)
{
	char *buf = aligned_alloc(4096, (bs + 4095) / 4096 * 4096);

	if (buf)
		memset(buf, 0x5a, bs);
	return buf;
}

static int seqread(const char *path, size_t bs)
{
	unsigned long long total = 0;
	char *buf = block(bs);
	double t0;
	int fd;

	if (!buf)
		return fail("alloc", NULL);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return fail("open", path);
	t0 = now();
	for (;;) {
		ssize_t n = read(fd, buf, bs);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return fail("read", path);
		if (n == 0)
			break;
		total += (unsigned long long)n;
	}
	report(total, now() - t0);
	close(fd);
	free(buf);
	return 0;
}

static int seqwrite(const char *path, size_t bs, unsigned long long total)
{
	unsigned long long done = 0;
	char *buf = block(bs);
	double t0;
	int fd;

	if (!buf)
		return fail("alloc", NULL);
	/* no O_TRUNC: overwrite memory that already exists on both sides */
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return fail("open", path);
	t0 = now();
	while (done < total) {
		size_t want = total - done < bs ? (size_t)(total - done) : bs;
		ssize_t n = write(fd, buf, want);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return fail("write", path);
		done += (unsigned long long)n;
	}
	report(done, now() - t0);
	close(fd);
	free(buf);
	return 0;
}

static int randread(const char *path, size_t bs, unsigned long long count,
                    uint64_t seed)
{
	char *buf = block(bs);
	uint64_t x = seed | 1, blocks;
	struct stat st;
	double t0;
	int fd;

	if (!buf)
		return fail("alloc", NULL);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return fail("open", path);
	if (fstat(fd, &st) < 0)
		return fail("fstat", path);
	blocks = (uint64_t)st.st_size / bs;
	if (blocks == 0) {
		errno = EINVAL;
		return fail("too small", path);
	}
	t0 = now();
	for (unsigned long long i = 0; i < count; i++) {
		ssize_t n;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		n = pread(fd, buf, bs, (off_t)((x % blocks) * bs));
		if (n != (ssize_t)bs)
			return fail("pread", path);
	}
	report(count, now() - t0);
	close(fd);
	free(buf);
	return 0;
}

/*
 * One side of a ping-pong: two semaphores (or sets), index 0 ("ping") and
 * 1 ("pong").  Each process opens its own handles after fork, as two
 * unrelated programs would.  nsems > 1: every op is one atomic op on that
 * many semaphores of the set.
 */
enum side_kind { SIDE_FS, SIDE_SYSV, SIDE_POSIX };

#define NSEMS_MAX 16

struct side {
	enum side_kind kind;
	int nsems;
	const char *names[2];
	int h[2];
	sem_t *ps[2];
	char post[NSEMS_MAX * 10], wait[NSEMS_MAX * 10];
	size_t post_len, wait_len;
};

static int side_open(struct side *s)
{
	for (int i = 0; i < 2; i++) {
		switch (s->kind) {
		case SIDE_SYSV:
			s->h[i] = semget((key_t)strtol(s->names[i], NULL, 0),
			                 s->nsems, 0);
			break;
		case SIDE_POSIX:
			s->ps[i] = sem_open(s->names[i], 0);
			s->h[i] = s->ps[i] == SEM_FAILED ? -1 : 0;
			break;
		case SIDE_FS:
			s->h[i] = open(s->names[i], O_WRONLY);
			break;
		}
		if (s->h[i] < 0)
			return fail("open semaphore", s->names[i]);
	}
	return 0;
}

static int side_op(const struct side *s, int i, int delta)
{
	struct sembuf ops[NSEMS_MAX];
	const char *cmd;
	size_t len;
	ssize_t n;
	int r;

	switch (s->kind) {
	case SIDE_SYSV:
		for (int k = 0; k < s->nsems; k++) {
			ops[k].sem_num = (unsigned short)k;
			ops[k].sem_op = (short)delta;
			ops[k].sem_flg = 0;
		}
		while (semop(s->h[i], ops, (size_t)s->nsems) < 0)
			if (errno != EINTR)
				return fail("semop", s->names[i]);
		return 0;
	case SIDE_POSIX:
		do
			r = delta > 0 ? sem_post(s->ps[i]) : sem_wait(s->ps[i]);
		while (r < 0 && errno == EINTR);
		return r < 0 ? fail("sem_post/sem_wait", s->names[i]) : 0;
	case SIDE_FS:
		break;
	}
	cmd = delta > 0 ? s->post : s->wait;
	len = delta > 0 ? s->post_len : s->wait_len;
	while ((n = write(s->h[i], cmd, len)) < 0 && errno == EINTR)
		;
	if (n != (ssize_t)len)
		return fail(cmd, s->names[i]);
	return 0;
}

/* "post" / "wait", or "0:post\n1:post..." for a set of nsems. */
static void side_cmds(struct side *s)
{
	s->post_len = s->wait_len = 0;
	if (s->nsems == 1 && s->kind == SIDE_FS) {
		s->post_len = (size_t)sprintf(s->post, "post");
		s->wait_len = (size_t)sprintf(s->wait, "wait");
		return;
	}
	for (int k = 0; k < s->nsems; k++) {
		s->post_len += (size_t)sprintf(s->post + s->post_len, "%d:post\n", k);
		s->wait_len += (size_t)sprintf(s->wait + s->wait_len, "%d:wait\n", k);
	}
}

static int pingpong(struct side *s, unsigned long long count)
{
	double t0, t1;
	int status;
	pid_t child;

	child = fork();
	if (child < 0)
		return fail("fork", NULL);
	if (child == 0) {
		/* a parent killed on timeout must not leave us blocked */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (side_open(s))
			_exit(1);
		for (unsigned long long i = 0; i <= count; i++)
			if (side_op(s, 0, -1) || side_op(s, 1, +1))
				_exit(1);
		_exit(0);
	}
	if (side_open(s))
		goto kill_child;
	/* one untimed round trip: both sides are open and running */
	if (side_op(s, 0, +1) || side_op(s, 1, -1))
		goto kill_child;
	t0 = now();
	for (unsigned long long i = 0; i < count; i++)
		if (side_op(s, 0, +1) || side_op(s, 1, -1))
			goto kill_child;
	t1 = now();
	if (waitpid(child, &status, 0) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0) {
		fprintf(stderr, "loops: ping-pong child failed\n");
		return 1;
	}
	report(count, t1 - t0);
	return 0;

kill_child:
	kill(child, SIGKILL);
	waitpid(child, &status, 0);
	return 1;
}

static int shmfill(int shmid, int byte)
{
	struct shmid_ds ds;
	void *p;

	if (shmctl(shmid, IPC_STAT, &ds) < 0)
		return fail("shmctl", NULL);
	p = shmat(shmid, NULL, 0);
	if (p == (void *)-1)
		return fail("shmat", NULL);
	memset(p, byte, ds.shm_segsz);
	shmdt(p);
	report(ds.shm_segsz, 0);
	return 0;
}

/*
 * One writer (a child), one reader (us): what a message costs end to
 * end.  kind: 0 files of the mount, 1 SysV queue, 2 POSIX queue.
 */
struct msgside {
	int kind;
	const char *wpath, *rpath;
	int wfd, rfd;
	int msqid;
	mqd_t mq;
	long msgsize;
};

static int msg_put(struct msgside *m, const char *buf, size_t size)
{
	static struct { long type; char text[65536]; } f;
	ssize_t n;

	switch (m->kind) {
	case 0:
		while ((n = write(m->wfd, buf, size)) < 0 && errno == EINTR)
			;
		return n == (ssize_t)size ? 0 : fail("write", m->wpath);
	case 1:
		f.type = 1;
		memcpy(f.text, buf, size);
		while (msgsnd(m->msqid, &f, size, 0) < 0)
			if (errno != EINTR)
				return fail("msgsnd", NULL);
		return 0;
	default:
		while (mq_send(m->mq, buf, size, 0) < 0)
			if (errno != EINTR)
				return fail("mq_send", NULL);
		return 0;
	}
}

static int msg_get(struct msgside *m, char *buf, size_t cap, size_t want)
{
	static struct { long type; char text[65536]; } f;
	ssize_t n;

	switch (m->kind) {
	case 0:
		while ((n = read(m->rfd, buf, cap)) < 0 && errno == EINTR)
			;
		break;
	case 1:
		while ((n = msgrcv(m->msqid, &f, sizeof(f.text), 0, 0)) < 0 &&
		       errno == EINTR)
			;
		break;
	default:
		while ((n = mq_receive(m->mq, buf, cap, NULL)) < 0 &&
		       errno == EINTR)
			;
		break;
	}
	if (n != (ssize_t)want) {
		fprintf(stderr, "loops: got %zd bytes, want %zu (%s)\n", n, want,
		        n < 0 ? strerror(errno) : "");
		return 1;
	}
	return 0;
}

static int msgstream(struct msgside *m, size_t size, unsigned long long count)
{
	static char wbuf[65536], rbuf[1 << 20];
	char name[64];
	double t0, t1;
	int status, rc = 1;
	pid_t child;

	if (size > sizeof(wbuf))
		return fail("size", NULL);
	memset(wbuf, 'm', size);
	if (m->kind == 1) {
		m->msqid = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
		if (m->msqid < 0)
			return fail("msgget", NULL);
	} else if (m->kind == 2) {
		snprintf(name, sizeof(name), "/ipcfs-bench.%d", (int)getpid());
		m->mq = mq_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, NULL);
		if (m->mq == (mqd_t)-1)
			return fail("mq_open", name);
		mq_unlink(name);        /* nameless: nothing to leak */
	} else {
		m->rfd = open(m->rpath, O_RDONLY);
		if (m->rfd < 0)
			return fail("open", m->rpath);
	}
	child = fork();
	if (child < 0) {
		fail("fork", NULL);
		goto out;
	}
	if (child == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (m->kind == 0) {
			m->wfd = open(m->wpath, O_WRONLY);
			if (m->wfd < 0)
				_exit(fail("open", m->wpath));
		}
		for (unsigned long long i = 0; i <= count; i++)
			if (msg_put(m, wbuf, size))
				_exit(1);
		_exit(0);
	}
	/* one untimed message: both sides are open and running */
	if (msg_get(m, rbuf, sizeof(rbuf), size))
		goto kill_child;
	t0 = now();
	for (unsigned long long i = 0; i < count; i++)
		if (msg_get(m, rbuf, sizeof(rbuf), size))
			goto kill_child;
	t1 = now();
	if (waitpid(child, &status, 0) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0) {
		fprintf(stderr, "loops: message writer failed\n");
		goto out;
	}
	report(count, t1 - t0);
	rc = 0;
	goto out;

kill_child:
	kill(child, SIGKILL);
	waitpid(child, &status, 0);
out:
	if (m->kind == 1)
		msgctl(m->msqid, IPC_RMID, NULL);
	else if (m->kind == 2)
		mq_close(m->mq);
	else
		close(m->rfd);
	return rc;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";

	if (!strcmp(cmd, "seqread") && argc == 4)
		return seqread(argv[2], num(argv[3]));
	if (!strcmp(cmd, "seqwrite") && argc == 5)
		return seqwrite(argv[2], num(argv[3]), num(argv[4]));
	if (!strcmp(cmd, "randread") && argc == 6)
		return randread(argv[2], num(argv[3]), num(argv[4]), num(argv[5]));
	if ((!strcmp(cmd, "pingfs") || !strcmp(cmd, "pingsysv") ||
	     !strcmp(cmd, "pingposix")) && argc == 5) {
		struct side s = { !strcmp(cmd, "pingsysv") ? SIDE_SYSV :
		                  !strcmp(cmd, "pingposix") ? SIDE_POSIX : SIDE_FS,
		                  1, { argv[2], argv[3] }, { -1, -1 }, { 0, 0 },
		                  "", "", 0, 0 };

		side_cmds(&s);
		return pingpong(&s, num(argv[4]));
	}
	if ((!strcmp(cmd, "pingfsn") || !strcmp(cmd, "pingsysvn")) &&
	    argc == 6 && num(argv[5]) >= 1 && num(argv[5]) <= NSEMS_MAX) {
		struct side s = { !strcmp(cmd, "pingsysvn") ? SIDE_SYSV : SIDE_FS,
		                  (int)num(argv[5]), { argv[2], argv[3] },
		                  { -1, -1 }, { 0, 0 }, "", "", 0, 0 };

		side_cmds(&s);
		return pingpong(&s, num(argv[4]));
	}
	if (!strcmp(cmd, "msgfs") && argc == 6) {
		struct msgside m = { 0, argv[2], argv[3], -1, -1, -1, 0, 0 };

		return msgstream(&m, num(argv[4]), num(argv[5]));
	}
	if ((!strcmp(cmd, "msgsysv") || !strcmp(cmd, "msgmq")) && argc == 4) {
		struct msgside m = { !strcmp(cmd, "msgsysv") ? 1 : 2, NULL, NULL,
		                     -1, -1, -1, 0, 0 };

		return msgstream(&m, num(argv[2]), num(argv[3]));
	}
	if (!strcmp(cmd, "shmfill") && argc == 4)
		return shmfill((int)num(argv[2]), (int)num(argv[3]));
	fprintf(stderr, "loops: bad command line (see the comment at the top)\n");
	return 2;
}
