/*
 * POSIX shared memory through core, checked against /dev/shm, raw
 * shm_open()+mmap() and Python's multiprocessing.shared_memory.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "fixture.h"
#include "ipcc.h"

static int dev_shm_stat(const char *name, struct stat *st)
{
	char path[IPCC_NAME_MAX + 16];

	snprintf(path, sizeof(path), "/dev/shm/%s", name);
	return stat(path, st) == 0 ? 0 : -errno;
}

static void test_create(void)
{
	char name[IPCC_NAME_MAX + 1], slashed[IPCC_NAME_MAX + 2];
	ipcc_pshm *p = NULL, *q = NULL;
	struct stat st, dst;
	mode_t old;

	fx_name("create", name);
	snprintf(slashed, sizeof(slashed), "/%s", name);

	/* the umask does not apply */
	old = umask(022);
	CHECK_OK(ipcc_pshm_open(name, O_RDWR | O_CREAT, 0666, &p));
	umask(old);
	REQUIRE(p != NULL);
	CHECK_EQ(ipcc_pshm_created(p), 1);
	REQUIRE_OK(ipcc_pshm_fstat(p, &st));
	CHECK(S_ISREG(st.st_mode));
	CHECK_EQ(st.st_mode & 07777, 0666);
	CHECK_EQ(st.st_size, 0);
	CHECK_EQ(st.st_uid, geteuid());
	REQUIRE_OK(dev_shm_stat(name, &dst));
	CHECK_EQ(dst.st_ino, st.st_ino);
	CHECK_EQ(dst.st_mode & 07777, 0666);
	{
		struct stat fst;

		REQUIRE(ipcc_pshm_fd(p) >= 0);
		REQUIRE_OK(fstat(ipcc_pshm_fd(p), &fst));
		CHECK_EQ(fst.st_ino, st.st_ino);
	}

	/* opening again: not created; O_EXCL: EEXIST; '/' prefix: same */
	CHECK_OK(ipcc_pshm_open(name, O_RDWR | O_CREAT, 0600, &q));
	if (q) {
		CHECK_EQ(ipcc_pshm_created(q), 0);
		ipcc_pshm_close(q);
		q = NULL;
	}
	CHECK_EQ(dev_shm_stat(name, &dst), 0);
	CHECK_EQ(dst.st_mode & 07777, 0666);
	CHECK_ERR(ipcc_pshm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, &q),
	          EEXIST);
	CHECK_OK(ipcc_pshm_open(slashed, O_RDONLY, 0, &q));
	if (q) {
		CHECK_EQ(ipcc_pshm_created(q), 0);
		REQUIRE_OK(ipcc_pshm_fstat(q, &dst));
		CHECK_EQ(dst.st_ino, st.st_ino);
		ipcc_pshm_close(q);
		q = NULL;
	}
	CHECK_OK(ipcc_pshm_stat(slashed, &dst));
	CHECK_EQ(dst.st_ino, st.st_ino);
	ipcc_pshm_close(p);
	ipcc_pshm_close(NULL);

	/* other modes, with bits past 0777 and past 07777 */
	fx_name("mode", name);
	CHECK_OK(ipcc_pshm_open(name, O_RDWR | O_CREAT | O_EXCL,
	                        S_IFREG | 01640, &p));
	if (p) {
		CHECK_EQ(ipcc_pshm_created(p), 1);
		CHECK_OK(ipcc_pshm_fstat(p, &st));
		CHECK_EQ(st.st_mode & 07777, 01640);
		CHECK(S_ISREG(st.st_mode));
		ipcc_pshm_close(p);
	}
	CHECK_OK(ipcc_pshm_unlink(name));
	/* the first one, by its '/' form */
	CHECK_OK(ipcc_pshm_unlink(slashed));
}

