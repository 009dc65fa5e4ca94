/*
 * System V shared memory through core, checked against the kernel's own
 * view: shmctl(IPC_STAT), /proc/sysvipc/shm, `ipcs -m -i`, and raw shmat()
 * mappings of the same segments.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "fixture.h"
#include "ipcc.h"

/* One row of /proc/sysvipc/shm. */
struct proc_shm {
	long long key;
	int shmid;
	unsigned perms;
	unsigned long long size;
	int cpid, lpid;
	unsigned long long nattch;
	unsigned uid, gid, cuid, cgid;
	long long atime, dtime, ctime;
};

static int proc_shm_find(int shmid, struct proc_shm *p)
{
	FILE *f = fopen("/proc/sysvipc/shm", "r");
	char line[512];
	int found = 0;

	if (!f)
		return 0;
	if (!fgets(line, sizeof(line), f)) {     /* header */
		fclose(f);
		return 0;
	}
	while (!found && fgets(line, sizeof(line), f)) {
		memset(p, 0, sizeof(*p));
		if (sscanf(line, "%lld %d %o %llu %d %d %llu %u %u %u %u %lld %lld %lld",
		           &p->key, &p->shmid, &p->perms, &p->size, &p->cpid,
		           &p->lpid, &p->nattch, &p->uid, &p->gid, &p->cuid,
		           &p->cgid, &p->atime, &p->dtime, &p->ctime) == 14 &&
		    p->shmid == shmid)
			found = 1;
	}
	fclose(f);
	return found;
}

/* Value of "name=<number>" in `ipcs -m -i shmid`; base 8 for mode. */
static long long ipcs_field(const char *out, const char *name, int base)
{
	char pat[32];
	const char *p;

	snprintf(pat, sizeof(pat), "%s=", name);
	for (p = strstr(out, pat); p; p = strstr(p + 1, pat))
		if (p == out || p[-1] == ' ' || p[-1] == '\t' || p[-1] == '\n')
			return strtoll(p + strlen(pat), NULL, base);
	return -1;
}

static unsigned long long nattch(int shmid)
{
	struct shmid_ds ds;

	if (shmctl(shmid, IPC_STAT, &ds) < 0)
		return 9999;
	return ds.shm_nattch;
}

/* A keyed segment from core, tracked for cleanup. */
static int make(key_t key, uint64_t size, mode_t mode)
{
	int id = -1, created = -1;
	int r = ipcc_shm_create(key, size, mode, IPCC_SHM_EXCL, &id, &created);

	if (r < 0) {
		char g[64];

		fprintf(stderr, "%s: ipcc_shm_create(0x%08x, %llu, 0%o): %s\n",
		        __FILE__, (unsigned)key, (unsigned long long)size,
		        (unsigned)mode, check_fmt(r, g));
		check_failures++;
		return -1;
	}
	fx_track_shm_id(id);
	return id;
}

static void test_create_find(void)
{
	key_t key = fx_key(), other = fx_key();
	int id = -1, id2 = -1, created = -1, found = -1;
	struct shmid_ds ds;

	CHECK_OK(ipcc_shm_create(key, 4096, 0640, IPCC_SHM_EXCL, &id, &created));
	REQUIRE(id >= 0);
	fx_track_shm_id(id);
	CHECK_EQ(created, 1);
	CHECK_EQ(shmget(key, 0, 0), id);
	REQUIRE_OK(shmctl(id, IPC_STAT, &ds));
	CHECK_EQ(ds.shm_perm.__key, key);
	CHECK_EQ(ds.shm_segsz, 4096);
	CHECK_EQ(ds.shm_perm.mode & 0777, 0640);

	CHECK_ERR(ipcc_shm_create(key, 4096, 0640, IPCC_SHM_EXCL, &id2, &created),
	          EEXIST);
	created = -1;
	CHECK_OK(ipcc_shm_create(key, 4096, 0600, 0, &id2, &created));
	CHECK_EQ(id2, id);
	CHECK_EQ(created, 0);
	/* opening an existing one does not touch its mode */
	REQUIRE_OK(shmctl(id, IPC_STAT, &ds));
	CHECK_EQ(ds.shm_perm.mode & 0777, 0640);
	/* created may be NULL */
	CHECK_OK(ipcc_shm_create(key, 100, 0640, 0, &id2, NULL));
	CHECK_EQ(id2, id);

	CHECK_OK(ipcc_shm_find(key, &found));
	CHECK_EQ(found, id);
	CHECK_ERR(ipcc_shm_find(other, &found), ENOENT);

	/* size 0 creates nothing */
	CHECK_ERR(ipcc_shm_create(other, 0, 0600, IPCC_SHM_EXCL, &id2, NULL),
	          EINVAL);
	CHECK_ERR(ipcc_shm_create(other, 0, 0600, 0, &id2, NULL), EINVAL);
	CHECK(shmget(other, 0, 0) < 0 && errno == ENOENT);

	CHECK_OK(ipcc_shm_remove(id));
	CHECK_ERR(ipcc_shm_find(key, &found), ENOENT);
}

