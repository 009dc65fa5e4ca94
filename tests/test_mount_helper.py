"""ipcfs as mount(8), fstab and fusermount3 users meet it.

Installs the build ($IPCFS_BUILD, default <repo>/build) into a temporary
DESTDIR, then mounts the installed daemon for real: through the installed
helper run the way mount(8) runs it, through `mount -t fuse.ipcfs` and
`mount -t ipcfs` (the helpers are made visible in /sbin for the duration),
through a temporary /etc/fstab line, and as an unprivileged user through
fusermount3. Also renders the man page.

Self-contained: every fixture is defined here and named mh_*. Whatever
happens, the fixtures unmount what they mounted, stop the daemons, restore
/etc/fstab and /sbin, and remove their temporary directories.
"""

import json
import os
import pathlib
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
import types

import pytest

import util

MH_REPO = pathlib.Path(__file__).resolve().parent.parent
MH_BUILD = pathlib.Path(os.environ.get("IPCFS_BUILD", MH_REPO / "build"))
MH_MAN_SRC = MH_REPO / "mount-helper" / "ipcfs.8"
MH_QUICKSTART = MH_REPO / "mount-helper" / "quickstart"
MH_TMP_PREFIX = "ipcfs-mh-"
MH_NOBODY = 65534
MH_SETPRIV = ["setpriv", f"--reuid={MH_NOBODY}", f"--regid={MH_NOBODY}", "--clear-groups"]
MH_FSTAB = pathlib.Path("/etc/fstab")
MH_SBIN = pathlib.Path("/sbin")
MH_HELPERS = ("mount.fuse.ipcfs", "mount.ipcfs")
# Lines are given back to the user exactly as they were; this marks ours.
MH_TAG = "x-ipcfs-mh-" + secrets.token_hex(4)


def mh_run(cmd, env=None, timeout=60):
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True,
                          env=env, timeout=timeout)


def mh_ok(cmd, env=None):
    r = mh_run(cmd, env=env)
    assert r.returncode == 0, f"{cmd}: exit {r.returncode}\n{r.stdout}{r.stderr}"
    return r


def mh_unescape(field):
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def mh_mounts():
    """(source, target, type, options) of every mount, in mount order."""
    rows = []
    with open("/proc/self/mounts") as f:
        for line in f:
            src, tgt, typ, opts = line.split()[:4]
            rows.append((mh_unescape(src), mh_unescape(tgt), typ, opts))
    return rows


def mh_mounts_at(path):
    return [m for m in mh_mounts() if m[1] == str(path)]


def mh_daemon_pids(path):
    """Pids of ipcfs daemons whose command line names this mount point."""
    want = os.fsencode(str(path))
    pids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")[:-1]
        except OSError:
            continue
        if argv and os.path.basename(argv[0]) == b"ipcfs" and want in argv[1:]:
            pids.append(int(d))
    return pids


def mh_wait_gone(path, deadline_s=15.0):
    """Waits for the daemons of a mount point to exit; returns those left."""
    end = time.monotonic() + deadline_s
    while True:
        left = mh_daemon_pids(path)
        if not left or time.monotonic() > end:
            return left
        time.sleep(0.05)


def mh_force_cleanup(root):
    """Unmounts everything at or below root (innermost first), stops daemons."""
    root = str(root)

    def below():
        return [m[1] for m in mh_mounts()
                if m[1] == root or m[1].startswith(root + "/")]

    for _ in range(4):
        targets = below()
        if not targets:
            break
        for t in reversed(targets):
            for cmd in (["umount", t], ["fusermount3", "-u", t],
                        ["fusermount3", "-uz", t], ["umount", "-l", t]):
                if mh_run(cmd).returncode == 0:
                    break
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")[:-1]
        except OSError:
            continue
        if argv and os.path.basename(argv[0]) == b"ipcfs" and any(
                a.startswith(os.fsencode(root)) for a in argv[1:]):
            try:
                os.kill(int(d), signal.SIGKILL)
            except ProcessLookupError:
                pass


