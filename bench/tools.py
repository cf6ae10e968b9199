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

  tools.py spread PORT RATE DURATION CONNECTIONS CALL [--tls]
      Open-loop load with requests spread evenly in time, next to h2load --rps (which fires every
      connection at the same instant of each period): request k is sent at start + k / RATE (every
      200 µs at 5,000 req/s) on the connection idle longest (CONNECTIONS keep-alive connections,
      HTTP/1.1, one request in flight each, opened before the clock starts), so the proxy sees the
      requests one at a time. A request due while every connection is busy waits for the next free
      one (counted as late). Sends RATE * DURATION requests, stops at DURATION + 10 s at the latest.
      CALL: get | explo | mintlify | canonical (the same requests as bench/wrk/bench.lua). Prints
      "SPREAD requests=N done=N ok=N errors=N duration_s=S send_lag_p50_us=N send_lag_p99_us=N
      late=N p50_us=N p99_us=N".

  tools.py cgcalls FILE FUNCTION...
      Sum of the calls to the named functions in a callgrind output file (the calls= lines under
      every cfn= of those names): "NAME COUNT" per name, then "total COUNT".

  tools.py micro FILE.json
      Google Benchmark JSON (with repetitions) -> "NAME MEDIAN_NS" lines (CPU time, median aggregate
      when present, else the single run).
