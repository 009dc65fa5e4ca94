/*
 * The kinds of IPC object ipcfs shows, in the order of their folders.  A
 * kind's place in this table fixes its node ids and its folders' ids.
 */
#include <errno.h>

#include "fs.h"

const struct fs_kind *const fs_kinds[] = {
	NULL,                   /* 0: node ids below FS_FILE_MIN are folders */
	&fs_kind_sysv,
	&fs_kind_posix,
	&fs_kind_sem,
	NULL,
};

#define NKINDS (sizeof(fs_kinds) / sizeof(fs_kinds[0]) - 1)

static unsigned index_of(const struct fs_kind *k)
{
	for (unsigned i = 1; i < NKINDS; i++)
		if (fs_kinds[i] == k)
			return i;
	assert(!"kind not in fs_kinds");
	return 0;
}

const struct fs_kind *fs_kind_of(fuse_ino_t ino)
{
	uint64_t i = (uint64_t)ino >> FS_KIND_SHIFT;

	return i >= 1 && i < NKINDS ? fs_kinds[i] : NULL;
}

uint64_t fs_kind_base(const struct fs_kind *k)
{
	return (uint64_t)index_of(k) << FS_KIND_SHIFT;
}

int fs_folder(fuse_ino_t ino, const struct fs_kind **k, int *by_id)
{
	uint64_t i = (uint64_t)ino / 2;

	if (ino < 2 || i >= NKINDS)
		return -ENOENT;
	*k = fs_kinds[i];
	*by_id = (int)(ino & 1);
	if (*by_id && !(*k)->has_ids)
		return -ENOENT;
	return 0;
}

fuse_ino_t fs_folder_ino(const struct fs_kind *k, int by_id)
{
	return (fuse_ino_t)(2 * index_of(k) + (by_id ? 1 : 0));
}

void *fs_kind_data(struct fs_state *s, const struct fs_kind *k)
{
	return s->kind_data[index_of(k)];
}

int fs_kinds_init(struct fs_state *s)
{
	static_assert(NKINDS <= FS_KINDS_MAX, "too many kinds");

	for (unsigned i = 1; i < NKINDS; i++) {
		int err;

		if (!fs_kinds[i]->init)
			continue;
		err = fs_kinds[i]->init(s, &s->kind_data[i]);
		if (err) {
			while (--i > 0)
				if (fs_kinds[i]->destroy)
					fs_kinds[i]->destroy(s->kind_data[i]);
			return err;
		}
	}
	return 0;
}

void fs_kinds_destroy(struct fs_state *s)
{
	for (unsigned i = 1; i < NKINDS; i++)
		if (fs_kinds[i]->destroy)
			fs_kinds[i]->destroy(s->kind_data[i]);
}