static void test_missing_and_bad_names(void)
{
	char name[IPCC_NAME_MAX + 1], dots[IPCC_NAME_MAX + 8];
	char longname[IPCC_NAME_MAX + 3], path[IPCC_NAME_MAX + 16];
	ipcc_pshm *p = NULL;
	struct stat st;

	fx_name("missing", name);
	CHECK_ERR(ipcc_pshm_open(name, O_RDWR, 0, &p), ENOENT);
	CHECK_ERR(ipcc_pshm_open(name, O_RDONLY, 0, &p), ENOENT);
	CHECK_ERR(ipcc_pshm_stat(name, &st), ENOENT);
	CHECK_ERR(ipcc_pshm_unlink(name), ENOENT);
	CHECK_ERR(ipcc_pshm_set(name, 0600, (uid_t)-1, (gid_t)-1), ENOENT);
	CHECK_ERR(ipcc_pshm_resize_name(name, 10), ENOENT);
	CHECK(p == NULL);

	CHECK_ERR(ipcc_pshm_open("", O_RDWR | O_CREAT, 0600, &p), EINVAL);
	CHECK_ERR(ipcc_pshm_open("/", O_RDWR | O_CREAT, 0600, &p), EINVAL);
	CHECK_ERR(ipcc_pshm_open(".", O_RDWR | O_CREAT, 0600, &p), EINVAL);
	CHECK_ERR(ipcc_pshm_open("..", O_RDWR | O_CREAT, 0600, &p), EINVAL);
	CHECK_ERR(ipcc_pshm_open("..", O_RDONLY, 0, &p), EINVAL);
	CHECK_ERR(ipcc_pshm_open("a/b", O_RDWR | O_CREAT, 0600, &p), EINVAL);
	CHECK_ERR(ipcc_pshm_open("a/b", O_RDONLY, 0, &p), EINVAL);
	CHECK_ERR(ipcc_pshm_open("//x", O_RDONLY, 0, &p), EINVAL);

	/* ".." inside a name: refused at create, merely missing otherwise */
	snprintf(dots, sizeof(dots), "%s..x", name);
	snprintf(path, sizeof(path), "/%s", dots);
	fx_track_path(FX_PSHM, path);
	CHECK_ERR(ipcc_pshm_open(dots, O_RDWR | O_CREAT, 0600, &p), EINVAL);
	CHECK_EQ(dev_shm_stat(dots, &st), -ENOENT);
	CHECK_ERR(ipcc_pshm_open(dots, O_RDWR, 0, &p), ENOENT);

	/* IPCC_NAME_MAX bytes is fine, one more is not */
	memset(longname, 'L', sizeof(longname));
	memcpy(longname, name, strlen(name));
	longname[IPCC_NAME_MAX] = '\0';
	snprintf(path, sizeof(path), "/%s", longname);
	fx_track_path(FX_PSHM, path);
	CHECK_OK(ipcc_pshm_open(longname, O_RDWR | O_CREAT | O_EXCL, 0600, &p));
	if (p) {
		ipcc_pshm_close(p);
		p = NULL;
		CHECK_OK(dev_shm_stat(longname, &st));
		CHECK_OK(ipcc_pshm_unlink(longname));
	}
	longname[IPCC_NAME_MAX] = 'L';
	longname[IPCC_NAME_MAX + 1] = '\0';
	CHECK_ERR(ipcc_pshm_open(longname, O_RDWR | O_CREAT, 0600, &p),
	          ENAMETOOLONG);
	CHECK_ERR(ipcc_pshm_open(longname, O_RDONLY, 0, &p), ENAMETOOLONG);
	CHECK(p == NULL);
}

/* Makes /dev/shm/<name> the way any other program could; tracked. */
static int make_raw(const char *name, mode_t mode)
{
	char path[IPCC_NAME_MAX + 64];
	int fd;

	snprintf(path, sizeof(path), "/dev/shm/%s", name);
	fx_track_path(FX_FILE, path);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL, mode);
	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

