#!/usr/bin/python3 -B
"""Checks deploy/ against the built binary and this Debian machine (ctest deploy.*):

  python3 -B check_deploy.py dockerfile|systemd|kubernetes|logrotate SHIMGATE_BIN SOURCE_DIR
  (-B: no __pycache__ in the source tree)

Each part parses its files, cross-checks them (ports, selectors, paths, the drain against the
grace period, every flag against `shimgate --help`), runs the real tool where this machine has it
(systemd-analyze, logrotate) and starts the real shimgate from the file's own command line."""

import base64
import glob
import ipaddress
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse

import yaml

from deploy_common import (Checks, flag_value, help_flags, http_get, localise, poll, port_of, run,
                           split_flags, start_and_probe)
from deploy_parse import (apt_installed_packages, container_port, dockerfile_instructions,
                          dockerfile_stages, ignored_by, known_to_debian, manifests,
                          os_codename, package_of_file, selects, shared_libraries, unit_settings)

DEFAULT_DRAIN_TIMEOUT = 30.0  # --drain-timeout's default (README's flag table)


# ---- Dockerfile ---------------------------------------------------------------------------------


def check_dockerfile(c, binary, src, tmp):
    path = os.path.join(src, "deploy/Dockerfile")
    stages = dockerfile_stages(dockerfile_instructions(path))
    c.check(len(stages) >= 2, "multi-stage (a build stage and a runtime stage)")
    for s in stages:
        c.check(s["image"].startswith("debian:bookworm"), f"stage on Debian bookworm: {s['image']}")
    build, final = stages[0], stages[-1]
    runs = lambda s: [rest for k, rest in s["body"] if k == "RUN"]
    build_runs = " ".join(runs(build))
    c.check("scripts/common.sh" in build_runs and "${build_packages[@]}" in build_runs,
            "build stage installs scripts/common.sh's build_packages")
    c.check("cmake --preset release" in build_runs, "build stage uses the release CMake preset")

    check_build_context(c, src, stages, tmp)

    body = final["body"]
    one = lambda k: [rest for kw, rest in body if kw == k]
    users = one("USER")
    c.check(users, "runtime stage sets USER")
    user = users[-1].split(":")[0] if users else "root"
    c.check(user not in ("root", "0"), f"runtime USER is not root: {user}")
    healthchecks = one("HEALTHCHECK")
    c.check(len(healthchecks) == 1, "runtime stage has one HEALTHCHECK")
    entry = json.loads(one("ENTRYPOINT")[-1]) if one("ENTRYPOINT") else []
    cmd = json.loads(one("CMD")[-1]) if one("CMD") else []
    c.check(entry and entry[0] == "/usr/local/bin/shimgate", "exec-form ENTRYPOINT runs shimgate")
    argv = entry[1:] + cmd
    flags = help_flags(binary)
    for flag, _ in split_flags(argv):
        c.check(flag in flags, f"ENTRYPOINT/CMD flag --{flag} is one `shimgate --help` lists")
    exposed = {int(p.split("/")[0]) for e in one("EXPOSE") for p in e.split()}
    admin_port = port_of(flag_value(argv, "admin"))
    c.check(port_of(flag_value(argv, "listen")) in exposed, "EXPOSE has the --listen port")
    c.check(admin_port in exposed, "EXPOSE has the --admin port")
    # COPY lines as (--from stage or None, [sources..., destination]); --chmod and the like dropped.
    copies = [(next((w[7:] for w in words if w.startswith("--from=")), None),
               [w for w in words if not w.startswith("--")])
              for words in (rest.split() for rest in one("COPY"))]
    c.check((build["name"] or "0", ["/src/build/shimgate", "/usr/local/bin/shimgate"]) in copies,
            "the build stage's build/shimgate is copied")
    copies = [cp for stage, cp in copies if stage is None]  # from the repository
    rules = flag_value(argv, "rules", "").rstrip("/")
    c.check(any(cp[0].rstrip("/") == "rules" and cp[-1].rstrip("/") == rules for cp in copies),
            f"rules/ is copied to --rules ({rules})")

    # The HEALTHCHECK: a script from deploy/ asked for the admin port.
    hc = json.loads(healthchecks[0].split("CMD", 1)[1]) if healthchecks else []
    probe_copy = [cp for cp in copies if hc and cp[-1] == hc[0]]
    c.check(probe_copy, "the HEALTHCHECK program is copied into the image")
    probe = os.path.join(src, probe_copy[0][0]) if probe_copy else None
    c.check(hc[1:] == [str(admin_port)], f"HEALTHCHECK probes the --admin port: {hc}")

    # The working directory holds the ledger's default SQLite file: the runtime stage makes it,
    # owned by the USER (the root file system is read-only in Kubernetes, a volume goes there).
    workdir = (one("WORKDIR") or [""])[-1]
    c.check(flag_value(argv, "ledger") is None, "the image keeps --ledger's default (sqlite: file "
            "in WORKDIR); an operator's arguments may replace it")
    c.check(workdir and any(re.search(rf"install -d -o {user} -g \S+ -m 07\d0 {re.escape(workdir)}"
                                      r"(\s|$)", r) for r in runs(final)),
            f"WORKDIR {workdir} (the default ledger file's directory) is made writable by {user}")

    # Runtime packages: each one exists in Debian bookworm, and together they hold every shared
    # library the binary needs.
    packages = apt_installed_packages(runs(final))
    c.check(packages, "runtime stage installs its libraries with apt-get")
    c.check(os_codename() == "bookworm", "this machine is Debian bookworm (its apt is the judge)")
    known = known_to_debian(packages)
    for p in packages:
        c.check(p in known, f"runtime package {p} exists in Debian bookworm")
    for lib in shared_libraries(binary):
        owner = package_of_file(lib)
        c.check(owner in packages,
                f"ldd needs {lib} (package {owner}): installed in the runtime stage")

    # The image's command line starts the real binary, and its health probe says 200, or fails.
    probe_ok = c.check(probe and os.access(probe, os.X_OK),
                       f"the health probe {probe} is executable")
    g = start_and_probe(c, binary, argv, os.path.join(src, "rules"), tmp, "ENTRYPOINT + CMD")
    if g:
        try:
            c.check(os.path.exists(os.path.join(tmp, "shimgate-ledger.sqlite3")),
                    "the default ledger's SQLite file is created in the working directory")
            if probe_ok:
                r = run([probe, str(g.admin_port)], timeout=10)
                c.check(r.returncode == 0, "health probe: exit 0 against a running shimgate")
        finally:
            c.check(g.stop() == 0, "SIGTERM: shimgate drains and exits 0")
        if probe_ok:
            r = run([probe, str(g.admin_port)], timeout=10)
            c.check(r.returncode != 0, "health probe: fails once shimgate has stopped")
            check_probe_refuses_503(c, probe)


