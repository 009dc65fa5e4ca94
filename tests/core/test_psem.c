/*
 * POSIX named semaphores through core (ipcc_psem_*), side by side with the
 * C library's own sem_open / sem_post / sem_wait on the same names: what
 * one makes the other uses, both ways, including a blocked sem_wait in
 * another process.  Plus what must never be touched (symlinks, FIFOs,
 * files of another size), waits that time out, are cancelled or are
 * interrupted halfway, removal under a waiter, and a second user.
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "fixture.h"
#include "ipcc.h"

static char path_buf[IPCC_NAME_MAX + 32];

static const char *file_of(const char *name)
{
	snprintf(path_buf, sizeof(path_buf), "/dev/shm/sem.%s", name);
	return path_buf;
}

static const char *slash(const char *name, char buf[IPCC_NAME_MAX + 2])
{
	snprintf(buf, IPCC_NAME_MAX + 2, "/%s", name);
	return buf;
}

/* The value as the C library sees it through its own sem_open. */
static int libc_value(const char *name)
{
	char sl[IPCC_NAME_MAX + 2];
	sem_t *s = sem_open(slash(name, sl), 0);
	int v = -1;

	if (s == SEM_FAILED)
		return -errno - 1000;
	if (sem_getvalue(s, &v) < 0)
		v = -2;
	sem_close(s);
	return v;
}

static unsigned value_of(const ipcc_psem *p)
{
	unsigned v = 99999;

	if (ipcc_psem_value(p, &v) < 0)
		return 88888;
	return v;
}

static long ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (t1.tv_sec - t0->tv_sec) * 1000 +
	       (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

/* Runs before anything opens the default directory (fork keeps state). */
static void test_dir_seam(void)
{
	char dir[] = "/tmp/ipcct-psem-XXXXXX", file[64];
	pid_t pid;
	int status;

	REQUIRE(mkdtemp(dir) != NULL);
	fx_track_path(FX_DIR, dir);
	snprintf(file, sizeof(file), "%s/sem.x", dir);
	fx_track_path(FX_FILE, file);
	fflush(stdout);
	pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		int fd = open(dir, O_RDONLY | O_DIRECTORY);
		ipcc_psem *p = NULL;
		struct stat st;
		int ok = fd >= 0 && ipcc_shm_dir_set(fd) == 0 &&
		         ipcc_psem_open("x", O_RDWR | O_CREAT | O_EXCL, 0600, 4,
		                        &p) == 0 &&
		         value_of(p) == 4 && stat(file, &st) == 0 &&
		         st.st_size == (off_t)sizeof(sem_t) &&
		         stat("/dev/shm/sem.x", &st) < 0 &&
		         ipcc_psem_unlink("x") == 0 && stat(file, &st) < 0;

		ipcc_psem_close(p);
		_exit(ok ? 0 : 1);
	}
	REQUIRE(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK_OK(rmdir(dir));
}

static void test_core_to_libc(void)
{
	char name[IPCC_NAME_MAX + 1], sl[IPCC_NAME_MAX + 2];
	ipcc_psem *p = NULL, *p2 = NULL;
	struct stat st, st2;
	sem_t *s;
	int v = -1;

	fx_name("c2l", name);
	REQUIRE_OK(ipcc_psem_open(name, O_RDWR | O_CREAT | O_EXCL, 0640, 3, &p));
	CHECK_EQ(ipcc_psem_created(p), 1);
	/* the file is exactly what sem_open would make, mode without umask */
	REQUIRE_OK(stat(file_of(name), &st));
	CHECK(S_ISREG(st.st_mode));
	CHECK_EQ(st.st_mode & 07777, 0640);
	CHECK_EQ(st.st_size, sizeof(sem_t));
	CHECK_EQ(st.st_uid, geteuid());
	CHECK_EQ(st.st_nlink, 1);
	CHECK_OK(ipcc_psem_fstat(p, &st2));
	CHECK_EQ(st2.st_ino, st.st_ino);
	CHECK_OK(ipcc_psem_stat(name, &st2));
	CHECK_EQ(st2.st_ino, st.st_ino);

	s = sem_open(slash(name, sl), 0);
	REQUIRE(s != SEM_FAILED);
	CHECK_OK(sem_getvalue(s, &v));
	CHECK_EQ(v, 3);
	CHECK_OK(sem_wait(s));
	CHECK_EQ(value_of(p), 2);
	CHECK_OK(ipcc_psem_post(p, 5));
	CHECK_OK(sem_getvalue(s, &v));
	CHECK_EQ(v, 7);
	CHECK_OK(ipcc_psem_trywait(p, 7));
	CHECK_EQ(sem_trywait(s) < 0 ? errno : 0, EAGAIN);
	sem_close(s);

	/* open again: existing, not created, same semaphore */
	CHECK_OK(ipcc_psem_open(name, O_RDWR | O_CREAT, 0600, 9, &p2));
	if (p2) {
		CHECK_EQ(ipcc_psem_created(p2), 0);
		CHECK_EQ(value_of(p2), 0);
		CHECK_OK(ipcc_psem_post(p2, 1));
		ipcc_psem_close(p2);
		p2 = NULL;
	}
	CHECK_EQ(value_of(p), 1);
	CHECK_ERR(ipcc_psem_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, 0, &p2),
	          EEXIST);
	REQUIRE_OK(stat(file_of(name), &st2));
	CHECK_EQ(st2.st_mode & 07777, 0640);    /* untouched */
	ipcc_psem_close(p);
	ipcc_psem_close(NULL);
	CHECK_EQ(libc_value(name), 1);          /* close leaves it */
	CHECK_OK(ipcc_psem_unlink(name));
	CHECK_EQ(libc_value(name), -ENOENT - 1000);
	CHECK_ERR(ipcc_psem_unlink(name), ENOENT);
	CHECK_ERR(ipcc_psem_stat(name, &st), ENOENT);
	CHECK_ERR(ipcc_psem_open(name, O_RDWR, 0, 0, &p2), ENOENT);
	CHECK(p2 == NULL);
}