static void test_existing_dotdot(void)
{
	char name[IPCC_NAME_MAX + 1], dots[IPCC_NAME_MAX + 8];
	ipcc_pshm *p = NULL;
	struct stat st;

	/* shm_open itself allows "..": another program may have made one */
	fx_name("dots", name);
	snprintf(dots, sizeof(dots), "%s..x", name);
	REQUIRE_OK(make_raw(dots, 0600));
	CHECK_OK(ipcc_pshm_open(dots, O_RDWR, 0, &p));
	if (p) {
		CHECK_EQ(ipcc_pshm_created(p), 0);
		CHECK_EQ(ipcc_pshm_write(p, "ok", 2, 0), 2);
		ipcc_pshm_close(p);
		p = NULL;
	}
	CHECK_OK(ipcc_pshm_stat(dots, &st));
	CHECK_EQ(st.st_size, 2);
	/* ... but O_CREAT applies the create rule, existing or not */
	CHECK_ERR(ipcc_pshm_open(dots, O_RDWR | O_CREAT, 0600, &p), EINVAL);
	CHECK(p == NULL);
	CHECK_OK(ipcc_pshm_unlink(dots));
	CHECK_ERR(ipcc_pshm_stat(dots, &st), ENOENT);
}

static void test_read_write_grow(void)
{
	char name[IPCC_NAME_MAX + 1], slashed[IPCC_NAME_MAX + 2];
	unsigned char buf[256], *map;
	ipcc_pshm *p = NULL, *ro = NULL;
	struct stat st;
	int fd;

	fx_name("rw", name);
	snprintf(slashed, sizeof(slashed), "/%s", name);
	REQUIRE_OK(ipcc_pshm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, &p));

	CHECK_EQ(ipcc_pshm_read(p, buf, sizeof(buf), 0), 0);
	CHECK_EQ(ipcc_pshm_write(p, "hello", 5, 0), 5);
	REQUIRE_OK(ipcc_pshm_fstat(p, &st));
	CHECK_EQ(st.st_size, 5);
	/* past the end: grows, the hole reads as zeros */
	CHECK_EQ(ipcc_pshm_write(p, "xy", 2, 100), 2);
	REQUIRE_OK(ipcc_pshm_fstat(p, &st));
	CHECK_EQ(st.st_size, 102);
	memset(buf, 0xee, sizeof(buf));
	CHECK_EQ(ipcc_pshm_read(p, buf, sizeof(buf), 0), 102);
	CHECK_MEM(buf, "hello", 5);
	{
		size_t nonzero = 0;

		for (int i = 5; i < 100; i++)
			nonzero += buf[i] != 0;
		CHECK_EQ(nonzero, 0);
	}
	CHECK_MEM(buf + 100, "xy", 2);
	CHECK_EQ(ipcc_pshm_read(p, buf, 100, 50), 52);
	CHECK_EQ(ipcc_pshm_read(p, buf, 10, 102), 0);
	CHECK_EQ(ipcc_pshm_read(p, buf, 10, 5000), 0);

	/* a raw shm_open + mmap of the same name sees it, and vice versa */
	fd = shm_open(slashed, O_RDWR, 0);
	REQUIRE(fd >= 0);
	map = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	REQUIRE(map != MAP_FAILED);
	CHECK_MEM(map, "hello", 5);
	CHECK_MEM(map + 100, "xy", 2);
	map[1] = 'E';
	CHECK_EQ(ipcc_pshm_read(p, buf, 5, 0), 5);
	CHECK_MEM(buf, "hEllo", 5);
	CHECK_EQ(ipcc_pshm_write(p, "W", 1, 50), 1);
	CHECK_EQ(map[50], 'W');

	/* resize: down, up (zero-filled) */
	CHECK_OK(ipcc_pshm_resize(p, 3));
	REQUIRE_OK(ipcc_pshm_fstat(p, &st));
	CHECK_EQ(st.st_size, 3);
	CHECK_EQ(ipcc_pshm_read(p, buf, 10, 0), 3);
	CHECK_OK(ipcc_pshm_resize(p, 3000));
	REQUIRE_OK(ipcc_pshm_fstat(p, &st));
	CHECK_EQ(st.st_size, 3000);
	CHECK_EQ(ipcc_pshm_read(p, buf, 10, 0), 10);
	CHECK_MEM(buf, "hEl\0\0\0\0\0\0\0", 10);
	CHECK_EQ(map[100], 0);
	CHECK_OK(ipcc_pshm_resize_name(name, 7));
	REQUIRE_OK(dev_shm_stat(name, &st));
	CHECK_EQ(st.st_size, 7);
	CHECK_OK(ipcc_pshm_stat(name, &st));
	CHECK_EQ(st.st_size, 7);
	CHECK_OK(munmap(map, 4096));

	/* read-only handle: reads, never writes */
	REQUIRE_OK(ipcc_pshm_open(name, O_RDONLY, 0, &ro));
	CHECK_EQ(ipcc_pshm_read(ro, buf, 10, 0), 7);
	CHECK_MEM(buf, "hEl", 3);
	CHECK_ERR(ipcc_pshm_write(ro, "x", 1, 0), EBADF);
	CHECK_ERR(ipcc_pshm_write(ro, "x", 1, 100), EBADF);
	REQUIRE_OK(ipcc_pshm_fstat(ro, &st));
	CHECK_EQ(st.st_size, 7);
	ipcc_pshm_close(ro);
	ro = NULL;

	/* reopening leaves the size alone; O_TRUNC empties it */
	REQUIRE_OK(ipcc_pshm_open(name, O_RDWR | O_CREAT, 0600, &ro));
	REQUIRE_OK(ipcc_pshm_fstat(ro, &st));
	CHECK_EQ(st.st_size, 7);
	ipcc_pshm_close(ro);
	REQUIRE_OK(ipcc_pshm_open(name, O_RDWR | O_TRUNC, 0, &ro));
	REQUIRE_OK(ipcc_pshm_fstat(ro, &st));
	CHECK_EQ(st.st_size, 0);
	CHECK_EQ(ipcc_pshm_created(ro), 0);
	ipcc_pshm_close(ro);
	REQUIRE_OK(ipcc_pshm_fstat(p, &st));
	CHECK_EQ(st.st_size, 0);

	ipcc_pshm_close(p);
	CHECK_OK(ipcc_pshm_unlink(name));
}