static void test_create_private_and_mode(void)
{
	int a = -1, b = -1, c = -1, created = -1;
	key_t key = fx_key();
	struct shmid_ds ds;
	mode_t old = umask(077);

	/* IPC_PRIVATE always makes a new one */
	CHECK_OK(ipcc_shm_create(IPC_PRIVATE, 1000, 0600, 0, &a, &created));
	if (a >= 0)
		fx_track_shm_id(a);
	CHECK_EQ(created, 1);
	CHECK_OK(ipcc_shm_create(IPC_PRIVATE, 1000, 0600, 0, &b, &created));
	if (b >= 0)
		fx_track_shm_id(b);
	CHECK_EQ(created, 1);
	CHECK(a >= 0 && b >= 0 && a != b);

	/* exactly mode & 0777, whatever the umask and the extra bits */
	CHECK_OK(ipcc_shm_create(key, 4096, 07777, IPCC_SHM_EXCL, &c, NULL));
	umask(old);
	REQUIRE(c >= 0);
	fx_track_shm_id(c);
	REQUIRE_OK(shmctl(c, IPC_STAT, &ds));
	CHECK_EQ(ds.shm_perm.mode & 07777, 0777);
	REQUIRE_OK(shmctl(a, IPC_STAT, &ds));
	CHECK_EQ(ds.shm_perm.mode & 07777, 0600);
	CHECK_EQ(ds.shm_perm.__key, IPC_PRIVATE);

	CHECK_OK(ipcc_shm_remove(a));
	CHECK_OK(ipcc_shm_remove(b));
	CHECK_OK(ipcc_shm_remove(c));
}

/* The fields anybody attaching or detaching changes. */
static int same_activity(const struct shmid_ds *a, const struct shmid_ds *b)
{
	return a->shm_lpid == b->shm_lpid && a->shm_nattch == b->shm_nattch &&
	       a->shm_atime == b->shm_atime && a->shm_dtime == b->shm_dtime;
}

/*
 * core's stat against IPC_STAT, /proc/sysvipc/shm and `ipcs -m -i`.  Any
 * process may attach the segment meanwhile (an ipcfs mount walking
 * sysv/id/, say), so each comparison is taken between two IPC_STATs that
 * agree, retried a few times.
 */
static void check_stat_vs_kernel(int id)
{
	struct ipcc_shm_stat st;
	struct shmid_ds ds, ds2;
	struct proc_shm p;
	char cmd_id[16], out[2048];
	char *argv[] = { "/usr/bin/ipcs", "-m", "-i", cmd_id, NULL };
	int tries = 0, found;

	do {
		memset(&st, 0x5a, sizeof(st));
		REQUIRE_OK(shmctl(id, IPC_STAT, &ds));
		REQUIRE_OK(ipcc_shm_stat_id(id, &st));
		found = proc_shm_find(id, &p);
		REQUIRE_OK(shmctl(id, IPC_STAT, &ds2));
	} while (!same_activity(&ds, &ds2) && ++tries < 10);

	CHECK_EQ(st.key, ds.shm_perm.__key);
	CHECK_EQ(st.shmid, id);
	CHECK_EQ(st.size, ds.shm_segsz);
	CHECK_EQ(st.mode, ds.shm_perm.mode & 0777);
	CHECK_EQ(st.uid, ds.shm_perm.uid);
	CHECK_EQ(st.gid, ds.shm_perm.gid);
	CHECK_EQ(st.cuid, ds.shm_perm.cuid);
	CHECK_EQ(st.cgid, ds.shm_perm.cgid);
	CHECK_EQ(st.cpid, ds.shm_cpid);
	CHECK_EQ(st.lpid, ds.shm_lpid);
	CHECK_EQ(st.nattch, ds.shm_nattch);
	CHECK_EQ(st.atime, ds.shm_atime ? ds.shm_atime : ds.shm_ctime);
	CHECK_EQ(st.dtime, ds.shm_dtime ? ds.shm_dtime : ds.shm_ctime);
	CHECK_EQ(st.ctime, ds.shm_ctime);
	CHECK_EQ(st.removed, 0);

	REQUIRE(found);
	CHECK_EQ(st.key, p.key);
	CHECK_EQ(st.size, p.size);
	CHECK_EQ(st.mode, p.perms & 0777);
	CHECK_EQ(st.uid, p.uid);
	CHECK_EQ(st.gid, p.gid);
	CHECK_EQ(st.cuid, p.cuid);
	CHECK_EQ(st.cgid, p.cgid);
	CHECK_EQ(st.cpid, p.cpid);
	CHECK_EQ(st.lpid, p.lpid);
	CHECK_EQ(st.nattch, p.nattch);
	CHECK_EQ(st.atime, p.atime ? p.atime : p.ctime);
	CHECK_EQ(st.dtime, p.dtime ? p.dtime : p.ctime);
	CHECK_EQ(st.ctime, p.ctime);

	snprintf(cmd_id, sizeof(cmd_id), "%d", id);
	tries = 0;
	do {
		REQUIRE_OK(shmctl(id, IPC_STAT, &ds));
		REQUIRE_EQ(fx_run(argv, out, sizeof(out)), 0);
		REQUIRE_OK(shmctl(id, IPC_STAT, &ds2));
	} while (!same_activity(&ds, &ds2) && ++tries < 10);
	CHECK_EQ(ipcs_field(out, "bytes", 10), st.size);
	CHECK_EQ(ipcs_field(out, "mode", 8), st.mode);
	CHECK_EQ(ipcs_field(out, "uid", 10), st.uid);
	CHECK_EQ(ipcs_field(out, "cpid", 10), st.cpid);
	CHECK_EQ(ipcs_field(out, "lpid", 10), ds.shm_lpid);
	CHECK_EQ(ipcs_field(out, "nattch", 10), ds.shm_nattch);
}

