#!/usr/bin/env bash
# Fetch and unpack a Debian source package (lwip, mbedtls) into a cache
# under the build directory, without touching the system's apt configuration:
# a private sources list and package lists live in the cache directory.
#   fetch_debian_source.sh PACKAGE CACHE_DIR
# Prints the unpacked source directory. Never commit what it fetches.
set -euo pipefail
pkg=$1
cache=$(mkdir -p "$2" && cd "$2" && pwd)
stamp="$cache/$pkg.unpacked"
if [ -f "$stamp" ] && [ -d "$(cat "$stamp")" ]; then
  cat "$stamp"
  exit 0
fi
# one fetch at a time per cache (make -j fetches lwip and mbedtls together; apt locks its lists)
exec 9>"$cache/.fetch.lock"
flock 9
if [ -f "$stamp" ] && [ -d "$(cat "$stamp")" ]; then
  cat "$stamp"
  exit 0
fi

# the suite and mirror the system already uses (deb822 or one-line format); Debian's by default
suite=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
mirror=$(grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | head -1 | awk '{print $2}')
[ -n "$mirror" ] || mirror=$(grep -hs '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list | grep -v security | head -1 | awk '{print $2}')
[ -n "$mirror" ] || mirror=http://deb.debian.org/debian
keyring=/usr/share/keyrings/debian-archive-keyring.gpg

apt_dir="$cache/apt"
mkdir -p "$apt_dir/lists/partial" "$cache/dl"
echo "deb-src [signed-by=$keyring] $mirror $suite main" > "$apt_dir/sources.list"
opts=(-q -o "Dir::Etc::SourceList=$apt_dir/sources.list" -o Dir::Etc::SourceParts=/dev/null
      -o "Dir::State::Lists=$apt_dir/lists" -o APT::Sandbox::User=root)
apt-get "${opts[@]}" update >&2
(cd "$cache/dl" && apt-get "${opts[@]}" source --download-only "$pkg" >&2)
orig=$(ls "$cache/dl/${pkg}"_*.orig.tar.* | head -1)
[ -n "$orig" ] || { echo "no upstream tarball for $pkg" >&2; exit 1; }
rm -rf "$cache/src/$pkg.tmp" && mkdir -p "$cache/src/$pkg.tmp"
tar -xf "$orig" -C "$cache/src/$pkg.tmp"
top=$(find "$cache/src/$pkg.tmp" -mindepth 1 -maxdepth 1 -type d | head -n 1)
[ -n "$top" ] || { echo "empty source tarball $orig" >&2; exit 1; }
rm -rf "$cache/src/$(basename "$top")"
mv "$top" "$cache/src/"
rm -rf "$cache/src/$pkg.tmp"
echo "$cache/src/$(basename "$top")" > "$stamp"
cat "$stamp"
