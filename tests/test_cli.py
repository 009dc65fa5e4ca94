"""Running the daemon: options, errors, signals, unmounting."""

import os
import re
import signal
import subprocess

import pytest

import util
from conftest import DAEMON, check_environment, is_mounted


def run_daemon(args, timeout=20):
    """Runs the daemon expecting it to exit by itself; never leaves it
    running or mounted, whatever it does."""
    p = subprocess.Popen([DAEMON] + args, stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         cwd='/', start_new_session=True)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        util.kill_tree(p)
        out, err = p.communicate()
        raise AssertionError('ipcfs %r did not exit within %d s' %
                             (args, timeout))
    return util.Result(args, p.returncode, out, err.decode(errors='replace'))


def assert_one_error_line(res):
    assert res.rc != 0, res
    for marker in util.SANITIZER_MARKERS:
        assert marker not in res.err, res
    lines = res.err.rstrip('\n').split('\n')
    assert len(lines) == 1 and lines[0].strip(), \
        'want exactly one line on stderr, got %r' % res.err


@pytest.mark.parametrize('flag', ['--help', '-h'])
def test_help_prints_usage_and_exits_0(flag):
    check_environment()
    res = run_daemon([flag])
    assert res.rc == 0, res
    text = res.out.decode() + res.err
    assert 'usage' in text.lower(), text
    assert 'sysv_size' in text, 'own option not documented:\n' + text
    for marker in util.SANITIZER_MARKERS:
        assert marker not in res.err


@pytest.mark.parametrize('flag', ['--version', '-V'])
def test_version_prints_and_exits_0(flag):
    check_environment()
    res = run_daemon([flag])
    assert res.rc == 0, res
    text = res.out.decode() + res.err
    assert 'ipcfs' in text.lower() and re.search(r'\d+\.\d+', text), text
    for marker in util.SANITIZER_MARKERS:
        assert marker not in res.err


@pytest.mark.parametrize('opts', [
    ['-o', 'no_such_option'],
    ['--no-such-flag'],
    ['-o', 'sysv_size=abc'],
    ['-o', 'sysv_size=0'],
    ['-o', 'sysv_size=-5'],
    ['-o', 'sysv_size='],
])
def test_bad_option_one_line_and_nonzero(scratch_dir, opts):
    res = run_daemon(['-f'] + opts + [scratch_dir])
    assert_one_error_line(res)
    assert not is_mounted(scratch_dir)


def test_bad_option_without_foreground(scratch_dir):
    res = run_daemon(['-o', 'no_such_option', scratch_dir])
    assert_one_error_line(res)
    assert not is_mounted(scratch_dir)


@pytest.mark.parametrize('args', [[], ['-f'], ['-f', '-o', 'allow_other']])
def test_missing_mountpoint(args):
    check_environment()
    res = run_daemon(args)
    assert_one_error_line(res)


def test_nonexistent_mountpoint(scratch_dir):
    res = run_daemon(['-f', os.path.join(scratch_dir, 'nonexistent')])
    assert_one_error_line(res)
    assert not is_mounted(scratch_dir)


def test_proc_mounts_line(mnt):
    rows = [l.split() for l in open('/proc/mounts')]
    mine = [r for r in rows if r[1] == mnt.path]
    assert len(mine) == 1, mine
    src, point, fstype, opts = mine[0][:4]
    assert (src, fstype) == ('ipcfs', 'fuse.ipcfs'), mine
    opts = opts.split(',')
    # The kernel checks every access against the reported mode/owner.
    assert 'default_permissions' in opts, opts
    assert 'allow_other' in opts, opts


def test_sysv_size_option(mount_factory, ipc, umask022):
    m = mount_factory(opts=['sysv_size=20000'])
    k = ipc.key()
    util.run(['touch', m.p('sysv', util.keyname(k))])
    seg = util.shm_by_key(k)
    assert seg is not None
    assert seg['size'] == 20000
    assert util.ipcs_shm_row(seg['shmid'])['bytes'] == 20000
    assert os.stat(m.p('sysv', util.keyname(k))).st_size == 20000


def test_max_read_option(mount_factory, ipc):
    m = mount_factory(opts=['max_read=65536'])
    rows = [l.split() for l in open('/proc/mounts') if l.split()[1] == m.path]
    assert 'max_read=65536' in rows[0][3].split(','), rows
    seg = ipc.shm(size=3 * 1048576)
    data = os.urandom(3 * 1048576)
    seg.write(data)
    out = util.run(['dd', 'if=' + m.p('sysv', util.keyname(seg.key)),
                    'bs=1M', 'status=none']).out
    assert out == data


