#!/usr/bin/env bash
# Installs the Debian packages hf-ser needs (FFmpeg for torchcodec decoding, espeak-ng for the demo corpora,
# Chromium and its driver for the web demo's browser test, Node.js and npm for the transformers.js client test).
set -euo pipefail
missing=()
command -v ffmpeg >/dev/null 2>&1 || missing+=(ffmpeg)
command -v espeak-ng >/dev/null 2>&1 || missing+=(espeak-ng)
# the web demo's browser test drives headless Chromium through its matching driver
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
# clients/js: transformers.js in Node loads hf-ser's ONNX exports as a browser app would
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
[ ${#missing[@]} -eq 0 ] && exit 0
echo "hf-ser: installing Debian packages: ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
    echo "hf-ser: need root (or sudo) to install ${missing[*]}; install them and re-run." >&2; exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
