#!/usr/bin/env bash
# Installs every Debian package darklens needs to build, test and benchmark.
# Idempotent: packages already present are skipped by apt-get. Run as root
# (or with sudo available). Safe to run on every invocation of the README's
# commands.
set -euo pipefail

packages=(
  build-essential dpkg-dev cmake ninja-build pkg-config git
  clang clang-14 libclang-rt-14-dev clang-format clang-tidy
  libpcap-dev libeigen3-dev libnanoflann-dev libcli11-dev nlohmann-json3-dev
  libsqlite3-dev libcpp-httplib-dev zlib1g-dev libzstd-dev libc-ares-dev
  libgtest-dev libgmock-dev libbenchmark-dev libjemalloc-dev libigraph-dev libhnswlib-dev libmaxminddb-dev libavro-dev pybind11-dev python3-dev
  libopenmpi-dev openmpi-bin
  python3 python3-sklearn python3-numpy python3-dpkt python3-pandas python3-igraph python3-gensim
  python3-maxminddb libmaxmind-db-writer-perl python3-avro python3-pytest
  python3-pip python3-venv python3-setuptools python3-wheel
  tshark tcpdump tcpreplay zstd gzip time dnsmasq-base strace curl wrk
  chromium chromium-driver
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages already installed"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; answer for it.
echo "wireshark-common wireshark-common/install-setuid boolean false" | $SUDO debconf-set-selections
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
