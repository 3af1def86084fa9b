#!/usr/bin/env bash
# Builds the xinfang-city .deb from the release binary with Debian's own dpkg-deb (no download,
# no extra tool): the binary, the systemd unit, the settings file (a conffile), the admin
# wrapper and the maintainer scripts under deploy/city/. Depends from dpkg-shlibdeps.
# Usage: package-city.sh CITY_BINARY OUT_DIR    (docs/deploy.md)
set -euo pipefail
BIN="$1"; OUT="$2"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
SRC="$ROOT/deploy/city"
[ -x "$BIN" ] || { echo "package-city: $BIN is missing: run \`make release\` first" >&2; exit 1; }

VERSION="$("$BIN" --version | awk '{print $2}')"
ARCH="$(dpkg --print-architecture)"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
PKG="$WORK/pkg"

install -Dm0755 "$BIN" "$PKG/usr/bin/xinfang-city"
strip --strip-unneeded "$PKG/usr/bin/xinfang-city" 2>/dev/null || true
install -Dm0755 "$SRC/xinfang-city-admin" "$PKG/usr/sbin/xinfang-city-admin"
install -Dm0644 "$SRC/xinfang-city.service" "$PKG/usr/lib/systemd/system/xinfang-city.service"
install -Dm0644 "$SRC/xinfang-city.env" "$PKG/etc/xinfang-city/xinfang-city.env"
# The print assets (the city's monthly report): templates and the CJK font, where the unit's
# XINFANG_ASSETS_DIR points (the desk package has its own copy in /usr/share/xinfang).
install -d "$PKG/usr/share/xinfang-city/assets"
cp -r "$ROOT/assets/templates" "$ROOT/assets/fonts" "$PKG/usr/share/xinfang-city/assets/"
chmod -R u=rwX,go=rX "$PKG/usr/share/xinfang-city/assets"
install -Dm0644 "$ROOT/docs/deploy.md" "$PKG/usr/share/doc/xinfang-city/deploy.md"
install -Dm0644 "$ROOT/deploy/nginx-city.conf" "$PKG/usr/share/doc/xinfang-city/examples/nginx-city.conf"
printf 'xinfang-city %s\nLicense: MIT OR Apache-2.0\n' "$VERSION" > "$PKG/usr/share/doc/xinfang-city/copyright"

# Shared libraries the binary links, as package dependencies (libc6, libgcc-s1, ...).
mkdir -p "$WORK/shlibs/debian"
printf 'Source: xinfang-city\n\nPackage: xinfang-city\nArchitecture: any\n' > "$WORK/shlibs/debian/control"
DEPENDS="$(cd "$WORK/shlibs" && dpkg-shlibdeps -O "$PKG/usr/bin/xinfang-city" 2>/dev/null \
  | sed -n 's/^shlibs:Depends=//p')"
[ -n "$DEPENDS" ] || { echo "package-city: dpkg-shlibdeps found no dependencies" >&2; exit 1; }

install -d "$PKG/DEBIAN"
SIZE="$(du -sk --exclude=DEBIAN "$PKG" | cut -f1)"
sed -e "s/@VERSION@/$VERSION/" -e "s/@ARCH@/$ARCH/" -e "s/@DEPENDS@/$DEPENDS/" -e "s/@SIZE@/$SIZE/" \
  "$SRC/debian/control.in" > "$PKG/DEBIAN/control"
echo /etc/xinfang-city/xinfang-city.env > "$PKG/DEBIAN/conffiles"
install -m0755 "$SRC/debian/postinst" "$SRC/debian/prerm" "$SRC/debian/postrm" "$PKG/DEBIAN/"
(cd "$PKG" && find usr etc -type f -exec md5sum {} + > DEBIAN/md5sums)

mkdir -p "$OUT"
DEB="$OUT/xinfang-city_${VERSION}_${ARCH}.deb"
dpkg-deb --root-owner-group -Zgzip --build "$PKG" "$DEB" >/dev/null
echo "$DEB"
