#!/usr/bin/env bash
# Install Debian's docker-compose (1.29.2): enough to validate docker-compose.yml offline with
# `docker-compose -f docker-compose.yml config` (tests/integration/test_compose_config.py uses it when present).
# Nothing is started; no Docker engine is needed.
set -euo pipefail
if command -v docker-compose >/dev/null 2>&1; then
  echo "install-compose: $(docker-compose version --short 2>/dev/null || echo present)"
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq docker-compose >/dev/null
docker-compose version --short
