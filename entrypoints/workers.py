"""``otp serve --workers N``: N processes sharing one port (SO_REUSEPORT) and one consumer group.

Each worker is a whole ``otp serve`` of its own (HTTP, and the Kafka consumer when brokers are
set), so the kernel spreads connections and the group spreads partitions. The parent only
starts them, passes SIGTERM and SIGINT on, and exits non-zero if any of them failed.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from types import FrameType

import structlog

log = structlog.get_logger(__name__)


def reuse_port_socket(host: str, port: int) -> socket.socket:
    """A listening socket that other processes may bind too (the kernel balances them)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto must say TCP: asyncio turns Nagle off (TCP_NODELAY) only on sockets that do, and
    # with Nagle on, each response's body waited for the ACK of its headers: 44 ms a request.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host.strip("[]"), port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def run_workers(count: int) -> int:
    """Starts ``count`` workers, which read the parent's environment (its ``otp serve`` options
    among it), and waits; returns the exit status for the parent."""
    command = [sys.executable, "-c", "from entrypoints.cli import main; main()", "serve",
               "--reuse-port"]  # fmt: skip
    children = [subprocess.Popen(command) for _ in range(count)]
    log.info("workers.started", count=count, pids=[c.pid for c in children])

    def forward(signum: int, _: FrameType | None) -> None:
        for child in children:
            if child.poll() is None:
                child.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    status = 0
    while any(c.poll() is None for c in children):
        for child in children:
            code = child.poll()
            if code not in (None, 0) and status == 0:
                # One worker failed for good: stop the others, so an orchestrator restarts all.
                status = code if isinstance(code, int) and code > 0 else 1
                log.error("workers.failed", pid=child.pid, status=code)
                forward(signal.SIGTERM, None)
        time.sleep(0.2)
    return status