static void test_set(void)
{
	char name[IPCC_NAME_MAX + 1];
	ipcc_pshm *p = NULL;
	struct stat st;

	fx_name("set", name);
	REQUIRE_OK(ipcc_pshm_open(name, O_RDWR | O_CREAT | O_EXCL, 0640, &p));
	CHECK_OK(ipcc_pshm_fset(p, 0600, (uid_t)-1, (gid_t)-1));
	REQUIRE_OK(dev_shm_stat(name, &st));
	CHECK_EQ(st.st_mode & 07777, 0600);
	CHECK_EQ(st.st_uid, 0);
	CHECK_EQ(st.st_gid, 0);

	CHECK_OK(ipcc_pshm_fset(p, (mode_t)-1, FX_NOBODY, (gid_t)-1));
	REQUIRE_OK(dev_shm_stat(name, &st));
	CHECK_EQ(st.st_mode & 07777, 0600);
	CHECK_EQ(st.st_uid, FX_NOBODY);
	CHECK_EQ(st.st_gid, 0);

	CHECK_OK(ipcc_pshm_fset(p, (mode_t)-1, (uid_t)-1, FX_NOBODY));
	REQUIRE_OK(dev_shm_stat(name, &st));
	CHECK_EQ(st.st_mode & 07777, 0600);
	CHECK_EQ(st.st_uid, FX_NOBODY);
	CHECK_EQ(st.st_gid, FX_NOBODY);

	CHECK_OK(ipcc_pshm_set(name, 0644, 0, 0));
	REQUIRE_OK(ipcc_pshm_fstat(p, &st));
	CHECK_EQ(st.st_mode & 07777, 0644);
	CHECK_EQ(st.st_uid, 0);
	CHECK_EQ(st.st_gid, 0);
	CHECK_OK(ipcc_pshm_set(name, (mode_t)-1, (uid_t)-1, (gid_t)-1));
	REQUIRE_OK(ipcc_pshm_stat(name, &st));
	CHECK_EQ(st.st_mode & 07777, 0644);

	ipcc_pshm_close(p);
	CHECK_OK(ipcc_pshm_unlink(name));
}