static void test_stat(void)
{
	key_t key = fx_key();
	int id = make(key, 10000, 0640);
	struct ipcc_shm_stat st;
	ipcc_shm *h = NULL;

	REQUIRE(id >= 0);
	REQUIRE_OK(ipcc_shm_stat_id(id, &st));
	CHECK_EQ(st.key, key);
	CHECK_EQ(st.shmid, id);
	CHECK_EQ(st.size, 10000);
	CHECK_EQ(st.mode, 0640);
	CHECK_EQ(st.uid, geteuid());
	CHECK_EQ(st.cuid, geteuid());
	CHECK_EQ(st.gid, getegid());
	CHECK_EQ(st.cgid, getegid());
	CHECK_EQ(st.cpid, getpid());
	CHECK_EQ(st.lpid, 0);
	CHECK_EQ(st.nattch, 0);
	/* never attached nor detached: those times show as ctime */
	CHECK(st.ctime > 0);
	CHECK_EQ(st.atime, st.ctime);
	CHECK_EQ(st.dtime, st.ctime);
	CHECK_EQ(st.removed, 0);
	check_stat_vs_kernel(id);

	REQUIRE_OK(ipcc_shm_open(id, 0, &h));
	REQUIRE_OK(ipcc_shm_stat_id(id, &st));
	CHECK_EQ(st.nattch, 1);
	CHECK_EQ(st.lpid, getpid());
	CHECK(st.atime > 0);
	check_stat_vs_kernel(id);
	ipcc_shm_close(h);
	REQUIRE_OK(ipcc_shm_stat_id(id, &st));
	CHECK_EQ(st.nattch, 0);
	CHECK(st.dtime > 0);
	check_stat_vs_kernel(id);

	CHECK_OK(ipcc_shm_remove(id));
	CHECK_ERR(ipcc_shm_stat_id(id, &st), ENOENT);
	CHECK_ERR(ipcc_shm_stat_id(INT_MAX, &st), ENOENT);
}

static void test_read_write(void)
{
	const uint64_t size = 5000;          /* not a page multiple */
	key_t key = fx_key();
	int id = make(key, size, 0600);
	unsigned long long before;
	ipcc_shm *h = NULL;
	unsigned char buf[64];
	unsigned char *raw;
	void *span = NULL;

	REQUIRE(id >= 0);
	before = nattch(id);
	REQUIRE_OK(ipcc_shm_open(id, 0, &h));
	REQUIRE(h != NULL);
	CHECK_EQ(ipcc_shm_id(h), id);
	CHECK_EQ(ipcc_shm_size(h), size);
	CHECK_EQ(ipcc_shm_readonly(h), 0);
	CHECK_EQ(nattch(id), before + 1);

	raw = shmat(id, NULL, 0);
	REQUIRE(raw != (void *)-1);

	/* through core, seen by the raw mapping, and the other way round */
	CHECK_EQ(ipcc_shm_write(h, "hello", 5, 0), 5);
	CHECK_MEM(raw, "hello", 5);
	raw[100] = 'Z';
	raw[4999] = 'E';
	CHECK_EQ(ipcc_shm_read(h, buf, 1, 100), 1);
	CHECK_EQ(buf[0], 'Z');
	CHECK_EQ(ipcc_shm_read(h, buf, 5, 0), 5);
	CHECK_MEM(buf, "hello", 5);

	/* reads: full, short at the end, 0 at and past the end */
	CHECK_EQ(ipcc_shm_read(h, buf, 10, 4995), 5);
	CHECK_EQ(buf[4], 'E');
	CHECK_EQ(ipcc_shm_read(h, buf, 1, 4999), 1);
	CHECK_EQ(ipcc_shm_read(h, buf, 10, 5000), 0);
	CHECK_EQ(ipcc_shm_read(h, buf, 10, 5001), 0);
	CHECK_EQ(ipcc_shm_read(h, buf, 10, 1ull << 40), 0);
	CHECK_EQ(ipcc_shm_read(h, buf, 10, UINT64_MAX), 0);
	CHECK_EQ(ipcc_shm_read(h, buf, 10, UINT64_MAX - 4), 0);
	CHECK_EQ(ipcc_shm_read(h, buf, 0, 0), 0);

	/* writes: short when crossing the end, ENOSPC at or past it */
	CHECK_EQ(ipcc_shm_write(h, "0123456789", 10, 4995), 5);
	CHECK_MEM(raw + 4995, "01234", 5);
	CHECK_ERR(ipcc_shm_write(h, "x", 1, 5000), ENOSPC);
	CHECK_ERR(ipcc_shm_write(h, "x", 1, 5001), ENOSPC);
	CHECK_ERR(ipcc_shm_write(h, "x", 1, UINT64_MAX), ENOSPC);
	CHECK_ERR(ipcc_shm_write(h, "xy", 2, UINT64_MAX - 1), ENOSPC);
	CHECK_EQ(ipcc_shm_write(h, "L", 1, 4999), 1);
	CHECK_EQ(raw[4999], 'L');

	/* span: direct access, clamped like read */
	CHECK_EQ(ipcc_shm_span(h, 10, 20, &span), 20);
	REQUIRE(span != NULL);
	memcpy(span, "span!", 5);
	CHECK_MEM(raw + 10, "span!", 5);
	raw[11] = 'P';
	CHECK_EQ(((unsigned char *)span)[1], 'P');
	CHECK_EQ(ipcc_shm_span(h, 4990, 100, &span), 10);
	CHECK_MEM((unsigned char *)span + 5, "0123L", 5);
	CHECK_EQ(ipcc_shm_span(h, 5000, 10, &span), 0);
	CHECK_EQ(ipcc_shm_span(h, UINT64_MAX, 10, &span), 0);

	/* zero: the whole segment, as the raw mapping sees it */
	CHECK_OK(ipcc_shm_zero(h));
	{
		size_t nonzero = 0;

		for (uint64_t i = 0; i < size; i++)
			nonzero += raw[i] != 0;
		CHECK_EQ(nonzero, 0);
	}

	/* a large write and read across pages */
	{
		static unsigned char big[5000], back[5000];

		for (size_t i = 0; i < sizeof(big); i++)
			big[i] = (unsigned char)(i * 31 + 7);
		CHECK_EQ(ipcc_shm_write(h, big, sizeof(big), 0), 5000);
		CHECK_MEM(raw, big, sizeof(big));
		CHECK_EQ(ipcc_shm_read(h, back, sizeof(back), 0), 5000);
		CHECK_MEM(back, big, sizeof(back));
	}

	CHECK_OK(shmdt(raw));
	ipcc_shm_close(h);
	ipcc_shm_close(NULL);
	CHECK_EQ(nattch(id), before);
	CHECK_OK(ipcc_shm_remove(id));
}

