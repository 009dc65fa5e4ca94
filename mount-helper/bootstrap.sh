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

# --- libfuse >= 3.17 for FUSE passthrough (issue 12) ---------------------
#
# Debian 12 ships libfuse 3.14, which has no passthrough.  Where the
# system's libfuse is older than IPCFS_LIBFUSE_MIN, the newer `fuse3` source
# package of IPCFS_LIBFUSE_SUITE is fetched from the Debian archive this
# machine already uses (through a temporary deb-src list, removed again)
# and built as a static library into .libfuse/ (ignored by git): the
# daemon then needs no library path, and the system's libfuse3.so.3,
# fusermount3, udev rules and init scripts are never touched.
IPCFS_LIBFUSE_MIN=3.17
IPCFS_LIBFUSE_SUITE=trixie
IPCFS_LIBFUSE_DIR="$IPCFS_TOP/.libfuse"
IPCFS_LIBFUSE_PC="$IPCFS_LIBFUSE_DIR/prefix/lib/pkgconfig"
# How it is built; a .libfuse/ made another way is made again.
IPCFS_LIBFUSE_RECIPE="static; auto_unmount through fusermount3 (1)"

# The first archive URI of the machine's apt configuration (never a name
# written here): deb822 debian.sources first, then one-line sources.list.
ipcfs_apt_uri() {
	f=/etc/apt/sources.list.d/debian.sources
	if [ -r "$f" ]; then
		uri=$(sed -n 's/^URIs:[[:space:]]*\([^[:space:]]*\).*/\1/p' "$f" | head -n 1)
		[ -n "$uri" ] && { echo "$uri"; return 0; }
	fi
	f=/etc/apt/sources.list
	[ -r "$f" ] || return 1
	uri=$(sed -n 's/^deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\{0,1\}\([^[:space:]]*\).*/\2/p' "$f" | head -n 1)
	[ -n "$uri" ] && echo "$uri"
}

# Fetches and builds the newer libfuse into $IPCFS_LIBFUSE_DIR/prefix.
# A subshell, so that its trap removes the temporary list whatever happens.
ipcfs_fetch_libfuse() (
	set -e
	list=/etc/apt/sources.list.d/ipcfs-libfuse-src.sources
	work="$IPCFS_LIBFUSE_DIR/src"
	uri=$(ipcfs_apt_uri) || { echo "no Debian archive in the apt configuration" >&2; exit 1; }
	[ -n "$uri" ] || { echo "no Debian archive in the apt configuration" >&2; exit 1; }
	cleanup() {
		if [ -e "$list" ]; then
			rm -f "$list"
			apt-get update -qq -o DPkg::Lock::Timeout=300 >/dev/null 2>&1 || :
		fi
	}
	trap cleanup EXIT
	trap 'exit 1' INT TERM HUP
	cat >"$list" <<EOT
Types: deb-src
URIs: $uri
Suites: $IPCFS_LIBFUSE_SUITE
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOT
	apt-get update -qq -o DPkg::Lock::Timeout=300 >/dev/null
	rm -rf "$work"
	mkdir -p "$work"
	cd "$work"
	# as root apt would warn that _apt cannot write here; it is ours
	apt-get source -qq --download-only \
		-o APT::Sandbox::User=root fuse3 >/dev/null
	cleanup
	trap - EXIT
	tar=$(ls fuse3_*.orig.tar.* | head -n 1)
	[ -n "$tar" ] || { echo "no fuse3 source in $IPCFS_LIBFUSE_SUITE" >&2; exit 1; }
	tar -xf "$tar"
	src=$(ls -d fuse-*/ | head -n 1)
	# From 3.17 libfuse mounts by itself and then runs `fusermount3
	# --auto-unmount`, an option the system's older fusermount3 lacks (the
	# mount would never be cleaned up).  As 3.14 did, leave the mount to
	# fusermount3 when auto_unmount is asked: it then watches as well.
	f="$work/$src/lib/mount.c"
	old='res = fuse_mount_sys(mountpoint, mo, mnt_opts);'
	grep -qF "$old" "$f" ||
		{ echo "unknown $src/lib/mount.c: auto_unmount would break" >&2; exit 1; }
	sed -i "s/$old/res = mo->auto_unmount ? -2 : fuse_mount_sys(mountpoint, mo, mnt_opts);/" "$f"
	meson setup "$work/build" "$work/$src" --prefix="$IPCFS_LIBFUSE_DIR/prefix" \
		--libdir=lib --buildtype=release -Ddefault_library=static \
		-Dutils=false -Dexamples=false -Dtests=false -Duseroot=false \
		-Dinitscriptdir= -Dudevrulesdir= >/dev/null
	ninja -C "$work/build" >/dev/null
	meson install -C "$work/build" --quiet >/dev/null
	PKG_CONFIG_PATH="$IPCFS_LIBFUSE_PC" PKG_CONFIG_LIBDIR= \
		pkg-config --atleast-version="$IPCFS_LIBFUSE_MIN" fuse3 ||
		{ echo "fetched fuse3 is older than $IPCFS_LIBFUSE_MIN" >&2; exit 1; }
	echo "$IPCFS_LIBFUSE_RECIPE" >"$IPCFS_LIBFUSE_DIR/prefix/recipe"
	rm -rf "$work"
)

