"""Forward 127.0.0.1:PORT of the network namespace it starts in to 127.0.0.1:PORT of another one.

    ip netns exec SIDE python -m tests.controlplane.netns_bridge MAIN PORT

Crossplane's RBAC manager (`crossplane rbac start`) serves controller-runtime's
metrics on :8080 and has no flag to move it, and neither has provider-kubernetes:
the two cannot share the control plane's namespace. The RBAC manager runs in a
second loopback-only namespace instead, where this bridge makes the API server
(127.0.0.1:6443 of the main namespace) reachable at the same address. It listens
in SIDE, then moves itself into MAIN (setns(2)) before it connects anything.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import socket
import sys
import threading

CLONE_NEWNET = 0x40000000


def enter(netns: str) -> None:
    """Move this process (its only thread, so every later one too) into the network namespace `netns`."""
    fd = os.open(f"/var/run/netns/{netns}", os.O_RDONLY)
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.setns(fd, CLONE_NEWNET) != 0:
            errno = ctypes.get_errno()
            raise OSError(errno, f"setns {netns}: {os.strerror(errno)}")
    finally:
        os.close(fd)


def pump(source: socket.socket, sink: socket.socket) -> None:
    """Copy one direction until it ends, then end both."""
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


def serve(listener: socket.socket, port: int) -> None:
    """Accept forever; each connection gets its own upstream connection and two pumps."""
    while True:
        client, _ = listener.accept()
        try:
            upstream = socket.create_connection(("127.0.0.1", port), timeout=10)
            upstream.settimeout(None)
        except OSError:
            client.close()
            continue
        for a, b in ((client, upstream), (upstream, client)):
            threading.Thread(target=pump, args=(a, b), daemon=True).start()


def main(argv: list[str]) -> int:
    """`MAIN PORT`."""
    target, port = argv[0], int(argv[1])
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(64)
    enter(target)
    print(f"forwarding 127.0.0.1:{port} to 127.0.0.1:{port} in {target}", flush=True)
    serve(listener, port)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