def check_build_context(c, src, stages, tmp):
    """What the build reads from the repository is there and not ignored, and the build stage's
    CMake configure line is accepted here (every -D is a variable the project uses)."""
    ignore_file = os.path.join(src, "deploy/Dockerfile.dockerignore")
    patterns = [l.strip() for l in open(ignore_file, encoding="utf-8")
                if l.strip() and not l.startswith("#")]
    for s in stages:
        for keyword, rest in s["body"]:
            words = rest.split()
            if keyword == "COPY" and not any(w.startswith("--from") for w in words):
                for source in [w for w in words if not w.startswith("--")][:-1]:
                    if source == ".":
                        continue
                    c.check(os.path.exists(os.path.join(src, source)),
                            f"COPY source {source} exists")
                    c.check(not ignored_by(patterns, source),
                            f"COPY source {source} is not ignored")
    c.check(not ignored_by(patterns, "src/main.cpp") and ignored_by(patterns, "build/shimgate"),
            "the build context has the sources and no local build tree")
    args = {rest.split("=")[0]: rest.split("=", 1)[1] for k, rest in stages[0]["body"]
            if k == "ARG" and "=" in rest}
    configure = [part.strip() for k, rest in stages[0]["body"] if k == "RUN"
                 for part in rest.split("&&") if part.strip().startswith("cmake --preset")]
    if c.check(configure, "the build stage configures with a CMake preset"):
        command = configure[0]
        for name, value in args.items():
            command = command.replace("${" + name + "}", value)
        r = run(shlex.split(command) + ["-B", os.path.join(tmp, "build")], cwd=src,
                timeout=120)
        c.check(r.returncode == 0 and "not used by the project" not in r.stderr,
                f"the build stage's configure works here: {command}: {r.stderr[-400:]}")


