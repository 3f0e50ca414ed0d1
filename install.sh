#!/bin/sh
# Install zadig-hook: Debian packages, configure, build, install.
# Safe to re-run. See ./install.sh --help.
set -eu

PREFIX=${PREFIX:-/usr/local}
BUILD_DIR=${BUILD_DIR:-build}
BUILD_TYPE=${BUILD_TYPE:-RelWithDebInfo}
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}
SKIP_DEPS=${SKIP_DEPS:-0}
SKIP_INSTALL=0
STATIC_DEPS=${STATIC_DEPS:-ON}

usage() {
	cat <<USAGE
usage: ./install.sh [--prefix DIR] [--build-dir DIR] [--no-deps] [--no-install]
                    [--shared-libs]

Installs the Debian packages zadig-hook needs (as root, with apt-get),
configures and builds it with CMake into the build directory, and installs
zadig-hook, zadig-webhook and git-zadig into PREFIX/bin (git-zadig-full
and the test fake-zadig into PREFIX/libexec/zadig-hook, the git-zadig man
page into PREFIX/share/man/man1).

  --prefix DIR      install below DIR (default: \$PREFIX or /usr/local)
  --build-dir DIR   build directory (default: \$BUILD_DIR or ./build)
  --no-deps         do not run apt-get (packages already there)
  --no-install      configure and build only
  --shared-libs     link the hook and git zadig with the system's shared
                    libraries (security updates of libgit2, OpenSSL or
                    SQLite then apply without a rebuild; ~2 ms more per run)
  -h, --help        this text

Environment: PREFIX, BUILD_DIR, BUILD_TYPE (RelWithDebInfo), JOBS, SKIP_DEPS=1,
STATIC_DEPS=OFF (as --shared-libs).
After it: run the tests with  ctest --test-dir build --output-on-failure
USAGE
}

while [ $# -gt 0 ]; do
	case $1 in
	--prefix) PREFIX=$2; shift 2 ;;
	--prefix=*) PREFIX=${1#*=}; shift ;;
	--build-dir) BUILD_DIR=$2; shift 2 ;;
	--build-dir=*) BUILD_DIR=${1#*=}; shift ;;
	--no-deps) SKIP_DEPS=1; shift ;;
	--no-install) SKIP_INSTALL=1; shift ;;
	--shared-libs) STATIC_DEPS=OFF; shift ;;
	-h|--help) usage; exit 0 ;;
	*) echo "install.sh: error: unknown option '$1'" >&2; usage >&2; exit 2 ;;
	esac
done

cd "$(dirname "$0")"
case $PREFIX in /*) ;; *) PREFIX=$(pwd)/$PREFIX ;; esac

# Build dependencies, and the tools the tests drive (sqlite3, openssl,
# procps, valgrind), all from Debian.
PACKAGES="build-essential cmake pkg-config git curl ca-certificates
libgit2-dev libcurl4-openssl-dev libssl-dev libjson-c-dev libyajl-dev libyaml-dev
libmicrohttpd-dev libsqlite3-dev libcmocka-dev sqlite3 openssl procps
valgrind"

missing=""
for p in $PACKAGES; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
if [ "$SKIP_DEPS" != 1 ] && [ -n "$missing" ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "install.sh: error: missing packages:$missing; run as root or install them" >&2
		exit 1
	fi
	echo "install.sh: installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $missing
fi

# The end-to-end tests of this build run the installed programs.
e2e_bin=
[ "$SKIP_INSTALL" = 1 ] || e2e_bin=$PREFIX/bin
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE="$BUILD_TYPE" \
	-DCMAKE_INSTALL_PREFIX="$PREFIX" -DZH_E2E_BIN_DIR="$e2e_bin" \
	-DZH_STATIC_DEPS="$STATIC_DEPS"
cmake --build "$BUILD_DIR" -j "$JOBS"
if [ "$SKIP_INSTALL" != 1 ]; then
	cmake --install "$BUILD_DIR"
	echo "install.sh: installed to $PREFIX/bin"
fi
