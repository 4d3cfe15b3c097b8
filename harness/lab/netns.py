"""A network namespace and the `ip` commands the lab needs inside it."""

from __future__ import annotations

import os
import shutil
import subprocess

from .. import procs
from ..errors import InfrastructureError

IP = shutil.which("ip") or "/usr/sbin/ip"


def privileged_lab_available() -> tuple[bool, str]:
    """Whether this process can build namespace labs; the reason when not."""
    if os.geteuid() != 0:
        return False, "the privileged lab needs root (network namespaces, bridge, tap)"
    if not os.path.exists("/dev/net/tun"):
        return False, "/dev/net/tun is missing (no tap devices)"
    if not shutil.which("ip") and not os.path.exists(IP):
        return False, "iproute2 ('ip') is not installed"
    return True, ""


class Namespace:
    def __init__(self, name: str):
        self.name = name
        self.created = False

    def create(self) -> None:
        try:
            subprocess.run([IP, "netns", "add", self.name], check=True, capture_output=True, text=True)
        except subprocess.CalledProcessError as exc:
            raise InfrastructureError(f"cannot create network namespace {self.name}: {exc.stderr.strip()}") from exc
        self.created = True
        self.ip("link", "set", "lo", "up")

    def ip(self, *args: str) -> str:
        """Run `ip -n NS ARGS`; infrastructure error with ip's message on failure."""
        try:
            out = subprocess.run([IP, "-n", self.name, *args], check=True, capture_output=True, text=True)
        except subprocess.CalledProcessError as exc:
            raise InfrastructureError(f"ip -n {self.name} {' '.join(args)}: {exc.stderr.strip()}") from exc
        return out.stdout

    def sysctl(self, key: str, value: str) -> None:
        path = "/proc/sys/" + key.replace(".", "/")
        procs.run(["sh", "-c", f"echo {value} > {path}"], netns=self.name, timeout=10)

    def run(self, argv: list[str], timeout: float = 30.0, check: bool = True, input: bytes | None = None):
        return procs.run(argv, netns=self.name, timeout=timeout, check=check, input=input)

    def delete(self) -> None:
        if not self.created:
            return
        for pid in subprocess.run([IP, "netns", "pids", self.name], capture_output=True, text=True).stdout.split():
            try:
                os.kill(int(pid), 9)
            except (ProcessLookupError, ValueError):
                pass
        subprocess.run([IP, "netns", "delete", self.name], capture_output=True)
        self.created = False
