/*
 * The pure functions of core: FNV-1a, semaphore keys and the parsers of
 * keys, ids, sizes and names.
 */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "ipcc.h"

/* A reference FNV-1a, to check more inputs than the published vectors. */
static uint32_t ref_fnv1a32(const void *data, size_t len)
{
	const unsigned char *p = data;
	uint32_t h = 0x811c9dc5u;

	while (len--) {
		h ^= *p++;
		h *= 16777619u;
	}
	return h;
}

static void test_fnv1a32(void)
{
	static const unsigned char bin[] = { 0, 0xff, 0x80, 0x7f, 0 };
	char big[1000];

	CHECK_EQ(ipcc_fnv1a32("", 0), 0x811c9dc5u);
	CHECK_EQ(ipcc_fnv1a32("a", 1), 0xe40c292cu);
	CHECK_EQ(ipcc_fnv1a32("foobar", 6), 0xbf9cf968u);
	/* len counts, not NUL-terminates */
	CHECK_EQ(ipcc_fnv1a32("foobarXYZ", 6), 0xbf9cf968u);
	CHECK_EQ(ipcc_fnv1a32(bin, sizeof(bin)), ref_fnv1a32(bin, sizeof(bin)));
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)(i * 7 + 3);
	CHECK_EQ(ipcc_fnv1a32(big, sizeof(big)), ref_fnv1a32(big, sizeof(big)));
}

static void test_sem_key(void)
{
	const key_t foo = (key_t)(int32_t)ref_fnv1a32("/foo", 4);
	char name[IPCC_NAME_MAX + 2];

	CHECK_EQ(ipcc_sem_key("foo"), foo);
	CHECK_EQ(ipcc_sem_key("/foo"), foo);
	CHECK_EQ(ipcc_sem_key("foo"), (key_t)(int32_t)ipcc_fnv1a32("/foo", 4));
	/* keys with the top bit set must come out negative, not truncated */
	CHECK_EQ(ipcc_sem_key("a"), (key_t)(int32_t)ref_fnv1a32("/a", 2));
	CHECK(ipcc_sem_key("myapp.v1.mylock") ==
	      (key_t)(int32_t)ref_fnv1a32("/myapp.v1.mylock", 16));
	/* found offline: "/d1dcca" hashes to 0, which is IPC_PRIVATE */
	CHECK_EQ(ipcc_sem_key("d1dcca"), 0);

	memset(name, 'n', IPCC_NAME_MAX);
	name[IPCC_NAME_MAX] = '\0';
	{
		char slashed[IPCC_NAME_MAX + 2];

		slashed[0] = '/';
		memcpy(slashed + 1, name, IPCC_NAME_MAX + 1);
		CHECK_EQ(ipcc_sem_key(name),
		         (key_t)(int32_t)ref_fnv1a32(slashed, IPCC_NAME_MAX + 1));
		CHECK_EQ(ipcc_sem_key(slashed), ipcc_sem_key(name));
	}
}

static void check_key_ok(const char *s, key_t want, int line)
{
	key_t key = (key_t)0x5a5a5a5a;
	int r = ipcc_key_parse(s, &key);

	if (r != 0 || key != want) {
		fprintf(stderr, "%s:%d: ipcc_key_parse(\"%s\"): got %d key 0x%08x, "
		        "want 0 key 0x%08x\n", __FILE__, line, s, r,
		        (unsigned)key, (unsigned)want);
		check_failures++;
	}
}

static void check_key_bad(const char *s, int line)
{
	key_t key = (key_t)0x5a5a5a5a;
	int r = ipcc_key_parse(s, &key);

	if (r != -EINVAL) {
		fprintf(stderr, "%s:%d: ipcc_key_parse(\"%s\"): got %d, want "
		        "-EINVAL\n", __FILE__, line, s, r);
		check_failures++;
	}
}

#define KEY_OK(s, k) check_key_ok(s, (key_t)(int32_t)(k), __LINE__)
#define KEY_BAD(s) check_key_bad(s, __LINE__)