static void test_libc_to_core(void)
{
	char name[IPCC_NAME_MAX + 1], sl[IPCC_NAME_MAX + 2];
	ipcc_psem *p = NULL;
	sem_t *s;
	int v = -1;

	fx_name("l2c", name);
	s = sem_open(slash(name, sl), O_CREAT | O_EXCL, 0600, 4);
	REQUIRE(s != SEM_FAILED);
	REQUIRE_OK(ipcc_psem_open(name, O_RDWR, 0, 0, &p));
	CHECK_EQ(ipcc_psem_created(p), 0);
	CHECK_EQ(value_of(p), 4);
	CHECK_OK(ipcc_psem_wait(p, 3, NULL, NULL));
	CHECK_OK(sem_getvalue(s, &v));
	CHECK_EQ(v, 1);
	CHECK_OK(sem_post(s));
	CHECK_EQ(value_of(p), 2);
	/* the leading '/' is accepted, as sem_open names have it */
	{
		ipcc_psem *p2 = NULL;

		CHECK_OK(ipcc_psem_open(sl, O_RDONLY, 0, 0, &p2));
		if (p2) {
			CHECK_EQ(value_of(p2), 2);
			/* read-only: looking only */
			CHECK_ERR(ipcc_psem_post(p2, 1), EBADF);
			CHECK_ERR(ipcc_psem_wait(p2, 1, NULL, NULL), EBADF);
			CHECK_ERR(ipcc_psem_trywait(p2, 1), EBADF);
			ipcc_psem_close(p2);
		}
	}
	sem_close(s);
	ipcc_psem_close(p);
	CHECK_OK(sem_unlink(sl));
}

/*
 * A blocked sem_wait in another process is woken by a post from core, and
 * its sem_post on a semaphore the C library made wakes a core wait.
 */
static void test_cross_process(void)
{
	char name[IPCC_NAME_MAX + 1], sl[IPCC_NAME_MAX + 2];
	char back[IPCC_NAME_MAX + 1], slb[IPCC_NAME_MAX + 2];
	ipcc_psem *p = NULL, *b = NULL;
	sem_t *sb;
	pid_t pid;
	int status;

	fx_name("xproc", name);
	fx_name("xback", back);
	REQUIRE_OK(ipcc_psem_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, 0, &p));
	sb = sem_open(slash(back, slb), O_CREAT | O_EXCL, 0600, 0);
	REQUIRE(sb != SEM_FAILED);
	sem_close(sb);
	REQUIRE_OK(ipcc_psem_open(back, O_RDWR, 0, 0, &b));
	slash(name, sl);
	fflush(stdout);
	pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		sem_t *s = sem_open(sl, 0), *r = sem_open(slb, 0);
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 30;
		if (s == SEM_FAILED || r == SEM_FAILED ||
		    sem_timedwait(s, &ts) < 0)
			_exit(1);
		_exit(sem_post(r) < 0 ? 2 : 0);
	}
	fx_sleep_ms(50);
	CHECK_OK(ipcc_psem_post(p, 1));
	{
		struct timespec t = { 30, 0 };

		CHECK_OK(ipcc_psem_wait(b, 1, &t, NULL));
	}
	REQUIRE(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK_EQ(value_of(p), 0);
	CHECK_EQ(value_of(b), 0);
	ipcc_psem_close(p);
	ipcc_psem_close(b);
	CHECK_OK(ipcc_psem_unlink(name));
	CHECK_OK(ipcc_psem_unlink(back));
}

