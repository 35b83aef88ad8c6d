#!/bin/sh
# Assembles the roots of the distroless stand-ins (sandbox/catalogue.py) from Debian bookworm
# packages, the way GoogleContainerTools/distroless makes its images: each package's files are
# extracted with dpkg-deb -x (no maintainer script runs, nothing is configured, no dpkg
# database beyond one control file per package in /var/lib/dpkg/status.d/), and the few files
# a system needs are written by hand. Nothing here installs a shell or a package manager into
# the roots; busybox goes only into the debug layer.
#
# Runs in a builder stage FROM the local debian:bookworm-slim stand-in, as root, after the
# packages were fetched into /debs with apt-get download. Writes one directory per layer under
# /layers; each catalogue image COPYs one of them onto its parent:
#   static   base-files netbase tzdata media-types, the ca-certificates bundle, passwd, group,
#            nsswitch.conf, os-release, /root /home/nonroot /tmp
#   base     libc6 libssl3, and openssl's configuration (not the openssl program)
#   cc       libgcc-s1 libstdc++6 libgomp1 gcc-12-base
#   python3  Debian's python3.11 minimal runtime and the libraries its modules load
#   busybox  busybox-static as /busybox/busybox with one link per applet
# Usage: distroless_root.sh "<static packages>" "<base packages>" "<cc packages>" "<python3 packages>"
set -eu
umask 022

STATIC_PACKAGES=$1
BASE_PACKAGES=$2
CC_PACKAGES=$3
PYTHON_PACKAGES=$4
NONROOT=65532
NOBODY=65534

deb_of() {
	found=$(ls /debs/"$1"_*.deb)
	[ "$(printf '%s\n' "$found" | wc -l)" = 1 ] || { echo "not exactly one .deb for $1: $found" >&2; exit 1; }
	printf '%s\n' "$found"
}

# extract LAYER PACKAGE...: the package's files into the layer, and its control file where
# distroless keeps it (scanners read /var/lib/dpkg/status.d/ to tell what an image contains).
extract() {
	root=/layers/$1
	shift
	mkdir -p "$root/var/lib/dpkg/status.d"
	for package in "$@"; do
		deb=$(deb_of "$package")
		dpkg-deb -x "$deb" "$root"
		dpkg-deb -f "$deb" >"$root/var/lib/dpkg/status.d/$package"
	done
	chmod 0755 "$root"
}

# slim LAYER: documentation but the copyright files, man and info pages, translations and
# lintian overrides go, as in distroless.
slim() {
	root=/layers/$1
	if [ -d "$root/usr/share/doc" ]; then
		find "$root/usr/share/doc" -mindepth 2 -maxdepth 2 -type d -exec rm -rf {} +
		find "$root/usr/share/doc" -mindepth 1 ! -type d ! -name copyright -delete
		find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete
	fi
	rm -rf "$root/usr/share/man" "$root/usr/share/info" "$root/usr/share/locale" \
		"$root/usr/share/lintian" "$root/usr/share/groff" "$root/usr/share/bug"
}

mkdir -p /layers /tmp/unpacked

