/*
 * Object names, key names, ids and sizes: the text forms users type.
 * Every parser takes the whole string or rejects it.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "ipcc_int.h"

int ipcc_name_check(const char *name, int for_create)
{
	size_t len;

	if (!name)
		return -EINVAL;
	name = ipcc_name_bare(name);
	len = strlen(name);
	if (len > IPCC_NAME_MAX)
		return -ENAMETOOLONG;
	if (len == 0 || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return -EINVAL;
	if (memchr(name, '/', len))
		return -EINVAL;
	if (for_create && strstr(name, ".."))
		return -EINVAL;
	return 0;
}

void ipcc_name_slash(const char *name, char buf[IPCC_NAME_MAX + 2])
{
	name = ipcc_name_bare(name);
	buf[0] = '/';
	/* checked names are at most IPCC_NAME_MAX bytes; cut anyway */
	strncpy(buf + 1, name, IPCC_NAME_MAX);
	buf[IPCC_NAME_MAX + 1] = '\0';
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int ipcc_key_parse(const char *s, key_t *key)
{
	uint32_t v = 0;
	size_t n;

	if (!s || s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
		return -EINVAL;
	s += 2;
	for (n = 0; s[n]; n++) {
		int d = hex_digit(s[n]);

		if (d < 0 || n >= 8)
			return -EINVAL;
		v = v << 4 | (uint32_t)d;
	}
	if (n == 0 || v == 0)
		return -EINVAL;
	*key = (key_t)(int32_t)v;
	return 0;
}

void ipcc_key_format(key_t key, char buf[IPCC_KEY_STRLEN])
{
	snprintf(buf, IPCC_KEY_STRLEN, "0x%08x", (unsigned)(uint32_t)key);
}

int ipcc_id_parse(const char *s, int *id)
{
	long long v = 0;
	size_t n;

	if (!s || !s[0] || (s[0] == '0' && s[1]))
		return -EINVAL;
	for (n = 0; s[n]; n++) {
		if (s[n] < '0' || s[n] > '9')
			return -EINVAL;
		v = v * 10 + (s[n] - '0');
		if (v > INT_MAX)
			return -EINVAL;
	}
	*id = (int)v;
	return 0;
}

int ipcc_size_parse(const char *s, uint64_t *size)
{
	uint64_t v = 0;
	unsigned shift = 0;
	int overflow = 0;
	size_t n;

	if (!s)
		return -EINVAL;
	for (n = 0; s[n] >= '0' && s[n] <= '9'; n++) {
		unsigned d = (unsigned)(s[n] - '0');

		if (v > (UINT64_MAX - d) / 10)
			overflow = 1;
		else
			v = v * 10 + d;
	}
	if (n == 0)
		return -EINVAL;
	switch (s[n]) {
	case '\0':
		break;
	case 'k': case 'K':
		shift = 10;
		break;
	case 'm': case 'M':
		shift = 20;
		break;
	case 'g': case 'G':
		shift = 30;
		break;
	case 't': case 'T':
		shift = 40;
		break;
	default:
		return -EINVAL;
	}
	if (shift && s[n + 1] != '\0')
		return -EINVAL;
	if (overflow || v > (uint64_t)INT64_MAX >> shift)
		return -ERANGE;
	*size = v << shift;
	return 0;
}

uint32_t ipcc_fnv1a32(const void *data, size_t len)
{
	const unsigned char *p = data;
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 16777619u;
	}
	return h;
}

key_t ipcc_sem_key(const char *name)
{
	uint32_t h;

	if (!name)
		return 0;
	name = ipcc_name_bare(name);
	/* hash of "/" then of the name, without building the string */
	h = ipcc_fnv1a32("/", 1);
	for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
		h ^= *p;
		h *= 16777619u;
	}
	return (key_t)(int32_t)h;
}