static void test_bad_files(void)
{
	char name[IPCC_NAME_MAX + 1], target[IPCC_NAME_MAX + 32];
	char buf[16] = "0123456789abcdef", back[16];
	ipcc_psem *p = NULL;
	struct stat st;
	int fd;

	/* a file of another size: refused, never written */
	fx_name("size", name);
	fd = open(file_of(name), O_RDWR | O_CREAT | O_EXCL, 0666);
	REQUIRE(fd >= 0);
	CHECK_EQ(write(fd, buf, sizeof(buf)), sizeof(buf));
	close(fd);
	CHECK_ERR(ipcc_psem_open(name, O_RDWR, 0, 0, &p), EINVAL);
	CHECK_ERR(ipcc_psem_open(name, O_RDWR | O_CREAT, 0600, 1, &p), EINVAL);
	fd = open(file_of(name), O_RDONLY);
	REQUIRE(fd >= 0);
	CHECK_EQ(read(fd, back, sizeof(back)), sizeof(back));
	close(fd);
	CHECK_MEM(back, buf, sizeof(buf));
	CHECK_OK(ipcc_psem_stat(name, &st));    /* it is listed, though */
	CHECK_OK(ipcc_psem_unlink(name));
	/* empty too */
	fd = open(file_of(name), O_RDWR | O_CREAT | O_EXCL, 0666);
	REQUIRE(fd >= 0);
	close(fd);
	CHECK_ERR(ipcc_psem_open(name, O_RDWR, 0, 0, &p), EINVAL);
	CHECK_OK(ipcc_psem_unlink(name));

	/* a symlink: absent for opening, taken for creating, never followed */
	fx_name("link", name);
	snprintf(target, sizeof(target), "/dev/shm/%s.target", name);
	fx_track_path(FX_FILE, target);
	fd = open(target, O_RDWR | O_CREAT | O_EXCL, 0600);
	REQUIRE(fd >= 0);
	CHECK_EQ(ftruncate(fd, sizeof(sem_t)), 0);
	close(fd);
	REQUIRE_OK(symlink(target, file_of(name)));
	CHECK_ERR(ipcc_psem_open(name, O_RDWR, 0, 0, &p), ENOENT);
	CHECK_ERR(ipcc_psem_open(name, O_RDWR | O_CREAT, 0600, 1, &p), EEXIST);
	CHECK_ERR(ipcc_psem_stat(name, &st), ENOENT);
	CHECK_ERR(ipcc_psem_set(name, 0666, (uid_t)-1, (gid_t)-1), ENOENT);
	CHECK_ERR(ipcc_psem_unlink(name), ENOENT);
	REQUIRE_OK(stat(target, &st));
	CHECK_EQ(st.st_mode & 07777, 0600);
	CHECK_OK(lstat(file_of(name), &st));    /* still there */
	CHECK_OK(unlink(file_of(name)));
	CHECK_OK(unlink(target));

	/* a FIFO: no hang, absent */
	fx_name("fifo", name);
	REQUIRE_OK(mkfifo(file_of(name), 0666));
	CHECK_ERR(ipcc_psem_open(name, O_RDWR, 0, 0, &p), ENOENT);
	CHECK_ERR(ipcc_psem_open(name, O_RDONLY, 0, 0, &p), ENOENT);
	CHECK_ERR(ipcc_psem_stat(name, &st), ENOENT);
	CHECK_OK(unlink(file_of(name)));
	CHECK(p == NULL);
}