def mh_check_mounted(path, daemon=None):
    """The mount at path is ipcfs's; returns its options and daemon pid."""
    rows = mh_mounts_at(path)
    assert len(rows) == 1, f"expected one mount at {path}: {rows}"
    src, _, typ, opts = rows[0]
    assert (src, typ) == ("ipcfs", "fuse.ipcfs")
    assert "default_permissions" in opts.split(",")
    pids = mh_daemon_pids(path)
    assert len(pids) == 1, f"expected one ipcfs daemon for {path}: {pids}"
    if daemon is not None:
        assert os.readlink(f"/proc/{pids[0]}/exe") == os.path.realpath(daemon)
    return opts.split(","), pids[0]


def mh_check_rw(path, user=None):
    """Writes and reads a POSIX shm object through the mount with the shell."""
    name = f"ipcfs-mh-{secrets.token_hex(6)}"
    obj = pathlib.Path(path, "posix", name)
    shm = pathlib.Path("/dev/shm", name)
    pre = MH_SETPRIV if user else []
    try:
        mh_ok(pre + ["sh", "-c", 'echo "hello ipcfs" > "$1"', "sh", obj])
        assert mh_ok(pre + ["cat", obj]).stdout == "hello ipcfs\n"
        assert shm.read_bytes() == b"hello ipcfs\n"
        assert name in mh_ok(pre + ["ls", obj.parent]).stdout.split()
        assert mh_ok(pre + ["ls", path]).stdout.split() == util.ROOT_FOLDERS
        mh_ok(pre + ["rm", obj])
        assert not shm.exists()
    finally:
        try:
            shm.unlink()
        except FileNotFoundError:
            pass


def mh_umount_and_check(path, cmd=None):
    pids = mh_daemon_pids(path)
    assert pids
    mh_ok(cmd or ["umount", path])
    assert mh_mounts_at(path) == []
    assert mh_wait_gone(path) == [], "the daemon did not exit after the unmount"


def mh_man_text():
    env = {k: v for k, v in os.environ.items() if k != "MAN_KEEP_FORMATTING"}
    r = mh_run(["man", "-l", MH_MAN_SRC], env=dict(env, MANWIDTH="80"))
    assert r.returncode == 0, r.stderr
    # Undo hyphenation at line ends so words can be searched.
    return re.sub("\u2010\n\\s*", "", r.stdout)


def mh_man_example(first, last):
    """The lines of a man page example from the one starting with first
    to the one starting with last, indentation removed."""
    lines = [l.strip() for l in mh_man_text().splitlines()]
    start = next(i for i, l in enumerate(lines) if l.startswith(first))
    end = next(i for i in range(start, len(lines)) if lines[i].startswith(last))
    return lines[start:end + 1]


# ---------------------------------------------------------------- fixtures

def mh_require_mounting():
    if os.geteuid() != 0:
        pytest.skip("mount tests need root")
    if not os.path.exists("/dev/fuse"):
        pytest.skip("no /dev/fuse")
    if not (MH_BUILD / "build.ninja").exists():
        pytest.skip(f"no meson build at {MH_BUILD} (set IPCFS_BUILD)")