static void test_unlink(void)
{
	char name[IPCC_NAME_MAX + 1];
	ipcc_pshm *p = NULL, *q = NULL;
	unsigned char buf[4];
	struct stat st;

	fx_name("unlink", name);
	REQUIRE_OK(ipcc_pshm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, &p));
	CHECK_EQ(ipcc_pshm_write(p, "abc", 3, 0), 3);
	CHECK_OK(ipcc_pshm_unlink(name));
	CHECK_EQ(dev_shm_stat(name, &st), -ENOENT);
	CHECK_ERR(ipcc_pshm_stat(name, &st), ENOENT);
	CHECK_ERR(ipcc_pshm_unlink(name), ENOENT);
	CHECK_ERR(ipcc_pshm_open(name, O_RDWR, 0, &q), ENOENT);
	/* the open handle still works */
	CHECK_EQ(ipcc_pshm_write(p, "d", 1, 3), 1);
	CHECK_EQ(ipcc_pshm_read(p, buf, 4, 0), 4);
	CHECK_MEM(buf, "abcd", 4);
	/* a new object under the name is a different one */
	REQUIRE_OK(ipcc_pshm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, &q));
	CHECK_EQ(ipcc_pshm_read(q, buf, 4, 0), 0);
	ipcc_pshm_close(q);
	ipcc_pshm_close(p);
	CHECK_OK(ipcc_pshm_unlink(name));
}

struct seen {
	const char *name;
	int times;
	struct stat st;
};

static void iterate(struct seen *s, size_t n, int *bad_sem)
{
	char got[IPCC_NAME_MAX + 1];
	ipcc_pshm_iter *it = NULL;
	struct stat st;
	int r;

	*bad_sem = 0;
	for (size_t i = 0; i < n; i++)
		s[i].times = 0;
	REQUIRE_OK(ipcc_pshm_iter_new(&it));
	while ((r = ipcc_pshm_iter_next(it, got, &st)) == 1) {
		if (strncmp(got, "sem.", 4) == 0)
			(*bad_sem)++;
		CHECK(strchr(got, '/') == NULL);
		for (size_t i = 0; i < n; i++)
			if (strcmp(got, s[i].name) == 0) {
				s[i].times++;
				s[i].st = st;
			}
	}
	CHECK_EQ(r, 0);
	ipcc_pshm_iter_free(it);
}