def check_probe_refuses_503(c, probe):
    import http.server
    import threading

    class Unhealthy(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(503)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Unhealthy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        r = run([probe, str(server.server_address[1])], timeout=10)
        c.check(r.returncode != 0, "health probe: fails on a 503")
    finally:
        server.shutdown()


# ---- systemd ------------------------------------------------------------------------------------


def drain_bound(argv):
    return float(flag_value(argv, "drain-delay", "0")) + float(
        flag_value(argv, "drain-timeout", str(DEFAULT_DRAIN_TIMEOUT)))


def unit_environment(unit):
    """{name: value} of the unit's Environment= lines (each may hold several quoted assignments)."""
    env = {}
    for line in unit.get(("Service", "Environment"), []):
        for word in shlex.split(line):
            name, _, value = word.partition("=")
            env[name] = value
    return env


def systemd_exec_start(src, expand=True):
    """The unit and its ExecStart as words; expand: ${NAME} and $NAME replaced as systemd does
    with the unit's Environment= (no EnvironmentFile= on this machine). ${NAME} stays one word;
    the unit uses no bare $NAME."""
    unit = unit_settings(os.path.join(src, "deploy/shimgate.service"))
    words = shlex.split(unit[("Service", "ExecStart")][-1])
    if expand:
        env = unit_environment(unit)
        words = [re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: env.get(m.group(1) or m.group(2), ""), w)
                 for w in words]
    return unit, words


