#!/bin/bash
# SPDX-License-Identifier: MIT
# The tests of t5562-redirect-uri.sh against the strict server
# (oidc-provider): loopback ports ignored, paths compared exactly.
export BBS_TEST_AS=oidc
. "$(dirname "$0")/t5562-redirect-uri.sh"
