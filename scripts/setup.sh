#!/usr/bin/env bash
# Create (or update) the project's environment in .venv and register its Jupyter kernel.
# Idempotent: safe to run again.  Needs only Python 3.11 with venv and pip, and the package registry.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[dev]"
# The notebooks run on this kernel (papermill and JupyterLab alike); --sys-prefix keeps it inside .venv.
.venv/bin/python -m ipykernel install --sys-prefix --name alis-research --display-name "Python (alis-research)" >/dev/null
echo "environment ready: .venv (kernel 'alis-research' registered)"