static void test_readonly(void)
{
	key_t key = fx_key();
	int id = make(key, 4096, 0644);
	ipcc_shm *ro = NULL, *rw = NULL;
	unsigned char buf[8];

	REQUIRE(id >= 0);
	REQUIRE_OK(ipcc_shm_open(id, 0, &rw));
	CHECK_EQ(ipcc_shm_write(rw, "ro-test", 7, 100), 7);
	REQUIRE_OK(ipcc_shm_open(id, IPCC_RDONLY, &ro));
	CHECK_EQ(ipcc_shm_readonly(ro), 1);
	CHECK_EQ(nattch(id), 2);
	CHECK_EQ(ipcc_shm_read(ro, buf, 7, 100), 7);
	CHECK_MEM(buf, "ro-test", 7);
	CHECK_ERR(ipcc_shm_write(ro, "x", 1, 0), EBADF);
	CHECK_ERR(ipcc_shm_zero(ro), EBADF);
	CHECK_ERR(ipcc_shm_replace(ro, 8192), EBADF);
	/* none of those changed anything */
	CHECK_EQ(ipcc_shm_read(rw, buf, 7, 100), 7);
	CHECK_MEM(buf, "ro-test", 7);
	CHECK_EQ(ipcc_shm_id(ro), id);
	CHECK_EQ(ipcc_shm_size(ro), 4096);
	/* a write through rw shows through ro at once */
	CHECK_EQ(ipcc_shm_write(rw, "X", 1, 100), 1);
	CHECK_EQ(ipcc_shm_read(ro, buf, 1, 100), 1);
	CHECK_EQ(buf[0], 'X');
	ipcc_shm_close(ro);
	ipcc_shm_close(rw);
	CHECK_EQ(nattch(id), 0);
	CHECK_OK(ipcc_shm_remove(id));
}

static void test_open_key_and_missing(void)
{
	key_t key = fx_key(), missing = fx_key();
	int id = make(key, 4096, 0600), gone;
	ipcc_shm *h = NULL;

	REQUIRE(id >= 0);
	CHECK_OK(ipcc_shm_open_key(key, 0, &h));
	if (h) {
		CHECK_EQ(ipcc_shm_id(h), id);
		CHECK_EQ(ipcc_shm_readonly(h), 0);
		ipcc_shm_close(h);
		h = NULL;
	}
	CHECK_OK(ipcc_shm_open_key(key, IPCC_RDONLY, &h));
	if (h) {
		CHECK_EQ(ipcc_shm_readonly(h), 1);
		ipcc_shm_close(h);
		h = NULL;
	}
	CHECK_ERR(ipcc_shm_open_key(missing, 0, &h), ENOENT);
	CHECK(h == NULL);

	gone = make(missing, 4096, 0600);
	REQUIRE(gone >= 0);
	CHECK_OK(ipcc_shm_remove(gone));
	CHECK_ERR(ipcc_shm_open(gone, 0, &h), ENOENT);
	CHECK_ERR(ipcc_shm_open(gone, IPCC_RDONLY, &h), ENOENT);
	CHECK_ERR(ipcc_shm_set(gone, 0600, (uid_t)-1, (gid_t)-1), ENOENT);
	CHECK_ERR(ipcc_shm_remove(gone), ENOENT);
	CHECK_ERR(ipcc_shm_open(INT_MAX, 0, &h), ENOENT);
	CHECK_OK(ipcc_shm_remove(id));
}

static void test_set(void)
{
	int id = make(fx_key(), 4096, 0640);
	struct shmid_ds ds;
	struct ipcc_shm_stat st;

	REQUIRE(id >= 0);
	CHECK_OK(ipcc_shm_set(id, 0600, (uid_t)-1, (gid_t)-1));
	REQUIRE_OK(shmctl(id, IPC_STAT, &ds));
	CHECK_EQ(ds.shm_perm.mode & 0777, 0600);
	CHECK_EQ(ds.shm_perm.uid, 0);
	CHECK_EQ(ds.shm_perm.gid, 0);

	CHECK_OK(ipcc_shm_set(id, (mode_t)-1, FX_NOBODY, (gid_t)-1));
	REQUIRE_OK(shmctl(id, IPC_STAT, &ds));
	CHECK_EQ(ds.shm_perm.mode & 0777, 0600);
	CHECK_EQ(ds.shm_perm.uid, FX_NOBODY);
	CHECK_EQ(ds.shm_perm.gid, 0);

	CHECK_OK(ipcc_shm_set(id, (mode_t)-1, (uid_t)-1, FX_NOBODY));
	REQUIRE_OK(shmctl(id, IPC_STAT, &ds));
	CHECK_EQ(ds.shm_perm.mode & 0777, 0600);
	CHECK_EQ(ds.shm_perm.uid, FX_NOBODY);
	CHECK_EQ(ds.shm_perm.gid, FX_NOBODY);
	CHECK_EQ(ds.shm_perm.cuid, 0);
	CHECK_EQ(ds.shm_perm.cgid, 0);

	CHECK_OK(ipcc_shm_set(id, 0604, 1, 2));
	REQUIRE_OK(ipcc_shm_stat_id(id, &st));
	CHECK_EQ(st.mode, 0604);
	CHECK_EQ(st.uid, 1);
	CHECK_EQ(st.gid, 2);
	CHECK_EQ(st.cuid, 0);

	/* all unchanged */
	CHECK_OK(ipcc_shm_set(id, (mode_t)-1, (uid_t)-1, (gid_t)-1));
	REQUIRE_OK(ipcc_shm_stat_id(id, &st));
	CHECK_EQ(st.mode, 0604);
	CHECK_EQ(st.uid, 1);
	CHECK_EQ(st.gid, 2);

	CHECK_OK(ipcc_shm_remove(id));
}

