#!/usr/bin/env bash
# Machine-level prerequisites of the test suite that a virtual environment cannot hold.
set -euo pipefail
if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "test-setup: installing Debian chromium for the browser tests"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
        || echo "test-setup: chromium could not be installed; browser tests will be skipped"
fi