@pytest.fixture(scope="module")
def mh_install():
    """The build installed into a temporary DESTDIR."""
    mh_require_mounting()
    destdir = pathlib.Path(tempfile.mkdtemp(prefix=MH_TMP_PREFIX + "destdir-"))
    try:
        r = mh_run(["meson", "install", "-C", MH_BUILD, "--destdir", destdir,
                    "--quiet"], timeout=600)
        assert r.returncode == 0, f"meson install failed:\n{r.stdout}{r.stderr}"
        # The unprivileged tests run the installed daemon too.
        for d, _, _ in os.walk(destdir):
            os.chmod(d, 0o755)
        installed = {}
        r = mh_ok(["meson", "introspect", "--installed", MH_BUILD])
        for dest in json.loads(r.stdout).values():
            installed[os.path.basename(dest)] = dest
        r = mh_ok(["meson", "introspect", "--buildoptions", MH_BUILD])
        helper_dir = next(o["value"] for o in json.loads(r.stdout)
                          if o["name"] == "mount_helper_dir")
        for name in ("ipcfs", "mount.fuse.ipcfs", "mount.ipcfs", "ipcfs.8"):
            assert name in installed, f"meson install does not install {name}"
        inst = types.SimpleNamespace(
            destdir=destdir,
            daemon_path=installed["ipcfs"],  # where the helper looks
            daemon=pathlib.Path(str(destdir) + installed["ipcfs"]),
            helper=pathlib.Path(str(destdir) + installed["mount.fuse.ipcfs"]),
            alias=pathlib.Path(str(destdir) + installed["mount.ipcfs"]),
            man=pathlib.Path(str(destdir) + installed["ipcfs.8"]),
            helper_dir=helper_dir,
        )
        inst.env = dict(os.environ, IPCFS_DAEMON=str(inst.daemon))
        yield inst
    finally:
        shutil.rmtree(destdir, ignore_errors=True)


@pytest.fixture(scope="module")
def mh_sbin(mh_install):
    """The installed helpers where mount(8) looks for them: a symlink if
    /sbin has none, else bind-mounted over the existing file (which stays
    untouched); undone whatever happens."""
    undo = []
    try:
        for name in MH_HELPERS:
            target = MH_SBIN / name
            src = mh_install.helper.parent / name
            if target.is_symlink() and not target.exists() and \
                    MH_TMP_PREFIX in os.readlink(target):
                target.unlink()  # left by an interrupted run of these tests
            if os.path.lexists(target):
                if not target.exists():
                    pytest.skip(f"{target} is a dangling symlink")
                mh_ok(["mount", "--bind", os.path.realpath(src), target])
                undo.append(("umount", target))
            else:
                os.symlink(src, target)
                undo.append(("unlink", target))
        yield
    finally:
        for kind, target in reversed(undo):
            if kind == "unlink":
                target.unlink()
            else:
                mh_run(["umount", target])


@pytest.fixture
def mh_tmp():
    """A temporary directory (0755) whose mounts and daemons are cleaned."""
    tmp = pathlib.Path(tempfile.mkdtemp(prefix=MH_TMP_PREFIX))
    os.chmod(tmp, 0o755)
    try:
        yield tmp
    finally:
        mh_force_cleanup(tmp)
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture
def mh_mnt(mh_tmp):
    mnt = mh_tmp / "mnt"
    mnt.mkdir()
    return mnt


@pytest.fixture
def mh_fstab():
    """add(line) appends to /etc/fstab; the original bytes are written back
    in place afterwards, whatever happens."""
    orig = MH_FSTAB.read_bytes()

    def add(line):
        with open(MH_FSTAB, "ab") as f:
            if not MH_FSTAB.read_bytes().endswith(b"\n") and MH_FSTAB.stat().st_size:
                f.write(b"\n")
            f.write(line.encode() + b"\n")

    try:
        yield add
    finally:
        with open(MH_FSTAB, "wb") as f:
            f.write(orig)
        assert MH_FSTAB.read_bytes() == orig


# ------------------------------------------------------------ installation

def test_install_puts_everything_in_place(mh_install):
    assert os.access(mh_install.daemon, os.X_OK)
    assert os.access(mh_install.helper, os.X_OK)
    assert str(mh_install.helper) == f"{mh_install.destdir}{mh_install.helper_dir}/mount.fuse.ipcfs"
    assert os.path.realpath(mh_install.alias) == os.path.realpath(mh_install.helper)
    assert mh_install.man.read_bytes() == MH_MAN_SRC.read_bytes()
    r = mh_ok([mh_install.daemon, "--version"])
    assert "ipcfs version" in r.stdout + r.stderr