static void test_remove(void)
{
	key_t key = fx_key();
	int id = make(key, 4096, 0600), id2 = -1, found;
	struct ipcc_shm_stat st;
	ipcc_shm *h = NULL;
	unsigned char buf[4];

	/* without attachments: gone at once */
	REQUIRE(id >= 0);
	CHECK_OK(ipcc_shm_remove(id));
	CHECK_ERR(ipcc_shm_stat_id(id, &st), ENOENT);
	CHECK_ERR(ipcc_shm_find(key, &found), ENOENT);
	CHECK_ERR(ipcc_shm_remove(id), ENOENT);
	CHECK(shmget(key, 0, 0) < 0 && errno == ENOENT);

	/* with an open handle: the handle keeps working, the key is free */
	id = make(key, 4096, 0600);
	REQUIRE(id >= 0);
	REQUIRE_OK(ipcc_shm_open(id, 0, &h));
	CHECK_EQ(ipcc_shm_write(h, "abc", 3, 0), 3);
	CHECK_OK(ipcc_shm_remove(id));
	CHECK_ERR(ipcc_shm_find(key, &found), ENOENT);
	CHECK_OK(ipcc_shm_stat_id(id, &st));
	CHECK_EQ(st.removed, 1);
	CHECK_EQ(st.key, IPC_PRIVATE);
	CHECK_EQ(st.nattch, 1);
	CHECK_EQ(ipcc_shm_read(h, buf, 3, 0), 3);
	CHECK_MEM(buf, "abc", 3);
	CHECK_EQ(ipcc_shm_write(h, "d", 1, 3), 1);
	CHECK_EQ(ipcc_shm_read(h, buf, 4, 0), 4);
	CHECK_MEM(buf, "abcd", 4);
	CHECK_OK(ipcc_shm_zero(h));

	/* the key can be used again, for a different segment */
	id2 = make(key, 4096, 0600);
	CHECK(id2 >= 0 && id2 != id);
	CHECK_OK(ipcc_shm_find(key, &found));
	CHECK_EQ(found, id2);
	CHECK_EQ(ipcc_shm_id(h), id);

	ipcc_shm_close(h);
	CHECK_ERR(ipcc_shm_stat_id(id, &st), ENOENT);
	if (id2 >= 0)
		CHECK_OK(ipcc_shm_remove(id2));
}

/* Attaches shmid in a child until told to go. */
struct holder {
	pid_t pid;
	int go;         /* write end: closing it lets the child exit */
};

static int holder_start(int shmid, struct holder *hd)
{
	int ready[2], go[2];
	char c;

	if (pipe(ready) < 0 || pipe(go) < 0)
		return -1;
	fflush(stdout);
	fflush(stderr);
	hd->pid = fork();
	if (hd->pid < 0)
		return -1;
	if (hd->pid == 0) {
		void *p = shmat(shmid, NULL, SHM_RDONLY);

		close(ready[0]);
		close(go[1]);
		c = p == (void *)-1 ? 'E' : 'R';
		if (write(ready[1], &c, 1) != 1)
			_exit(1);
		(void)!read(go[0], &c, 1);
		_exit(0);
	}
	close(ready[1]);
	close(go[0]);
	hd->go = go[1];
	if (read(ready[0], &c, 1) != 1 || c != 'R') {
		close(ready[0]);
		return -1;
	}
	close(ready[0]);
	return 0;
}

static void holder_stop(struct holder *hd)
{
	int status;

	close(hd->go);
	waitpid(hd->pid, &status, 0);
}