static void test_bad_args(void)
{
	char name[IPCC_NAME_MAX + 1], longname[IPCC_NAME_MAX + 2];
	ipcc_psem *p = NULL;

	fx_name("args", name);
	CHECK_ERR(ipcc_psem_open(name, O_RDWR | O_CREAT, 0600, 32768, &p),
	          ERANGE);
	CHECK_ERR(ipcc_psem_open(name, O_WRONLY | O_CREAT, 0600, 0, &p), EINVAL);
	CHECK_ERR(ipcc_psem_open("", O_RDWR | O_CREAT, 0600, 0, &p), EINVAL);
	CHECK_ERR(ipcc_psem_open("a/b", O_RDWR | O_CREAT, 0600, 0, &p), EINVAL);
	CHECK_ERR(ipcc_psem_open("..", O_RDWR, 0600, 0, &p), EINVAL);
	CHECK_ERR(ipcc_psem_open("x..y", O_RDWR | O_CREAT, 0600, 0, &p),
	          EINVAL);
	memset(longname, 'a', IPCC_NAME_MAX + 1);
	longname[IPCC_NAME_MAX + 1] = '\0';
	CHECK_ERR(ipcc_psem_open(longname, O_RDWR | O_CREAT, 0600, 0, &p),
	          ENAMETOOLONG);
	CHECK_ERR(ipcc_psem_unlink(longname), ENAMETOOLONG);
	CHECK(p == NULL);
	CHECK_EQ(libc_value(name), -ENOENT - 1000);
	/* the longest name works and the C library finds it */
	{
		char ok[IPCC_NAME_MAX + 1], sl[IPCC_NAME_MAX + 2];

		snprintf(ok, sizeof(ok), "%s", name);
		memset(ok + strlen(name), 'z', IPCC_NAME_MAX - strlen(name));
		ok[IPCC_NAME_MAX] = '\0';
		fx_track_path(FX_PSEM, slash(ok, sl));
		CHECK_OK(ipcc_psem_open(ok, O_RDWR | O_CREAT | O_EXCL, 0600, 2,
		                        &p));
		CHECK_EQ(libc_value(ok), 2);
		ipcc_psem_close(p);
		p = NULL;
		CHECK_OK(ipcc_psem_unlink(ok));
	}
	/* counts */
	REQUIRE_OK(ipcc_psem_open(name, O_RDWR | O_CREAT, 0600, 0, &p));
	CHECK_ERR(ipcc_psem_post(p, 0), EINVAL);
	CHECK_ERR(ipcc_psem_post(p, 32768), ERANGE);
	CHECK_ERR(ipcc_psem_wait(p, 0, NULL, NULL), EINVAL);
	CHECK_ERR(ipcc_psem_trywait(p, 32768), ERANGE);
	{
		struct timespec bad = { 0, 1000000000L };

		CHECK_ERR(ipcc_psem_wait(p, 1, &bad, NULL), EINVAL);
	}
	CHECK_EQ(value_of(p), 0);
	ipcc_psem_close(p);
	CHECK_OK(ipcc_psem_unlink(name));
}

static void test_overflow(void)
{
	char name[IPCC_NAME_MAX + 1], sl[IPCC_NAME_MAX + 2];
	ipcc_psem *p = NULL;
	sem_t *s;

	/* the C library's maximum is SEM_VALUE_MAX: past it, ERANGE */
	fx_name("ovf", name);
	s = sem_open(slash(name, sl), O_CREAT | O_EXCL, 0600, SEM_VALUE_MAX - 1);
	REQUIRE(s != SEM_FAILED);
	sem_close(s);
	REQUIRE_OK(ipcc_psem_open(name, O_RDWR, 0, 0, &p));
	CHECK_ERR(ipcc_psem_post(p, 2), ERANGE);
	CHECK_EQ(value_of(p), SEM_VALUE_MAX - 1);
	CHECK_OK(ipcc_psem_post(p, 1));
	CHECK_EQ(value_of(p), SEM_VALUE_MAX);
	CHECK_ERR(ipcc_psem_post(p, 1), ERANGE);
	ipcc_psem_close(p);
	CHECK_OK(ipcc_psem_unlink(name));
}

