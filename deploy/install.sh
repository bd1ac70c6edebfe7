#!/bin/sh
# Install the PST branch agent from this offline bundle (no internet needed) and start it at boot.
#
#   sudo ./install.sh --branch 1222 --name "BPS Kabupaten Labuhanbatu Selatan" \
#       --central tcp://pst-sync.example.go.id:5555 --server-key='<central public key>' \
#       --id-hash-key '<central ID_HASH_KEY>'
#
# Every option not listed below goes to `pst-branch-agent init` (README.txt). Steps: a virtual
# environment in PREFIX, the agent installed from ./wheels with no package index, `init` (skipped
# when DATA_DIR is already set up, e.g. on an upgrade), then a systemd unit that starts
# `pst-branch-agent run` at boot and restarts it on failure.
#
#   --prefix DIR     the virtual environment (default /opt/pst-agent)
#   --data-dir DIR   the agent's data (default /var/lib/pst-agent)
#   --python CMD     the Python 3.11 or 3.12 to use (default python3)
#   --user NAME      the account the service runs as (default pst-agent, created if missing)
#   --unit-dir DIR   where to write pst-branch-agent.service (default /etc/systemd/system)
#   --no-service     install and init only; start it yourself: pst-branch-agent run --data-dir DIR
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
PREFIX=/opt/pst-agent
DATA_DIR=/var/lib/pst-agent
PYTHON=python3
SERVICE_USER=pst-agent
UNIT_DIR=/etc/systemd/system
SERVICE=1

die() { echo "install.sh: error: $*" >&2; exit 2; }
need_value() { [ $# -ge 2 ] || die "$1 needs a value"; }

INIT_ARGS_FILE=$(mktemp)
trap 'rm -f "$INIT_ARGS_FILE"' EXIT
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) need_value "$@"; PREFIX=$2; shift 2 ;;
    --prefix=*) PREFIX=${1#*=}; shift ;;
    --data-dir) need_value "$@"; DATA_DIR=$2; shift 2 ;;
    --data-dir=*) DATA_DIR=${1#*=}; shift ;;
    --python) need_value "$@"; PYTHON=$2; shift 2 ;;
    --python=*) PYTHON=${1#*=}; shift ;;
    --user) need_value "$@"; SERVICE_USER=$2; shift 2 ;;
    --user=*) SERVICE_USER=${1#*=}; shift ;;
    --unit-dir) need_value "$@"; UNIT_DIR=$2; shift 2 ;;
    --unit-dir=*) UNIT_DIR=${1#*=}; shift ;;
    --no-service) SERVICE=0; shift ;;
    -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) printf '%s\n' "$1" >> "$INIT_ARGS_FILE"; shift ;;
  esac
done

command -v "$PYTHON" >/dev/null 2>&1 || die "$PYTHON not found: install Python 3.11 or 3.12 (apt-get install python3 python3-venv) or give --python"
"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info[:2] in ((3, 11), (3, 12)) else 1)' \
  || die "$PYTHON is Python $("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])'); this bundle has wheels for 3.11 and 3.12 (give --python python3.11)"
[ -d "$HERE/wheels" ] || die "no wheels/ directory next to install.sh: unpack the whole bundle"
if [ ! -f "$DATA_DIR/agent.toml" ] && [ ! -s "$INIT_ARGS_FILE" ]; then
  die "no init options and $DATA_DIR is not set up: give --branch, --central, --server-key and --id-hash-key (./install.sh --help)"
fi

echo "== virtual environment in $PREFIX"
"$PYTHON" -m venv "$PREFIX" || die "could not create $PREFIX (on Debian/Ubuntu: apt-get install python3-venv)"
"$PREFIX/bin/python" -m pip install --quiet --no-index --find-links "$HERE/wheels" "pst-helpdesk[agent]" \
  || die "installing from $HERE/wheels failed (see above); this bundle is for Linux x86_64"
AGENT="$PREFIX/bin/pst-branch-agent"

if [ -f "$DATA_DIR/agent.toml" ]; then
  echo "== $DATA_DIR is already set up; init skipped (an upgrade keeps its data and keys)"
elif [ -s "$INIT_ARGS_FILE" ]; then
  echo "== pst-branch-agent init --data-dir $DATA_DIR"
  # Re-read the init options one a line, so spaces and quotes inside values survive.
  set --
  while IFS= read -r arg; do set -- "$@" "$arg"; done < "$INIT_ARGS_FILE"
  "$AGENT" init --data-dir "$DATA_DIR" "$@"
fi

if [ "$SERVICE" = 0 ]; then
  echo "Installed. Start it with: $AGENT run --data-dir $DATA_DIR"
  exit 0
fi

if [ "$(id -u)" = 0 ]; then
  if ! id "$SERVICE_USER" >/dev/null 2>&1; then
    useradd --system --home-dir "$DATA_DIR" --no-create-home --shell /usr/sbin/nologin "$SERVICE_USER" \
      || die "could not create the user $SERVICE_USER (give --user NAME of an existing account)"
  fi
  chown -R "$SERVICE_USER" "$DATA_DIR"
else
  SERVICE_USER=$(id -un)
fi

echo "== systemd unit $UNIT_DIR/pst-branch-agent.service (runs as $SERVICE_USER)"
mkdir -p "$UNIT_DIR"
sed -e "s#@PREFIX@#$PREFIX#g" -e "s#@DATA_DIR@#$DATA_DIR#g" -e "s#@USER@#$SERVICE_USER#g" \
  "$HERE/pst-branch-agent.service" > "$UNIT_DIR/pst-branch-agent.service"
if [ "$UNIT_DIR" = /etc/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
  systemctl daemon-reload
  systemctl enable --now pst-branch-agent.service
  echo "Started; it starts at every boot. Check it: systemctl status pst-branch-agent"
else
  echo "Unit written; enable it with: systemctl enable --now pst-branch-agent.service"
fi
echo "Status: $AGENT status --data-dir $DATA_DIR"