def check_systemd(c, binary, src, tmp):
    path = os.path.join(src, "deploy/shimgate.service")
    unit, exec_start = systemd_exec_start(src)
    get = lambda k: unit.get(("Service", k), [None])[-1]
    argv = exec_start[1:]
    for key, want in [("DynamicUser", "yes"), ("ProtectSystem", "strict"), ("ProtectHome", "yes"),
                      ("PrivateTmp", "yes"), ("NoNewPrivileges", "yes"),
                      ("RestrictAddressFamilies", "AF_INET AF_INET6 AF_UNIX"),
                      ("KillSignal", "SIGTERM"), ("ExecReload", "/bin/kill -HUP $MAINPID")]:
        c.check(get(key) == want, f"{key}={want} (is {get(key)})")
    low_port = any(port_of(flag_value(argv, f)) < 1024 for f in ("listen", "admin")
                   if flag_value(argv, f))
    caps = get("CapabilityBoundingSet")
    c.check(caps == "" or (low_port and caps == "CAP_NET_BIND_SERVICE"),
            f"CapabilityBoundingSet= empty (CAP_NET_BIND_SERVICE only below port 1024): {caps!r}")
    c.check("@system-service" in unit.get(("Service", "SystemCallFilter"), []),
            "SystemCallFilter=@system-service")
    c.check(get("LimitNOFILE"), "LimitNOFILE is set")
    state = get("StateDirectory")
    c.check(state and get("WorkingDirectory") == f"/var/lib/{state}",
            "the working directory (the ledger's default file) is the StateDirectory")

    # The ledger: --ledger ${SHIMGATE_LEDGER_URL}, a SQLite file in the StateDirectory by
    # Environment=, overridable by an optional EnvironmentFile= (its settings win, systemd.exec(5)).
    _, raw = systemd_exec_start(src, expand=False)
    c.check(flag_value(raw[1:], "ledger") == "${SHIMGATE_LEDGER_URL}",
            "ExecStart passes --ledger ${SHIMGATE_LEDGER_URL} (braces: always one argument)")
    ledger = unit_environment(unit).get("SHIMGATE_LEDGER_URL", "")
    c.check(re.fullmatch(rf"sqlite:/var/lib/{re.escape(state or '')}/[^/]+", ledger),
            f"Environment=SHIMGATE_LEDGER_URL is a SQLite file in the StateDirectory "
            f"(writable under ProtectSystem=strict): {ledger!r}")
    config = get("ConfigurationDirectory")
    c.check(f"-/etc/{config}/ledger.env" in unit.get(("Service", "EnvironmentFile"), []),
            f"EnvironmentFile=-/etc/{config}/ledger.env (optional) can override the ledger URL")
    stop = float(get("TimeoutStopSec") or 0)
    c.check(stop > drain_bound(argv),
            f"TimeoutStopSec ({stop}) > drain-delay + drain-timeout ({drain_bound(argv)})")
    flags = help_flags(binary)
    for flag, _ in split_flags(argv):
        c.check(flag in flags, f"ExecStart flag --{flag} is one `shimgate --help` lists")
    logs = get("LogsDirectory")
    access_log = flag_value(argv, "access-log")
    c.check(logs and access_log and access_log.startswith(f"/var/log/{logs}/"),
            f"--access-log ({access_log}) is in LogsDirectory "
            "(writable under ProtectSystem=strict)")

    # systemd's own checks, on a copy whose ExecStart is the binary built here.
    copy = os.path.join(tmp, "shimgate.service")
    with open(copy, "w", encoding="utf-8") as f:
        f.write(open(path, encoding="utf-8").read().replace(exec_start[0], os.path.abspath(binary)))
    r = run(["systemd-analyze", "verify", copy])
    c.check(r.returncode == 0 and not r.stderr.strip(),
            f"systemd-analyze verify: rc {r.returncode} {r.stdout}{r.stderr}")
    r = run(["systemd-analyze", "security", "--offline=true", "--threshold=20", copy])
    m = re.search(r"Overall exposure level for \S+: ([0-9.]+)", r.stdout)
    # --threshold is in tenths: 20 fails on an overall exposure above 2.0 ("OK" ends at 3.9).
    c.check(r.returncode == 0 and m, f"systemd-analyze security: exposure at most 2.0: "
            f"{m.group(1) if m else r.stdout[-300:] + r.stderr}")

    g = start_and_probe(c, binary, argv, os.path.join(src, "rules"), tmp, "ExecStart")
    if g:
        ledger_file = os.path.join(tmp, os.path.basename(ledger))
        c.check(os.path.isfile(ledger_file),
                f"the ledger's SQLite file is created ({ledger} here at {ledger_file})")
        c.check(g.stop() == 0, "SIGTERM (KillSignal): shimgate drains and exits 0")


# ---- Kubernetes ---------------------------------------------------------------------------------


def kubelet_layout(configmap, tmp):
    """The ConfigMap's files as the kubelet mounts them: ..<timestamp>/, ..data -> it, and each
    key a symlink into ..data."""
    root = os.path.join(tmp, "rules-mount")
    stamp = os.path.join(root, "..2026_01_01_00_00_00.000000001")
    os.makedirs(stamp)
    for key, text in configmap.get("data", {}).items():
        with open(os.path.join(stamp, key), "w", encoding="utf-8") as f:
            f.write(text)
    os.symlink(os.path.basename(stamp), os.path.join(root, "..data"))
    for key in configmap.get("data", {}):
        os.symlink(os.path.join("..data", key), os.path.join(root, key))
    return root


