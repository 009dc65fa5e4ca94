/*
 * libFuzzer harness for ipcc_id_parse (sysv/id/<shmid>).
 *
 * The input, cut at its first NUL, is the name looked up.  Checked against
 * the header: digits only, no sign, no leading zero unless the id is 0,
 * at most INT_MAX, -EINVAL otherwise, *id untouched on failure, and a
 * parsed id prints back ("%d") as exactly the input.
 */
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "ipcc.h"
#include "fuzz.h"

#define SENTINEL 0x5eed5eed

static int model_parse(const char *s, int *id)
{
	size_t len = strlen(s);
	uint64_t v = 0;

	if (len == 0 || (s[0] == '0' && len > 1))
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (uint64_t)(s[i] - '0');
		if (v > INT_MAX)
			return -EINVAL;
	}
	*id = (int)v;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	char back[32];
	int id = SENTINEL, want = SENTINEL, rc, model;

	FUZZ_CHECK(s != NULL, "out of memory");
	memcpy(s, data, size);
	s[size] = '\0';

	rc = ipcc_id_parse(s, &id);
	model = model_parse(s, &want);
	FUZZ_CHECK(rc == model, "\"%.40s\": rc %d, model %d", s, rc, model);
	if (rc == 0) {
		FUZZ_CHECK(id == want && id >= 0, "\"%s\": id %d, model %d",
		           s, id, want);
		snprintf(back, sizeof(back), "%d", id);
		FUZZ_CHECK(strcmp(back, s) == 0, "\"%s\" prints back as \"%s\"",
		           s, back);
	} else {
		FUZZ_CHECK(id == SENTINEL, "\"%.40s\": failed with %d but set id %d",
		           s, rc, id);
	}
	free(s);
	return 0;
}
