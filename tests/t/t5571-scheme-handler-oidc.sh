#!/bin/bash
# SPDX-License-Identifier: MIT
# The tests of t5570-scheme-handler.sh against the strict server (oidc-provider).
export BBS_TEST_AS=oidc
. "$(dirname "$0")/t5570-scheme-handler.sh"
