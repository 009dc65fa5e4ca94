/*
 * libFuzzer harness for ipcc_key_parse and ipcc_key_format (sysv/<key>).
 *
 * The input, cut at its first NUL, is the name looked up.  Checked against
 * the header: "0x" or "0X", 1 to 8 hex digits of any case, nothing else,
 * key 0 refused, -EINVAL for every refusal, *key untouched on failure; a
 * parsed key formats as "0x%08x" and that parses back to the same key.
 * The first 4 bytes, as a key, are also formatted into an exactly sized
 * buffer (ASan catches a write past IPCC_KEY_STRLEN).
 */
#include <stdint.h>
#include <string.h>

#include "ipcc.h"
#include "fuzz.h"

#define SENTINEL ((key_t)0x5eed5eed)

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int model_parse(const char *s, key_t *key)
{
	size_t len = strlen(s);
	uint32_t v = 0;

	if (len < 3 || len > 10 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
		return -EINVAL;
	for (size_t i = 2; i < len; i++) {
		if (hexval(s[i]) < 0)
			return -EINVAL;
		v = v << 4 | (uint32_t)hexval(s[i]);
	}
	if (v == 0)
		return -EINVAL;
	*key = (key_t)v;
	return 0;
}

/* Formats into a heap block of exactly IPCC_KEY_STRLEN bytes. */
static void check_format(key_t key, char out[IPCC_KEY_STRLEN])
{
	char *buf = malloc(IPCC_KEY_STRLEN);
	char want[32];

	FUZZ_CHECK(buf != NULL, "out of memory");
	memset(buf, 'Z', IPCC_KEY_STRLEN);
	ipcc_key_format(key, buf);
	snprintf(want, sizeof(want), "0x%08x", (unsigned)(uint32_t)key);
	FUZZ_CHECK(memchr(buf, 0, IPCC_KEY_STRLEN) != NULL,
	           "format of 0x%08x is not NUL-terminated",
	           (unsigned)(uint32_t)key);
	FUZZ_CHECK(strcmp(buf, want) == 0, "format of key %d gave \"%s\"",
	           (int)key, buf);
	memcpy(out, buf, IPCC_KEY_STRLEN);
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	char name[IPCC_KEY_STRLEN];
	key_t key = SENTINEL, want = SENTINEL, again = SENTINEL;
	int rc, model;

	FUZZ_CHECK(s != NULL, "out of memory");
	memcpy(s, data, size);
	s[size] = '\0';

	rc = ipcc_key_parse(s, &key);
	model = model_parse(s, &want);
	FUZZ_CHECK(rc == model, "\"%.40s\": rc %d, model %d", s, rc, model);
	if (rc == 0) {
		FUZZ_CHECK(key == want && key != 0, "\"%s\": key 0x%08x, model 0x%08x",
		           s, (unsigned)key, (unsigned)want);
		check_format(key, name);
		FUZZ_CHECK(strcasecmp(name + 2, s + 2) == 0 ||
		           strlen(s) < 10, "\"%s\" formats as \"%s\"", s, name);
		rc = ipcc_key_parse(name, &again);
		FUZZ_CHECK(rc == 0 && again == key, "\"%s\" does not parse back: %d",
		           name, rc);
	} else {
		FUZZ_CHECK(key == SENTINEL, "\"%.40s\": failed with %d but set key",
		           s, rc);
	}

	if (size >= 4) {
		uint32_t raw;

		memcpy(&raw, data, 4);
		check_format((key_t)raw, name);
		again = SENTINEL;
		rc = ipcc_key_parse(name, &again);
		if (raw == 0)
			FUZZ_CHECK(rc == -EINVAL && again == SENTINEL,
			           "\"%s\" (IPC_PRIVATE) parsed: %d", name, rc);
		else
			FUZZ_CHECK(rc == 0 && (uint32_t)again == raw,
			           "\"%s\" does not parse back: %d", name, rc);
	}
	free(s);
	return 0;
}
