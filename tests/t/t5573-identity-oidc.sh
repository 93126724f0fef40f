#!/bin/bash
# SPDX-License-Identifier: MIT
# The tests of t5572-identity.sh against the strict server (oidc-provider),
# whose forge checks tokens by introspection.
export BBS_TEST_AS=oidc
. "$(dirname "$0")/t5572-identity.sh"
