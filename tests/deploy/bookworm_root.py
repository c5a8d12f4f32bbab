"""A Debian Bookworm root made by debootstrap, cached as a tarball.

The first run takes about a minute (debootstrap from the Debian mirror); the
tarball is kept in the cache directory (``DRIFTVAKT_DEPLOY_CACHE``, else
/var/cache/driftvakt, else the repository's ignored build/ directory) and later
runs only unpack it. Its package list is what the roles install, so a role's
apt task finds them present and the run spends no time downloading .debs.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.deploy.ansible_run import REPO

MIRROR = "http://deb.debian.org/debian"
SUITE = "bookworm"
# python3, python3-apt, python3-packaging: Ansible's modules; sudo: become_user (central
# role); the rest: what the roles install.
PACKAGES = (
    "systemd,systemd-sysv,systemd-timesyncd,python3,python3-venv,python3-apt,python3-systemd,"
    "iputils-ping,mosquitto,ca-certificates,openssl,python3-packaging,sudo"
)


def cache_dir() -> Path:
    env = os.environ.get("DRIFTVAKT_DEPLOY_CACHE")
    if env:
        return Path(env)
    system = Path("/var/cache/driftvakt")
    try:
        system.mkdir(parents=True, exist_ok=True)
        if os.access(system, os.W_OK):
            return system
    except OSError:
        pass
    return REPO / "build" / "deploy-cache"


def root_tarball() -> Path:
    """The cached root tarball, made with debootstrap when missing."""
    key = hashlib.sha256(f"{SUITE} {MIRROR} {PACKAGES}".encode()).hexdigest()[:12]
    tarball = cache_dir() / f"{SUITE}-root-{key}.tar.gz"
    if tarball.exists():
        return tarball
    tarball.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=tarball.parent) as tmp:
        root = Path(tmp) / "root"
        subprocess.run(
            ["debootstrap", "--variant=minbase", f"--include={PACKAGES}", SUITE, str(root), MIRROR],
            check=True,
            capture_output=True,
        )
        # Lists for apt inside the root, so the roles' apt tasks need no update.
        shutil.copy("/etc/resolv.conf", root / "etc" / "resolv.conf")
        subprocess.run(["chroot", str(root), "apt-get", "update", "-qq"], check=True)
        subprocess.run(["chroot", str(root), "apt-get", "clean"], check=True)
        partial = tarball.with_suffix(".partial")
        subprocess.run(["tar", "-C", str(root), "-czf", str(partial), "."], check=True)
        partial.rename(tarball)
    return tarball


@contextmanager
def unpacked_root(tarball: Path) -> Iterator[Path]:
    """Unpack a root with /proc mounted (apt, pip and systemctl want it).

    The root lives outside pytest's temporary directories (which any pytest
    run on the machine may prune) and is removed here after /proc is
    unmounted. /dev is not bind-mounted: debootstrap made the device nodes a
    root needs (null, zero, urandom, tty). debootstrap writes no /etc/hosts;
    an SD card image has one, so the root gets the same localhost lines.
    """
    target = Path(tempfile.mkdtemp(prefix="driftvakt-rollout-", dir="/var/tmp"))
    mounted = False
    try:
        subprocess.run(["tar", "-C", str(target), "-xzf", str(tarball)], check=True)
        shutil.copy("/etc/resolv.conf", target / "etc" / "resolv.conf")
        (target / "etc" / "hosts").write_text("127.0.0.1\tlocalhost\n::1\t\tlocalhost\n")
        subprocess.run(["mount", "-t", "proc", "proc", str(target / "proc")], check=True)
        mounted = True
        yield target
    finally:
        if mounted:
            subprocess.run(["umount", "--lazy", str(target / "proc")], check=True)
        shutil.rmtree(target)
