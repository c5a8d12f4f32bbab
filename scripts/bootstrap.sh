#!/usr/bin/env bash
# Installs the system packages that Driftvakt's tests and demo need, only when
# they are missing, on Debian or Raspberry Pi OS. Safe to run again and again.
#
#   scripts/bootstrap.sh            test and demo needs (broker, build headers)
#   scripts/bootstrap.sh --browser  also Chromium for the dashboard's browser tests
#   scripts/bootstrap.sh --deploy   also debootstrap for the rollout tests
set -euo pipefail

want=(mosquitto mosquitto-clients libsystemd-dev pkg-config gcc python3-dev iproute2 iputils-ping sqlite3)
for arg in "$@"; do
  case "$arg" in
    --browser) want+=(chromium) ;;
    --deploy) want+=(debootstrap) ;;
    *) echo "bootstrap: unknown option $arg (use --browser or --deploy)" >&2; exit 2 ;;
  esac
done

missing=()
for pkg in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "bootstrap: system packages present (${want[*]})"
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "bootstrap: missing ${missing[*]}, and this is not a Debian system: install them with your package manager" >&2
  exit 1
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo="sudo"
  else
    echo "bootstrap: missing ${missing[*]}; installing them needs root." >&2
    echo "  Run: sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi

echo "bootstrap: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
# The Debian package starts a system-wide broker on port 1883; the tests and
# the demo start their own brokers on free ports and do not need it.
