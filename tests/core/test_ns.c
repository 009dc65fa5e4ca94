/*
 * Looking into a container (ipcc_ns_hold) with real namespaces made here:
 * a child "box" unshares its IPC and mount namespaces, mounts a tmpfs on
 * its own /dev/shm, chroots into a directory of its own and makes objects
 * there; another child takes hold of the box and must see exactly the
 * box's objects and none of ours, never follow a symlink planted in the
 * box out of it, and keep its view after the box's first process exits.
 * Each hold happens in a child: it is for the whole process and for good.
 */
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/msg.h>

#include "check.h"
#include "fixture.h"
#include "ipcc.h"

/* How a box is built. */
struct box_spec {
	const char *libc_file;    /* made below the root, e.g. lib/ld-... */
	const char *shm_link;     /* dev/shm is this symlink, no tmpfs */
	const char *shm_real;     /* ...and this directory exists */
};

struct box {
	char root[64];
	key_t key, key_made;      /* made in the box; made by the holder */
	pid_t pid;
	int ready_fd, go_fd;      /* box -> us; us -> box */
	char host_obj[IPCC_NAME_MAX + 1];
};

static int box_write(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, mode);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, text, strlen(text));
	close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

/* The box's process: returns its exit status. */
static int box_main(struct box *b, const struct box_spec *spec, int ready,
                    int go)
{
	char path[128], link[IPCC_NAME_MAX + 32], c;
	int shmid;

	if (unshare(CLONE_NEWIPC | CLONE_NEWNS) < 0)
		return 10;
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return 11;
	snprintf(path, sizeof(path), "%s/dev/shm", b->root);
	if (!spec->shm_link &&
	    mount("ipcct", path, "tmpfs", 0, "mode=1777") < 0)
		return 12;
	if (chroot(b->root) < 0 || chdir("/") < 0)
		return 13;
	shmid = shmget(b->key, 5000, IPC_CREAT | IPC_EXCL | 0640);
	if (shmid < 0 || semget(b->key, 2, IPC_CREAT | IPC_EXCL | 0600) < 0)
		return 14;
	if (msgget(b->key, IPC_CREAT | IPC_EXCL | 0600) < 0)
		return 14;
	if (spec->shm_link && !spec->shm_real)
		goto ready;     /* a dangling /dev/shm: no files */
	if (box_write("/dev/shm/inside", "inside data", 0640) < 0 ||
	    box_write("/dev/shm/sem.hidden", "12345678", 0600) < 0)
		return 15;
	/* what the holder must not follow: a way out, and a FIFO */
	snprintf(link, sizeof(link), "/dev/shm/%s", b->host_obj);
	if (symlink(link, "/dev/shm/escape") < 0 ||
	    symlink("../../../../../../../../etc", "/dev/shm/up") < 0 ||
	    mkfifo("/dev/shm/fifo", 0666) < 0)
		return 16;
ready:
	if (write(ready, "r", 1) != 1 || read(go, &c, 1) != 1)
		return 17;
	/* the holder made a segment and a file: they are ours */
	if (shmget(b->key_made, 0, 0) < 0)
		return 18;
	if (access("/dev/shm/made", F_OK) < 0)
		return 19;
	return 0;
}