static void test_replace(void)
{
	key_t key = fx_key();
	int id = make(key, 4096, 0640), newid, found = -1;
	struct ipcc_shm_stat st;
	struct holder hd;
	ipcc_shm *h = NULL;
	unsigned char *raw, buf[8];

	REQUIRE(id >= 0);
	CHECK_OK(ipcc_shm_set(id, (mode_t)-1, FX_NOBODY, FX_NOBODY));
	REQUIRE_OK(ipcc_shm_open(id, 0, &h));

	/* bad sizes leave everything as it was */
	CHECK_ERR(ipcc_shm_replace(h, 0), EINVAL);
	CHECK_EQ(ipcc_shm_id(h), id);
	CHECK_EQ(ipcc_shm_size(h), 4096);
	CHECK_OK(ipcc_shm_find(key, &found));
	CHECK_EQ(found, id);

	CHECK_OK(ipcc_shm_replace(h, 8192));
	newid = ipcc_shm_id(h);
	fx_track_shm_id(newid);
	CHECK(newid != id);
	CHECK_EQ(ipcc_shm_size(h), 8192);
	CHECK_ERR(ipcc_shm_stat_id(id, &st), ENOENT);
	CHECK_OK(ipcc_shm_find(key, &found));
	CHECK_EQ(found, newid);
	REQUIRE_OK(ipcc_shm_stat_id(newid, &st));
	CHECK_EQ(st.key, key);
	CHECK_EQ(st.size, 8192);
	CHECK_EQ(st.mode, 0640);
	CHECK_EQ(st.uid, FX_NOBODY);
	CHECK_EQ(st.gid, FX_NOBODY);
	CHECK_EQ(st.nattch, 1);

	/* the handle reads and writes the new segment, up to its new end */
	raw = shmat(newid, NULL, 0);
	REQUIRE(raw != (void *)-1);
	CHECK_EQ(ipcc_shm_write(h, "new", 3, 8000), 3);
	CHECK_MEM(raw + 8000, "new", 3);
	raw[8191] = 'Q';
	CHECK_EQ(ipcc_shm_read(h, buf, 8, 8191), 1);
	CHECK_EQ(buf[0], 'Q');
	CHECK_ERR(ipcc_shm_write(h, "x", 1, 8192), ENOSPC);

	/* another attachment (our raw one) blocks it */
	CHECK_ERR(ipcc_shm_replace(h, 4096), EBUSY);
	CHECK_EQ(ipcc_shm_id(h), newid);
	CHECK_OK(shmdt(raw));

	/* so does another process */
	if (holder_start(newid, &hd) == 0) {
		/* the child inherited our attachment and made its own */
		CHECK_EQ(nattch(newid), 3);
		CHECK_ERR(ipcc_shm_replace(h, 4096), EBUSY);
		CHECK_EQ(ipcc_shm_id(h), newid);
		CHECK_EQ(ipcc_shm_size(h), 8192);
		CHECK_OK(ipcc_shm_find(key, &found));
		CHECK_EQ(found, newid);
		holder_stop(&hd);
	} else {
		fprintf(stderr, "%s:%d: could not start the attached child\n",
		        __FILE__, __LINE__);
		check_failures++;
	}
	CHECK_EQ(nattch(newid), 1);

	/*
	 * a size the kernel refuses: an error, and the handle stays usable on
	 * the segment it had (removed or not, depending on when core noticed)
	 */
	CHECK(ipcc_shm_replace(h, UINT64_MAX) < 0);
	CHECK_EQ(ipcc_shm_id(h), newid);
	CHECK_EQ(ipcc_shm_size(h), 8192);
	CHECK_EQ(ipcc_shm_read(h, buf, 3, 8000), 3);
	CHECK_MEM(buf, "new", 3);
	CHECK_EQ(ipcc_shm_write(h, "w", 1, 8191), 1);
	if (ipcc_shm_find(key, &found) == -ENOENT) {
		/* removed on the way: the key is free, put a segment back */
		int back = make(key, 8192, 0640);

		CHECK(back >= 0);
		ipcc_shm_close(h);
		h = NULL;
		REQUIRE(back >= 0);
		REQUIRE_OK(ipcc_shm_open(back, 0, &h));
		newid = back;
	}

	/* alone again: works, and a shrink is fine too */
	CHECK_OK(ipcc_shm_replace(h, 100));
	CHECK_EQ(ipcc_shm_size(h), 100);
	fx_track_shm_id(ipcc_shm_id(h));
	CHECK_ERR(ipcc_shm_stat_id(newid, &st), ENOENT);
	CHECK_EQ(ipcc_shm_write(h, "0123456789", 10, 95), 5);
	REQUIRE_OK(ipcc_shm_stat_id(ipcc_shm_id(h), &st));
	CHECK_EQ(st.size, 100);
	CHECK_EQ(st.key, key);

	newid = ipcc_shm_id(h);
	ipcc_shm_close(h);
	CHECK_EQ(nattch(newid), 0);
	CHECK_OK(ipcc_shm_remove(newid));
}

static void test_replace_private(void)
{
	int id = -1;
	ipcc_shm *h = NULL;

	CHECK_OK(ipcc_shm_create(IPC_PRIVATE, 4096, 0600, 0, &id, NULL));
	REQUIRE(id >= 0);
	fx_track_shm_id(id);
	REQUIRE_OK(ipcc_shm_open(id, 0, &h));
	CHECK_ERR(ipcc_shm_replace(h, 8192), EINVAL);
	CHECK_EQ(ipcc_shm_id(h), id);
	CHECK_EQ(ipcc_shm_size(h), 4096);
	CHECK_EQ(nattch(id), 1);
	ipcc_shm_close(h);
	CHECK_OK(ipcc_shm_remove(id));
}

FX_DEFINE_ITERATE(shm, struct ipcc_shm_stat, shmid)

/*
 * A segment made by `ipcmk -M` was never attached or detached: the kernel
 * says atime = dtime = 0; core shows both as its ctime, by id and in the
 * listing.
 */
static void test_times_never_happened(void)
{
	char out[256], *argv[] = { "/usr/bin/ipcmk", "-M", "4096", "-p", "0600",
	                           NULL };
	struct ipcc_shm_stat st;
	struct shmid_ds ds;
	struct proc_shm p;
	const char *at;
	int id, seen = 0;
	ipcc_shm_iter *it = NULL;

	REQUIRE_EQ(fx_run(argv, out, sizeof(out)), 0);
	at = strstr(out, "id: ");
	REQUIRE(at != NULL);
	id = atoi(at + 4);
	REQUIRE_OK(shmctl(id, IPC_STAT, &ds));
	fx_track_shm_id_cpid(id, ds.shm_cpid);
	REQUIRE(proc_shm_find(id, &p));
	CHECK_EQ(ds.shm_atime, 0);
	CHECK_EQ(ds.shm_dtime, 0);
	CHECK_EQ(p.atime, 0);
	CHECK(ds.shm_ctime > 946684800);       /* after 2000 */
	REQUIRE_OK(ipcc_shm_stat_id(id, &st));
	CHECK_EQ(st.ctime, ds.shm_ctime);
	CHECK_EQ(st.atime, ds.shm_ctime);
	CHECK_EQ(st.dtime, ds.shm_ctime);

	REQUIRE_OK(ipcc_shm_iter_new(&it));
	while (ipcc_shm_iter_next(it, &st) == 1) {
		if (st.shmid != id)
			continue;
		seen++;
		CHECK_EQ(st.ctime, ds.shm_ctime);
		CHECK_EQ(st.atime, ds.shm_ctime);
		CHECK_EQ(st.dtime, ds.shm_ctime);
	}
	ipcc_shm_iter_free(it);
	CHECK_EQ(seen, 1);
	CHECK_OK(shmctl(id, IPC_RMID, NULL));
}

