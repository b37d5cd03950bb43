#!/usr/bin/env bash
# Debian packages the test tiers use, installed in one apt transaction (only the missing ones):
# chromium (site browser tests), docker-compose (compose file check), openssh-server/client
# (ssh execution target against a loopback sshd), postgresql (the Airflow-on-PostgreSQL tier),
# redis-server (the Celery fleet tier: tests/integration/test_celery_fleet.py).
# Needs root; without apt-get or root it says so and exits 0: the tests that need a package skip.
set -uo pipefail
want=()
command -v chromium >/dev/null 2>&1 || want+=(chromium)
command -v docker-compose >/dev/null 2>&1 || want+=(docker-compose)
[ -x /usr/sbin/sshd ] || want+=(openssh-server)
command -v ssh >/dev/null 2>&1 || want+=(openssh-client)
ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || want+=(postgresql)
command -v redis-server >/dev/null 2>&1 || want+=(redis-server)
if [ ${#want[@]} -eq 0 ]; then
  echo "system packages: all present"
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1 || [ "$(id -u)" != 0 ]; then
  echo "system packages missing (${want[*]}); no apt-get or not root: their tests will skip" >&2
  exit 0
fi
echo "installing system packages: ${want[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends "${want[@]}" >/dev/null \
  || echo "warning: apt-get install ${want[*]} failed; their tests will skip" >&2
exit 0
