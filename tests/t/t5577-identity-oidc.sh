#!/bin/bash
# SPDX-License-Identifier: MIT
# The tests of t5576-identity.sh against the strict server (oidc-provider),
# whose forge checks tokens by introspection.
export BBS_TEST_AS=oidc
. "$(dirname "$0")/t5576-identity.sh"
