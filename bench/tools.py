#!/usr/bin/env python3
"""Helpers for bench/run (Python 3 standard library only).

  tools.py capture DIR RESPONSE_FILE [--timeout S]
      Capture upstream: listens on 127.0.0.1 port 0 (prints "listening on 127.0.0.1:PORT"), writes
      every request's raw bytes, exactly as received, to DIR/req-N.bin and answers each with the raw
      bytes of RESPONSE_FILE (a whole HTTP/1.1 response). Keep-alive. Exits after --timeout s (120).

  tools.py bytecheck CAPTURE_DIR OUT_DIR NAME=PORT NAME=PORT
      Sends the same Explo calls, byte for byte, to both proxies (which forward to the capture
      upstream) and compares what each sent upstream and what each answered. Prints one line per
      case and the exclusions applied; exit 1 on any other difference (with a diff).

  tools.py idle PORT COUNT PATH [--concurrency C] [--hold S]
      Opens COUNT connections to 127.0.0.1:PORT, makes one keep-alive GET PATH on each (C at a
      time), prints "READY ok=N failed=M" and keeps them all open, idle, until SIGTERM or --hold s
      (default 120); then closes them with RST (no TIME_WAIT pile-up).

  tools.py micro FILE.json
      Google Benchmark JSON (with repetitions) -> "NAME MEDIAN_NS" lines (CPU time, median aggregate
      when present, else the single run).
"""
import asyncio
import difflib
import json
import os
import re
import signal
import socket
import struct
import sys
import time


# ---- capture ------------------------------------------------------------------------------------
async def read_message_body(reader, head):
    length, chunked = 0, False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value.strip())
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    if not chunked:
        return await reader.readexactly(length) if length else b""
    body = b""
    while True:
        size_line = await reader.readuntil(b"\r\n")
        body += size_line
        size = int(size_line.split(b";")[0].strip(), 16)
        if size == 0:
            while True:
                trailer = await reader.readuntil(b"\r\n")
                body += trailer
                if trailer == b"\r\n":
                    return body
        body += await reader.readexactly(size + 2)


async def capture(out_dir, resp_file, timeout):
    with open(resp_file, "rb") as f:
        response = f.read()
    counter = [0]

    async def handle(reader, writer):
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                body = await read_message_body(reader, head)
                counter[0] += 1
                path = os.path.join(out_dir, "req-%06d.bin" % counter[0])
                with open(path + ".tmp", "wb") as f:
                    f.write(head + body)
                os.rename(path + ".tmp", path)
                writer.write(response)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    print("listening on 127.0.0.1:%d" % server.sockets[0].getsockname()[1], flush=True)
    try:
        await asyncio.wait_for(server.serve_forever(), timeout)
    except asyncio.TimeoutError:
        pass


# ---- bytecheck ----------------------------------------------------------------------------------
SEED = b'{"user_group_id":"example_1","name":"Example 1","mapping":{"40":"213","134":"386"},"properties":{"filterValue":"value"}}'
# the same call spelled differently: white space, an escape, a number's own spelling, an unknown
# field, the optional boolean, a client X-Forwarded-For to be replaced, no X-Request-Id
ODD = (b'{ "user_group_id" : "example_1", "name":"Ex\\u00e4mple 1", '
       b'"mapping":{"40":"213", "134":"386"}, "properties":{"filterValue":"value","n":1.50}, '
       b'"is_demo_group": false, "extra": [1, {"a": null}] }')


def explo_request(body, extra_headers):
    head = (b"POST /api/update_user_group/ HTTP/1.1\r\n"
            b"Host: bench.example\r\n"
            b"User-Agent: shimgate-bench-check\r\n"
            b"Accept: */*\r\n"
            b"Content-Type: application/json\r\n"
            b"Explo-Authorization: Token demo-token\r\n")
    for h in extra_headers:
        head += h + b"\r\n"
    return head + b"Content-Length: %d\r\n\r\n" % len(body) + body


CASES = [
    ("seed body, client X-Request-Id", explo_request(SEED, [b"X-Request-Id: bench-check-1"]), False),
    ("re-spelled body, no X-Request-Id, client X-Forwarded-For",
     explo_request(ODD, [b"X-Forwarded-For: 192.0.2.7"]), True),
]
GENERATED_ID = re.compile(rb"^[0-9a-f]{16}$")


def http_exchange(port, raw, timeout=10.0):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(raw)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(65536)
            if not chunk:
                raise RuntimeError("connection closed before the answer's head")
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        m = re.search(rb"(?im)^content-length:\s*(\d+)\s*$", head)
        if not m:
            raise RuntimeError("answer without Content-Length: %r" % head)
        n = int(m.group(1))
        while len(rest) < n:
            chunk = s.recv(65536)
            if not chunk:
                raise RuntimeError("connection closed inside the answer's body")
            rest += chunk
        return head + b"\r\n\r\n" + rest[:n]
    finally:
        s.close()


def split_message(raw):
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    headers = []
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        headers.append((name.strip(), value.strip()))
    return lines[0], headers, body