# Prints the pkg-config dir to build the fast path (passthrough) against:
# empty when the system's libfuse is new enough.  Returns 1 (after one line
# on stderr) when there is none: then build against the system's libfuse.
ipcfs_libfuse_fast() {
	if pkg-config --atleast-version="$IPCFS_LIBFUSE_MIN" fuse3 2>/dev/null; then
		return 0
	fi
	if [ -f "$IPCFS_LIBFUSE_PC/fuse3.pc" ] &&
		[ "$(cat "$IPCFS_LIBFUSE_DIR/prefix/recipe" 2>/dev/null)" = "$IPCFS_LIBFUSE_RECIPE" ]; then
		echo "$IPCFS_LIBFUSE_PC"
		return 0
	fi
	sys=$(pkg-config --modversion fuse3 2>/dev/null || echo none)
	if [ "$(id -u)" != 0 ]; then
		echo "ipcfs: libfuse $sys has no passthrough; run as root to fetch libfuse >= $IPCFS_LIBFUSE_MIN (building without it)" >&2
		return 1
	fi
	echo "ipcfs: libfuse $sys has no passthrough: building libfuse >= $IPCFS_LIBFUSE_MIN from Debian $IPCFS_LIBFUSE_SUITE's source into .libfuse/" >&2
	rm -rf "$IPCFS_LIBFUSE_DIR/prefix"
	if ! ipcfs_fetch_libfuse >&2; then
		rm -rf "$IPCFS_LIBFUSE_DIR/prefix" "$IPCFS_LIBFUSE_DIR/src"
		echo "ipcfs: could not fetch or build it (no network?): building against the system's libfuse $sys, without passthrough" >&2
		return 1
	fi
	echo "$IPCFS_LIBFUSE_PC"
}

# ipcfs_build_fast DIR [meson options...]: DIR against the newest libfuse
# there is (the fast path); the system's if none newer can be had.
ipcfs_build_fast() {
	dir=$1; shift
	pc=$(ipcfs_libfuse_fast) || pc=
	ipcfs_build_with "$pc" "$dir" "$@"
}

# ipcfs_build_with PKG_CONFIG_DIR DIR [meson options...]: ipcfs_build against
# the libfuse in PKG_CONFIG_DIR (empty: the system's).  A build folder made
# against another libfuse is set up again.
ipcfs_build_with() {
	pc=$1 dir=$2; shift 2
	stamp="$IPCFS_TOP/$dir/ipcfs-libfuse"
	want="libfuse:$pc"
	[ -z "$pc" ] || want="$want $(cat "${pc%/lib/pkgconfig}/recipe" 2>/dev/null)"
	if [ -f "$IPCFS_TOP/$dir/build.ninja" ] &&
		[ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
		rm -rf "${IPCFS_TOP:?}/$dir"
	fi
	ipcfs_build "$dir" -Dpkg_config_path="$pc" "$@" || return 1
	echo "$want" >"$stamp"
}
