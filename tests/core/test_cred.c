/*
 * Acting as the caller (ipcc_cred_enter / ipcc_cred_leave): objects of
 * every kind created in between belong to and were created by the caller,
 * as /proc/sysvipc and stat(2) tell; the kernel's create checks see the
 * caller's groups; only the calling thread changes, and it comes back
 * fully root, capabilities included.
 */
#include <linux/capability.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/msg.h>
#include <sys/syscall.h>

#include "check.h"
#include "fixture.h"
#include "ipcc.h"

#define GROUP_X 23456     /* a group nobody is in */

/* This thread's effective capability sets, as the kernel keeps them. */
struct caps {
	uint64_t eff, perm;
};

static int caps_get(struct caps *c)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d) < 0)
		return -errno;
	c->eff = d[0].effective | (uint64_t)d[1].effective << 32;
	c->perm = d[0].permitted | (uint64_t)d[1].permitted << 32;
	return 0;
}

/* This thread's ids as the kernel keeps them (not libc's cache). */
struct ids {
	uid_t r, e, s;
	gid_t rg, eg, sg;
	uid_t fsuid;
	gid_t fsgid;
	int ngroups;
	gid_t groups[64];
};

static int ids_get(struct ids *i)
{
	long n;

	if (syscall(SYS_getresuid, &i->r, &i->e, &i->s) < 0 ||
	    syscall(SYS_getresgid, &i->rg, &i->eg, &i->sg) < 0)
		return -errno;
	/* setfsuid(-1) fails but answers the current value */
	i->fsuid = (uid_t)syscall(SYS_setfsuid, (uid_t)-1);
	i->fsgid = (gid_t)syscall(SYS_setfsgid, (gid_t)-1);
	n = syscall(SYS_getgroups, 64, i->groups);
	if (n < 0)
		return -errno;
	i->ngroups = (int)n;
	return 0;
}

static int ids_same(const struct ids *a, const struct ids *b)
{
	return a->r == b->r && a->e == b->e && a->s == b->s &&
	       a->rg == b->rg && a->eg == b->eg && a->sg == b->sg &&
	       a->fsuid == b->fsuid && a->fsgid == b->fsgid &&
	       a->ngroups == b->ngroups &&
	       memcmp(a->groups, b->groups,
	              (size_t)a->ngroups * sizeof(gid_t)) == 0;
}

/* uid gid cuid cgid of object id in /proc/sysvipc/<kind>: 1 if found. */
static int proc_owner(const char *kind, int id, long long own[4])
{
	static const char *const want[4] = { "uid", "gid", "cuid", "cgid" };
	char path[64], line[1024], *tok, *save;
	int col[4] = { -1, -1, -1, -1 }, idcol = 1, found = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/sysvipc/%s", kind);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (fgets(line, sizeof(line), f)) {
		int c = 0;

		for (tok = strtok_r(line, " \t\n", &save); tok;
		     tok = strtok_r(NULL, " \t\n", &save), c++)
			for (int k = 0; k < 4; k++)
				if (strcmp(tok, want[k]) == 0)
					col[k] = c;
	}
	while (!found && fgets(line, sizeof(line), f)) {
		long long v[32];
		int c = 0;

		for (tok = strtok_r(line, " \t\n", &save); tok && c < 32;
		     tok = strtok_r(NULL, " \t\n", &save))
			v[c++] = strtoll(tok, NULL, 10);
		if (c <= idcol || v[idcol] != id)
			continue;
		for (int k = 0; k < 4; k++)
			own[k] = col[k] >= 0 && col[k] < c ? v[col[k]] : -1;
		found = 1;
	}
	fclose(f);
	return found;
}

struct made {
	int shmid, semid, msqid;
	int fd;
	char path[IPCC_NAME_MAX + 16];
};