static void test_waits(void)
{
	char name[IPCC_NAME_MAX + 1];
	struct timespec t0, tmo = { 0, 200000000L };
	ipcc_psem *p = NULL;
	long ms;

	fx_name("waits", name);
	REQUIRE_OK(ipcc_psem_open(name, O_RDWR | O_CREAT, 0600, 2, &p));
	/* trywait: all of n or nothing */
	CHECK_ERR(ipcc_psem_trywait(p, 3), EAGAIN);
	CHECK_EQ(value_of(p), 2);
	CHECK_OK(ipcc_psem_trywait(p, 2));
	CHECK_ERR(ipcc_psem_trywait(p, 1), EAGAIN);
	/* a wait of n that times out halfway gives back what it took */
	CHECK_OK(ipcc_psem_post(p, 1));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK_ERR(ipcc_psem_wait(p, 2, &tmo, NULL), ETIMEDOUT);
	ms = ms_since(&t0);
	CHECK(ms >= 190 && ms < 3000);
	CHECK_EQ(value_of(p), 1);
	CHECK_EQ(libc_value(name), 1);
	/* timeout 0: one try */
	tmo.tv_nsec = 0;
	CHECK_OK(ipcc_psem_wait(p, 1, &tmo, NULL));
	CHECK_ERR(ipcc_psem_wait(p, 1, &tmo, NULL), ETIMEDOUT);
	ipcc_psem_close(p);
	CHECK_OK(ipcc_psem_unlink(name));
}

/* ---- blocked waiters ---- */

struct waiter {
	pthread_t thread;
	ipcc_psem *p;
	unsigned n;
	int use_hook;
	atomic_int cancel;
	int result;
};

static int hook(void *arg)
{
	return atomic_load((atomic_int *)arg);
}

static void *waiter_main(void *arg)
{
	struct waiter *w = arg;
	struct ipcc_cancel c = { hook, &w->cancel };

	w->result = ipcc_psem_wait(w->p, w->n, NULL, w->use_hook ? &c : NULL);
	return NULL;
}

static int waiter_start(struct waiter *w, ipcc_psem *p, unsigned n,
                        int use_hook)
{
	memset(w, 0, sizeof(*w));
	w->p = p;
	w->n = n;
	w->use_hook = use_hook;
	atomic_init(&w->cancel, 0);
	w->result = 12345;
	return pthread_create(&w->thread, NULL, waiter_main, w) == 0 ? 0 : -1;
}

static int waiter_join(struct waiter *w)
{
	struct timespec deadline;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 60;
	if (pthread_timedjoin_np(w->thread, NULL, &deadline) != 0) {
		fprintf(stderr, "%s: a waiter did not return; giving up\n",
		        __FILE__);
		check_failures++;
		exit(check_exit());
	}
	return w->result;
}

/* Whether the waiter is still in its wait after ms (it must be). */
static int still_waiting(struct waiter *w, long ms)
{
	fx_sleep_ms(ms);
	return pthread_tryjoin_np(w->thread, NULL) == EBUSY;
}

static void on_usr1(int sig)
{
	(void)sig;
}

