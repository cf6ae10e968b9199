"""Helpers for tests/deploy/check_deploy.py: the binary's flags, command lines made local, and a
real shimgate started from a deployment's command line (loopback, port 0, stopped by its PID)."""

import atexit
import os
import queue
import re
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request


class Checks:
    """Collects failed checks, so one run reports every problem of a file."""

    def __init__(self, name):
        self.name = name
        self.failures = []
        self.passed = 0

    def check(self, condition, what):
        if condition:
            self.passed += 1
        else:
            self.failures.append(what)
            print(f"FAIL {self.name}: {what}", flush=True)
        return bool(condition)

    def finish(self):
        print(f"{self.name}: {self.passed} checks passed, {len(self.failures)} failed", flush=True)
        return 1 if self.failures else 0


def run(argv, **kwargs):
    """subprocess.run with its output captured as text (undecodable bytes replaced)."""
    return subprocess.run(argv, capture_output=True, encoding="utf-8", errors="replace", **kwargs)


def help_flags(binary):
    """The long flags `binary --help` lists (only its option column, not the descriptions)."""
    out = run([binary, "--help"], timeout=10).stdout
    flags = set()
    for line in out.splitlines():
        m = re.match(r"^\s+(?:-\w \[ )?--([a-z0-9][a-z0-9-]*)", line)
        if m:
            flags.add(m.group(1))
    return flags


def split_flags(argv):
    """[(flag, value)] of a shimgate command line (argv without the program), both spellings:
    `--flag value` and `--flag=value`. A flag without a value (--help) gets None."""
    out = []
    i = 0
    while i < len(argv):
        a = argv[i]
        if not a.startswith("--"):
            out.append((None, a))
            i += 1
            continue
        if "=" in a:
            name, value = a[2:].split("=", 1)
            out.append((name, value))
            i += 1
        elif i + 1 < len(argv) and not argv[i + 1].startswith("--"):
            out.append((a[2:], argv[i + 1]))
            i += 2
        else:
            out.append((a[2:], None))
            i += 1
    return out


def flag_value(argv, name, default=None):
    for flag, value in split_flags(argv):
        if flag == name:
            return value
    return default


def port_of(host_port):
    return int(host_port.rsplit(":", 1)[1]) if host_port else None


def localise(argv, rules_dir, tmp):
    """The same command line, made runnable here: listeners on 127.0.0.1:0, the upstream's host
    127.0.0.1 (shimgate resolves it at start; its scheme, port and prefix are kept), the rules
    from rules_dir, an access-log file in tmp, a sqlite: ledger file in tmp (same name), a
    postgresql:// ledger's host:port made 127.0.0.1:9 (refused at once: no database is ever
    reached, nor a name looked up; user, password, database and parameters are kept). Every other
    flag and value is kept as written."""
    out = []
    for flag, value in split_flags(argv):
        if flag in ("listen", "admin"):
            value = "127.0.0.1:0"
        elif flag == "upstream":
            value = re.sub(r"^(https?://)(\[[^]]*\]|[^/:]+)", r"\g<1>127.0.0.1", value)
        elif flag == "rules":
            value = rules_dir
        elif flag == "access-log" and value != "-":
            value = os.path.join(tmp, "access.log")
        elif flag == "ledger" and value.startswith("sqlite:"):
            value = "sqlite:" + os.path.join(tmp, os.path.basename(value[len("sqlite:"):]))
        elif flag == "ledger" and re.match(r"postgres(ql)?://", value):
            value = re.sub(r"^(postgres(?:ql)?://(?:[^@/]*@)?)(\[[^]]*\]|[^/:?]+)(:\d+)?",
                           r"\g<1>127.0.0.1:9", value)
        if flag is None:
            out.append(value)
        else:
            out.append(f"--{flag}" if value is None else f"--{flag}={value}")
    return out


class Shimgate:
    """A real shimgate started with argv; waits (bounded) for its start-up lines."""

    def __init__(self, binary, argv, cwd, timeout=20.0):
        self.proc = subprocess.Popen([binary] + argv, cwd=cwd, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     encoding="utf-8", errors="replace")
        atexit.register(self._kill_if_running)  # never outlives the test, even on an exception
        self.lines = queue.Queue()
        self.log = []
        threading.Thread(target=self._read, daemon=True).start()
        self.port = self.admin_port = None
        want_admin = flag_value(argv, "admin") is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and (self.port is None or
                                               (want_admin and self.admin_port is None)):
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                if self.proc.poll() is not None:
                    break
                continue
            m = re.search(r"(admin )?listening on https?://[^\s\"]*:(\d+)", line)
            if m and m.group(1):
                self.admin_port = int(m.group(2))
            elif m:
                self.port = int(m.group(2))

    def _read(self):
        for line in self.proc.stderr:
            self.log.append(line.rstrip("\n"))
            self.lines.put(line)

    def _kill_if_running(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def started(self):
        return self.port is not None and self.proc.poll() is None

    def stop(self):
        """SIGTERM (the drain) and the exit status; SIGKILL only if it outlives the bound."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()


def http_get(port, path, timeout=5.0):
    """(status, body) of GET http://127.0.0.1:port/path; (None, reason) if it fails."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as r:
            return r.status, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", "replace")
    except OSError as e:
        return None, str(e)


def poll(condition, timeout=10.0, interval=0.05):
    """True as soon as condition() is; False after timeout (a bounded wait, not a sleep)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return bool(condition())


def start_and_probe(checks, binary, argv, rules_dir, tmp, what):
    """Starts shimgate from a deployment's command line (localised) and checks it listens; returns
    the running Shimgate (the caller stops it) or None."""
    local = localise(argv, rules_dir, tmp)
    g = Shimgate(binary, local, cwd=tmp)
    if not checks.check(g.started(), f"{what}: shimgate {' '.join(local)} did not start: "
                        + " | ".join(g.log[-3:])):
        g.stop()
        return None
    return g