/* Creates one object of each kind under key and name (as whoever we are). */
static void make_all(key_t key, const char *name, struct made *m)
{
	m->shmid = shmget(key, 4096, IPC_CREAT | IPC_EXCL | 0600);
	m->semid = semget(key, 1, IPC_CREAT | IPC_EXCL | 0600);
	m->msqid = msgget(key, IPC_CREAT | IPC_EXCL | 0600);
	snprintf(m->path, sizeof(m->path), "/dev/shm/%s", name);
	m->fd = open(m->path, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
}

static void check_owned(const struct made *m, uid_t uid, gid_t gid)
{
	long long own[4];
	struct stat st;

	CHECK(m->shmid >= 0);
	CHECK(m->semid >= 0);
	CHECK(m->msqid >= 0);
	CHECK(m->fd >= 0);
	if (m->shmid >= 0 && proc_owner("shm", m->shmid, own)) {
		CHECK_EQ(own[0], uid);
		CHECK_EQ(own[1], gid);
		CHECK_EQ(own[2], uid);
		CHECK_EQ(own[3], gid);
	} else {
		CHECK(!"segment not in /proc/sysvipc/shm");
	}
	if (m->semid >= 0 && proc_owner("sem", m->semid, own)) {
		CHECK_EQ(own[0], uid);
		CHECK_EQ(own[1], gid);
		CHECK_EQ(own[2], uid);
		CHECK_EQ(own[3], gid);
	} else {
		CHECK(!"set not in /proc/sysvipc/sem");
	}
	if (m->msqid >= 0 && proc_owner("msg", m->msqid, own)) {
		CHECK_EQ(own[0], uid);
		CHECK_EQ(own[1], gid);
		CHECK_EQ(own[2], uid);
		CHECK_EQ(own[3], gid);
	} else {
		CHECK(!"queue not in /proc/sysvipc/msg");
	}
	if (m->fd >= 0) {
		CHECK_OK(fstat(m->fd, &st));
		CHECK_EQ(st.st_uid, uid);
		CHECK_EQ(st.st_gid, gid);
	}
}

static void remove_all(struct made *m)
{
	if (m->shmid >= 0)
		CHECK_OK(shmctl(m->shmid, IPC_RMID, NULL));
	if (m->semid >= 0)
		CHECK_OK(semctl(m->semid, 0, IPC_RMID));
	if (m->msqid >= 0)
		CHECK_OK(msgctl(m->msqid, IPC_RMID, NULL));
	if (m->fd >= 0) {
		close(m->fd);
		CHECK_OK(unlink(m->path));
	}
}

/* A thread that looks at its own credentials while the main one acts. */
struct watcher {
	pthread_barrier_t go, done;
	struct ids ids;
	struct caps caps;
	int err;
};

static void *watcher_main(void *arg)
{
	struct watcher *w = arg;

	pthread_barrier_wait(&w->go);
	w->err = ids_get(&w->ids);
	if (!w->err)
		w->err = caps_get(&w->caps);
	pthread_barrier_wait(&w->done);
	return NULL;
}

static void create_as(uid_t uid, gid_t gid, int ngroups, const gid_t *groups)
{
	char name[IPCC_NAME_MAX + 1];
	struct ipcc_cred_saved saved;
	struct ids before, during, after;
	struct caps cbefore, cduring, cafter;
	struct watcher w;
	struct made m;
	pthread_t t;
	key_t key = fx_key_all();

	fx_name("cred", name);
	REQUIRE_OK(ids_get(&before));
	REQUIRE_OK(caps_get(&cbefore));
	REQUIRE(cbefore.eff & (1ull << CAP_SYS_ADMIN));
	memset(&w, 0, sizeof(w));
	pthread_barrier_init(&w.go, NULL, 2);
	pthread_barrier_init(&w.done, NULL, 2);
	REQUIRE_OK(pthread_create(&t, NULL, watcher_main, &w));

	REQUIRE_OK(ipcc_cred_enter(uid, gid, ngroups, groups, &saved));
	make_all(key, name, &m);
	CHECK_OK(ids_get(&during));
	CHECK_OK(caps_get(&cduring));
	pthread_barrier_wait(&w.go);        /* the other thread looks now */
	pthread_barrier_wait(&w.done);
	CHECK_OK(ipcc_cred_leave(&saved));
	pthread_join(t, NULL);

	/* while switched: effective and fs ids, groups; real/saved stay */
	CHECK_EQ(during.e, uid);
	CHECK_EQ(during.fsuid, uid);
	CHECK_EQ(during.eg, gid);
	CHECK_EQ(during.fsgid, gid);
	CHECK_EQ(during.r, before.r);
	CHECK_EQ(during.s, before.s);
	CHECK_EQ(during.ngroups, ngroups);
	for (int i = 0; i < ngroups && i < during.ngroups; i++)
		CHECK_EQ(during.groups[i], groups[i]);
	CHECK_EQ(cduring.eff, 0);
	CHECK_EQ(cduring.perm, cbefore.perm);

	/* the other thread never changed */
	CHECK_OK(w.err);
	CHECK(ids_same(&w.ids, &before));
	CHECK_EQ(w.caps.eff, cbefore.eff);

	/* and we are fully back */
	CHECK_OK(ids_get(&after));
	CHECK(ids_same(&after, &before));
	CHECK_OK(caps_get(&cafter));
	CHECK_EQ(cafter.eff, cbefore.eff);
	CHECK_EQ(cafter.perm, cbefore.perm);
	CHECK(cafter.eff & (1ull << CAP_SYS_ADMIN));

	check_owned(&m, uid, gid);
	remove_all(&m);
	pthread_barrier_destroy(&w.go);
	pthread_barrier_destroy(&w.done);
}

static void test_create_as_nobody(void)
{
	if (geteuid() != 0)
		SKIP("needs root");
	create_as(FX_NOBODY, FX_NOBODY, 0, NULL);
}

static void test_create_with_supplementary_group(void)
{
	const gid_t groups[2] = { 100, GROUP_X };   /* the kernel keeps them sorted */

	if (geteuid() != 0)
		SKIP("needs root");
	create_as(FX_NOBODY, FX_NOBODY, 2, groups);
	create_as(4321, 4321, 2, groups);
}

/*
 * The kernel's own checks see the caller: an existing key whose segment
 * gives only its group rw opens for a caller in that group only; a
 * directory writable only by that group takes a file from it only.
 */
static void test_kernel_checks_apply(void)
{
	const gid_t in[1] = { GROUP_X };
	struct ipcc_cred_saved saved;
	struct shmid_ds ds;
	char dir[] = "/tmp/ipcct-cred-XXXXXX", path[64];
	key_t key = fx_key();
	int id, r, fd, err;

	if (geteuid() != 0)
		SKIP("needs root");
	id = shmget(key, 4096, IPC_CREAT | IPC_EXCL | 0060);
	REQUIRE(id >= 0);
	REQUIRE_OK(shmctl(id, IPC_STAT, &ds));
	ds.shm_perm.gid = GROUP_X;
	REQUIRE_OK(shmctl(id, IPC_SET, &ds));

	REQUIRE_OK(ipcc_cred_enter(FX_NOBODY, FX_NOBODY, 1, in, &saved));
	r = shmget(key, 0, 0060);
	err = errno;
	CHECK_OK(ipcc_cred_leave(&saved));
	CHECK_EQ(r, id);
	(void)err;

	REQUIRE_OK(ipcc_cred_enter(FX_NOBODY, FX_NOBODY, 0, NULL, &saved));
	r = shmget(key, 0, 0060);
	err = errno;
	CHECK_OK(ipcc_cred_leave(&saved));
	CHECK_EQ(r, -1);
	CHECK_EQ(err, EACCES);
	/* root, back, gets it whatever the mode */
	CHECK_EQ(shmget(key, 0, 0060), id);
	CHECK_OK(shmctl(id, IPC_RMID, NULL));

	REQUIRE(mkdtemp(dir) != NULL);
	fx_track_path(FX_DIR, dir);
	REQUIRE_OK(chown(dir, 0, GROUP_X));
	REQUIRE_OK(chmod(dir, 0770));
	snprintf(path, sizeof(path), "%s/f", dir);
	fx_track_path(FX_FILE, path);

	REQUIRE_OK(ipcc_cred_enter(FX_NOBODY, FX_NOBODY, 0, NULL, &saved));
	fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
	err = errno;
	CHECK_OK(ipcc_cred_leave(&saved));
	CHECK_EQ(fd, -1);
	CHECK_EQ(err, EACCES);

	REQUIRE_OK(ipcc_cred_enter(FX_NOBODY, FX_NOBODY, 1, in, &saved));
	fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
	CHECK_OK(ipcc_cred_leave(&saved));
	CHECK(fd >= 0);
	if (fd >= 0) {
		struct stat st;

		CHECK_OK(fstat(fd, &st));
		CHECK_EQ(st.st_uid, FX_NOBODY);
		CHECK_EQ(st.st_gid, FX_NOBODY);
		close(fd);
		CHECK_OK(unlink(path));
	}
	CHECK_OK(rmdir(dir));
}

/* Bad arguments and a caller without the right: nothing changes. */
static int enter_unprivileged(void *arg)
{
	struct ipcc_cred_saved saved;
	struct ids before, after;
	int r;

	(void)arg;
	if (ids_get(&before))
		return INT_MIN;
	r = ipcc_cred_enter(0, 0, 0, NULL, &saved);
	if (ids_get(&after) || !ids_same(&before, &after))
		return INT_MIN + 1;
	ipcc_cred_leave(&saved);    /* not active: a no-op */
	return r;
}

static void test_refusals(void)
{
	struct ipcc_cred_saved saved;
	struct ids before, after;
	const gid_t g = 1;

	REQUIRE_OK(ids_get(&before));
	CHECK_ERR(ipcc_cred_enter(FX_NOBODY, FX_NOBODY, -1, NULL, &saved),
	          EINVAL);
	CHECK_ERR(ipcc_cred_enter(FX_NOBODY, FX_NOBODY, 1, NULL, &saved),
	          EINVAL);
	CHECK_ERR(ipcc_cred_enter((uid_t)-1, FX_NOBODY, 1, &g, &saved), EINVAL);
	CHECK_ERR(ipcc_cred_enter(FX_NOBODY, (gid_t)-1, 1, &g, &saved), EINVAL);
	CHECK_OK(ipcc_cred_leave(&saved));
	CHECK_OK(ids_get(&after));
	CHECK(ids_same(&before, &after));
	if (geteuid() == 0)
		CHECK_EQ(fx_as_nobody(enter_unprivileged, NULL), -EPERM);
}

/*
 * Many threads acting as many users at once: each one's creations are
 * its own user's, never another's (credentials are per thread).
 */
#define RACE_THREADS 6
#define RACE_ROUNDS 150

struct racer {
	int n;
	char names[RACE_ROUNDS][IPCC_NAME_MAX + 1];
	int wrong, failed;
};

static void *racer_main(void *arg)
{
	struct racer *r = arg;
	uid_t uid = 20000 + (uid_t)r->n;
	gid_t grp = 30000 + (gid_t)r->n;

	for (int i = 0; i < RACE_ROUNDS; i++) {
		struct ipcc_cred_saved saved;
		char path[IPCC_NAME_MAX + 16];
		struct stat st;
		int fd;

		snprintf(path, sizeof(path), "/dev/shm/%s", r->names[i]);
		if (ipcc_cred_enter(uid, uid, 1, &grp, &saved)) {
			r->failed++;
			continue;
		}
		fd = open(path, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
		if (ipcc_cred_leave(&saved))
			r->failed++;
		if (fd < 0) {
			r->failed++;
			continue;
		}
		if (fstat(fd, &st) || st.st_uid != uid || st.st_gid != uid)
			r->wrong++;
		close(fd);
		if (unlink(path))
			r->failed++;
	}
	return NULL;
}

static void test_concurrent(void)
{
	static struct racer r[RACE_THREADS];
	pthread_t t[RACE_THREADS];
	struct ids before, after;
	struct caps cb, ca;

	if (geteuid() != 0)
		SKIP("needs root");
	REQUIRE_OK(ids_get(&before));
	REQUIRE_OK(caps_get(&cb));
	for (int n = 0; n < RACE_THREADS; n++) {
		r[n].n = n;
		for (int i = 0; i < RACE_ROUNDS; i++)
			fx_name("race", r[n].names[i]);
	}
	for (int n = 0; n < RACE_THREADS; n++)
		REQUIRE_OK(pthread_create(&t[n], NULL, racer_main, &r[n]));
	for (int n = 0; n < RACE_THREADS; n++) {
		pthread_join(t[n], NULL);
		CHECK_EQ(r[n].wrong, 0);
		CHECK_EQ(r[n].failed, 0);
	}
	CHECK_OK(ids_get(&after));
	CHECK(ids_same(&before, &after));
	CHECK_OK(caps_get(&ca));
	CHECK_EQ(ca.eff, cb.eff);
}

/* A daemon with more groups than fit inline gets every one back. */
static void *many_groups_main(void *arg)
{
	gid_t many[40], got[64];
	struct ipcc_cred_saved saved;
	int *fails = arg, n;

	for (int i = 0; i < 40; i++)
		many[i] = 5000 + (gid_t)i;
	/* this thread only: the others keep their groups */
	if (syscall(SYS_setgroups, 40, many) != 0) {
		(*fails)++;
		return NULL;
	}
	if (ipcc_cred_enter(FX_NOBODY, FX_NOBODY, 0, NULL, &saved) != 0)
		(*fails)++;
	else if (syscall(SYS_getgroups, 64, got) != 0)
		(*fails)++;
	if (ipcc_cred_leave(&saved) != 0)
		(*fails)++;
	n = (int)syscall(SYS_getgroups, 64, got);
	if (n != 40 || memcmp(got, many, sizeof(many)) != 0)
		(*fails)++;
	return NULL;
}

static void test_many_daemon_groups(void)
{
	struct ids before, after;
	pthread_t t;
	int fails = 0;

	if (geteuid() != 0)
		SKIP("needs root");
	REQUIRE_OK(ids_get(&before));
	REQUIRE_OK(pthread_create(&t, NULL, many_groups_main, &fails));
	pthread_join(t, NULL);
	CHECK_EQ(fails, 0);
	CHECK_OK(ids_get(&after));
	CHECK(ids_same(&before, &after));
}

int main(void)
{
	fx_init();
	RUN(test_create_as_nobody);
	RUN(test_create_with_supplementary_group);
	RUN(test_kernel_checks_apply);
	RUN(test_refusals);
	RUN(test_concurrent);
	RUN(test_many_daemon_groups);
	return check_exit();
}