def test_helper_runs_the_daemon_of_its_install_prefix(mh_install, mh_mnt):
    # Without IPCFS_DAEMON the helper runs <prefix>/<bindir>/ipcfs, or says
    # it is missing: either way it names that path.
    env = {k: v for k, v in os.environ.items() if k != "IPCFS_DAEMON"}
    env["PATH"] = "/nonexistent"
    r = mh_run([mh_install.helper, "ipcfs", mh_mnt, "-f", "-v"], env=env)
    assert mh_install.daemon_path in r.stderr
    assert mh_mounts_at(mh_mnt) == []


def test_helper_fake_mount_checks_and_mounts_nothing(mh_install, mh_mnt):
    r = mh_run([mh_install.helper, "ipcfs", mh_mnt, "-f", "-v", "-o",
                "rw,nosuid,allow_other,noauto,x-systemd.automount"],
               env=mh_install.env)
    assert r.returncode == 0, r.stderr
    # every option goes on; the daemon alone drops those meant for fstab
    assert r.stderr == (f"mount.fuse.ipcfs: {mh_install.daemon} -o "
                        f"rw,nosuid,allow_other,noauto,x-systemd.automount "
                        f"{mh_mnt}\n")
    assert mh_mounts_at(mh_mnt) == []
    assert mh_daemon_pids(mh_mnt) == []


@pytest.mark.parametrize("args", [[], ["ipcfs"], ["ipcfs", "/a", "/b"],
                                  ["-x", "ipcfs", "/a"], ["ipcfs", "/a", "-o"],
                                  ["-t", "nfs", "ipcfs", "/a"]])
def test_helper_bad_arguments_fail_with_one_line(mh_install, args):
    r = mh_run([mh_install.helper] + args, env=mh_install.env)
    assert r.returncode == 1
    assert r.stdout == ""
    assert len(r.stderr.splitlines()) == 1
    assert r.stderr.startswith("mount.fuse.ipcfs: ")


# --------------------------------------------- the helper as mount(8) runs it

@pytest.mark.parametrize("order", ["util-linux-2.38", "flags-first"])
def test_helper_mounts_like_mount8_calls_it(mh_install, mh_mnt, order):
    # What libmount passes for an fstab line with fstab-only options (it
    # adds rw and the flags of `user`); x-* and comment= reach helpers of
    # older mount(8) versions, and -o may come more than once.
    opts = ["-o", "rw,noexec,nosuid,nodev,allow_other,noauto,user,_netdev,nofail,defaults",
            "-o", "x-systemd.automount,comment=systemd.automount,user=nobody",
            "-o", "owner,group,x-gvfs-show"]
    if order == "flags-first":
        args = ["-n"] + opts + ["-t", "fuse.ipcfs", "ipcfs", mh_mnt]
    else:
        args = ["ipcfs", mh_mnt, "-n"] + opts
    r = mh_run([mh_install.helper] + args, env=mh_install.env)
    assert r.returncode == 0, r.stderr
    opts, _ = mh_check_mounted(mh_mnt, mh_install.daemon)
    assert "allow_other" in opts
    mh_check_rw(mh_mnt)
    mh_check_rw(mh_mnt, user=MH_NOBODY)  # allow_other reached the daemon
    mh_umount_and_check(mh_mnt)


# ------------------------------------------------------------- mount(8) -t

def test_mount_t_fuse_ipcfs_allow_other(mh_install, mh_sbin, mh_mnt):
    mh_ok(["mount", "-t", "fuse.ipcfs", "ipcfs", mh_mnt, "-o", "allow_other"],
          env=mh_install.env)
    opts, _ = mh_check_mounted(mh_mnt, mh_install.daemon)
    assert "allow_other" in opts
    mh_check_rw(mh_mnt)
    mh_check_rw(mh_mnt, user=MH_NOBODY)
    mh_umount_and_check(mh_mnt)


