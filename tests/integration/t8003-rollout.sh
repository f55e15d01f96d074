#!/bin/bash
# SPDX-License-Identifier: MIT
# Rings with health gates on SQLite: simulated agents, the tick promotes
# after the bake time, a crash halts the release and the host is told to
# revert; at most N % of a group at once.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server-lib.sh"
. "$(dirname "$0")/server-rollout.sh"
hs_require_server

hs_bootstrap "$HP_TMP/server.db" || exit 1
hs_start a --db "$HP_TMP/server.db" --tick-seconds 1 || exit 1
HS_URL_A=$HS_URL HS_URL_B=$HS_URL
hs_rollout_scenario
hs_stop a
test_done