static void test_iter(void)
{
	key_t key = fx_key();
	struct seen s[2] = { { .id = -1 }, { .id = -1 } };
	ipcc_shm *h = NULL;

	s[0].id = make(key, 1234, 0640);
	CHECK_OK(ipcc_shm_create(IPC_PRIVATE, 777, 0604, 0, &s[1].id, NULL));
	REQUIRE(s[0].id >= 0 && s[1].id >= 0);
	fx_track_shm_id(s[1].id);
	REQUIRE_OK(ipcc_shm_open(s[1].id, 0, &h));

	iterate(s, 2);
	CHECK_EQ(s[0].times, 1);
	CHECK_EQ(s[1].times, 1);
	CHECK_EQ(s[0].st.key, key);
	CHECK_EQ(s[0].st.size, 1234);
	CHECK_EQ(s[0].st.mode, 0640);
	CHECK_EQ(s[0].st.cpid, getpid());
	CHECK_EQ(s[0].st.uid, geteuid());
	CHECK_EQ(s[0].st.nattch, 0);
	CHECK_EQ(s[0].st.removed, 0);
	CHECK_EQ(s[1].st.key, IPC_PRIVATE);
	CHECK_EQ(s[1].st.size, 777);
	CHECK_EQ(s[1].st.mode, 0604);
	CHECK_EQ(s[1].st.cpid, getpid());
	CHECK_EQ(s[1].st.nattch, 1);
	CHECK_EQ(s[1].st.removed, 0);

	/* removed ones are gone from the next iteration */
	CHECK_OK(ipcc_shm_remove(s[0].id));
	iterate(s, 2);
	CHECK_EQ(s[0].times, 0);
	CHECK_EQ(s[1].times, 1);

	ipcc_shm_close(h);
	CHECK_OK(ipcc_shm_remove(s[1].id));
	iterate(s, 2);
	CHECK_EQ(s[1].times, 0);

	/* an empty walk ends cleanly too */
	{
		ipcc_shm_iter *it = NULL;
		struct ipcc_shm_stat st;
		int r;

		REQUIRE_OK(ipcc_shm_iter_new(&it));
		while ((r = ipcc_shm_iter_next(it, &st)) == 1)
			;
		CHECK_EQ(r, 0);
		CHECK_EQ(ipcc_shm_iter_next(it, &st), 0);
		ipcc_shm_iter_free(it);
	}
}

static int nobody_open(void *arg)
{
	ipcc_shm *h = NULL;
	int r = ipcc_shm_open(*(int *)arg, 0, &h);

	ipcc_shm_close(h);
	return r;
}

static int nobody_open_ro(void *arg)
{
	ipcc_shm *h = NULL;
	int r = ipcc_shm_open(*(int *)arg, IPCC_RDONLY, &h);
	unsigned char c = 0;

	if (r == 0) {
		/* return the byte read, to prove the attachment works */
		r = ipcc_shm_read(h, &c, 1, 0) == 1 ? c : -1000;
		ipcc_shm_close(h);
	}
	return r;
}

/* the mode seen, or the error */
static int nobody_stat(void *arg)
{
	struct ipcc_shm_stat st;
	int r = ipcc_shm_stat_id(*(int *)arg, &st);

	return r < 0 ? r : (int)st.mode;
}

static int nobody_set(void *arg)
{
	return ipcc_shm_set(*(int *)arg, 0666, (uid_t)-1, (gid_t)-1);
}

static int nobody_remove(void *arg)
{
	return ipcc_shm_remove(*(int *)arg);
}

static void test_second_user(void)
{
	int priv, pub;
	ipcc_shm *h = NULL;
	struct ipcc_shm_stat st;

	if (geteuid() != 0)
		SKIP("needs root to become a second user");
	priv = make(fx_key(), 4096, 0600);
	pub = make(fx_key(), 4096, 0644);
	REQUIRE(priv >= 0 && pub >= 0);
	REQUIRE_OK(ipcc_shm_open(pub, 0, &h));
	CHECK_EQ(ipcc_shm_write(h, "A", 1, 0), 1);
	ipcc_shm_close(h);

	CHECK_ERR(fx_as_nobody(nobody_open, &priv), EACCES);
	CHECK_ERR(fx_as_nobody(nobody_open_ro, &priv), EACCES);
	/* like stat(2), metadata needs no read permission */
	CHECK_EQ(fx_as_nobody(nobody_stat, &priv), 0600);
	CHECK_ERR(fx_as_nobody(nobody_set, &priv), EPERM);
	CHECK_ERR(fx_as_nobody(nobody_remove, &priv), EPERM);

	CHECK_ERR(fx_as_nobody(nobody_open, &pub), EACCES);
	CHECK_EQ(fx_as_nobody(nobody_open_ro, &pub), 'A');
	CHECK_EQ(fx_as_nobody(nobody_stat, &pub), 0644);
	CHECK_ERR(fx_as_nobody(nobody_set, &pub), EPERM);
	CHECK_ERR(fx_as_nobody(nobody_remove, &pub), EPERM);

	/* nothing the second user tried changed anything */
	REQUIRE_OK(ipcc_shm_stat_id(priv, &st));
	CHECK_EQ(st.mode, 0600);
	CHECK_EQ(st.nattch, 0);
	REQUIRE_OK(ipcc_shm_stat_id(pub, &st));
	CHECK_EQ(st.mode, 0644);
	CHECK_EQ(st.nattch, 0);

	CHECK_OK(ipcc_shm_remove(priv));
	CHECK_OK(ipcc_shm_remove(pub));
}

/* --- ipcc_shm_memfd: the attachment's memory as a file (issue 12) --- */