def test_mount_and_fstab_pid_option(mh_install, mh_sbin, mh_mnt, mh_tmp,
                                    mh_fstab, container):
    """-o pid=PID through mount(8) and an fstab line: the view is of the
    container's IPC (see test_container.py for the view itself)."""
    c = container()
    name = f"ipcfs-mh-{secrets.token_hex(6)}"
    c.sh(f"printf inside > /dev/shm/{name}")
    shmid = c.run(["ipcmk", "-M", "4096"]).text.split(":")[-1].strip()
    mh_ok(["mount", "-t", "fuse.ipcfs", "ipcfs", mh_mnt, "-o",
           f"allow_other,pid={c.pid}"], env=mh_install.env)
    mh_check_mounted(mh_mnt, mh_install.daemon)
    assert os.listdir(mh_mnt / "posix") == [name]
    assert os.listdir(mh_mnt / "sysv" / "id") == [shmid]
    assert (mh_mnt / "posix" / name).read_bytes() == b"inside"
    mh_umount_and_check(mh_mnt)

    mnt = mh_tmp / "fstab"
    mnt.mkdir()
    mh_fstab(f"ipcfs {mnt} fuse.ipcfs pid={c.pid},allow_other,{MH_TAG} 0 0")
    mh_ok(["mount", mnt], env=mh_install.env)
    mh_check_mounted(mnt, mh_install.daemon)
    assert os.listdir(mnt / "posix") == [name]
    mh_umount_and_check(mnt)
    assert not os.path.exists(f"/dev/shm/{name}")


def test_mount_t_ipcfs_without_allow_other_is_private(mh_install, mh_sbin, mh_mnt):
    mh_ok(["mount", "-t", "ipcfs", "ipcfs", mh_mnt], env=mh_install.env)
    opts, _ = mh_check_mounted(mh_mnt, mh_install.daemon)
    assert "allow_other" not in opts
    mh_check_rw(mh_mnt)
    r = mh_run(MH_SETPRIV + ["ls", mh_mnt / "posix"])
    assert r.returncode != 0 and "Permission denied" in r.stderr
    mh_umount_and_check(mh_mnt)


def test_mount_unknown_option_fails_and_mounts_nothing(mh_install, mh_sbin, mh_mnt):
    r = mh_run(["mount", "-t", "fuse.ipcfs", "ipcfs", mh_mnt, "-o",
                "allow_other,bogus_opt"], env=mh_install.env)
    assert r.returncode != 0
    assert "bogus_opt" in r.stderr
    assert mh_mounts_at(mh_mnt) == []
    assert mh_wait_gone(mh_mnt) == []


def test_mount_missing_mountpoint_fails(mh_install, mh_sbin, mh_tmp):
    r = mh_run(["mount", "-t", "fuse.ipcfs", "ipcfs", mh_tmp / "absent"],
               env=mh_install.env)
    assert r.returncode != 0
    assert r.stderr.strip()
    assert mh_mounts_at(mh_tmp / "absent") == []


# ------------------------------------------------------------------- fstab

def test_fstab_line_from_the_man_page_mount_and_mount_a(mh_install, mh_sbin,
                                                        mh_tmp, mh_fstab):
    (line,) = mh_man_example("ipcfs  /mnt/ipc  fuse.ipcfs  defaults",
                             "ipcfs  /mnt/ipc  fuse.ipcfs  defaults")
    src, where, typ, opts, freq, passno = line.split()
    mnt = mh_tmp / "fstab"
    mnt.mkdir()
    mh_fstab(f"{src} {mnt} {typ} {opts},{MH_TAG} {freq} {passno}")

    mh_ok(["mount", mnt], env=mh_install.env)
    got, _ = mh_check_mounted(mnt, mh_install.daemon)
    assert "allow_other" in got
    mh_check_rw(mnt)
    mh_umount_and_check(mnt)

    # -O picks only our line, whatever else this machine's fstab holds.
    mh_ok(["mount", "-a", "-t", "fuse.ipcfs", "-O", MH_TAG], env=mh_install.env)
    mh_check_mounted(mnt, mh_install.daemon)
    # Already mounted: mount -a recognises it (source and type match) and
    # leaves it alone.
    mh_ok(["mount", "-a", "-t", "fuse.ipcfs", "-O", MH_TAG], env=mh_install.env)
    mh_check_mounted(mnt, mh_install.daemon)
    mh_check_rw(mnt, user=MH_NOBODY)
    mh_umount_and_check(mnt)


