#!/usr/bin/env bash
# Optional: wrap the onedir build in an AppImage (starts faster than the one-file binary: nothing is
# unpacked, the image is mounted). Needs appimagetool on PATH; the result needs FUSE on the target, or
# `--appimage-extract-and-run`. The one-file dist/torch-setup stays the main Linux download.
#   pyinstaller --noconfirm build.spec -- --onedir && packaging/linux/build-appimage.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
VERSION=$(sed -n 's/^__version__ = "\(.*\)"/\1/p' installer/__init__.py)
ARCH=$(uname -m)
APPDIR=build/TorchSetup.AppDir
[ -x dist/torch-setup/torch-setup ] || { echo "build the onedir first: pyinstaller build.spec -- --onedir" >&2; exit 1; }
rm -rf "$APPDIR"
mkdir -p "$APPDIR/usr/lib" "$APPDIR/usr/share/applications" "$APPDIR/usr/share/icons/hicolor/256x256/apps"
cp -a dist/torch-setup "$APPDIR/usr/lib/torch-setup"          # -a keeps PyInstaller's symlinks
cp packaging/linux/torch-setup.desktop "$APPDIR/usr/share/applications/"
cp packaging/linux/torch-setup.desktop "$APPDIR/"
cp packaging/linux/torch-setup.png "$APPDIR/usr/share/icons/hicolor/256x256/apps/"
cp packaging/linux/torch-setup.png "$APPDIR/torch-setup.png"
cat > "$APPDIR/AppRun" <<'RUN'
#!/bin/sh
HERE=$(dirname "$(readlink -f "$0")")
exec "$HERE/usr/lib/torch-setup/torch-setup" "$@"
RUN
chmod +x "$APPDIR/AppRun"
ARCH=$ARCH appimagetool "$APPDIR" "dist/TorchSetup-$VERSION-$ARCH.AppImage"
