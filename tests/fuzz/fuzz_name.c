/*
 * libFuzzer harness for ipcc_name_check, ipcc_sem_key and ipcc_fnv1a32
 * (posix/<name> and sem/<name>).
 *
 * The first byte's low bit is for_create; the rest, cut at its first NUL,
 * is the name.  Checked against the header: one leading '/' ignored;
 * empty, ".", "..", a '/' -> -EINVAL; longer than IPCC_NAME_MAX ->
 * -ENAMETOOLONG (either errno when both faults are present); with
 * for_create, ".." anywhere -> -EINVAL.  A name valid for create is valid
 * for lookup.  For a valid name, ipcc_sem_key is fnv1a32("/" name), and
 * ipcc_fnv1a32 of the raw input equals the reference FNV-1a.
 */
#include <stdint.h>
#include <string.h>

#include "ipcc.h"
#include "fuzz.h"

static uint32_t model_fnv1a32(const void *data, size_t len)
{
	const unsigned char *p = data;
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 16777619u;
	}
	return h;
}

/* 0, -EINVAL, -ENAMETOOLONG, or 1 for "either of the two". */
static int model_check(const char *name, int for_create)
{
	const char *s = name[0] == '/' ? name + 1 : name;
	size_t len = strlen(s);
	int inval, toolong;

	inval = len == 0 || strcmp(s, ".") == 0 || strcmp(s, "..") == 0 ||
	        strchr(s, '/') != NULL || (for_create && strstr(s, "..") != NULL);
	toolong = len > IPCC_NAME_MAX;
	if (inval && toolong)
		return 1;
	return inval ? -EINVAL : toolong ? -ENAMETOOLONG : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *name;
	int for_create, rc, model;

	if (size == 0)
		return 0;
	for_create = data[0] & 1;
	name = malloc(size);
	FUZZ_CHECK(name != NULL, "out of memory");
	memcpy(name, data + 1, size - 1);
	name[size - 1] = '\0';

	rc = ipcc_name_check(name, for_create);
	model = model_check(name, for_create);
	if (model == 1)
		FUZZ_CHECK(rc == -EINVAL || rc == -ENAMETOOLONG,
		           "\"%.40s\" (%zu bytes, create %d): rc %d", name,
		           strlen(name), for_create, rc);
	else
		FUZZ_CHECK(rc == model, "\"%.40s\" (%zu bytes, create %d): rc %d, "
		           "model %d", name, strlen(name), for_create, rc, model);
	if (for_create && rc == 0)
		FUZZ_CHECK(ipcc_name_check(name, 0) == 0,
		           "\"%.40s\" valid for create, not for lookup", name);

	if (rc == 0) {
		const char *s = name[0] == '/' ? name + 1 : name;
		size_t len = strlen(s);
		char *slashed = malloc(len + 2);
		uint32_t want;

		FUZZ_CHECK(slashed != NULL, "out of memory");
		slashed[0] = '/';
		memcpy(slashed + 1, s, len + 1);
		want = model_fnv1a32(slashed, len + 1);
		FUZZ_CHECK((uint32_t)ipcc_sem_key(name) == want,
		           "sem key of \"%.40s\": 0x%08x, fnv1a32 0x%08x", name,
		           (unsigned)ipcc_sem_key(name), (unsigned)want);
		free(slashed);
	}
	FUZZ_CHECK(ipcc_fnv1a32(data, size) == model_fnv1a32(data, size),
	           "fnv1a32 of %zu bytes: 0x%08x, reference 0x%08x", size,
	           (unsigned)ipcc_fnv1a32(data, size),
	           (unsigned)model_fnv1a32(data, size));
	free(name);
	return 0;
}