static void test_key_parse(void)
{
	KEY_OK("0x1", 1);
	KEY_OK("0X1", 1);
	KEY_OK("0x00000001", 1);
	KEY_OK("0x0000abcd", 0xabcd);
	KEY_OK("0xabcd", 0xabcd);
	KEY_OK("0XABCDEF01", 0xabcdef01u);
	KEY_OK("0xabcdef01", 0xabcdef01u);
	KEY_OK("0xAbCdEf01", 0xabcdef01u);
	KEY_OK("0x7fffffff", 0x7fffffff);
	KEY_OK("0x80000000", 0x80000000u);
	KEY_OK("0xffffffff", 0xffffffffu);
	KEY_OK("0x12345678", 0x12345678);

	KEY_BAD("0x123456789");          /* 9 digits */
	KEY_BAD("0x000000001");          /* 9 digits, even if the value fits */
	KEY_BAD("0x");
	KEY_BAD("0X");
	KEY_BAD("1234");
	KEY_BAD("0x0");                  /* IPC_PRIVATE has no name */
	KEY_BAD("0x00000000");
	KEY_BAD("");
	KEY_BAD("0");
	KEY_BAD("x1");
	KEY_BAD("00x1");
	KEY_BAD("0x1g");
	KEY_BAD("0xg1");
	KEY_BAD(" 0x1");
	KEY_BAD("0x1 ");
	KEY_BAD("0x1\n");
	KEY_BAD("0x-1");
	KEY_BAD("0x+1");
	KEY_BAD("-0x1");
	KEY_BAD("+0x1");
	KEY_BAD("0x 1");
	KEY_BAD("0x1.");
	KEY_BAD("0b101");
	KEY_BAD("0xabcdef01/");
	KEY_BAD("id");
}

static void test_key_format(void)
{
	char buf[IPCC_KEY_STRLEN];

	ipcc_key_format(1, buf);
	CHECK_STR(buf, "0x00000001");
	ipcc_key_format(0xabcd, buf);
	CHECK_STR(buf, "0x0000abcd");
	ipcc_key_format((key_t)(int32_t)0xabcdef01u, buf);
	CHECK_STR(buf, "0xabcdef01");
	ipcc_key_format(-1, buf);
	CHECK_STR(buf, "0xffffffff");
	ipcc_key_format(0x7fffffff, buf);
	CHECK_STR(buf, "0x7fffffff");
	ipcc_key_format(0, buf);
	CHECK_STR(buf, "0x00000000");

	/* format and parse are inverse */
	for (uint32_t k = 1; k != 0 && k < 0xf0000000u; k = k * 3 + 7) {
		key_t back = 0;

		ipcc_key_format((key_t)(int32_t)k, buf);
		CHECK_EQ(strlen(buf), IPCC_KEY_STRLEN - 1);
		CHECK_OK(ipcc_key_parse(buf, &back));
		CHECK_EQ(back, (key_t)(int32_t)k);
	}
}

static void check_id(const char *s, int want_r, int want_id, int line)
{
	int id = -12345;
	int r = ipcc_id_parse(s, &id);

	if (r != want_r || (want_r == 0 && id != want_id)) {
		fprintf(stderr, "%s:%d: ipcc_id_parse(\"%s\"): got %d id %d, "
		        "want %d id %d\n", __FILE__, line, s, r, id, want_r,
		        want_id);
		check_failures++;
	}
}

#define ID_OK(s, v) check_id(s, 0, v, __LINE__)
#define ID_BAD(s) check_id(s, -EINVAL, 0, __LINE__)

static void test_id_parse(void)
{
	ID_OK("0", 0);
	ID_OK("1", 1);
	ID_OK("123", 123);
	ID_OK("2147483647", 2147483647);

	ID_BAD("");
	ID_BAD("00");
	ID_BAD("01");
	ID_BAD("007");
	ID_BAD("-1");
	ID_BAD("-0");
	ID_BAD("+1");
	ID_BAD("2147483648");
	ID_BAD("4294967296");
	ID_BAD("99999999999999999999");
	ID_BAD("1a");
	ID_BAD("a1");
	ID_BAD(" 1");
	ID_BAD("1 ");
	ID_BAD("1\n");
	ID_BAD("0x10");
	ID_BAD("1.0");
	ID_BAD("1e3");
}

static void check_size(const char *s, int want_r, uint64_t want, int line)
{
	uint64_t v = 0x5a5a5a5a;
	int r = ipcc_size_parse(s, &v);

	if (r != want_r || (want_r == 0 && v != want)) {
		fprintf(stderr, "%s:%d: ipcc_size_parse(\"%s\"): got %d size %llu, "
		        "want %d size %llu\n", __FILE__, line, s, r,
		        (unsigned long long)v, want_r, (unsigned long long)want);
		check_failures++;
	}
}

#define SIZE_OK(s, v) check_size(s, 0, v, __LINE__)
#define SIZE_ERR(s, e) check_size(s, -(e), 0, __LINE__)