def normalise(raw, generated_id, notes, who, what):
    """-> text for comparison: first line, "Name: value" lines sorted (order is not compared), body."""
    first, headers, body = split_message(raw)
    out = []
    for name, value in headers:
        if what == "answer" and name.lower() == b"connection" and value.lower() == b"keep-alive":
            notes.add("'Connection: keep-alive' on an answer (nginx always writes it; HTTP/1.1's default)")
            continue
        if name.lower() == b"x-request-id" and generated_id:
            if not GENERATED_ID.match(value):
                out.append(b"x-request-id: NOT A GENERATED ID: " + value)
                continue
            value = b"<generated: 16 hex digits>"
            notes.add("the value of a generated X-Request-Id (random; both make 16 hex digits)")
        out.append(name + b": " + value)
    out.sort(key=lambda h: (h.lower(), h))
    return [first.decode("latin-1")] + [h.decode("latin-1") for h in out] + ["", body.decode("latin-1")]


def bytecheck(cap_dir, out_dir, a, b):
    notes = {"header order (headers are compared as a sorted list of 'Name: value' lines, byte for byte)"}
    failed = False
    for ci, (label, raw, generated_id) in enumerate(CASES):
        got = {}
        for name, port in (a, b):
            before = set(os.listdir(cap_dir))
            answer = http_exchange(port, raw)
            new = []
            for _ in range(100):
                new = sorted(f for f in set(os.listdir(cap_dir)) - before if f.endswith(".bin"))
                if new:
                    break
                time.sleep(0.02)
            if len(new) != 1:
                print("bytecheck: %s: %s sent %d requests upstream, expected 1" % (label, name, len(new)))
                failed = True
                continue
            with open(os.path.join(cap_dir, new[0]), "rb") as f:
                upstream = f.read()
            for what, data in (("upstream", upstream), ("answer", answer)):
                with open(os.path.join(out_dir, "case%d.%s.%s.bin" % (ci + 1, name, what)), "wb") as f:
                    f.write(data)
            # the same generated id upstream and in the answer
            if generated_id:
                ids = [dict((n.lower(), v) for n, v in split_message(m)[1]).get(b"x-request-id") for m in (upstream, answer)]
                if ids[0] != ids[1]:
                    print("bytecheck: %s: %s: X-Request-Id upstream %r differs from the answer's %r" % (label, name, ids[0], ids[1]))
                    failed = True
            got[name] = {w: normalise(d, generated_id, notes, name, w) for w, d in (("upstream", upstream), ("answer", answer))}
        if len(got) != 2:
            continue
        for what in ("upstream", "answer"):
            x, y = got[a[0]][what], got[b[0]][what]
            if x == y:
                print("bytecheck: %s: %s identical (%d header fields, body %d bytes)" % (label, "upstream request" if what == "upstream" else "client answer", len(x) - 3, len(x[-1])))
            else:
                failed = True
                print("bytecheck: %s: %s DIFFERS:" % (label, "upstream request" if what == "upstream" else "client answer"))
                for line in difflib.unified_diff(x, y, a[0], b[0], lineterm="", n=1):
                    print("    " + line)
    print("bytecheck: excluded: " + "; ".join(sorted(notes)))
    return 1 if failed else 0


# ---- idle connections ---------------------------------------------------------------------------
async def idle(port, count, path, concurrency, hold):
    sem = asyncio.Semaphore(concurrency)
    writers, failed = [], [0]
    request = b"GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUser-Agent: shimgate-bench-idle\r\n\r\n" % (path.encode(), port)

    async def one():
        async with sem:
            try:
                reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 10)
                writer.write(request)
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
                if not head.startswith(b"HTTP/1.1 2"):
                    raise RuntimeError("status")
                await asyncio.wait_for(read_message_body(reader, head), 10)
                writers.append(writer)
            except Exception:
                failed[0] += 1

    await asyncio.gather(*(one() for _ in range(count)))
    print("READY ok=%d failed=%d" % (len(writers), failed[0]), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    try:
        await asyncio.wait_for(stop.wait(), hold)
    except asyncio.TimeoutError:
        pass
    for w in writers:
        sock = w.get_extra_info("socket")
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        w.close()


# ---- micro-benchmark JSON -----------------------------------------------------------------------
def micro(path):
    with open(path) as f:
        data = json.load(f)
    single, median = {}, {}
    for b in data.get("benchmarks", []):
        if b.get("error_occurred"):
            continue
        name = b.get("run_name") or b["name"]
        scale = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}[b.get("time_unit", "ns")]
        t = b["cpu_time"] * scale
        if b.get("run_type") == "aggregate":
            if b.get("aggregate_name") == "median":
                median[name] = t
        else:
            single.setdefault(name, t)
    for name in sorted(set(single) | set(median)):
        print("%s %.3f" % (name, median.get(name, single.get(name))))


def main():
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    args = sys.argv[2:]

    def opt(flag, default):
        return type(default)(args[args.index(flag) + 1]) if flag in args else default

    if cmd == "capture":
        asyncio.run(capture(args[0], args[1], opt("--timeout", 120.0)))
    elif cmd == "bytecheck":
        pa, pb = (x.split("=", 1) for x in args[2:4])
        sys.exit(bytecheck(args[0], args[1], (pa[0], int(pa[1])), (pb[0], int(pb[1]))))
    elif cmd == "idle":
        asyncio.run(idle(int(args[0]), int(args[1]), args[2], opt("--concurrency", 64), opt("--hold", 120.0)))
    elif cmd == "micro":
        micro(args[0])
    else:
        sys.stderr.write(__doc__)
        sys.exit(2)


if __name__ == "__main__":
    main()