# --- static -------------------------------------------------------------------------------
# shellcheck disable=SC2086 # the package lists are words
extract static $STATIC_PACKAGES
root=/layers/static
# ca-certificates: distroless ships the bundle update-ca-certificates would write, not the
# script or the single certificates. The bundle is Mozilla's set from the package plus the
# authorities this host added to the debian stand-in (/usr/local/share/ca-certificates), as
# update-ca-certificates does on an installed system.
mkdir -p "$root/etc/ssl/certs"
for cert in "$root"/usr/share/ca-certificates/mozilla/*.crt /usr/local/share/ca-certificates/*.crt; do
	[ -f "$cert" ] || continue
	sed -e '$a\' "$cert"
done >"$root/etc/ssl/certs/ca-certificates.crt"
chmod 0644 "$root/etc/ssl/certs/ca-certificates.crt"
rm -rf "$root/usr/share/ca-certificates" "$root/usr/sbin/update-ca-certificates" \
	"$root/etc/ca-certificates" "$root/etc/ca-certificates.conf"
rmdir "$root/usr/sbin" 2>/dev/null || true
# base-files' login-shell and motd scripts are for a system with a shell.
rm -rf "$root/etc/update-motd.d" "$root/etc/profile.d" "$root/etc/skel"
# Users and groups: distroless's own three users and five groups.
cat >"$root/etc/passwd" <<EOF
root:x:0:0:root:/root:/sbin/nologin
nobody:x:$NOBODY:$NOBODY:nobody:/nonexistent:/sbin/nologin
nonroot:x:$NONROOT:$NONROOT:nonroot:/home/nonroot:/sbin/nologin
EOF
cat >"$root/etc/group" <<EOF
root:x:0:
nobody:x:$NOBODY:
tty:x:5:
staff:x:50:
nonroot:x:$NONROOT:
EOF
chmod 0644 "$root/etc/passwd" "$root/etc/group"
cat >"$root/etc/nsswitch.conf" <<'EOF'
# /etc/nsswitch.conf (as in distroless)
passwd:         compat
group:          compat
shadow:         compat
gshadow:        files

hosts:          files dns
networks:       files

protocols:      db files
services:       db files
ethers:         db files
rpc:            db files

netgroup:       nis
EOF
# /etc/os-release is base-files' link to /usr/lib/os-release; distroless rewrites the target.
cat >"$root/usr/lib/os-release" <<'EOF'
PRETTY_NAME="Distroless"
NAME="Debian GNU/Linux"
ID="debian"
VERSION_ID="12"
VERSION="Debian GNU/Linux 12 (bookworm)"
HOME_URL="https://github.com/GoogleContainerTools/distroless"
EOF
ln -sfn ../usr/lib/os-release "$root/etc/os-release"
mkdir -p "$root/root" "$root/home/nonroot" "$root/tmp"
chmod 0700 "$root/root" "$root/home/nonroot"
chmod 0755 "$root/home"
chown "$NONROOT:$NONROOT" "$root/home/nonroot"
chmod 1777 "$root/tmp"
slim static

# --- base ---------------------------------------------------------------------------------
# shellcheck disable=SC2086
extract base $BASE_PACKAGES
root=/layers/base
# openssl's configuration, which libssl3 reads, without the openssl program.
mkdir -p /tmp/unpacked/openssl "$root/etc/ssl" "$root/usr/lib/ssl" "$root/usr/share/doc/openssl"
dpkg-deb -x "$(deb_of openssl)" /tmp/unpacked/openssl
cp -a /tmp/unpacked/openssl/etc/ssl/openssl.cnf "$root/etc/ssl/"
cp -a /tmp/unpacked/openssl/usr/lib/ssl/. "$root/usr/lib/ssl/"
rm -rf "$root/usr/lib/ssl/misc"
cp -a /tmp/unpacked/openssl/usr/share/doc/openssl/copyright "$root/usr/share/doc/openssl/"
slim base

# --- cc -----------------------------------------------------------------------------------
# shellcheck disable=SC2086
extract cc $CC_PACKAGES
slim cc

# --- python3 ------------------------------------------------------------------------------
# shellcheck disable=SC2086
extract python3 $PYTHON_PACKAGES
root=/layers/python3
ln -s python3.11 "$root/usr/bin/python3"
ln -s python3.11 "$root/usr/bin/python"
slim python3

# --- busybox (the debug images) -----------------------------------------------------------
mkdir -p /tmp/unpacked/busybox /layers/busybox/busybox
dpkg-deb -x "$(deb_of busybox-static)" /tmp/unpacked/busybox
cp /tmp/unpacked/busybox/bin/busybox /layers/busybox/busybox/busybox
for applet in $(/layers/busybox/busybox/busybox --list); do
	[ "$applet" = busybox ] || ln -s busybox "/layers/busybox/busybox/$applet"
done
mkdir -p /layers/busybox/usr/share/doc/busybox-static
cp /tmp/unpacked/busybox/usr/share/doc/busybox-static/copyright /layers/busybox/usr/share/doc/busybox-static/
chmod 0755 /layers/busybox

rm -rf /tmp/unpacked
for layer in static base cc python3 busybox; do
	echo "$layer: $(du -sk "/layers/$layer" | cut -f1) kB, $(find "/layers/$layer" | wc -l) entries"
done
