/*
 * fixture.h: what the IPC tests share.
 *
 * - Fresh keys and names, random per run, checked unused, so tests never
 *   touch anybody else's objects and can run next to other test suites.
 * - Every key and name handed out is recorded at once; an atexit handler
 *   removes whatever still exists under them, so a failing test (or one
 *   that stops at a REQUIRE) still leaves ipcs and /dev/shm as they were.
 * - Running a command with its stdout captured, and running a function as
 *   a second user (uid/gid 65534, no groups) in a child process.
 *
 * The cleanup deliberately uses raw syscalls and its own FNV-1a, not the
 * library under test.
 */
#ifndef FIXTURE_H
#define FIXTURE_H

#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <semaphore.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/random.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#include "check.h"
#include "ipcc.h"

#define FX_NOBODY 65534
#define FX_PYTHON "/usr/bin/python3"

enum fx_kind {
	FX_SHM_KEY,     /* SysV segment by key */
	FX_SHM_ID,      /* SysV segment by id (IPC_PRIVATE ones) */
	FX_SEM_KEY,     /* SysV semaphore set by key */
	FX_PSHM,        /* /dev/shm object, name with leading '/' */
	FX_PSEM,        /* POSIX named semaphore, name with leading '/' */
	FX_DIR,         /* a directory */
	FX_FILE,        /* a plain file, by path */
	FX_SHM_ID_CPID, /* SysV segment by id, made by process key (ipcmk) */
	FX_MSG_KEY,     /* SysV message queue by key */
};

struct fx_item {
	enum fx_kind kind;
	key_t key;
	int id;
	char name[IPCC_NAME_MAX + 16];
};

#define FX_MAX 4096
static struct fx_item fx_items[FX_MAX];
static size_t fx_nitems;
static pid_t fx_pid;
static unsigned fx_serial;
static uint32_t fx_run_id;

static inline uint32_t fx_fnv1a32(const char *s)
{
	uint32_t h = 0x811c9dc5u;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 16777619u;
	}
	return h;
}

/* The semaphore key of name, computed independently of the library. */
static inline key_t fx_sem_key(const char *name)
{
	char buf[IPCC_NAME_MAX + 16];

	snprintf(buf, sizeof(buf), "/%s", name[0] == '/' ? name + 1 : name);
	return (key_t)(int32_t)fx_fnv1a32(buf);
}

/*
 * Removes whatever still exists under a tracked key or name.  A run whose
 * checks all passed must not have left anything for this to remove: if it
 * did, that is a test that does not clean up, and the run fails.
 */
static void fx_cleanup(void)
{
	int leftovers = 0;

	/* A forked child must not remove its parent's objects. */
	if (getpid() != fx_pid)
		return;
	for (size_t i = fx_nitems; i-- > 0;) {
		const struct fx_item *it = &fx_items[i];
		struct shmid_ds ds;
		int id, gone = 0;

		switch (it->kind) {
		case FX_SHM_KEY:
			id = shmget(it->key, 0, 0);
			gone = id >= 0 && shmctl(id, IPC_RMID, NULL) == 0;
			break;
		case FX_SHM_ID:
			/* Ids are reused: remove only one this process made. */
			gone = shmctl(it->id, IPC_STAT, &ds) == 0 &&
			       ds.shm_cpid == fx_pid &&
			       !(ds.shm_perm.mode & SHM_DEST) &&
			       shmctl(it->id, IPC_RMID, NULL) == 0;
			break;
		case FX_SEM_KEY:
			id = semget(it->key, 0, 0);
			gone = id >= 0 && semctl(id, 0, IPC_RMID) == 0;
			break;
		case FX_SHM_ID_CPID:
			gone = shmctl(it->id, IPC_STAT, &ds) == 0 &&
			       ds.shm_cpid == (pid_t)it->key &&
			       !(ds.shm_perm.mode & SHM_DEST) &&
			       shmctl(it->id, IPC_RMID, NULL) == 0;
			break;
		case FX_MSG_KEY:
			id = msgget(it->key, 0);
			gone = id >= 0 && msgctl(id, IPC_RMID, NULL) == 0;
			break;
		case FX_PSHM:
			gone = shm_unlink(it->name) == 0;
			break;
		case FX_PSEM:
			gone = sem_unlink(it->name) == 0;
			break;
		case FX_DIR:
			gone = rmdir(it->name) == 0;
			break;
		case FX_FILE:
			gone = unlink(it->name) == 0;
			break;
		}
		if (gone) {
			fprintf(stderr, "fixture: removed a leftover: kind %d "
			        "key 0x%08x id %d name %s\n", (int)it->kind,
			        (unsigned)it->key, it->id, it->name);
			leftovers++;
		}
	}
	fx_nitems = 0;
	if (leftovers && check_failures == 0) {
		fprintf(stderr, "fixture: every check passed but %d objects "
		        "were left behind\n", leftovers);
		fflush(stdout);
		_exit(1);
	}
}