static int nobody_memfd(void *arg)
{
	ipcc_shm *h = NULL;
	int err = ipcc_shm_open(*(int *)arg, IPCC_RDONLY, &h);

	if (err)
		return err;
	err = ipcc_shm_memfd(h, IPCC_RDONLY);
	if (err >= 0) {
		close(err);
		err = 0;
	}
	ipcc_shm_close(h);
	return err;
}

static void test_memfd(void)
{
	const uint64_t size = 5000;          /* not a page multiple */
	int id = make(fx_key(), size, 0644);
	ipcc_shm *h = NULL, *ro = NULL;
	unsigned char *raw;
	char buf[16];
	struct stat st;
	int fd, rofd, rwfd;

	if (geteuid() != 0)
		SKIP("needs root: /proc/self/map_files needs CAP_SYS_ADMIN");
	REQUIRE(id >= 0);
	REQUIRE_OK(ipcc_shm_open(id, 0, &h));
	REQUIRE_OK(ipcc_shm_open(id, IPCC_RDONLY, &ro));
	CHECK_EQ(nattch(id), 2);
	fd = ipcc_shm_memfd(h, 0);
	REQUIRE(fd >= 0);
	/* no attachment of its own */
	CHECK_EQ(nattch(id), 2);
	CHECK(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	CHECK_EQ(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDWR);
	REQUIRE_OK(fstat(fd, &st));
	CHECK(S_ISREG(st.st_mode));
	CHECK_EQ(st.st_size, size);

	/* the same memory as a raw shmat(), both ways */
	raw = shmat(id, NULL, 0);
	REQUIRE(raw != (void *)-1);
	CHECK_EQ(pwrite(fd, "memfd", 5, 4990), 5);
	CHECK_MEM(raw + 4990, "memfd", 5);
	memcpy(raw + 7, "raw!", 4);
	CHECK_EQ(pread(fd, buf, 4, 7), 4);
	CHECK_MEM(buf, "raw!", 4);
	CHECK_EQ(pread(fd, buf, 16, 4995), 5);
	CHECK_EQ(pread(fd, buf, 16, 5000), 0);

	/* read-only fd; and a writable one from a read-only attachment */
	rofd = ipcc_shm_memfd(ro, IPCC_RDONLY);
	REQUIRE(rofd >= 0);
	CHECK_EQ(fcntl(rofd, F_GETFL) & O_ACCMODE, O_RDONLY);
	CHECK_EQ(pread(rofd, buf, 5, 4990), 5);
	CHECK_MEM(buf, "memfd", 5);
	errno = 0;
	CHECK_EQ(pwrite(rofd, "x", 1, 0), -1);
	CHECK_EQ(errno, EBADF);
	rwfd = ipcc_shm_memfd(ro, 0);
	REQUIRE(rwfd >= 0);
	CHECK_EQ(pwrite(rwfd, "W", 1, 0), 1);
	CHECK_EQ(raw[0], 'W');
	close(rwfd);
	CHECK_ERR(ipcc_shm_memfd(h, 0x80), EINVAL);

	/* a second user has no CAP_SYS_ADMIN: EPERM, and nothing changed */
	CHECK_ERR(fx_as_nobody(nobody_memfd, &id), EPERM);

	/* removed and detached: the fd still holds the memory */
	CHECK_OK(shmdt(raw));
	ipcc_shm_close(ro);
	ipcc_shm_close(h);
	CHECK_OK(ipcc_shm_remove(id));
	CHECK_ERR(ipcc_shm_stat_id(id, &(struct ipcc_shm_stat){ 0 }), ENOENT);
	CHECK_EQ(pread(fd, buf, 5, 4990), 5);
	CHECK_MEM(buf, "memfd", 5);
	CHECK_EQ(pread(rofd, buf, 4, 7), 4);
	CHECK_MEM(buf, "raw!", 4);
	close(rofd);
	close(fd);
}

static void test_memfd_replace(void)
{
	key_t key = fx_key();
	int id = make(key, 4096, 0600), fd;
	ipcc_shm *h = NULL;
	char c = 0;

	if (geteuid() != 0)
		SKIP("needs root: /proc/self/map_files needs CAP_SYS_ADMIN");
	REQUIRE(id >= 0);
	REQUIRE_OK(ipcc_shm_open(id, 0, &h));
	CHECK_EQ(ipcc_shm_write(h, "o", 1, 0), 1);
	fd = ipcc_shm_memfd(h, 0);
	REQUIRE(fd >= 0);
	REQUIRE_OK(ipcc_shm_replace(h, 8192));
	fx_track_shm_id(ipcc_shm_id(h));
	/* the fd stays on the old memory; a new one reaches the new */
	CHECK_EQ(ipcc_shm_write(h, "n", 1, 0), 1);
	CHECK_EQ(pread(fd, &c, 1, 0), 1);
	CHECK_EQ(c, 'o');
	close(fd);
	fd = ipcc_shm_memfd(h, IPCC_RDONLY);
	REQUIRE(fd >= 0);
	CHECK_EQ(pread(fd, &c, 1, 0), 1);
	CHECK_EQ(c, 'n');
	CHECK_EQ(lseek(fd, 0, SEEK_END), 8192);
	close(fd);
	CHECK_OK(ipcc_shm_remove(ipcc_shm_id(h)));
	ipcc_shm_close(h);
}

int main(void)
{
	fx_init();
	RUN(test_create_find);
	RUN(test_create_private_and_mode);
	RUN(test_stat);
	RUN(test_read_write);
	RUN(test_readonly);
	RUN(test_open_key_and_missing);
	RUN(test_set);
	RUN(test_remove);
	RUN(test_replace);
	RUN(test_replace_private);
	RUN(test_iter);
	RUN(test_times_never_happened);
	RUN(test_second_user);
	RUN(test_memfd);
	RUN(test_memfd_replace);
	return check_exit();
}
