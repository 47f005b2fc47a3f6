"""Keep-alive connections survive answers given before the request body arrived (aocu.http._whole_body).

Found side by side with the reference CU (tools/compare_reference.py): a ``POST`` to a GET-only
route answered 404 from its headers; when the body's bytes came in a later segment, hypercorn
left the connection neither reused nor closed and the client's next request hung. Node reads and
discards such a body. The timeouts here only turn a hang into a failure; nothing is timed.
"""

from __future__ import annotations

import trio

from aocu.testing import FakeComputeUnitApi, open_test_server

MID = "B" * 43
PID = "C" * 43
HANG_S = 10          # a hang, not a slow answer: the answers below take milliseconds
EARLY_WAIT_S = 0.3   # long enough for an early answer (the bug) to arrive


async def read_response(stream: trio.SocketStream) -> bytes:
    """One whole response (Content-Length framed, as every answer here is)."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += await stream.receive_some()
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    length = next(int(line.split(b":")[1]) for line in lines if line.lower().startswith(b"content-length"))
    while len(body) < length:
        body += await stream.receive_some()
    return lines[0]


async def test_a_body_sent_after_its_headers_does_not_hang_the_next_request(fake: FakeComputeUnitApi) -> None:
    async with open_test_server(fake) as url:
        host, port = url.removeprefix("http://").rsplit(":", 1)
        stream = await trio.open_tcp_stream(host, int(port))
        async with stream:
            for _ in range(3):
                await stream.send_all(f"POST /result/{MID}?process-id={PID} HTTP/1.1\r\nHost: cu\r\n"
                                      "Content-Type: application/json\r\nContent-Length: 2\r\n\r\n".encode())
                with trio.move_on_after(EARLY_WAIT_S):
                    early = await stream.receive_some()
                    raise AssertionError(f"answered before the body arrived: {early[:40]!r}")
                await stream.send_all(b"{}")
                with trio.fail_after(HANG_S):
                    assert await read_response(stream) == b"HTTP/1.1 404 "
                await stream.send_all(b"GET / HTTP/1.1\r\nHost: cu\r\n\r\n")
                with trio.fail_after(HANG_S):
                    assert await read_response(stream) == b"HTTP/1.1 200 "