/* Builds the root directory and starts the box; 0 when it is ready. */
static int box_start(struct box *b, const struct box_spec *spec)
{
	int rp[2], gp[2];
	char path[128], c;

	memset(b, 0, sizeof(*b));
	b->pid = -1;
	b->ready_fd = b->go_fd = -1;
	b->key = fx_key_all();
	b->key_made = fx_key_all();
	fx_name("host", b->host_obj);
	snprintf(b->root, sizeof(b->root), "/tmp/ipcct-ns-XXXXXX");
	if (!mkdtemp(b->root))
		return -1;
	fx_track_path(FX_DIR, b->root);
	snprintf(path, sizeof(path), "%s/dev", b->root);
	fx_track_path(FX_DIR, path);
	if (mkdir(path, 0755) < 0)
		return -1;
	if (spec->shm_link) {
		snprintf(path, sizeof(path), "%s/dev/shm", b->root);
		fx_track_path(FX_FILE, path);
		if (symlink(spec->shm_link, path) < 0)
			return -1;
	} else {
		snprintf(path, sizeof(path), "%s/dev/shm", b->root);
		fx_track_path(FX_DIR, path);
		if (mkdir(path, 01777) < 0)
			return -1;
	}
	if (spec->shm_real) {
		char dir[128];

		snprintf(dir, sizeof(dir), "%s/run", b->root);
		fx_track_path(FX_DIR, dir);
		snprintf(path, sizeof(path), "%s/%s", b->root, spec->shm_real);
		fx_track_path(FX_DIR, path);
		if (mkdir(dir, 0755) < 0 || mkdir(path, 01777) < 0)
			return -1;
	}
	if (spec->libc_file) {
		char dir[128];

		snprintf(path, sizeof(path), "%s/%s", b->root, spec->libc_file);
		snprintf(dir, sizeof(dir), "%s", path);
		*strrchr(dir, '/') = '\0';
		fx_track_path(FX_DIR, dir);
		fx_track_path(FX_FILE, path);
		if (mkdir(dir, 0755) < 0 || box_write(path, "", 0755) < 0)
			return -1;
	}
	/* files the box made in a shm_real directory, removed from here */
	if (spec->shm_real) {
		static const char *const names[] = { "inside", "sem.hidden",
		                                     "escape", "up", "fifo",
		                                     "made" };

		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			snprintf(path, sizeof(path), "%s/%s/%s", b->root,
			         spec->shm_real, names[i]);
			fx_track_path(FX_FILE, path);
		}
	}
	if (pipe2(rp, O_CLOEXEC) < 0)
		return -1;
	if (pipe2(gp, O_CLOEXEC) < 0) {
		close(rp[0]);
		close(rp[1]);
		return -1;
	}
	fflush(stdout);
	fflush(stderr);
	b->pid = fork();
	if (b->pid == 0) {
		close(rp[0]);
		close(gp[1]);
		_exit(box_main(b, spec, rp[1], gp[0]));
	}
	close(rp[1]);
	close(gp[0]);
	b->ready_fd = rp[0];
	b->go_fd = gp[1];
	if (b->pid < 0 || read(b->ready_fd, &c, 1) != 1)
		return -1;
	return 0;
}

