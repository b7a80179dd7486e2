#!/usr/bin/env bash
# `make shell`: the demo data loaded, then an interactive psql on it.
set -euo pipefail
bash "$(dirname "$0")/run.sh" >/dev/null
echo "dtmv demo loaded; you are postgres. Try: SET ROLE demo_alice; SELECT * FROM dtmv.twins;"
exec psql -X -d dtmv_demo
