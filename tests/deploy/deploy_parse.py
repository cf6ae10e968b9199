"""Readers for tests/deploy/check_deploy.py: the Dockerfile, a systemd unit, the Kubernetes
manifests and .dockerignore patterns as data, and the Debian look-ups (ldd, dpkg -S, apt-cache)."""

import fnmatch
import glob
import os
import re

import yaml

from deploy_common import run


def dockerfile_instructions(path):
    """[(KEYWORD, arguments)] with continuation lines joined and comments dropped."""
    out, pending = [], ""
    for raw in open(path, encoding="utf-8"):
        line = raw.rstrip("\n")
        if line.lstrip().startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = (pending + line).strip()
        pending = ""
        if line:
            keyword, _, rest = line.partition(" ")
            out.append((keyword.upper(), rest.strip()))
    return out


def dockerfile_stages(instructions):
    stages = []
    for keyword, rest in instructions:
        if keyword == "FROM":
            words = rest.split()
            stages.append({"image": words[0], "name": words[2] if len(words) > 2 else None,
                           "body": []})
        elif stages:
            stages[-1]["body"].append((keyword, rest))
    return stages


def apt_installed_packages(run_lines):
    """The package names of every `apt-get install` in these RUN lines."""
    names = []
    for run in run_lines:
        for command in re.split(r"&&|;|\|\|", run):
            words = command.split()
            if "apt-get" in words and "install" in words:
                for w in words[words.index("install") + 1:]:
                    if not w.startswith("-"):
                        names.append(w)
    return names


def package_of_file(path):
    """The Debian package shipping path (dpkg -S), trying the merged-/usr spellings."""
    real = os.path.realpath(path)
    candidates = [path, real]
    for p in (path, real):
        if p.startswith("/usr/"):
            candidates.append(p[4:])
        else:
            candidates.append("/usr" + p)
    for c in candidates:
        r = run(["dpkg", "-S", c])
        if r.returncode == 0:
            return r.stdout.split(":", 1)[0].strip()
    return None


def shared_libraries(binary):
    out = run(["ldd", binary], check=True).stdout
    libs = []
    for line in out.splitlines():
        m = re.search(r"(/\S+) \(0x", line)
        if m:
            libs.append(m.group(1))
    return libs


def known_to_debian(packages):
    """The packages apt knows here (installed, or in the package lists): one apt-cache call, as
    each takes seconds on a busy machine."""
    r = run(["apt-cache", "show", "--no-all-versions"] + list(packages))
    return set(re.findall(r"^Package: (\S+)$", r.stdout, re.M))


def os_codename():
    for line in open("/etc/os-release", encoding="utf-8"):
        if line.startswith("VERSION_CODENAME="):
            return line.split("=", 1)[1].strip().strip('"')
    return None


def ignored_by(patterns, path):
    """Whether a .dockerignore pattern list excludes path (or a folder above it)."""
    parts = path.strip("/").split("/")
    prefixes = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
    for pattern in patterns:
        pattern = pattern.rstrip("/")
        for p in prefixes:
            if fnmatch.fnmatch(p, pattern) or (pattern.startswith("**/") and
                                               fnmatch.fnmatch(p.split("/")[-1], pattern[3:])):
                return True
    return False


def unit_settings(path):
    """{(section, key): [values]} of a unit file (repeated keys kept in order)."""
    out, section, pending = {}, None, ""
    for raw in open(path, encoding="utf-8"):
        line = raw.rstrip("\n")
        if not pending and line.lstrip().startswith(("#", ";")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = (pending + line).strip()
        pending = ""
        if line.startswith("["):
            section = line.strip("[]")
        elif "=" in line:
            key, value = line.split("=", 1)
            out.setdefault((section, key.strip()), []).append(value.strip())
    return out


def manifests(src):
    docs = {}
    for path in sorted(glob.glob(os.path.join(src, "deploy/kubernetes/*.yaml"))):
        for doc in yaml.safe_load_all(open(path, encoding="utf-8")):
            if doc:
                docs[(doc["kind"], doc.get("metadata", {}).get("name"))] = doc
    return docs


def selects(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def container_port(container, port):
    """The number of a probe's or Service's port (a name or a number) in this container."""
    for p in container.get("ports", []):
        if port in (p.get("name"), p["containerPort"]):
            return p["containerPort"]
    return None