static void test_cancel(void)
{
	char name[IPCC_NAME_MAX + 1];
	struct sigaction sa;
	struct timespec t0;
	struct waiter w;
	ipcc_psem *p = NULL;
	long ms;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	fx_name("cancel", name);
	REQUIRE_OK(ipcc_psem_open(name, O_RDWR | O_CREAT, 0600, 1, &p));

	/* wait 2 with 1 there: takes one, blocks; cancelled: gives it back */
	REQUIRE_OK(waiter_start(&w, p, 2, 1));
	CHECK(still_waiting(&w, 100));
	CHECK_EQ(value_of(p), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	atomic_store(&w.cancel, 1);
	CHECK_ERR(waiter_join(&w), EINTR);
	ms = ms_since(&t0);
	CHECK(ms < IPCC_CANCEL_POLL_MS + 500);
	CHECK_EQ(value_of(p), 1);

	/* with the signal: at once */
	REQUIRE_OK(waiter_start(&w, p, 2, 1));
	CHECK(still_waiting(&w, 100));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	atomic_store(&w.cancel, 1);
	pthread_kill(w.thread, SIGUSR1);
	CHECK_ERR(waiter_join(&w), EINTR);
	CHECK(ms_since(&t0) < 150);
	CHECK_EQ(value_of(p), 1);

	/* a signal alone is not a cancel when there is a hook */
	REQUIRE_OK(waiter_start(&w, p, 2, 1));
	CHECK(still_waiting(&w, 50));
	pthread_kill(w.thread, SIGUSR1);
	CHECK(still_waiting(&w, 50));
	CHECK_OK(ipcc_psem_post(p, 1));
	CHECK_OK(waiter_join(&w));
	CHECK_EQ(value_of(p), 0);

	/* no hook: the signal is the cancel */
	REQUIRE_OK(waiter_start(&w, p, 1, 0));
	CHECK(still_waiting(&w, 50));
	pthread_kill(w.thread, SIGUSR1);
	CHECK_ERR(waiter_join(&w), EINTR);
	CHECK_EQ(value_of(p), 0);
	ipcc_psem_close(p);
	CHECK_OK(ipcc_psem_unlink(name));
}

/* A second handle on the same semaphore outlives the first and the name. */
static void test_dup(void)
{
	char name[IPCC_NAME_MAX + 1];
	ipcc_psem *p = NULL, *d = NULL;

	fx_name("dup", name);
	REQUIRE_OK(ipcc_psem_open(name, O_RDWR | O_CREAT, 0600, 2, &p));
	REQUIRE_OK(ipcc_psem_dup(p, &d));
	CHECK_EQ(ipcc_psem_created(d), 1);
	CHECK_OK(ipcc_psem_unlink(name));
	ipcc_psem_close(p);
	CHECK_EQ(value_of(d), 2);
	CHECK_OK(ipcc_psem_post(d, 1));
	CHECK_EQ(value_of(d), 3);
	ipcc_psem_close(d);
	/* a read-only one stays read-only */
	REQUIRE_OK(ipcc_psem_open(name, O_RDWR | O_CREAT, 0600, 0, &p));
	CHECK_OK(ipcc_psem_open(name, O_RDONLY, 0, 0, &d));
	ipcc_psem_close(p);
	p = d;
	d = NULL;
	if (p) {
		CHECK_OK(ipcc_psem_dup(p, &d));
		if (d)
			CHECK_ERR(ipcc_psem_post(d, 1), EBADF);
		ipcc_psem_close(d);
		ipcc_psem_close(p);
	}
	CHECK_OK(ipcc_psem_unlink(name));
}

/*
 * Whoever may write the file may truncate it under our mapping: every
 * call then fails with EIO, a blocked waiter included, and the process
 * lives on (a SIGBUS would end it).
 */
static void test_truncated_under_us(void)
{
	char name[IPCC_NAME_MAX + 1];
	struct waiter w;
	ipcc_psem *p = NULL, *p2 = NULL;
	unsigned v;

	fx_name("trunc", name);
	REQUIRE_OK(ipcc_psem_open(name, O_RDWR | O_CREAT, 0600, 1, &p));
	REQUIRE_OK(ipcc_psem_open(name, O_RDWR, 0, 0, &p2));
	REQUIRE_OK(waiter_start(&w, p2, 2, 1));
	CHECK(still_waiting(&w, 100));
	REQUIRE_OK(truncate(file_of(name), 0));
	CHECK_ERR(ipcc_psem_post(p, 1), EIO);
	CHECK_ERR(ipcc_psem_trywait(p, 1), EIO);
	CHECK_ERR(ipcc_psem_value(p, &v), EIO);
	{
		struct timespec t = { 0, 1000000 };

		CHECK_ERR(ipcc_psem_wait(p, 1, &t, NULL), EIO);
	}
	/* the blocked one finds out at its next poll of the cancel hook */
	CHECK_ERR(waiter_join(&w), EIO);
	/* and opening it again: not a semaphore any more */
	ipcc_psem_close(p);
	ipcc_psem_close(p2);
	CHECK_ERR(ipcc_psem_open(name, O_RDWR, 0, 0, &p), EINVAL);
	CHECK_OK(ipcc_psem_unlink(name));
	/* a SIGBUS that is not ours still ends a process as before */
	{
		pid_t pid;
		int status;

		fflush(stdout);
		pid = fork();
		REQUIRE(pid >= 0);
		if (pid == 0) {
			signal(SIGBUS, SIG_DFL);
			raise(SIGBUS);
			_exit(0);
		}
		REQUIRE(waitpid(pid, &status, 0) == pid);
		CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGBUS);
	}
}

