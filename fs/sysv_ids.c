/*
 * Names of System V objects in a kind's folder (by key, "0x%08x") and in
 * its id/ subfolder (by id, decimal): the rule shared by sysv-msg/ and
 * sysv-sem/.
 */
#include <errno.h>
#include <stdio.h>

#include "fs.h"

int fs_sysv_parse(int by_id, const char *name, key_t *key, int *id)
{
	if (by_id)
		return ipcc_id_parse(name, id) != 0 ? -ENOENT : 0;
	return ipcc_key_parse(name, key) != 0 ? -ENOENT : 0;
}

int fs_sysv_list_name(int by_id, key_t key, int id,
                      char name[FS_SYSV_NAME_MAX])
{
	if (by_id) {
		snprintf(name, FS_SYSV_NAME_MAX, "%d", id);
		return 1;
	}
	/* IPC_PRIVATE objects have no key name: id/ only */
	if (key == 0)
		return 0;
	ipcc_key_format(key, name);
	return 1;
}
