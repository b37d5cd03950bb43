#!/usr/bin/env bash
# A throwaway OpenSSH server on 127.0.0.1 for the ssh target's integration tests.
#
#   bash scripts/test-sshd.sh start DIR PORT   # host key, client key, authorized_keys, config in DIR;
#                                              # sshd -D in the background (pid in DIR/sshd.pid);
#                                              # waits until the port accepts a login
#   bash scripts/test-sshd.sh stop DIR         # stops that sshd (by its pid file only)
#
# Needs openssh-server (apt-get install -y openssh-server openssh-client). Public-key login only,
# loopback only, for the current user; nothing outside DIR is touched except /run/sshd (the
# privilege-separation directory sshd insists on). Exit 3: sshd is not installed.
set -euo pipefail
cmd=${1:?start|stop}; dir=${2:?DIR}
SSHD=$(command -v sshd || echo /usr/sbin/sshd)

case "$cmd" in
start)
  port=${3:?PORT}
  [ -x "$SSHD" ] || { echo "sshd not installed (apt-get install -y openssh-server)" >&2; exit 3; }
  command -v ssh-keygen >/dev/null || { echo "ssh-keygen not installed" >&2; exit 3; }
  mkdir -p "$dir" && chmod 700 "$dir"
  [ -f "$dir/host_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -f "$dir/host_ed25519"
  [ -f "$dir/client_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -f "$dir/client_ed25519"
  cp "$dir/client_ed25519.pub" "$dir/authorized_keys" && chmod 600 "$dir/authorized_keys"
  echo "[127.0.0.1]:$port $(cut -d' ' -f1,2 "$dir/host_ed25519.pub")" > "$dir/known_hosts"
  user=$(id -un)
  cat > "$dir/sshd_config" <<CFG
Port $port
ListenAddress 127.0.0.1
HostKey $dir/host_ed25519
PidFile $dir/sshd.pid
AuthorizedKeysFile $dir/authorized_keys
AllowUsers $user
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
UsePAM no
StrictModes no
PrintMotd no
LogLevel ERROR
MaxStartups 50:30:100
CFG
  mkdir -p /run/sshd 2>/dev/null || true
  "$SSHD" -t -f "$dir/sshd_config"
  "$SSHD" -D -e -f "$dir/sshd_config" >"$dir/sshd.log" 2>&1 &
  echo $! > "$dir/sshd.pid.launcher"
  for _ in $(seq 100); do
    if ssh -o BatchMode=yes -o ConnectTimeout=2 -o IdentitiesOnly=yes -i "$dir/client_ed25519" \
         -o UserKnownHostsFile="$dir/known_hosts" -o StrictHostKeyChecking=yes -p "$port" \
         "$user@127.0.0.1" true 2>/dev/null; then
      echo "sshd on 127.0.0.1:$port (pid $(cat "$dir/sshd.pid.launcher")), key $dir/client_ed25519"
      exit 0
    fi
    sleep 0.1
  done
  echo "sshd did not accept a login; log:" >&2; cat "$dir/sshd.log" >&2
  kill "$(cat "$dir/sshd.pid.launcher")" 2>/dev/null || true
  exit 1
  ;;
stop)
  for f in "$dir/sshd.pid.launcher" "$dir/sshd.pid"; do
    [ -f "$f" ] && kill "$(cat "$f" 2>/dev/null)" 2>/dev/null || true
  done
  ;;
*) echo "usage: $0 start DIR PORT | stop DIR" >&2; exit 2 ;;
esac