static void test_unlink_under_waiter(void)
{
	char name[IPCC_NAME_MAX + 1];
	struct waiter w;
	ipcc_psem *p = NULL, *p2 = NULL;

	fx_name("unl", name);
	REQUIRE_OK(ipcc_psem_open(name, O_RDWR | O_CREAT, 0600, 0, &p));
	REQUIRE_OK(waiter_start(&w, p, 1, 1));
	CHECK(still_waiting(&w, 50));
	CHECK_OK(ipcc_psem_unlink(name));
	/* as POSIX says: the wait goes on on the nameless semaphore */
	CHECK(still_waiting(&w, 100));
	CHECK_ERR(ipcc_psem_open(name, O_RDWR, 0, 0, &p2), ENOENT);
	/* a new one under the name is another semaphore */
	REQUIRE_OK(ipcc_psem_open(name, O_RDWR | O_CREAT, 0600, 0, &p2));
	CHECK_OK(ipcc_psem_post(p2, 1));
	CHECK(still_waiting(&w, 50));
	CHECK_OK(ipcc_psem_post(p, 1));
	CHECK_OK(waiter_join(&w));
	CHECK_EQ(value_of(p2), 1);
	ipcc_psem_close(p);
	ipcc_psem_close(p2);
	CHECK_OK(ipcc_psem_unlink(name));
}

static size_t parse(const char *text, struct ipcc_sem_cmd *cmds)
{
	size_t n = 0;

	if (ipcc_sem_cmd_parse(text, strlen(text), cmds, IPCC_SEM_CMD_MAX,
	                       &n) != 0) {
		fprintf(stderr, "cannot parse %s\n", text);
		exit(1);
	}
	return n;
}

static void test_run(void)
{
	char name[IPCC_NAME_MAX + 1];
	struct ipcc_sem_cmd cmds[IPCC_SEM_CMD_MAX];
	ipcc_psem *p = NULL;
	size_t n, done = 99;

	fx_name("run", name);
	REQUIRE_OK(ipcc_psem_open(name, O_RDWR | O_CREAT, 0600, 0, &p));
	/* in order, stopping at the first that fails */
	n = parse("post 2\nwait\ntrywait 5\npost", cmds);
	CHECK_ERR(ipcc_psem_run(p, cmds, n, NULL, &done), EAGAIN);
	CHECK_EQ(done, 2);
	CHECK_EQ(value_of(p), 1);
	n = parse("post 3\ntimedwait 0.1\nwait 2", cmds);
	CHECK_OK(ipcc_psem_run(p, cmds, n, NULL, &done));
	CHECK_EQ(done, 3);
	CHECK_EQ(value_of(p), 1);
	/* the reply failed: give back what the waits took */
	CHECK_OK(ipcc_psem_give_back(p, cmds, n));
	CHECK_EQ(value_of(p), 4);
	/* set: POSIX has none */
	n = parse("post\nset 3", cmds);
	CHECK_ERR(ipcc_psem_run(p, cmds, n, NULL, &done), ENOTSUP);
	CHECK_EQ(done, 1);
	CHECK_EQ(value_of(p), 5);
	n = parse("timedwait 0.05\ntimedwait 0.05\ntrywait 3\ntimedwait 0.1",
	          cmds);
	CHECK_ERR(ipcc_psem_run(p, cmds, n, NULL, NULL), ETIMEDOUT);
	CHECK_EQ(value_of(p), 0);
	ipcc_psem_close(p);
	CHECK_OK(ipcc_psem_unlink(name));
}

static void test_set_and_iter(void)
{
	char name[IPCC_NAME_MAX + 1], pshm[IPCC_NAME_MAX + 1];
	char got[IPCC_NAME_MAX + 1];
	ipcc_psem *p = NULL;
	ipcc_psem_iter *it;
	struct stat st, want;
	int seen = 0, seen_pshm = 0, r;

	fx_name("iter", name);
	fx_name("iterpshm", pshm);
	REQUIRE_OK(ipcc_psem_open(name, O_RDWR | O_CREAT, 0644, 0, &p));
	{
		char path[IPCC_NAME_MAX + 32];
		int fd;

		snprintf(path, sizeof(path), "/dev/shm/%s", pshm);
		fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
		REQUIRE(fd >= 0);
		close(fd);
	}
	CHECK_OK(ipcc_psem_set(name, 0606, (uid_t)-1, (gid_t)-1));
	CHECK_OK(ipcc_psem_set(name, (mode_t)-1, FX_NOBODY, FX_NOBODY));
	REQUIRE_OK(stat(file_of(name), &want));
	CHECK_EQ(want.st_mode & 07777, 0606);
	CHECK_EQ(want.st_uid, FX_NOBODY);
	CHECK_EQ(want.st_gid, FX_NOBODY);
	CHECK_OK(ipcc_psem_fset(p, 0640, 0, 0));
	REQUIRE_OK(stat(file_of(name), &want));
	CHECK_EQ(want.st_mode & 07777, 0640);
	CHECK_EQ(want.st_uid, 0);

	REQUIRE_OK(ipcc_psem_iter_new(&it));
	while ((r = ipcc_psem_iter_next(it, got, &st)) == 1) {
		if (strcmp(got, name) == 0) {
			seen++;
			CHECK_EQ(st.st_ino, want.st_ino);
			CHECK_EQ(st.st_mode, want.st_mode);
		}
		seen_pshm += strcmp(got, pshm) == 0;
		CHECK(strncmp(got, "sem.", 4) != 0 || strlen(got) > 4);
	}
	CHECK_EQ(r, 0);
	ipcc_psem_iter_free(it);
	CHECK_EQ(seen, 1);
	CHECK_EQ(seen_pshm, 0);
	ipcc_psem_close(p);
	CHECK_OK(ipcc_psem_unlink(name));
	CHECK_OK(shm_unlink(pshm));
}