def test_fstab_only_options_are_dropped(mh_install, mh_sbin, mh_tmp, mh_fstab):
    (line,) = mh_man_example("ipcfs  /mnt/ipc  fuse.ipcfs  noauto,x-systemd",
                             "ipcfs  /mnt/ipc  fuse.ipcfs  noauto,x-systemd")
    src, _, typ, opts, freq, passno = line.split()
    assert "x-systemd.automount" in opts
    mnt = mh_tmp / "fstab"
    mnt.mkdir()
    mh_fstab(f"{src} {mnt} {typ} {opts},nofail,_netdev,user,users,nouser,"
             f"x-systemd.requires=network.target,{MH_TAG} {freq} {passno}")

    mh_ok(["mount", "-a", "-O", MH_TAG], env=mh_install.env)
    assert mh_mounts_at(mnt) == []  # noauto: not by mount -a
    mh_ok(["mount", mnt], env=mh_install.env)
    mh_check_mounted(mnt, mh_install.daemon)
    mh_check_rw(mnt)
    mh_umount_and_check(mnt)


def test_fstab_unknown_option_fails_cleanly(mh_install, mh_sbin, mh_tmp, mh_fstab):
    mnt = mh_tmp / "fstab"
    mnt.mkdir()
    mh_fstab(f"ipcfs {mnt} fuse.ipcfs defaults,bogus_opt,{MH_TAG} 0 0")
    r = mh_run(["mount", mnt], env=mh_install.env)
    assert r.returncode != 0
    assert "bogus_opt" in r.stderr
    assert mh_mounts_at(mnt) == []
    assert mh_wait_gone(mnt) == []


# ---------------------------------------------------------- unprivileged

@pytest.fixture
def mh_dev_fuse_for_users():
    """/dev/fuse as a standard system has it: crw-rw-rw-. libfuse opens it
    itself before it falls back to fusermount3, so a 0600 node (devtmpfs
    without udev's rule, as in some VMs) stops every non-root mount. The
    original mode is put back afterwards."""
    mh_require_mounting()
    mode = os.stat("/dev/fuse").st_mode & 0o7777
    if mode & 0o006 != 0o006:
        os.chmod("/dev/fuse", mode | 0o666)
    try:
        yield
    finally:
        os.chmod("/dev/fuse", mode)


def mh_user_dir(tmp):
    d = tmp / "user"
    d.mkdir()
    os.chown(d, MH_NOBODY, MH_NOBODY)
    return d


