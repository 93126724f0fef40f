#!/bin/bash
# SPDX-License-Identifier: MIT
# The tests of t5595-credential-store.sh against the strict server (oidc-provider).
export BBS_TEST_AS=oidc
. "$(dirname "$0")/t5595-credential-store.sh"
