"""The user documentation (README.md, mount-helper/ipcfs.8) against the
built daemon: every option the man page documents is one --help knows,
every folder it names is in a fresh mount, the man page renders without a
warning, and the README stands on its own (no link out of the repository).
"""

import os
import re
import subprocess

import pytest

from conftest import DAEMON, TOP, check_environment

README = os.path.join(TOP, 'README.md')
MANPAGE = os.path.join(TOP, 'mount-helper', 'ipcfs.8')


def man_lines():
    with open(MANPAGE, encoding='utf-8') as f:
        return f.read().splitlines()


def man_section(title):
    """The lines of the man page's `.SH title` section (without it)."""
    lines = man_lines()
    start = None
    for i, line in enumerate(lines):
        if re.fullmatch(r'\.SH\s+"?%s"?\s*' % re.escape(title), line):
            start = i + 1
            break
    assert start is not None, 'ipcfs.8 has no .SH %s section' % title
    end = len(lines)
    for i in range(start, len(lines)):
        if lines[i].startswith('.SH'):
            end = i
            break
    return lines[start:end]


def item_tags(lines):
    """The tag lines of the section's items: the line after each .TP."""
    return [lines[i + 1] for i, line in enumerate(lines[:-1])
            if line.strip() == '.TP']


def roff_text(line):
    """A roff line as plain text: macros, quotes and escapes dropped."""
    line = re.sub(r'^\.[A-Z]{1,2}\s*', '', line)
    line = line.replace('\\-', '-').replace('\\&', '')
    line = re.sub(r'\\f[BIRP]', '', line)
    return line.replace('"', ' ')


def man_options():
    """(short flags, -o names, long options) the OPTIONS items document."""
    shorts, names, longs = set(), set(), set()
    for tag in item_tags(man_section('OPTIONS')):
        text = roff_text(tag)
        for m in re.finditer(r'-o\s+([a-z_][a-z0-9_]*)', text):
            names.add(m.group(1))
        text = re.sub(r'-o\s+\S+', ' ', text)
        for m in re.finditer(r'(?<![\w-])--([a-z][a-z-]*)', text):
            longs.add(m.group(1))
        for m in re.finditer(r'(?<![\w-])-([a-zA-Z])\b', text):
            shorts.add(m.group(1))
    return shorts, names, longs


def daemon_help():
    check_environment()
    res = subprocess.run([DAEMON, '--help'], stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         timeout=20)
    assert res.returncode == 0, res
    return res.stdout.decode() + res.stderr.decode()


def test_man_options_section_is_parsed():
    # the parser itself: without these the option tests prove nothing
    shorts, names, longs = man_options()
    assert {'f', 'd', 's'} <= shorts, shorts
    assert {'allow_other', 'auto_unmount', 'max_read', 'sysv_size',
            'max_waiters', 'max_waiters_per_user', 'pid'} <= names, names
    assert {'help', 'version'} <= longs, longs


def test_every_man_option_is_in_help():
    shorts, names, longs = man_options()
    text = daemon_help()
    missing = []
    for s in sorted(shorts):
        if not re.search(r'(?<![\w-])-%s\b' % s, text):
            missing.append('-' + s)
    for n in sorted(names):
        if not re.search(r'-o\s+%s\b' % re.escape(n), text):
            missing.append('-o ' + n)
    for n in sorted(longs):
        if not re.search(r'(?<![\w-])--%s\b' % re.escape(n), text):
            missing.append('--' + n)
    assert not missing, (
        'ipcfs.8 OPTIONS documents options that `%s --help` does not '
        'list: %s' % (DAEMON, ', '.join(missing)))


def man_folders():
    """The mount's folders that the FILES section names, e.g. 'sysv/id'."""
    found = []
    for tag in item_tags(man_section('FILES')):
        for m in re.finditer(r'mountpoint/([a-z][a-z/-]*[a-z])/?',
                             roff_text(tag)):
            found.append(m.group(1))
    return found


def test_man_files_section_is_parsed():
    folders = man_folders()
    assert {'sysv', 'sysv/id', 'posix', 'sem', 'sysv-sem', 'sysv-sem/id',
            'posix-sem', 'sysv-msg', 'sysv-msg/id', 'posix-mq'} <= \
        set(folders), folders


def test_every_man_folder_is_in_a_mount(mnt):
    missing = [f for f in man_folders() if not os.path.isdir(mnt.p(f))]
    assert not missing, (
        'ipcfs.8 FILES names folders a fresh mount does not have: %s '
        '(the mount has: %s)' % (', '.join(missing),
                                 ' '.join(sorted(os.listdir(mnt.path)))))


def test_man_page_renders_without_warnings():
    env = dict(os.environ, MANWIDTH='80', LC_ALL='C.UTF-8')
    res = subprocess.run(['man', '--warnings', '-l', MANPAGE],
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=env, timeout=60)
    assert res.returncode == 0, res.stderr.decode()
    assert res.stderr.decode() == ''
    assert b'max_waiters_per_user' in res.stdout


def test_readme_links_stay_in_the_repository():
    with open(README, encoding='utf-8') as f:
        text = f.read()
    bad = []
    for m in re.finditer(r'\]\(([^)\s]*)', text):
        target = m.group(1)
        if (target.startswith(('/', '..', '~')) or
                re.match(r'[a-zA-Z][a-zA-Z0-9+.-]*:', target)):
            bad.append(target)
        elif target and not target.startswith('#'):
            path = os.path.join(TOP, target.split('#')[0])
            if not os.path.exists(path):
                bad.append(target + ' (no such file in the repository)')
    for word in ('../', '/work/', 'CONTRACT.md'):
        if word in text:
            bad.append('the text names %r' % word)
    assert not bad, 'README.md points outside the repository: %s' % bad


def test_man_page_points_nowhere_outside():
    with open(MANPAGE, encoding='utf-8') as f:
        text = f.read()
    for word in ('../', '/work/', 'CONTRACT.md'):
        assert word not in text, 'ipcfs.8 names %r' % word


@pytest.mark.parametrize('path', [README, MANPAGE])
def test_docs_name_every_folder(path):
    with open(path, encoding='utf-8') as f:
        text = f.read().replace('\\-', '-')
    for folder in ('sysv/', 'posix/', 'sem/', 'sysv-sem/', 'posix-sem/',
                   'sysv-msg/', 'posix-mq/'):
        assert folder in text, '%s never names %s' % (path, folder)