/* ---- a second user ---- */

struct as_nobody {
	const char *name;
	int oflag;
	int libc;
};

static int nobody_fn(void *arg)
{
	const struct as_nobody *a = arg;
	ipcc_psem *p = NULL;
	int r;

	if (a->libc) {
		char sl[IPCC_NAME_MAX + 2];
		sem_t *s = sem_open(slash(a->name, sl), a->oflag, 0600, 0);

		if (s == SEM_FAILED)
			return -errno;
		sem_close(s);
		return 0;
	}
	r = ipcc_psem_open(a->name, a->oflag, 0600, 0, &p);
	if (r)
		return r;
	if ((a->oflag & O_ACCMODE) == O_RDWR)
		r = ipcc_psem_post(p, 1);
	ipcc_psem_close(p);
	return r;
}

static int nobody(const char *name, int oflag, int libc)
{
	struct as_nobody a = { name, oflag, libc };

	return fx_as_nobody(nobody_fn, &a);
}

static void test_permissions(void)
{
	static const mode_t modes[] = { 0600, 0660, 0606, 0602, 0604, 0620,
	                                0644, 0400 };

	for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
		char name[IPCC_NAME_MAX + 1];
		ipcc_psem *p = NULL;
		int rw_ok = (modes[m] & 06) == 06, ro_ok = (modes[m] & 04) != 0;

		fx_name("perm", name);
		REQUIRE_OK(ipcc_psem_open(name, O_RDWR | O_CREAT, modes[m], 0,
		                          &p));
		/* sem_open needs read and write; so does ours for O_RDWR */
		CHECK_EQ(nobody(name, O_RDWR, 0), nobody(name, 0, 1));
		CHECK_EQ(nobody(name, O_RDWR, 0), rw_ok ? 0 : -EACCES);
		CHECK_EQ(nobody(name, O_RDONLY, 0), ro_ok ? 0 : -EACCES);
		CHECK_EQ(value_of(p), rw_ok ? 2 : 0);
		/* creating where it exists is opening it */
		CHECK_EQ(nobody(name, O_RDWR | O_CREAT, 0), rw_ok ? 0 : -EACCES);
		ipcc_psem_close(p);
		CHECK_OK(ipcc_psem_unlink(name));
	}
	/* created by nobody: owned by nobody */
	{
		char name[IPCC_NAME_MAX + 1];
		struct stat st;

		fx_name("permc", name);
		CHECK_OK(nobody(name, O_RDWR | O_CREAT | O_EXCL, 0));
		REQUIRE_OK(stat(file_of(name), &st));
		CHECK_EQ(st.st_uid, FX_NOBODY);
		CHECK_EQ(st.st_gid, FX_NOBODY);
		CHECK_EQ(st.st_mode & 07777, 0600);
		CHECK_EQ(libc_value(name), 1);
		CHECK_OK(ipcc_psem_unlink(name));
	}
}

int main(void)
{
	fx_init();
	umask(077);     /* the create mode is exact whatever the umask */
	RUN(test_dir_seam);
	RUN(test_core_to_libc);
	RUN(test_libc_to_core);
	RUN(test_cross_process);
	RUN(test_bad_files);
	RUN(test_bad_args);
	RUN(test_overflow);
	RUN(test_waits);
	RUN(test_cancel);
	RUN(test_dup);
	RUN(test_truncated_under_us);
	RUN(test_unlink_under_waiter);
	RUN(test_run);
	RUN(test_set_and_iter);
	RUN(test_permissions);
	return check_exit();
}