/* Lets the box check and exit; its exit status, -1 if it died. */
static int box_finish(struct box *b)
{
	int status;

	if (b->pid <= 0)
		return -1;
	if (write(b->go_fd, "g", 1) != 1)
		kill(b->pid, SIGKILL);
	close(b->go_fd);
	close(b->ready_fd);
	while (waitpid(b->pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	b->pid = -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Stops the box and removes its tree (its tmpfs went with it). */
static void box_clean(struct box *b, const struct box_spec *spec)
{
	static const char *const names[] = { "inside", "sem.hidden", "escape",
	                                     "up", "fifo", "made" };
	char path[192];

	if (b->pid > 0) {
		int status;

		kill(b->pid, SIGKILL);
		while (waitpid(b->pid, &status, 0) < 0 && errno == EINTR)
			;
		close(b->go_fd);
		close(b->ready_fd);
		b->pid = -1;
	}
	if (!b->root[0])
		return;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s/%s", b->root,
		         spec->shm_real ? spec->shm_real : "dev/shm", names[i]);
		unlink(path);
	}
	if (spec->shm_real) {
		snprintf(path, sizeof(path), "%s/%s", b->root, spec->shm_real);
		rmdir(path);
		snprintf(path, sizeof(path), "%s/run", b->root);
		rmdir(path);
	}
	snprintf(path, sizeof(path), "%s/dev/shm", b->root);
	if (spec->shm_link)
		unlink(path);
	else
		rmdir(path);
	snprintf(path, sizeof(path), "%s/dev", b->root);
	rmdir(path);
	if (spec->libc_file) {
		snprintf(path, sizeof(path), "%s/%s", b->root, spec->libc_file);
		unlink(path);
		*strrchr(path, '/') = '\0';
		rmdir(path);
	}
	CHECK_OK(rmdir(b->root));
}

/* Runs fn in a child; its exit status (the count of failed checks). */
static int in_child(int (*fn)(void *), void *arg)
{
	int status;
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid == 0) {
		int r = fn(arg);

		fflush(stdout);
		fflush(stderr);
		_exit(r);
	}
	if (pid < 0)
		return -1;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

struct viewer {
	struct box *box;
	key_t host_key;
	int to_parent, from_parent;    /* "held" and "box gone" */
};

/* Every segment key listed, and whether key is among them. */
static int count_shm(key_t want, int *has)
{
	struct ipcc_shm_stat st;
	ipcc_shm_iter *it = NULL;
	int n = 0;

	*has = 0;
	if (ipcc_shm_iter_new(&it))
		return -1;
	while (ipcc_shm_iter_next(it, &st) == 1) {
		n++;
		*has |= st.key == want;
	}
	ipcc_shm_iter_free(it);
	return n;
}

/* The names listed in the served /dev/shm, as "a,b," (sorted by us). */
static void list_pshm(char *out, size_t len)
{
	char names[16][IPCC_NAME_MAX + 1];
	char name[IPCC_NAME_MAX + 1];
	struct stat st;
	ipcc_pshm_iter *it = NULL;
	int n = 0;

	out[0] = '\0';
	if (ipcc_pshm_iter_new(&it))
		return;
	while (n < 16 && ipcc_pshm_iter_next(it, name, &st) == 1)
		strcpy(names[n++], name);
	ipcc_pshm_iter_free(it);
	for (int i = 0; i < n; i++)
		for (int j = i + 1; j < n; j++)
			if (strcmp(names[j], names[i]) < 0) {
				char t[IPCC_NAME_MAX + 1];

				strcpy(t, names[i]);
				strcpy(names[i], names[j]);
				strcpy(names[j], t);
			}
	for (int i = 0; i < n; i++) {
		strncat(out, names[i], len - strlen(out) - 1);
		strncat(out, ",", len - strlen(out) - 1);
	}
}

static int viewer_main(void *arg)
{
	struct viewer *v = arg;
	struct box *b = v->box;
	char list[512], buf[64], c;
	ipcc_pshm *p = NULL;
	struct stat st;
	int n, has, shmid;
	ssize_t got;

	CHECK_OK(ipcc_ns_hold(b->pid));
	if (check_failures)
		return check_failures;
	CHECK_ERR(ipcc_ns_hold(b->pid), EBUSY);
	CHECK(ipcc_ns_ipc_fd() >= 0);

	/* exactly the box's objects: one segment, one file */
	n = count_shm(b->key, &has);
	CHECK_EQ(n, 1);
	CHECK(has);
	CHECK_ERR(ipcc_shm_find(v->host_key, &shmid), ENOENT);
	CHECK(msgget(b->key, 0) >= 0);
	CHECK(semget(b->key, 0, 0) >= 0);
	list_pshm(list, sizeof(list));
	CHECK_STR(list, "inside,");
	CHECK_ERR(ipcc_pshm_stat(b->host_obj, &st), ENOENT);

	CHECK_OK(ipcc_pshm_open("inside", O_RDONLY, 0, &p));
	got = p ? ipcc_pshm_read(p, buf, sizeof(buf) - 1, 0) : -1;
	CHECK_EQ(got, 11);
	buf[got > 0 ? got : 0] = '\0';
	CHECK_STR(buf, "inside data");
	ipcc_pshm_close(p);

	/* the planted links and the FIFO are nothing to us */
	CHECK_ERR(ipcc_pshm_stat("escape", &st), ENOENT);
	CHECK_ERR(ipcc_pshm_stat("up", &st), ENOENT);
	CHECK_ERR(ipcc_pshm_stat("fifo", &st), ENOENT);
	p = NULL;
	CHECK_ERR(ipcc_pshm_open("escape", O_RDWR, 0, &p), ENOENT);
	CHECK_ERR(ipcc_pshm_open("escape", O_RDWR | O_TRUNC, 0, &p), ENOENT);
	CHECK_ERR(ipcc_pshm_open("escape", O_RDWR | O_CREAT, 0600, &p),
	          EEXIST);
	CHECK_ERR(ipcc_pshm_open("fifo", O_RDONLY, 0, &p), ENOENT);
	CHECK_ERR(ipcc_pshm_unlink("escape"), ENOENT);
	CHECK_ERR(ipcc_pshm_unlink("fifo"), ENOENT);
	CHECK_ERR(ipcc_pshm_set("escape", 0666, (uid_t)-1, (gid_t)-1), ENOENT);
	CHECK_ERR(ipcc_pshm_resize_name("escape", 0), ENOENT);

	/* made through us: the box sees them */
	CHECK_OK(ipcc_shm_create(b->key_made, 4096, 0600, IPCC_SHM_EXCL,
	                         &shmid, NULL));
	p = NULL;
	CHECK_OK(ipcc_pshm_open("made", O_RDWR | O_CREAT | O_EXCL, 0600, &p));
	if (p) {
		CHECK_EQ(ipcc_pshm_write(p, "m", 1, 0), 1);
		ipcc_pshm_close(p);
	}

	/* the box's first process checks and exits; the view stays */
	CHECK_EQ(write(v->to_parent, "h", 1), 1);
	CHECK_EQ(read(v->from_parent, &c, 1), 1);
	n = count_shm(b->key, &has);
	CHECK_EQ(n, 2);
	CHECK(has);
	list_pshm(list, sizeof(list));
	CHECK_STR(list, "inside,made,");
	p = NULL;
	CHECK_OK(ipcc_pshm_open("inside", O_RDWR, 0, &p));
	if (p) {
		CHECK_EQ(ipcc_pshm_write(p, "I", 1, 0), 1);
		ipcc_pshm_close(p);
	}
	/* the namespace and the tmpfs die with us: nothing to clean */
	return check_failures;
}

static void run_viewer(const struct box_spec *spec)
{
	struct viewer v;
	struct box b;
	char c;
	int hp[2], bp[2], host_id, status;
	key_t host_key = fx_key();
	char host_path[IPCC_NAME_MAX + 16];
	pid_t pid;

	if (box_start(&b, spec) != 0) {
		box_clean(&b, spec);
		REQUIRE(!"box did not start");
	}
	/* ours, which the viewer must not see */
	host_id = shmget(host_key, 4096, IPC_CREAT | IPC_EXCL | 0600);
	snprintf(host_path, sizeof(host_path), "/dev/shm/%s", b.host_obj);
	CHECK_OK(box_write(host_path, "host", 0600));
	REQUIRE(host_id >= 0);

	REQUIRE_OK(pipe2(hp, O_CLOEXEC));
	REQUIRE_OK(pipe2(bp, O_CLOEXEC));
	v.box = &b;
	v.host_key = host_key;
	v.to_parent = hp[1];
	v.from_parent = bp[0];
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid == 0)
		_exit(viewer_main(&v));
	REQUIRE(pid > 0);
	close(hp[1]);
	close(bp[0]);
	if (read(hp[0], &c, 1) == 1)
		CHECK_EQ(box_finish(&b), 0);     /* the box checks, exits */
	CHECK_EQ(write(bp[1], "g", 1), 1);
	close(bp[1]);
	close(hp[0]);
	REQUIRE(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status));
	CHECK_EQ(WEXITSTATUS(status), 0);
	box_clean(&b, spec);

	/* the host's objects were never touched; "made" is not here */
	{
		char buf[8] = "";
		int fd = open(host_path, O_RDONLY | O_CLOEXEC);

		CHECK(fd >= 0);
		if (fd >= 0) {
			CHECK_EQ(read(fd, buf, sizeof(buf)), 4);
			close(fd);
		}
		CHECK(memcmp(buf, "host", 4) == 0);
	}
	CHECK_ERR(access("/dev/shm/made", F_OK) == 0 ? 0 : -errno, ENOENT);
	CHECK_EQ(shmget(b.key_made, 0, 0), -1);
	CHECK_OK(unlink(host_path));
	CHECK_OK(shmctl(host_id, IPC_RMID, NULL));
}

