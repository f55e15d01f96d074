#!/bin/bash
# SPDX-License-Identifier: MIT
# The hotpatch demo: build a sample service from source, run it, build a
# hotpatch from a source diff that fixes its bug, sign it, apply it to the
# running service, show the fixed behaviour, status, and revert.  Run as
# root on Debian 12; missing build dependencies are installed with apt-get.
set -eu
cd "$(dirname "$0")"
. scripts/deps.sh
hp_ensure_deps
hp_configure build --buildtype=debugoptimized
export HOTPATCH=$PWD/build/src/cli/hotpatch
exec demo/run-demo.sh