def mh_check_user_mount(mnt, inst):
    opts, _ = mh_check_mounted(mnt, inst.daemon)
    assert f"user_id={MH_NOBODY}" in opts
    mh_check_rw(mnt, user=MH_NOBODY)
    # A root-only object is listed but not readable for that user.
    name = f"ipcfs-mh-{secrets.token_hex(6)}"
    shm = pathlib.Path("/dev/shm", name)
    fd = os.open(shm, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    try:
        os.write(fd, b"secret\n")
        assert name in mh_ok(MH_SETPRIV + ["ls", mnt / "posix"]).stdout.split()
        r = mh_run(MH_SETPRIV + ["cat", mnt / "posix" / name])
        assert r.returncode == 1 and "Permission denied" in r.stderr
        r = mh_run(MH_SETPRIV + ["rm", "-f", mnt / "posix" / name])
        assert r.returncode == 1 and shm.exists()
    finally:
        os.close(fd)
        shm.unlink()
    # Without allow_other not even root gets in.
    with pytest.raises(PermissionError):
        os.listdir(mnt)


def test_nonroot_mounts_with_the_daemon_and_fusermount3(mh_install, mh_tmp,
                                                        mh_dev_fuse_for_users):
    mnt = mh_user_dir(mh_tmp)
    mh_ok(MH_SETPRIV + [mh_install.daemon, mnt])
    mh_check_user_mount(mnt, mh_install)
    mh_umount_and_check(mnt, MH_SETPRIV + ["fusermount3", "-u", mnt])


def test_nonroot_mounts_with_the_helper(mh_install, mh_tmp, mh_dev_fuse_for_users):
    # As mount(8) runs it for an fstab line with `user`: as that user.
    mnt = mh_user_dir(mh_tmp)
    mh_ok(MH_SETPRIV + [mh_install.helper, "ipcfs", mnt, "-o",
                        "rw,noexec,nosuid,nodev,user"], env=mh_install.env)
    mh_check_user_mount(mnt, mh_install)
    mh_umount_and_check(mnt, MH_SETPRIV + ["fusermount3", "-u", mnt])


def test_nonroot_mounts_an_fstab_user_line(mh_install, mh_sbin, mh_tmp, mh_fstab,
                                           mh_dev_fuse_for_users):
    # mount(8) is set-user-ID: for a user it clears the environment, so the
    # helper runs the daemon of its install prefix. That path is made to hold
    # the DESTDIR daemon in a private mount namespace, where the whole
    # user mount / use / umount happens.
    (line,) = mh_man_example("ipcfs  /mnt/ipc  fuse.ipcfs  noauto,user",
                             "ipcfs  /mnt/ipc  fuse.ipcfs  noauto,user")
    src, _, typ, opts, freq, passno = line.split()
    bindir = os.path.dirname(mh_install.daemon_path)
    if not os.path.isdir(bindir):
        pytest.skip(f"{bindir} does not exist here")
    mnt = mh_user_dir(mh_tmp)
    mh_fstab(f"{src} {mnt} {typ} {opts},{MH_TAG} {freq} {passno}")
    user = " ".join(MH_SETPRIV)
    script = f"""
        set -eu
        mount --bind "$1" "$2"
        {user} mount "$3"
        grep -F " $3 fuse.ipcfs " /proc/self/mounts
        {user} sh -c 'echo post 2 > "$1/sem/$2"; cat "$1/sem/$2"; rm "$1/sem/$2"' sh "$3" "$4"
        {user} ls "$3"
        {user} umount "$3"
        if grep -F " $3 " /proc/self/mounts; then exit 1; fi
    """
    r = mh_run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script,
                "sh", str(mh_install.destdir) + bindir, bindir, mnt,
                f"ipcfs-mh-{secrets.token_hex(6)}"])
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.splitlines()[1:] == ["2"] + util.ROOT_FOLDERS
    assert f"user_id={MH_NOBODY}" in r.stdout.splitlines()[0]
    assert mh_wait_gone(mnt) == []


def test_nonroot_allow_other_needs_fuse_conf(mh_install, mh_tmp, mh_dev_fuse_for_users):
    conf = pathlib.Path("/etc/fuse.conf")
    if conf.exists() and re.search(r"^\s*user_allow_other", conf.read_text(), re.M):
        pytest.skip("/etc/fuse.conf allows allow_other")
    mnt = mh_user_dir(mh_tmp)
    r = mh_run(MH_SETPRIV + [mh_install.daemon, "-o", "allow_other", mnt])
    assert r.returncode != 0
    assert "user_allow_other" in r.stderr
    assert mh_mounts_at(mnt) == []
    assert mh_wait_gone(mnt) == []


