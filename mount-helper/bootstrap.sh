# Shared by mount-helper/quickstart and tests/run-all (sourced, not run):
# install what is missing from Debian's packages, then build with meson.

IPCFS_TOP=$(cd "$(dirname "$0")/.." && pwd)

# Everything a build, a mount and the full test suite need.
IPCFS_PACKAGES="fuse3 libfuse3-dev meson ninja-build pkg-config gcc clang \
python3 python3-pytest python3-sysv-ipc attr util-linux procps man-db \
groff-base stress-ng"

ipcfs_install_deps() {
	missing=""
	for p in $IPCFS_PACKAGES; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
			missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	if [ "$(id -u)" != 0 ]; then
		echo "ipcfs: missing packages:$missing (run as root to install them)" >&2
		return 1
	fi
	echo "ipcfs: installing$missing" >&2
	apt-get update -qq &&
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
}

# ipcfs_build DIR [meson options...]: configure once, then (re)build.
ipcfs_build() {
	dir=$1; shift
	if [ ! -f "$IPCFS_TOP/$dir/build.ninja" ]; then
		meson setup "$IPCFS_TOP/$dir" "$IPCFS_TOP" "$@" >/dev/null || return 1
	fi
	ninja -C "$IPCFS_TOP/$dir" >/dev/null || ninja -C "$IPCFS_TOP/$dir"
}
