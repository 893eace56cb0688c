#!/usr/bin/env bash
# Sign "dist/Torch Setup.app" with a Developer ID, wrap it in a DMG, notarize and staple.
# Everything secret comes from the environment (never from arguments, which `ps` shows):
#   MACOS_SIGN_IDENTITY   "Developer ID Application: Name (TEAMID)"   (required to sign)
#   MACOS_NOTARY_PROFILE  a keychain profile made by `xcrun notarytool store-credentials`, or instead
#   MACOS_NOTARY_APPLE_ID, MACOS_NOTARY_TEAM_ID, MACOS_NOTARY_PASSWORD (an app-specific password)
# Without MACOS_SIGN_IDENTITY it only builds an unsigned DMG (PyInstaller's ad-hoc signature stays),
# which Gatekeeper will refuse on other Macs; say so loudly.
set -euo pipefail
cd "$(dirname "$0")/../.."
APP="dist/Torch Setup.app"
ENTITLEMENTS=packaging/macos/entitlements.plist
VERSION=$(sed -n 's/^__version__ = "\(.*\)"/\1/p' installer/__init__.py)
ARCH=$(uname -m)
DMG="dist/TorchSetup-$VERSION-macos-$ARCH.dmg"
[ -d "$APP" ] || { echo "no $APP: run pyinstaller --noconfirm build.spec first" >&2; exit 1; }

sign() {
    codesign --force --timestamp --options runtime --entitlements "$ENTITLEMENTS" \
        --sign "$MACOS_SIGN_IDENTITY" "$@"
}

if [ -n "${MACOS_SIGN_IDENTITY:-}" ]; then
    # Inside out: every Mach-O in the bundle first (dylibs, .so, the bundled uv), then the app itself.
    # --deep is not used: it signs in the wrong order and is deprecated for signing.
    while IFS= read -r -d '' f; do
        if file -b "$f" | grep -q "Mach-O"; then sign "$f"; fi
    done < <(find "$APP/Contents/Frameworks" "$APP/Contents/Resources" -type f -print0)
    sign "$APP/Contents/MacOS/torch-setup"
    sign "$APP"
    codesign --verify --strict --verbose=2 "$APP"
else
    echo "WARNING: MACOS_SIGN_IDENTITY is not set; the DMG is NOT signed or notarized." >&2
fi

rm -f "$DMG"
STAGE=$(mktemp -d)
cp -R "$APP" "$STAGE/"              # cp -R keeps the bundle's symlinks
ln -s /Applications "$STAGE/Applications"
hdiutil create -volname "Torch Setup" -srcfolder "$STAGE" -fs HFS+ -format UDZO -ov "$DMG"
rm -rf "$STAGE"

if [ -n "${MACOS_SIGN_IDENTITY:-}" ]; then
    codesign --force --timestamp --sign "$MACOS_SIGN_IDENTITY" "$DMG"
    if [ -n "${MACOS_NOTARY_PROFILE:-}" ]; then
        xcrun notarytool submit "$DMG" --keychain-profile "$MACOS_NOTARY_PROFILE" --wait
    elif [ -n "${MACOS_NOTARY_APPLE_ID:-}" ]; then
        xcrun notarytool submit "$DMG" --apple-id "$MACOS_NOTARY_APPLE_ID" --team-id "$MACOS_NOTARY_TEAM_ID" \
            --password "$MACOS_NOTARY_PASSWORD" --wait
    else
        echo "WARNING: no notarization credentials; the DMG is signed but not notarized." >&2
        echo "$DMG"; exit 0
    fi
    xcrun stapler staple "$DMG"
    xcrun stapler staple "$APP"
    spctl --assess --type open --context context:primary-signature --verbose "$DMG"
fi
echo "$DMG"
