"""A TCP port for a multi-process launch, free when chosen and held until the launch is over.

The socket binds port 0 (the kernel picks a free port) with SO_REUSEADDR and never listens: nothing
else can take the port meanwhile (the kernel hands it to no other bind), while the launcher's
rendezvous store, which also sets SO_REUSEADDR, can bind and listen on it. So no fixed port and no
window between choosing a port and using it.
"""
import contextlib
import socket
from typing import Iterator


@contextlib.contextmanager
def reserved_port() -> Iterator[int]:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]
