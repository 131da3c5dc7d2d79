"""A loopback TCP proxy that records what the device sends, and a reader of the ZMTP/CURVE bytes it saw.

The privacy tests put the proxy between the detector and the test platform. It keeps each connection's
upstream bytes apart, so :func:`parse_curve_stream` can walk them frame by frame (ZMTP 3.x, RFC 23 and 26):
the 64-byte greeting, the CURVE handshake commands (HELLO, INITIATE) and then one encrypted ``MESSAGE``
frame per message frame the device sent. The size of each ``MESSAGE`` is exactly the plaintext size plus
the CURVE overhead, so the tests can tie every encrypted frame on the wire to one payload the platform
received, and bound the ciphertext per message, without being able to decrypt anything.
"""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field

GREETING_BYTES = 64
MESSAGE_NAME = b"\x07MESSAGE"
# Inside a MESSAGE frame's body: the command name (8), the short nonce (8), the box's MAC (16) and the
# encrypted flags byte (1) that carries MORE; the rest is the plaintext frame.
CURVE_MESSAGE_OVERHEAD = len(MESSAGE_NAME) + 8 + 16 + 1
# Around the body: one flags byte and a size of 1 byte (bodies up to 255 bytes) or 8 bytes.
MAX_FRAME_HEADER = 9


@dataclass
class ZmtpFrame:
    """One ZMTP frame as it travelled: its header flags, its body, and its size on the wire."""

    flags: int
    body: bytes
    wire_bytes: int

    @property
    def command_name(self) -> str:
        """The command's name when the body is a command (HELLO, INITIATE, MESSAGE ...), else ''."""
        if not self.body:
            return ""
        size = self.body[0]
        return self.body[1 : 1 + size].decode("ascii", errors="replace") if len(self.body) > size else ""

    @property
    def is_curve_message(self) -> bool:
        """An encrypted message frame (CURVE's MESSAGE command)."""
        return self.body.startswith(MESSAGE_NAME)

    @property
    def plaintext_bytes(self) -> int:
        """How many plaintext bytes this MESSAGE frame carries."""
        return len(self.body) - CURVE_MESSAGE_OVERHEAD


@dataclass
class CurveStream:
    """One connection's upstream bytes, read as ZMTP: greeting, frames, and what was left unparsed."""

    greeting: bytes
    frames: list[ZmtpFrame] = field(default_factory=list)
    trailing: bytes = b""

    @property
    def messages(self) -> list[ZmtpFrame]:
        return [frame for frame in self.frames if frame.is_curve_message]


def parse_curve_stream(data: bytes) -> CurveStream:
    """Split one connection's upstream bytes into the greeting and ZMTP frames.

    A frame cut off by the end of the recording (the connection closed mid-frame) ends up in ``trailing``.
    """
    stream = CurveStream(greeting=data[:GREETING_BYTES])
    offset = GREETING_BYTES
    while offset < len(data):
        flags = data[offset]
        long_size = bool(flags & 0x02)
        header = 9 if long_size else 2
        if offset + header > len(data):
            break
        size = int.from_bytes(data[offset + 1 : offset + header], "big")
        if offset + header + size > len(data):
            break
        body = data[offset + header : offset + header + size]
        stream.frames.append(ZmtpFrame(flags=flags, body=body, wire_bytes=header + size))
        offset += header + size
    stream.trailing = data[offset:]
    return stream


class TcpProxy:
    """Loopback TCP proxy that records every byte the device sends, per connection."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.upstream_by_connection: list[bytearray] = []
        self._lock = threading.Lock()
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(8)
        self._listener.settimeout(0.2)
        self.port = int(self._listener.getsockname()[1])
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def connections(self) -> int:
        with self._lock:
            return len(self.upstream_by_connection)

    @property
    def upstream(self) -> bytes:
        """Everything the device sent, all connections one after another."""
        with self._lock:
            return b"".join(bytes(chunk) for chunk in self.upstream_by_connection)

    def streams(self) -> list[CurveStream]:
        """Each connection's upstream bytes, parsed as ZMTP."""
        with self._lock:
            recorded = [bytes(chunk) for chunk in self.upstream_by_connection]
        return [parse_curve_stream(data) for data in recorded]

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            server = socket.create_connection(("127.0.0.1", self.target_port))
            record = bytearray()
            with self._lock:
                self.upstream_by_connection.append(record)
            threading.Thread(target=self._pump, args=(client, server, record), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, None), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, record: bytearray | None) -> None:
        try:
            while chunk := source.recv(65536):
                if record is not None:
                    with self._lock:
                        record.extend(chunk)
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                try:
                    end.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self._listener.close()