static void test_view(void)
{
	const struct box_spec spec = { 0 };

	if (geteuid() != 0)
		SKIP("needs root");
	run_viewer(&spec);
}

/* The box's /dev/shm is a symlink: followed inside the box's root only. */
static void test_view_shm_symlink_inside(void)
{
	const struct box_spec spec = { .shm_link = "/run/shm",
	                               .shm_real = "run/shm" };

	if (geteuid() != 0)
		SKIP("needs root");
	run_viewer(&spec);
}

struct hold_arg {
	pid_t pid;
	int want_err;
	int want_layout;
};

static int hold_child(void *arg)
{
	const struct hold_arg *h = arg;

	CHECK_EQ(ipcc_ns_hold(h->pid), h->want_err);
	if (h->want_err == 0) {
		CHECK_EQ(ipcc_ns_sem_layout(), h->want_layout);
		CHECK_EQ(ipcc_ns_sem_ok(),
		         h->want_layout == IPCC_SEM_LAYOUT_GLIBC ? 0 : -ENOTSUP);
	} else {
		/* nothing changed: still our own namespace and /dev/shm */
		CHECK_EQ(ipcc_ns_ipc_fd(), -1);
		CHECK_EQ(ipcc_ns_sem_layout(), IPCC_SEM_LAYOUT_OWN);
		CHECK_OK(ipcc_ns_sem_ok());
	}
	return check_failures;
}

