"""A WebSocket client written by hand (RawSocket), for tests that send frames no library would and read
every byte the server writes, up to the end of the TCP connection. Imported as `from raw_ws import ...`."""
from __future__ import annotations

import base64
import json
import os
import socket
import struct

OPCODE_CONT, OPCODE_TEXT, OPCODE_CLOSE = 0, 1, 8


class RawSocket:
    """A WebSocket client written by hand, so a test can send any frame and see every byte the server writes."""

    def __init__(self, srv, session, rcvbuf: int | None = None):
        self.sock = socket.socket()
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(10)
        self.sock.connect(("127.0.0.1", srv.port))
        cookie = "; ".join(f"{k}={v}" for k, v in session.cookies.items())
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{srv.port}\r\nUpgrade: websocket\r\n"
                           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                           f"Origin: {srv.origin}\r\nCookie: {cookie}\r\n\r\n").encode())
        self.data = b""
        while b"\r\n\r\n" not in self.data:
            self.data += self.sock.recv(4096)
        head, self.data = self.data.split(b"\r\n\r\n", 1)
        assert head.startswith(b"HTTP/1.1 101"), head

    def frame(self, opcode: int, payload: bytes, fin: bool = True) -> None:
        mask, n = os.urandom(4), len(payload)
        header = bytes([(0x80 if fin else 0) | opcode])
        if n < 126:
            header += bytes([0x80 | n])
        elif n < 65536:
            header += bytes([0x80 | 126]) + struct.pack("!H", n)
        else:
            header += bytes([0x80 | 127]) + struct.pack("!Q", n)
        key = int.from_bytes((mask * (n // 4 + 1))[:n], "big")
        masked = (int.from_bytes(payload, "big") ^ key).to_bytes(n, "big") if n else b""
        self.sock.sendall(header + mask + masked)

    def text(self, message) -> None:
        self.frame(OPCODE_TEXT, (message if isinstance(message, str) else json.dumps(message)).encode())

    def _frames(self) -> list:
        """Take the complete frames at the front of what was read; stops after a close frame."""
        frames, data = [], self.data
        while len(data) >= 2:
            opcode, n, pos = data[0] & 0x0F, data[1] & 0x7F, 2
            if n >= 126:
                width = 2 if n == 126 else 8
                if len(data) < pos + width:
                    break
                n, pos = int.from_bytes(data[pos:pos + width], "big"), pos + width
            if len(data) < pos + n:
                break
            frames.append((opcode, data[pos:pos + n]))
            data = data[pos + n:]
            if opcode == OPCODE_CLOSE:
                break
        self.data = data
        return frames

    def messages_until(self, predicate, timeout: float = 10) -> list[dict]:
        """Read text messages until one satisfies `predicate`."""
        self.sock.settimeout(timeout)
        seen = []
        while True:
            for opcode, payload in self._frames():
                if opcode == OPCODE_TEXT:
                    seen.append(json.loads(payload))
                    if predicate(seen[-1]):
                        return seen
            self.data += self.sock.recv(65536)

    def until_eof(self, timeout: float = 10) -> tuple[list, bytes]:
        """Read until the server ends the TCP connection: (frames up to and with the close frame,
        the bytes that followed the close frame). Times out if the server never ends it."""
        self.sock.settimeout(timeout)
        while True:
            try:
                chunk = self.sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            self.data += chunk
        frames = self._frames()
        return frames, self.data

    def close(self) -> None:
        self.sock.close()


def close_of(frames) -> int:
    assert frames and frames[-1][0] == OPCODE_CLOSE, "no close frame before EOF"
    return int.from_bytes(frames[-1][1][:2], "big")