def check_kubernetes(c, binary, src, tmp):
    docs = manifests(src)
    kustomization = yaml.safe_load(open(os.path.join(src, "deploy/kubernetes/kustomization.yaml")))
    for res in kustomization["resources"]:
        c.check(os.path.exists(os.path.join(src, "deploy/kubernetes", res)),
                f"kustomization resource {res} exists")
    deployment = docs.get(("Deployment", "shimgate"))
    if not c.check(deployment, "a Deployment named shimgate"):
        return
    spec = deployment["spec"]
    pod = spec["template"]
    labels = pod["metadata"]["labels"]
    c.check(selects(spec["selector"]["matchLabels"], labels),
            "Deployment selector matches its pods")
    [container] = [k for k in pod["spec"]["containers"] if k["name"] == "shimgate"]
    raw_argv = container.get("args", [])
    env = {e["name"]: e for e in container.get("env", [])}
    argv = kubernetes_expand(raw_argv, env, docs)
    flags = help_flags(binary)
    for flag, _ in split_flags(argv):
        c.check(flag in flags, f"args flag --{flag} is one `shimgate --help` lists")
    admin = port_of(flag_value(argv, "admin"))
    listen = port_of(flag_value(argv, "listen"))
    c.check(container_port(container, admin) == admin, "the --admin port is a container port")
    c.check(container_port(container, listen) == listen, "the --listen port is a container port")
    for probe, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
        get = container.get(probe, {}).get("httpGet", {})
        c.check(get.get("path") == path, f"{probe} asks {path}")
        c.check(container_port(container, get.get("port")) == admin,
                f"{probe} port is the --admin port ({admin})")

    ann = pod["metadata"].get("annotations", {})
    c.check(ann.get("prometheus.io/scrape") == "true", "prometheus.io/scrape: \"true\"")
    c.check(ann.get("prometheus.io/port") == str(admin), "prometheus.io/port is the --admin port")
    c.check(ann.get("prometheus.io/path") == "/metrics", "prometheus.io/path: /metrics")

    services = [d for (k, _), d in docs.items() if k == "Service"]
    c.check(services, "a Service")
    for s in services:
        c.check(selects(s["spec"]["selector"], labels),
                f"Service {s['metadata']['name']} selects the pods")
        for p in s["spec"]["ports"]:
            c.check(container_port(container, p["targetPort"]) == listen,
                    f"Service port {p['port']} targets the --listen port")
    pdbs = [d for (k, _), d in docs.items() if k == "PodDisruptionBudget"]
    c.check(pdbs, "a PodDisruptionBudget")
    for p in pdbs:
        c.check(selects(p["spec"]["selector"]["matchLabels"], labels), "the PDB selects the pods")

    # The drain fits in the grace period: (preStop sleep, if any) + --drain-delay + --drain-timeout;
    # the delay is what keeps a replica serving while its endpoint goes (/readyz 503 at once), and
    # outlasts the readiness probe's detection.
    pre_stop = container.get("lifecycle", {}).get("preStop", {}).get("exec", {}).get("command", [])
    sleep = float(pre_stop[1]) if pre_stop[:1] == ["sleep"] else 0.0
    grace = pod["spec"].get("terminationGracePeriodSeconds", 30)
    c.check(grace > sleep + drain_bound(argv), f"terminationGracePeriodSeconds ({grace}) > preStop "
            f"sleep + drain-delay + drain-timeout ({sleep + drain_bound(argv)})")
    delay = float(flag_value(argv, "drain-delay", "0"))
    ready = container.get("readinessProbe", {})
    detect = ready.get("periodSeconds", 10) * ready.get("failureThreshold", 3)
    c.check(delay > 0 and not pre_stop, f"--drain-delay ({delay}) does the pre-drain wait (no "
            f"preStop sleep: {pre_stop})")
    c.check(delay >= detect, f"--drain-delay ({delay}) >= readiness period x failureThreshold "
            f"({detect}): the probe sees 503 before the listener closes")

    # --trusted-proxies: in-cluster (private) ranges only; trusting a public range would let any
    # client write its own X-Forwarded-For.
    trusted = flag_value(argv, "trusted-proxies")
    if c.check(trusted, "--trusted-proxies names the ingress addresses"):
        for cidr in trusted.split(","):
            try:
                net = ipaddress.ip_network(cidr, strict=True)
            except ValueError as e:
                c.check(False, f"--trusted-proxies {cidr}: {e}")
                continue
            c.check(net.is_private, f"--trusted-proxies {cidr} is a private range")

    # Security and resources; the user is the image's.
    psc, csc = pod["spec"].get("securityContext", {}), container.get("securityContext", {})
    c.check(psc.get("runAsNonRoot") is True, "runAsNonRoot: true")
    c.check(csc.get("readOnlyRootFilesystem") is True, "readOnlyRootFilesystem: true")
    c.check(csc.get("allowPrivilegeEscalation") is False, "allowPrivilegeEscalation: false")
    c.check(csc.get("capabilities", {}).get("drop") == ["ALL"], "capabilities: drop ALL")
    image_user = [rest for k, rest in dockerfile_stages(dockerfile_instructions(
        os.path.join(src, "deploy/Dockerfile")))[-1]["body"] if k == "USER"][-1].split(":")[0]
    c.check(str(psc.get("runAsUser")) == image_user,
            f"runAsUser is the image's USER ({image_user})")
    c.check(container.get("command") == ["/usr/local/bin/shimgate"],
            "command is the image's binary alone (args are the whole command line)")
    res = container.get("resources", {})
    c.check(res.get("requests") and res.get("limits", {}).get("memory"),
            "resources: requests and a memory limit")
    cpu_limit = res.get("limits", {}).get("cpu")
    if cpu_limit is not None:
        c.check(flag_value(argv, "threads") == str(cpu_limit),
                f"--threads is the CPU limit ({cpu_limit}): "
                "the default would count the node's cores")

    # The rules: a ConfigMap mounted at --rules, valid for this binary as the kubelet lays it out.
    rules = flag_value(argv, "rules", "").rstrip("/")
    mounts = {m["name"]: m for m in container.get("volumeMounts", [])}
    rule_volume = [v for v in pod["spec"]["volumes"]
                   if "configMap" in v and mounts.get(v["name"], {}).get("mountPath") == rules]
    c.check(rule_volume, f"a ConfigMap volume is mounted at --rules ({rules})")
    configmap = (docs.get(("ConfigMap", rule_volume[0]["configMap"]["name"]))
                 if rule_volume else None)
    c.check(configmap, "the rules ConfigMap is among the manifests")
    rules_dir = kubelet_layout(configmap or {}, tmp)
    r = run([binary, "--check-rules", rules_dir])
    c.check(r.returncode == 0, f"shimgate --check-rules accepts the ConfigMap: {r.stderr.strip()}")
    for path in glob.glob(os.path.join(src, "rules/*.json")):
        key = os.path.basename(path)
        if configmap and configmap["data"].get(key) != open(path, encoding="utf-8").read():
            print(f"note: the ConfigMap's {key} differs from rules/{key}: regenerate it "
                  "(deploy/kubernetes/configmap-rules.yaml)")

    # The ledger: --ledger=$(SHIMGATE_LEDGER_URL), an env var from a required key of the Secret
    # that the example defines, holding a PostgreSQL URL (one ledger for every replica).
    c.check(flag_value(raw_argv, "ledger") == "$(SHIMGATE_LEDGER_URL)",
            "args pass --ledger=$(SHIMGATE_LEDGER_URL)")
    names = [e["name"] for e in container.get("env", [])]
    c.check("SHIMGATE_LEDGER_URL" in names, "SHIMGATE_LEDGER_URL is in env (else Kubernetes "
            "leaves $(SHIMGATE_LEDGER_URL) in args literally)")
    ref = env.get("SHIMGATE_LEDGER_URL", {}).get("valueFrom", {}).get("secretKeyRef", {})
    secret = docs.get(("Secret", ref.get("name")))
    ledger_url = secret_value(secret, ref.get("key")) if secret else None
    c.check(ledger_url is not None, "SHIMGATE_LEDGER_URL comes from the example Secret's key")
    c.check(ref and ref.get("optional", False) is False,
            "the ledger Secret is required (not optional: a pod must not start without it)")
    c.check((ledger_url or "").startswith("postgresql://"),
            "the ledger Secret holds a postgresql:// URL")
    # Why required: without the variable the literal reaches shimgate, which refuses it.
    literal = localise(raw_argv, rules_dir, tmp)
    try:
        r = run([binary] + literal, cwd=tmp, timeout=15)
        refused = r.returncode != 0 and "--ledger" in r.stderr
        c.check(refused, "an unset SHIMGATE_LEDGER_URL (literal $(SHIMGATE_LEDGER_URL)) is "
                f"refused at start: rc {r.returncode} {r.stderr.strip()[-300:]}")
    except subprocess.TimeoutExpired:
        c.check(False, "an unset SHIMGATE_LEDGER_URL is refused at start: shimgate kept running")

    # The container's command line, with the example Secret's URL (its host made a closed local
    # port: no PostgreSQL here), starts the real binary, serving the probe and scrape paths; the
    # ledger waits for its database without holding requests, and the drain delay works.
    g = start_and_probe(c, binary, argv, rules_dir, tmp, "Deployment args")
    if g:
        log = lambda: "\n".join(g.log)
        c.check("client ledger: postgresql://" in log(),
                f"the ledger is the Secret's PostgreSQL: {log()[-400:]}")
        password = urllib.parse.urlsplit(ledger_url or "").password
        c.check(poll(lambda: "ledger: cannot use" in log(), timeout=5),
                "no database here: the ledger logs it unreachable (and keeps calls in memory)")
        c.check(not password or password not in log(),
                "the Secret's password never appears in the process log")
        status, _ = http_get(g.admin_port, container["livenessProbe"]["httpGet"]["path"])
        c.check(status == 200, f"liveness path answers 200 (got {status})")
        status, _ = http_get(g.admin_port, ready.get("httpGet", {}).get("path", "/readyz"))
        c.check(status == 200, f"readiness path answers 200 without the upstream (got {status})")
        status, body = http_get(g.admin_port, ann.get("prometheus.io/path", "/metrics"))
        c.check(status == 200 and "shimgate_" in body, "the scrape path serves shimgate metrics")
        check_drain_delay(c, g, delay, drain_bound(argv), ready.get("httpGet", {}).get("path"))