static void test_iter(void)
{
	char a[IPCC_NAME_MAX + 1], semname[IPCC_NAME_MAX + 1];
	char dir[IPCC_NAME_MAX + 1], path[IPCC_NAME_MAX + 16];
	char semfile[IPCC_NAME_MAX + 8];
	struct seen s[4];
	ipcc_pshm *p = NULL;
	sem_t *sem;
	int bad_sem;
	ino_t ino = 0;

	fx_name("iter", a);
	fx_name("psem", semname);
	fx_name("dir", dir);
	snprintf(semfile, sizeof(semfile), "sem.%s", semname);
	s[0].name = a;
	s[1].name = semname;
	s[2].name = semfile;
	s[3].name = dir;

	REQUIRE_OK(ipcc_pshm_open(a, O_RDWR | O_CREAT | O_EXCL, 0640, &p));
	CHECK_OK(ipcc_pshm_resize(p, 123));
	{
		struct stat st;

		REQUIRE_OK(ipcc_pshm_fstat(p, &st));
		ino = st.st_ino;
	}
	snprintf(path, sizeof(path), "/%s", semname);
	sem = sem_open(path, O_CREAT | O_EXCL, 0600, 0);
	REQUIRE(sem != SEM_FAILED);
	sem_close(sem);
	/* a directory is not a shared memory object either */
	snprintf(path, sizeof(path), "/dev/shm/%s", dir);
	fx_track_path(FX_DIR, path);
	REQUIRE_OK(mkdir(path, 0700));

	iterate(s, 4, &bad_sem);
	CHECK_EQ(s[0].times, 1);
	CHECK_EQ(s[0].st.st_ino, ino);
	CHECK_EQ(s[0].st.st_size, 123);
	CHECK_EQ(s[0].st.st_mode & 07777, 0640);
	CHECK(S_ISREG(s[0].st.st_mode));
	CHECK_EQ(s[1].times, 0);
	CHECK_EQ(s[2].times, 0);
	CHECK_EQ(s[3].times, 0);
	CHECK_EQ(bad_sem, 0);

	snprintf(path, sizeof(path), "/%s", semname);
	CHECK_OK(sem_unlink(path));
	snprintf(path, sizeof(path), "/dev/shm/%s", dir);
	CHECK_OK(rmdir(path));
	ipcc_pshm_close(p);
	CHECK_OK(ipcc_pshm_unlink(a));
	iterate(s, 1, &bad_sem);
	CHECK_EQ(s[0].times, 0);
}

/* Objects whose names core cannot take must not be listed, in any form. */
static void test_iter_long_names(void)
{
	char prefix[IPCC_NAME_MAX + 1], name[300], got[IPCC_NAME_MAX + 1];
	ipcc_pshm_iter *it = NULL;
	size_t plen, listed = 0;
	struct stat st;
	int r;

	fx_name("long", prefix);
	plen = strlen(prefix);
	/* 251 bytes: listed; 252 and 255 (the tmpfs limit): not */
	for (size_t len = IPCC_NAME_MAX; len <= 255; len++) {
		if (len != IPCC_NAME_MAX && len != IPCC_NAME_MAX + 1 && len != 255)
			continue;
		memset(name, 'z', len);
		memcpy(name, prefix, plen);
		name[len] = '\0';
		REQUIRE_OK(make_raw(name, 0600));
	}
	REQUIRE_OK(ipcc_pshm_iter_new(&it));
	while ((r = ipcc_pshm_iter_next(it, got, &st)) == 1) {
		size_t len = strnlen(got, sizeof(got));

		CHECK(len <= IPCC_NAME_MAX);
		if (strncmp(got, prefix, plen) == 0) {
			listed++;
			CHECK_EQ(len, IPCC_NAME_MAX);
		}
	}
	CHECK_EQ(r, 0);
	CHECK_EQ(listed, 1);
	ipcc_pshm_iter_free(it);
	for (size_t i = fx_nitems; i-- > 0;)
		if (fx_items[i].kind == FX_FILE &&
		    strstr(fx_items[i].name, prefix))
			CHECK_OK(unlink(fx_items[i].name));
}