static inline void fx_init(void)
{
	fx_pid = getpid();
	if (getrandom(&fx_run_id, sizeof(fx_run_id), 0) != sizeof(fx_run_id))
		fx_run_id = (uint32_t)time(NULL) ^ (uint32_t)fx_pid << 16;
	atexit(fx_cleanup);
	/* Children print too: keep their output apart from ours. */
	setvbuf(stdout, NULL, _IOLBF, 0);
}

static inline struct fx_item *fx_add(enum fx_kind kind)
{
	if (fx_nitems == FX_MAX) {
		fprintf(stderr, "fixture: cleanup list full\n");
		exit(1);
	}
	memset(&fx_items[fx_nitems], 0, sizeof(fx_items[0]));
	fx_items[fx_nitems].kind = kind;
	return &fx_items[fx_nitems++];
}

static inline void fx_track_shm_id(int shmid)
{
	fx_add(FX_SHM_ID)->id = shmid;
}

/*
 * A segment by id that another process (ipcmk) made: removed at exit only
 * while that id still names a segment created by cpid.
 */
static inline void fx_track_shm_id_cpid(int shmid, pid_t cpid)
{
	struct fx_item *it = fx_add(FX_SHM_ID_CPID);

	it->id = shmid;
	it->key = (key_t)cpid;
}

static inline void fx_track_sem_key(key_t key)
{
	fx_add(FX_SEM_KEY)->key = key;
}

static inline void fx_track_path(enum fx_kind kind, const char *path)
{
	size_t len = strlen(path);

	if (len >= sizeof(fx_items[0].name)) {
		fprintf(stderr, "fixture: path too long to track: %s\n", path);
		exit(1);
	}
	memcpy(fx_add(kind)->name, path, len + 1);
}

static inline int fx_key_unused(key_t key)
{
	if (key == IPC_PRIVATE)
		return 0;
	if (shmget(key, 0, 0) >= 0 || errno != ENOENT)
		return 0;
	if (semget(key, 0, 0) >= 0 || errno != ENOENT)
		return 0;
	return 1;
}

/* A random key with no segment and no semaphore set; tracked as both. */
static inline key_t fx_key(void)
{
	for (;;) {
		uint32_t r;
		key_t key;

		if (getrandom(&r, sizeof(r), 0) != sizeof(r))
			r = fx_fnv1a32("fallback") ^ (uint32_t)rand();
		key = (key_t)(int32_t)r;
		if (!fx_key_unused(key))
			continue;
		fx_add(FX_SHM_KEY)->key = key;
		fx_add(FX_SEM_KEY)->key = key;
		return key;
	}
}

/* A random key free for a segment, a set and a queue; tracked as all three. */
static inline key_t fx_key_all(void)
{
	for (;;) {
		key_t key = fx_key();

		if (msgget(key, 0) < 0 && errno == ENOENT) {
			fx_add(FX_MSG_KEY)->key = key;
			return key;
		}
	}
}

/*
 * A fresh name "ipcct.<run>.<n>.<tag>" (tag may be NULL) with no
 * /dev/shm entry, no semaphore under its key and no sem.* file; tracked
 * as all three.
 */
static inline const char *fx_name(const char *tag, char buf[IPCC_NAME_MAX + 1])
{
	for (;;) {
		char path[IPCC_NAME_MAX + 32];
		struct stat st;

		snprintf(buf, IPCC_NAME_MAX + 1, "ipcct.%08x.%u%s%s", fx_run_id,
		         fx_serial++, tag ? "." : "", tag ? tag : "");
		snprintf(path, sizeof(path), "/dev/shm/%s", buf);
		if (stat(path, &st) == 0)
			continue;
		snprintf(path, sizeof(path), "/dev/shm/sem.%s", buf);
		if (stat(path, &st) == 0)
			continue;
		if (!fx_key_unused(fx_sem_key(buf)))
			continue;
		snprintf(path, sizeof(path), "/%s", buf);
		fx_track_path(FX_PSHM, path);
		fx_track_path(FX_PSEM, path);
		fx_track_sem_key(fx_sem_key(buf));
		return buf;
	}
}

