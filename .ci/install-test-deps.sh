#!/usr/bin/env bash
# Install what the real-engine docker tests need (tests/fixtures/docker_engine.py, python_base.py):
# Debian's dockerd (docker.io, 20.10, classic builder), Docker Distribution as `docker-registry`,
# htpasswd (apache2-utils) for the registry's basic auth. The fixtures fetch busybox-static's .deb
# themselves (apt-get download, after the apt-get update below) for the
# locally made base image (no Docker Hub here). Idempotent: does nothing when all are present.
set -euo pipefail

need=()
command -v dockerd >/dev/null || need+=(docker.io)
command -v docker-registry >/dev/null || need+=(docker-registry)
command -v htpasswd >/dev/null || need+=(apache2-utils)
# mmdebstrap makes the Debian Python base for the real prediction image (tests/fixtures/python_base.py)
command -v mmdebstrap >/dev/null || need+=(mmdebstrap)
# tmux runs the installed command in a real terminal for the wizard's smoke test
command -v tmux >/dev/null || need+=(tmux)
# containerd/runc come with docker.io; iptables is not used (--iptables=false) but docker.io
# depends on it anyway.
if [ ${#need[@]} -eq 0 ]; then
  echo "docker test dependencies already installed"
  # the fixtures `apt-get download` busybox-static: the package lists must exist
  [ -n "$(ls -A /var/lib/apt/lists 2>/dev/null | grep -v lock)" ] || apt-get update -qq
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "install-test-deps: run as root to install: ${need[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# Another installer may hold the dpkg lock (parallel CI steps): wait for it instead of failing.
apt_opts=(-o DPkg::Lock::Timeout=300 -o Acquire::Retries=3)
apt-get "${apt_opts[@]}" update -qq
apt-get "${apt_opts[@]}" install -y -qq --no-install-recommends "${need[@]}" >/dev/null
echo "installed: ${need[*]}"
