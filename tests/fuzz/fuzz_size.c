/*
 * libFuzzer harness for ipcc_size_parse (-o sysv_size=BYTES).
 *
 * The input, cut at its first NUL, is the option's value.  Checked against
 * the header: decimal digits, then at most one of K M G T (any case,
 * binary), nothing else; -EINVAL for syntax, -ERANGE past 2^63 - 1; *size
 * untouched on failure.  When the text is malformed and its digits also
 * overflow, either errno is accepted.
 */
#include <stdint.h>
#include <string.h>

#include "ipcc.h"
#include "fuzz.h"

#define SENTINEL UINT64_C(0x5eed5eed5eed5eed)

static int model_parse(const char *s, uint64_t *size)
{
	static const char suffixes[] = "kmgt";
	size_t len = strlen(s), digits = 0;
	int inval = 0, range = 0, shift = 0;
	uint64_t v = 0;

	while (digits < len && s[digits] >= '0' && s[digits] <= '9') {
		unsigned d = (unsigned)(s[digits] - '0');

		if (v > (UINT64_C(1) << 63) / 10)
			range = 1;
		else
			v = v * 10 + d;
		digits++;
	}
	if (digits == 0)
		inval = 1;
	if (len == digits + 1) {
		for (int i = 0; i < 4; i++)
			if (s[digits] == suffixes[i] || s[digits] == suffixes[i] - 32)
				shift = 10 * (i + 1);
		if (!shift)
			inval = 1;
	} else if (len > digits + 1) {
		inval = 1;
	}
	if (!range && v > (UINT64_C(1) << 63) - 1)
		range = 1;
	if (!range && shift && v > (((UINT64_C(1) << 63) - 1) >> shift))
		range = 1;
	if (inval || range)
		return fuzz_fold(inval, range);
	*size = v << shift;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	uint64_t got = SENTINEL, want = SENTINEL;
	int rc, model;

	FUZZ_CHECK(s != NULL, "out of memory");
	memcpy(s, data, size);
	s[size] = '\0';

	rc = ipcc_size_parse(s, &got);
	model = model_parse(s, &want);
	FUZZ_CHECK(fuzz_rc_matches(model, rc), "\"%.40s\": rc %d, model %d",
	           s, rc, model);
	if (rc == 0)
		FUZZ_CHECK(got == want && got <= INT64_MAX,
		           "\"%s\": %llu, model %llu", s,
		           (unsigned long long)got, (unsigned long long)want);
	else
		FUZZ_CHECK(got == SENTINEL, "\"%.40s\": failed with %d but set %llu",
		           s, rc, (unsigned long long)got);
	free(s);
	return 0;
}
