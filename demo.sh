#!/bin/bash
# SPDX-License-Identifier: MIT
# The hotpatch demo, in two parts.  1: build a sample service from source,
# run it, build a hotpatch from a source diff that fixes its bug, sign it,
# apply it to the running service, show the fixed behaviour, status, and
# revert (demo/run-demo.sh).  2: the same fix delivered as a fleet owner
# would: a control server, a policy, a ring release that the host's agent
# applies, the per-policy report, and a halt that reverts it
# (demo/run-service-demo.sh).  Run as root on Debian 12; missing build
# dependencies are installed with apt-get.
set -eu
cd "$(dirname "$0")"
. scripts/deps.sh
hp_ensure_deps
hp_configure build --buildtype=debugoptimized
export HOTPATCH=$PWD/build/src/cli/hotpatch
demo/run-demo.sh || exit 1
exec demo/run-service-demo.sh