/* After a POSIX object was looked at, the directory is fixed. */
static int hold_busy_child(void *arg)
{
	const struct hold_arg *h = arg;
	struct stat st;
	int shmid;

	ipcc_pshm_stat("ipcct-none", &st);
	CHECK_EQ(ipcc_ns_hold(h->pid), h->want_err);
	CHECK_EQ(ipcc_ns_ipc_fd(), -1);
	/* still our namespace: a segment of ours is found */
	CHECK_OK(ipcc_shm_find(*(const key_t *)&h->want_layout, &shmid));
	return check_failures;
}

static int hold_as_nobody(void *arg)
{
	return ipcc_ns_hold(*(pid_t *)arg);
}

/*
 * A /dev/shm symlink that climbs out of the box's root, to a directory of
 * ours, resolves inside the box's root (to nothing): the hold fails
 * rather than serve our directory.
 */
static void test_shm_symlink_escape(void)
{
	char out[] = "/tmp/ipcct-out-XXXXXX", link[128];
	struct box_spec spec = { 0 };
	struct hold_arg h = { 0, -ENOENT, 0 };
	struct box b;

	if (geteuid() != 0)
		SKIP("needs root");
	REQUIRE(mkdtemp(out) != NULL);
	fx_track_path(FX_DIR, out);
	snprintf(link, sizeof(link), "../../../../../../../../..%s", out);
	spec.shm_link = link;
	if (box_start(&b, &spec) == 0) {
		h.pid = b.pid;
		CHECK_EQ(in_child(hold_child, &h), 0);
	} else {
		CHECK(!"box did not start");
	}
	box_clean(&b, &spec);
	CHECK_OK(rmdir(out));
}

static void test_layouts(void)
{
	static const struct {
		const char *file;
		int layout;
	} cases[] = {
		{ NULL, IPCC_SEM_LAYOUT_UNKNOWN },
		{ "lib/ld-musl-x86_64.so.1", IPCC_SEM_LAYOUT_MUSL },
		{ "lib64/ld-linux-x86-64.so.2", IPCC_SEM_LAYOUT_GLIBC },
		{ "lib/ld-linux-aarch64.so.1", IPCC_SEM_LAYOUT_GLIBC },
	};

	if (geteuid() != 0)
		SKIP("needs root");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct box_spec spec = { .libc_file = cases[i].file };
		struct hold_arg h = { 0, 0, cases[i].layout };
		struct box b;

		if (box_start(&b, &spec) == 0) {
			h.pid = b.pid;
			CHECK_EQ(in_child(hold_child, &h), 0);
		} else {
			CHECK(!"box did not start");
		}
		box_clean(&b, &spec);
	}
}

static void test_refusals(void)
{
	struct hold_arg h = { 0, -ESRCH, 0 };
	pid_t gone, self = getpid();
	int status;

	/* a PID that just ended (and is not reused this soon) */
	gone = fork();
	if (gone == 0)
		_exit(0);
	REQUIRE(gone > 0);
	REQUIRE(waitpid(gone, &status, 0) == gone);
	h.pid = gone;
	CHECK_EQ(in_child(hold_child, &h), 0);
	h.pid = 0;
	h.want_err = -EINVAL;
	CHECK_EQ(in_child(hold_child, &h), 0);
	h.pid = -5;
	CHECK_EQ(in_child(hold_child, &h), 0);
	if (geteuid() == 0)
		CHECK_EQ(fx_as_nobody(hold_as_nobody, &self), -EPERM);

	/* POSIX objects already used: the directory cannot change any more */
	{
		key_t key = fx_key();
		struct hold_arg busy = { self, -EBUSY, (int)key };
		int id = shmget(key, 4096, IPC_CREAT | IPC_EXCL | 0600);

		REQUIRE(id >= 0);
		CHECK_EQ(in_child(hold_busy_child, &busy), 0);
		CHECK_OK(shmctl(id, IPC_RMID, NULL));
	}
}

int main(void)
{
	/* a box that died early must not kill us through its pipe */
	signal(SIGPIPE, SIG_IGN);
	fx_init();
	RUN(test_refusals);
	RUN(test_layouts);
	RUN(test_view);
	RUN(test_view_shm_symlink_inside);
	RUN(test_shm_symlink_escape);
	return check_exit();
}