"""
import asyncio
import difflib
import collections
import json
import os
import re
import select
import signal
import socket
import ssl
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


# ---- spread: open-loop load, one request every 1/RATE s ----------------------------------------
CANONICAL = b'{"customer_id":"example_1","name":"Example 1","mapping":{"40":"213","134":"386"},"properties":{"filterValue":"value"}}'
CALLS = {  # method, path, headers, body: the calls of bench/wrk/bench.lua and bench/run's h2load
    "get": (b"GET", b"/echo/x", [], b""),
    "explo": (b"POST", b"/api/update_user_group/",
              [b"Content-Type: application/json", b"Explo-Authorization: Token demo-token"], SEED),
    "mintlify": (b"PUT", b"/api/user",
                 [b"Content-Type: application/json", b"Authorization: Token demo-token"], SEED),
    "canonical": (b"POST", b"/api/update_customer/",
                  [b"Content-Type: application/json", b"Authorization: Token demo-token"], CANONICAL),
}
CONTENT_LENGTH = re.compile(rb"\r\ncontent-length:[ \t]*(\d+)", re.I)


def percentile(values, q):
    if not values:
        return 0
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def spread(port, rate, duration, connections, call, tls):
    method, path, headers, body = CALLS[call]
    request = (method + b" " + path + b" HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUser-Agent: shimgate-bench-spread\r\n" % port
               + b"".join(h + b"\r\n" for h in headers)
               + (b"Content-Length: %d\r\n" % len(body) if body or method != b"GET" else b"")
               + b"\r\n" + body)
    ctx = None
    if tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE

    def connect():
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if ctx:
            s = ctx.wrap_socket(s)   # handshake here, before the clock starts
        s.setblocking(False)
        return s

    try:   # timer slack 1 µs instead of 50 µs: the sleeps between sends end on time
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(29, 1000, 0, 0, 0)   # PR_SET_TIMERSLACK
    except (OSError, AttributeError):
        pass
    ep = select.epoll()
    conns = {}         # fd -> [socket, buffer, send time or None]
    idle = collections.deque()
    for _ in range(connections):
        s = connect()
        conns[s.fileno()] = [s, bytearray(), None]
        ep.register(s.fileno(), select.EPOLLIN)
        idle.append(s.fileno())

    total = int(rate * duration)
    interval = 1.0 / rate
    lat, lag = [], []
    sent = done = ok = errors = late = 0
    clock = time.perf_counter
    start = clock() + 0.05
    deadline = start + duration + 10

    def finish(fd, c, status_ok, now):
        nonlocal done, ok, errors
        done += 1
        if status_ok:
            ok += 1
        else:
            errors += 1
        lat.append(int((now - c[2]) * 1e6))
        c[2] = None
        idle.append(fd)

    def reopen(fd, c):
        nonlocal errors, done
        if c[2] is not None:
            errors += 1
            done += 1
        ep.unregister(fd)
        c[0].close()
        del conns[fd]
        s = connect()
        conns[s.fileno()] = [s, bytearray(), None]
        ep.register(s.fileno(), select.EPOLLIN)
        idle.append(s.fileno())

    def on_readable(fd, now):
        c = conns.get(fd)
        if c is None:
            return
        s, buf = c[0], c[1]
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    reopen(fd, c)
                    return
                buf += chunk
                if len(chunk) < 65536:
                    break
        except (BlockingIOError, ssl.SSLWantReadError):
            pass
        except OSError:
            reopen(fd, c)
            return
        end = buf.find(b"\r\n\r\n")
        if end < 0 or c[2] is None:
            return
        m = CONTENT_LENGTH.search(buf, 0, end + 2)
        need = end + 4 + (int(m.group(1)) if m else 0)
        if len(buf) < need:
            return
        status_ok = buf[9:10] == b"2"
        del buf[:need]
        finish(fd, c, status_ok, now)

    while done < total:
        now = clock()
        if now > deadline:
            break
        # send every request that is due, each on the connection idle longest
        while sent < total and idle:
            due = start + sent * interval
            if due > now:
                break
            fd = idle.popleft()
            c = conns[fd]
            try:
                c[0].send(request)   # small: goes out whole into an empty socket buffer
            except OSError:
                idle.appendleft(fd)
                reopen(fd, c)
                continue
            c[2] = now
            d = now - due
            lag.append(int(d * 1e6))
            if d > interval:
                late += 1
            sent += 1
        for fd, _ in ep.poll(0):
            on_readable(fd, now)
        if sent < total and idle:
            wait = start + sent * interval - clock()
        else:
            wait = 0.01   # nothing to send: wait for answers
        if wait > 0.002:
            for fd, _ in ep.poll(wait - 0.0015):   # epoll's timeout is in ms, rounded up
                on_readable(fd, clock())
        elif wait > 0:
            time.sleep(wait)   # clock_nanosleep: µs precision (plus the timer slack)
    elapsed = max(clock() - start, 1e-9)
    for c in conns.values():
        try:
            c[0].setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        c[0].close()
    print("SPREAD requests=%d done=%d ok=%d errors=%d duration_s=%.6f send_lag_p50_us=%d send_lag_p99_us=%d late=%d p50_us=%d p99_us=%d"
          % (sent, done, ok, errors + (sent - done), elapsed, percentile(lag, 0.5), percentile(lag, 0.99), late,
             percentile(lat, 0.5), percentile(lat, 0.99)), flush=True)
    return 0 if done == total else 1


# ---- callgrind: calls to given functions ----------------------------------------------------------
def cgcalls(path, names):
    wanted = set(names)
    ids = {}            # compressed name id -> name
    counts = dict.fromkeys(names, 0)
    current = None      # the function named by the last cfn= line, if wanted
    name_line = re.compile(r"^c?fn=\((\d+)\)(?: (.*))?$")
    with open(path, errors="replace") as f:
        for line in f:
            if line.startswith("cfn="):
                m = name_line.match(line.rstrip("\n"))
                if m:
                    if m.group(2) is not None:
                        ids[m.group(1)] = m.group(2)
                    fn = ids.get(m.group(1), "")
                else:
                    fn = line[4:].strip()
                current = fn if fn in wanted else None
            elif line.startswith("fn="):
                m = name_line.match(line.rstrip("\n"))
                if m and m.group(2) is not None:
                    ids[m.group(1)] = m.group(2)
                current = None
            elif line.startswith("calls="):
                if current is not None:
                    counts[current] += int(line[6:].split()[0])
                    current = None
    for n in names:
        print("%s %d" % (n, counts[n]))
    print("total %d" % sum(counts.values()))


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
    elif cmd == "spread":
        sys.exit(spread(int(args[0]), float(args[1]), float(args[2]), int(args[3]), args[4], "--tls" in args))
    elif cmd == "cgcalls":
        cgcalls(args[0], args[1:])
    elif cmd == "micro":
        micro(args[0])
    else:
        sys.stderr.write(__doc__)
        sys.exit(2)


if __name__ == "__main__":
    main()
