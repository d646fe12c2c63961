#!/usr/bin/env bash
# Fetch the real footage and photos Nightwatch's demo and tests use, without installing anything:
# Debian's opencv-doc package is downloaded (no root needed) and only a few files are unpacked.
# vtest.avi appears to come from PETS 2009 (research use with acknowledgement); it is never committed.
set -euo pipefail
dest="${NIGHTWATCH_MEDIA:-${XDG_CACHE_HOME:-$HOME/.cache}/nightwatch/media}"
wanted=(vtest.avi tree.avi messi5.jpg basketball1.png fruits.jpg building.jpg home.jpg)
missing=0
for f in "${wanted[@]}"; do [ -s "$dest/$f" ] || missing=1; done
if [ "$missing" = 0 ]; then echo "media: all present in $dest"; exit 0; fi
mkdir -p "$dest"
work=$(mktemp -d)
chmod 777 "$work"  # apt-get download drops privileges to _apt when run as root
trap 'rm -rf "$work"' EXIT
echo "media: downloading Debian's opencv-doc (about 96 MB download, only a few files are kept) ..."
(cd "$work" && apt-get download -q opencv-doc >/dev/null)
deb=$(ls "$work"/opencv-doc_*.deb)
paths=()
for f in "${wanted[@]}"; do paths+=("./usr/share/doc/opencv-doc/examples/data/$f"); done
dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$work" "${paths[@]}"
for f in "${wanted[@]}"; do
  mv "$work/usr/share/doc/opencv-doc/examples/data/$f" "$dest/$f"
done
echo "media: ${#wanted[@]} files in $dest"