# ---------------------------------------------------------------- systemd

@pytest.mark.skipif(not os.path.isdir("/run/systemd/system"),
                    reason="systemd is not running: the mount unit example is untested")
def test_systemd_mount_unit(mh_install, mh_sbin, mh_tmp):
    mnt = mh_tmp / "sd"
    mnt.mkdir()
    unit = mh_ok(["systemd-escape", "--path", "--suffix=mount", mnt]).stdout.strip()
    path = pathlib.Path("/run/systemd/system", unit)
    text = "\n".join(mh_man_example("[Unit]", "WantedBy=")) + "\n"
    text = text.replace("Where=/mnt/ipc", f"Where={mnt}")
    text = text.replace("[Mount]\n", f"[Mount]\nEnvironment=IPCFS_DAEMON={mh_install.daemon}\n")
    path.write_text(text)
    try:
        mh_ok(["systemctl", "daemon-reload"])
        mh_ok(["systemctl", "start", unit])
        opts, _ = mh_check_mounted(mnt, mh_install.daemon)
        assert "allow_other" in opts
        mh_check_rw(mnt)
        mh_umount_and_check(mnt, ["systemctl", "stop", unit])
    finally:
        mh_run(["systemctl", "stop", unit])
        path.unlink()
        mh_run(["systemctl", "daemon-reload"])


def test_systemd_unit_example_is_valid():
    if shutil.which("systemd-analyze") is None:
        pytest.skip("no systemd-analyze")
    lines = mh_man_example("[Unit]", "WantedBy=")
    assert "Type=fuse.ipcfs" in lines and "What=ipcfs" in lines
    with tempfile.TemporaryDirectory(prefix=MH_TMP_PREFIX) as d:
        unit = pathlib.Path(d, "mnt-ipc.mount")
        unit.write_text("\n".join(lines) + "\n")
        r = mh_run(["systemd-analyze", "verify", "--man=no", unit], timeout=120)
        assert r.returncode == 0, r.stderr
        assert "mnt-ipc.mount:" not in r.stderr, r.stderr


# --------------------------------------------------------------- man page

def test_man_page_renders_without_warnings():
    r = mh_run(["man", "--warnings", "-l", MH_MAN_SRC], env=dict(os.environ, MANWIDTH="80"))
    assert r.returncode == 0
    assert r.stderr == ""
    r = mh_run(["groff", "-ww", "-man", "-Tutf8", MH_MAN_SRC])
    assert r.returncode == 0
    assert r.stderr == ""


def test_man_page_covers_commands_options_and_caveats():
    text = mh_man_text()
    sections = re.findall(r"^([A-Z][A-Z ,:/]+)$", text, re.M)
    for s in ("NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "MOUNT HELPER",
              "MOUNTING", "SECURITY", "EXIT STATUS", "ERRORS", "FILES",
              "NOTES", "EXAMPLES", "SEE ALSO"):
        assert s in sections
    words = set(re.findall(r"[\w./=-]+", text))
    for w in ("post", "wait", "trywait", "timedwait", "set", "sysv_size=BYTES",
              "allow_other", "allow_root", "auto_unmount", "default_permissions",
              "x-systemd.automount", "noauto", "_netdev", "nofail", "ENODEV",
              "fusermount3", "sysv/", "posix/", "sem/", "sysv-sem/",
              "posix-sem/", "sysv-msg/", "posix-mq/", "zero", "user.ipc.", "shmid",
              "nsems", "msqid",
              "max_waiters=N", "max_waiters_per_user=N", "pid=PID", "EBUSY"):
        assert w in words, w


def test_quickstart_without_argument_prints_usage():
    r = mh_run([MH_QUICKSTART])
    assert r.returncode == 2
    assert r.stdout == ""
    assert r.stderr.startswith("usage: mount-helper/quickstart MOUNTPOINT\n")