def kubernetes_expand(argv, env, docs):
    """args with $(NAME) replaced as the kubelet does, for a NAME in the container's env: a value,
    or a secretKeyRef into the manifests' (example) Secret; $$ is a literal $; any other $(NAME)
    is left as written."""
    def value(name):
        e = env.get(name)
        if e is None:
            return None
        if "value" in e:
            return str(e["value"])
        ref = e.get("valueFrom", {}).get("secretKeyRef", {})
        secret = docs.get(("Secret", ref.get("name")))
        return secret_value(secret, ref.get("key")) if secret else None

    def expand(arg):
        def one(m):
            if m.group(0) == "$$":
                return "$"
            v = value(m.group(1))
            return m.group(0) if v is None else v
        return re.sub(r"\$\$|\$\((\w+)\)", one, arg)
    return [expand(a) for a in argv]


def secret_value(secret, key):
    if key in secret.get("stringData", {}):
        return secret["stringData"][key]
    if key in secret.get("data", {}):
        return base64.b64decode(secret["data"][key]).decode("utf-8")
    return None


def check_drain_delay(c, g, delay, bound, ready_path):
    """SIGTERM: /readyz turns 503 at once while the public listener still serves, for --drain-delay
    seconds; then the drain, and exit 0 (one signal: a second would cut the delay short)."""
    start = time.monotonic()
    g.proc.send_signal(signal.SIGTERM)
    c.check(poll(lambda: http_get(g.admin_port, ready_path, timeout=1)[0] == 503,
                 timeout=max(delay - 1, 0.5)),
            f"SIGTERM: {ready_path} turns 503 within the drain delay")
    status, _ = http_get(g.port, "/during-drain-delay", timeout=2)
    c.check(status is not None and time.monotonic() - start < delay,
            f"SIGTERM: the listener still serves during --drain-delay (got {status})")
    try:
        rc = g.proc.wait(timeout=bound + 5)
    except subprocess.TimeoutExpired:
        rc = g.stop()
    elapsed = time.monotonic() - start
    c.check(rc == 0, f"SIGTERM: shimgate drains and exits 0 (rc {rc})")
    c.check(elapsed >= delay - 0.2, f"... after the drain delay ({elapsed:.1f} s >= {delay} s)")