static void test_size_parse(void)
{
	SIZE_OK("0", 0);
	SIZE_OK("1", 1);
	SIZE_OK("4096", 4096);
	SIZE_OK("1K", 1024);
	SIZE_OK("1k", 1024);
	SIZE_OK("3K", 3072);
	SIZE_OK("1M", 1048576);
	SIZE_OK("1m", 1048576);
	SIZE_OK("2G", 2ull << 30);
	SIZE_OK("2g", 2ull << 30);
	SIZE_OK("1T", 1ull << 40);
	SIZE_OK("1t", 1ull << 40);
	SIZE_OK("0K", 0);
	SIZE_OK("9223372036854775807", 9223372036854775807ull);  /* 2^63-1 */
	SIZE_OK("8388607T", 8388607ull << 40);
	SIZE_OK("9007199254740991K", 9007199254740991ull << 10);
	SIZE_OK("8589934591G", 8589934591ull << 30);

	SIZE_ERR("9223372036854775808", ERANGE);                  /* 2^63 */
	SIZE_ERR("18446744073709551615", ERANGE);
	SIZE_ERR("18446744073709551616", ERANGE);
	SIZE_ERR("99999999999999999999999999", ERANGE);
	SIZE_ERR("8388608T", ERANGE);                             /* 2^63 */
	SIZE_ERR("9007199254740992K", ERANGE);                    /* 2^63 */
	SIZE_ERR("8589934592G", ERANGE);                          /* 2^63 */
	SIZE_ERR("16777216T", ERANGE);                            /* 2^64 */
	SIZE_ERR("9007199254740992G", ERANGE);

	SIZE_ERR("", EINVAL);
	SIZE_ERR("K", EINVAL);
	SIZE_ERR("-1", EINVAL);
	SIZE_ERR("+1", EINVAL);
	SIZE_ERR(" 1", EINVAL);
	SIZE_ERR("1 ", EINVAL);
	SIZE_ERR("1 K", EINVAL);
	SIZE_ERR("1KB", EINVAL);
	SIZE_ERR("1KiB", EINVAL);
	SIZE_ERR("1B", EINVAL);
	SIZE_ERR("1P", EINVAL);
	SIZE_ERR("1E", EINVAL);
	SIZE_ERR("1KK", EINVAL);
	SIZE_ERR("1.5K", EINVAL);
	SIZE_ERR("0x10", EINVAL);
	SIZE_ERR("1e3", EINVAL);
	SIZE_ERR("abc", EINVAL);
	SIZE_ERR("1\n", EINVAL);
}

static void check_name(const char *s, int for_create, int want, int line)
{
	int r = ipcc_name_check(s, for_create);

	if (r != want) {
		char g[64], w[64];

		fprintf(stderr, "%s:%d: ipcc_name_check(\"%.40s%s\" (len %zu), %d): "
		        "got %s, want %s\n", __FILE__, line, s,
		        strlen(s) > 40 ? "..." : "", strlen(s), for_create,
		        check_fmt(r, g), check_fmt(want, w));
		check_failures++;
	}
}

/* NAME(s, result without create, result with create) */
#define NAME(s, open_r, create_r)                                          \
	do {                                                               \
		check_name(s, 0, open_r, __LINE__);                        \
		check_name(s, 1, create_r, __LINE__);                      \
	} while (0)

static void test_name_check(void)
{
	char name[IPCC_NAME_MAX + 3];

	NAME("a", 0, 0);
	NAME("/a", 0, 0);
	NAME("myapp.v1.buffer", 0, 0);
	NAME("a.b", 0, 0);
	NAME(".a", 0, 0);
	NAME("a.", 0, 0);
	NAME("...", 0, -EINVAL);
	NAME("a..b", 0, -EINVAL);
	NAME("..a", 0, -EINVAL);
	NAME("a..", 0, -EINVAL);
	NAME("/a..b", 0, -EINVAL);
	NAME("sem.x", 0, 0);
	NAME("with space", 0, 0);

	NAME("", -EINVAL, -EINVAL);
	NAME("/", -EINVAL, -EINVAL);
	NAME(".", -EINVAL, -EINVAL);
	NAME("..", -EINVAL, -EINVAL);
	NAME("/.", -EINVAL, -EINVAL);
	NAME("/..", -EINVAL, -EINVAL);
	NAME("a/b", -EINVAL, -EINVAL);
	NAME("a/", -EINVAL, -EINVAL);
	NAME("//a", -EINVAL, -EINVAL);
	NAME("/a/", -EINVAL, -EINVAL);

	/* IPCC_NAME_MAX bytes, without and with the optional '/' */
	memset(name, 'x', sizeof(name));
	name[IPCC_NAME_MAX] = '\0';
	NAME(name, 0, 0);
	name[IPCC_NAME_MAX] = 'x';
	name[IPCC_NAME_MAX + 1] = '\0';
	NAME(name, -ENAMETOOLONG, -ENAMETOOLONG);
	name[0] = '/';
	NAME(name, 0, 0);
	name[IPCC_NAME_MAX + 1] = 'x';
	name[IPCC_NAME_MAX + 2] = '\0';
	NAME(name, -ENAMETOOLONG, -ENAMETOOLONG);
}

int main(void)
{
	RUN(test_fnv1a32);
	RUN(test_sem_key);
	RUN(test_key_parse);
	RUN(test_key_format);
	RUN(test_id_parse);
	RUN(test_size_parse);
	RUN(test_name_check);
	return check_exit();
}