/*
 * Runs argv[0] (a full path) with stdout read into out (NUL-terminated,
 * truncated to outlen - 1); stderr is left alone so failures show in the
 * log.  Returns the exit status, or -1 if it did not exit normally.
 *
 * posix_spawn, not fork: glibc spawns with CLONE_VM, so the child never
 * duplicates our shmat() attachments, which would bump nattch and lpid of
 * the very segments the caller is looking at.
 */
static inline int fx_run(char *const argv[], char *out, size_t outlen)
{
	posix_spawn_file_actions_t fa;
	int pfd[2], status, r;
	size_t n = 0;
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -1;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], STDOUT_FILENO);
	fflush(stdout);
	fflush(stderr);
	r = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(pfd[1]);
	if (r != 0) {
		close(pfd[0]);
		return -1;
	}
	for (;;) {
		char scratch[256];
		ssize_t got;

		if (n + 1 < outlen)
			got = read(pfd[0], out + n, outlen - 1 - n);
		else
			got = read(pfd[0], scratch, sizeof(scratch));
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		if (n + 1 < outlen)
			n += (size_t)got;
	}
	if (outlen)
		out[n] = '\0';
	close(pfd[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static inline int fx_python(const char *script, char *out, size_t outlen)
{
	char *const argv[] = { (char *)FX_PYTHON, (char *)"-c",
	                       (char *)script, NULL };

	return fx_run(argv, out, outlen);
}

/* Whether FX_PYTHON can import module (for optional cross-checks). */
static inline int fx_python_has(const char *module)
{
	char script[128], out[16];

	snprintf(script, sizeof(script), "import %s", module);
	return fx_python(script, out, sizeof(out)) == 0;
}

/*
 * Runs fn(arg) in a child that has dropped to uid/gid 65534 with no
 * supplementary groups, and returns what fn returned; INT_MIN if the child
 * could not drop privileges or died.  Needs root.
 */
static inline int fx_as_nobody(int (*fn)(void *), void *arg)
{
	int pfd[2], res = INT_MIN, status;
	pid_t pid;

	if (pipe(pfd) < 0)
		return INT_MIN;
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return INT_MIN;
	}
	if (pid == 0) {
		close(pfd[0]);
		if (setgroups(0, NULL) == 0 &&
		    setresgid(FX_NOBODY, FX_NOBODY, FX_NOBODY) == 0 &&
		    setresuid(FX_NOBODY, FX_NOBODY, FX_NOBODY) == 0)
			res = fn(arg);
		if (write(pfd[1], &res, sizeof(res)) != sizeof(res))
			_exit(2);
		_exit(0);
	}
	close(pfd[1]);
	if (read(pfd[0], &res, sizeof(res)) != sizeof(res))
		res = INT_MIN;
	close(pfd[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			break;
	return res;
}

static inline void fx_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}


/*
 * Defines struct seen { id, times, st } and iterate(s, n): one pass of an
 * ipcc_<kind>_iter, counting how often each s[i].id is met (it must be met
 * exactly once when live) and keeping its stat.
 */
#define FX_DEFINE_ITERATE(kind, stat_type, id_field)                      \
	struct seen {                                                     \
		int id;                                                   \
		int times;                                                \
		stat_type st;                                             \
	};                                                                \
	static void iterate(struct seen *s, size_t n)                     \
	{                                                                 \
		stat_type st;                                             \
		ipcc_##kind##_iter *it = NULL;                            \
		int r;                                                    \
                                                                          \
		for (size_t i = 0; i < n; i++)                            \
			s[i].times = 0;                                   \
		REQUIRE_OK(ipcc_##kind##_iter_new(&it));                  \
		while ((r = ipcc_##kind##_iter_next(it, &st)) == 1)       \
			for (size_t i = 0; i < n; i++)                    \
				if (st.id_field == s[i].id) {             \
					s[i].times++;                     \
					s[i].st = st;                     \
				}                                         \
		CHECK_EQ(r, 0);                                           \
		ipcc_##kind##_iter_free(it);                              \
	}

#endif /* FIXTURE_H */
