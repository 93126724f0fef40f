#!/bin/bash
# SPDX-License-Identifier: MIT
# The tests of t5582-token-life.sh against the strict server
# (oidc-provider), whose forge checks tokens by introspection.
export BBS_TEST_AS=oidc
. "$(dirname "$0")/t5582-token-life.sh"