def test_sysv_size_default_is_page_size(mnt, ipc):
    k = ipc.key()
    util.sh(': > %s' % mnt.p('sysv', util.keyname(k)))
    assert util.shm_by_key(k)['size'] == util.PAGE_SIZE


def test_sysv_size_option_does_not_override_truncate(mount_factory, ipc):
    m = mount_factory(opts=['sysv_size=20000'])
    k = ipc.key()
    util.run(['truncate', '-s', '1M', m.p('sysv', util.keyname(k))])
    assert util.shm_by_key(k)['size'] == 1048576


@pytest.mark.parametrize('sig', [signal.SIGTERM, signal.SIGINT])
def test_signal_unmounts_cleanly(mount_factory, sig):
    m = mount_factory()
    assert sorted(os.listdir(m.path)) == ['posix', 'sem', 'sysv']
    os.kill(m.pid, sig)
    rc = m.proc.wait(timeout=15)
    assert rc == 0, m.stderr()
    assert not is_mounted(m.path)


def test_signal_with_open_file(mount_factory, ipc):
    """SIGTERM while a file is open still exits 0."""
    m = mount_factory()
    seg = ipc.shm(size=4096)
    fd = os.open(m.p('sysv', util.keyname(seg.key)), os.O_RDWR)
    try:
        os.kill(m.pid, signal.SIGTERM)
        rc = m.proc.wait(timeout=15)
        assert rc == 0, m.stderr()
    finally:
        # the connection is gone: close may report ENOTCONN
        util.errno_of(os.close, fd)
    util.wait_until(lambda: not is_mounted(m.path), what='unmount')


def test_fusermount_u_exits_0(mount_factory):
    m = mount_factory()
    os.listdir(m.sysv)
    util.run(['fusermount3', '-u', m.path])
    assert m.proc.wait(timeout=15) == 0, m.stderr()
    assert not is_mounted(m.path)


def test_umount_exits_0(mount_factory):
    m = mount_factory()
    util.run(['umount', m.path])
    assert m.proc.wait(timeout=15) == 0, m.stderr()


@pytest.mark.parametrize('args', [['-s'], ['-d'], ['-s', '-d']])
def test_standard_flags(mount_factory, ipc, args):
    m = mount_factory(args=args)
    seg = ipc.shm(size=4096)
    seg.write(b'flags')
    path = m.p('sysv', util.keyname(seg.key))
    assert util.keyname(seg.key) in os.listdir(m.sysv)
    assert util.read_file(path)[:5] == b'flags'
    if '-d' in args:
        # debug output goes to stderr
        util.wait_until(lambda: len(m.stderr()) > 0, what='debug output')


def test_auto_unmount_on_kill(mount_factory):
    m = mount_factory(opts=['auto_unmount'])
    assert is_mounted(m.path)
    os.kill(m.pid, signal.SIGKILL)
    m.proc.wait(timeout=10)
    m.expect_rc = None
    util.wait_until(lambda: not is_mounted(m.path), what='auto unmount')


def test_background_mode(scratch_dir):
    """Without -f the daemon forks, the parent exits 0 once mounted."""
    res = run_daemon(['-o', 'allow_other', scratch_dir])
    assert res.rc == 0, res
    try:
        assert is_mounted(scratch_dir)
        assert sorted(os.listdir(scratch_dir)) == ['posix', 'sem', 'sysv']
    finally:
        util.run(['fusermount3', '-u', scratch_dir], rc=None)
    assert not is_mounted(scratch_dir)
    # the background daemon goes away after the unmount
    def gone():
        for pid in os.listdir('/proc'):
            if not pid.isdigit():
                continue
            try:
                cmd = open('/proc/%s/cmdline' % pid, 'rb').read()
            except OSError:
                continue
            if scratch_dir.encode() in cmd and DAEMON.encode() in cmd:
                return False
        return True
    util.wait_until(gone, timeout=15, what='background daemon to exit')


def test_mount_is_world_reachable(mnt):
    """allow_other: the second user sees the tree."""
    res = util.run(['ls', mnt.path], uid=util.NOBODY)
    assert res.text.split() == ['posix', 'sem', 'sysv']
