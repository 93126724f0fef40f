#!/bin/bash
# SPDX-License-Identifier: MIT
# The tests of t5590-credential-helper.sh against the strict server (oidc-provider).
export BBS_TEST_AS=oidc
. "$(dirname "$0")/t5590-credential-helper.sh"