# ---- logrotate ----------------------------------------------------------------------------------

def check_logrotate(c, binary, src, tmp):
    path = os.path.join(src, "deploy/logrotate/shimgate")
    text = open(path, encoding="utf-8").read()
    directives = [l.split("#")[0].strip() for l in text.splitlines()]
    c.check("copytruncate" not in directives, "no copytruncate")
    c.check("nocreate" in directives, "nocreate (shimgate makes the new file on SIGUSR1)")
    m = re.search(r"postrotate\n(.*?)\n\s*endscript", text, re.S)
    c.check(m and "USR1" in m.group(1) and "shimgate.service" in m.group(1),
            "postrotate sends SIGUSR1 to shimgate.service")
    log_path = text.split("{")[0].split()[-1]
    _, exec_start = systemd_exec_start(src)
    c.check(log_path == flag_value(exec_start[1:], "access-log"),
            f"rotates the unit's --access-log ({log_path})")

    state = os.path.join(tmp, "logrotate.state")
    r = run(["logrotate", "-d", "-s", state, path])
    c.check(r.returncode == 0 and "error" not in r.stderr.lower(),
            f"logrotate -d: rc {r.returncode} {r.stderr[-500:]}")

    # A real rotation of a running shimgate's access log: the same snippet, its path in tmp and
    # its postrotate signalling this process by PID instead of through systemd.
    access = os.path.join(tmp, "access.log")
    argv = ["--listen", "127.0.0.1:0", "--upstream", "http://127.0.0.1:9", "--rules",
            os.path.join(src, "rules"), "--access-log", access]
    g = start_and_probe(c, binary, argv, os.path.join(src, "rules"), tmp, "access log")
    if not g:
        return
    try:
        lines = lambda p: open(p, encoding="utf-8").read().count("\n") if os.path.exists(p) else 0
        http_get(g.port, "/before-rotation")
        c.check(poll(lambda: lines(access) == 1), "a request is logged")
        conf = os.path.join(tmp, "logrotate.conf")
        local = text.replace(log_path, access).replace(m.group(1), f"kill -USR1 {g.proc.pid}")
        with open(conf, "w", encoding="utf-8") as f:
            f.write(local)
        os.chmod(conf, 0o644)
        r = run(["logrotate", "-f", "-s", state, conf])
        c.check(r.returncode == 0, f"logrotate -f: rc {r.returncode} {r.stderr[-500:]}")
        c.check(lines(access + ".1") == 1, "the logged line is in access.log.1")
        c.check(poll(lambda: os.path.exists(access)), "SIGUSR1: shimgate creates a new access.log")
        http_get(g.port, "/after-rotation")
        c.check(poll(lambda: lines(access) == 1), "the next request is logged in the new file")
        c.check("after-rotation" in open(access).read(), "... and it is the request after")
        c.check(lines(access + ".1") == 1, "access.log.1 gets nothing more")
    finally:
        c.check(g.stop() == 0, "SIGTERM: shimgate exits 0")


def main():
    part, binary, src = sys.argv[1], os.path.abspath(sys.argv[2]), os.path.abspath(sys.argv[3])
    check_part = {"dockerfile": check_dockerfile, "systemd": check_systemd,
                  "kubernetes": check_kubernetes, "logrotate": check_logrotate}[part]
    c = Checks(f"deploy.{part}")
    with tempfile.TemporaryDirectory(prefix=f"shimgate-deploy-{part}-") as tmp:
        check_part(c, binary, src, tmp)
    return c.finish()


if __name__ == "__main__":
    sys.exit(main())