static void test_python(void)
{
	char name[IPCC_NAME_MAX + 1], script[1024], out[256];
	unsigned char buf[32];
	ipcc_pshm *p = NULL;
	struct stat st;

	if (!fx_python_has("multiprocessing.shared_memory"))
		SKIP(FX_PYTHON " has no multiprocessing.shared_memory");

	/* made by core, read and written by Python */
	fx_name("py1", name);
	REQUIRE_OK(ipcc_pshm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, &p));
	CHECK_EQ(ipcc_pshm_write(p, "from-ipcc", 9, 0), 9);
	CHECK_OK(ipcc_pshm_resize(p, 16));
	snprintf(script, sizeof(script),
	         "from multiprocessing import shared_memory, resource_tracker\n"
	         "s = shared_memory.SharedMemory('%s')\n"
	         "resource_tracker.unregister(s._name, 'shared_memory')\n"
	         "print(s.size, bytes(s.buf[:9]).decode())\n"
	         "s.buf[9:12] = b'PY!'\n"
	         "s.close()\n", name);
	CHECK_EQ(fx_python(script, out, sizeof(out)), 0);
	CHECK_STR(out, "16 from-ipcc\n");
	CHECK_EQ(ipcc_pshm_read(p, buf, 16, 0), 16);
	CHECK_MEM(buf, "from-ipccPY!\0\0\0\0", 16);
	ipcc_pshm_close(p);
	p = NULL;
	CHECK_OK(ipcc_pshm_unlink(name));

	/* made by Python, read and removed by core */
	fx_name("py2", name);
	snprintf(script, sizeof(script),
	         "from multiprocessing import shared_memory, resource_tracker\n"
	         "s = shared_memory.SharedMemory('%s', create=True, size=32)\n"
	         "resource_tracker.unregister(s._name, 'shared_memory')\n"
	         "s.buf[:5] = b'hello'\n"
	         "s.close()\n", name);
	CHECK_EQ(fx_python(script, out, sizeof(out)), 0);
	REQUIRE_OK(ipcc_pshm_open(name, O_RDWR, 0, &p));
	CHECK_EQ(ipcc_pshm_created(p), 0);
	REQUIRE_OK(ipcc_pshm_fstat(p, &st));
	CHECK_EQ(st.st_size, 32);
	CHECK_EQ(st.st_mode & 07777, 0600);
	CHECK_EQ(ipcc_pshm_read(p, buf, 32, 0), 32);
	CHECK_MEM(buf, "hello\0", 6);
	ipcc_pshm_close(p);
	CHECK_OK(ipcc_pshm_unlink(name));
	snprintf(script, sizeof(script),
	         "from multiprocessing import shared_memory\n"
	         "try:\n"
	         "    shared_memory.SharedMemory('%s')\n"
	         "    print('exists')\n"
	         "except FileNotFoundError:\n"
	         "    print('gone')\n", name);
	CHECK_EQ(fx_python(script, out, sizeof(out)), 0);
	CHECK_STR(out, "gone\n");
}

static int nobody_open_rw(void *arg)
{
	ipcc_pshm *p = NULL;
	int r = ipcc_pshm_open(arg, O_RDWR, 0, &p);

	ipcc_pshm_close(p);
	return r;
}

static int nobody_open_ro(void *arg)
{
	ipcc_pshm *p = NULL;
	int r = ipcc_pshm_open(arg, O_RDONLY, 0, &p);

	ipcc_pshm_close(p);
	return r;
}

static void test_second_user(void)
{
	char name[IPCC_NAME_MAX + 1];
	ipcc_pshm *p = NULL;

	if (geteuid() != 0)
		SKIP("needs root to become a second user");
	fx_name("acc", name);
	REQUIRE_OK(ipcc_pshm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, &p));
	ipcc_pshm_close(p);
	CHECK_ERR(fx_as_nobody(nobody_open_rw, name), EACCES);
	CHECK_ERR(fx_as_nobody(nobody_open_ro, name), EACCES);
	CHECK_OK(ipcc_pshm_set(name, 0644, (uid_t)-1, (gid_t)-1));
	CHECK_ERR(fx_as_nobody(nobody_open_rw, name), EACCES);
	CHECK_OK(fx_as_nobody(nobody_open_ro, name));
	CHECK_OK(ipcc_pshm_unlink(name));
}

int main(void)
{
	fx_init();
	RUN(test_create);
	RUN(test_missing_and_bad_names);
	RUN(test_existing_dotdot);
	RUN(test_read_write_grow);
	RUN(test_set);
	RUN(test_unlink);
	RUN(test_iter);
	RUN(test_iter_long_names);
	RUN(test_python);
	RUN(test_second_user);
	return check_exit();
}
