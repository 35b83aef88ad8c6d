# Sourced by bin/up and bin/test: makes .venv with the pinned dependencies (ensure_venv) and
# bundles the browser code from the locked npm packages into static/build/ (ensure_frontend).
# $1: "runtime" or "dev".
ensure_venv() {
  local want=$1 stamp=".venv/.layerlab-$1"
  local sum
  sum=$(cat pyproject.toml client/pyproject.toml requirements.lock | sha256sum | cut -c1-16)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$sum" ]; then
    return
  fi
  echo "[layerlab] installing Python dependencies into .venv (about a minute the first time)"
  [ -x .venv/bin/python ] || python3 -m venv .venv
  .venv/bin/pip install -q --upgrade pip
  if [ "$want" = dev ]; then
    # The terminal client too: its tests drive it against the running platform.
    .venv/bin/pip install -q -c requirements.lock -e '.[dev]' -e ./client
  else
    .venv/bin/pip install -q -c requirements.lock -e .
  fi
  echo "$sum" > "$stamp"
}

# The bundle is not committed: it is rebuilt whenever the lock file or a source file changes.
ensure_frontend() {
  local stamp=static/build/.layerlab-frontend
  local sum
  sum=$(cat frontend/package.json frontend/package-lock.json frontend/src/* | sha256sum | cut -c1-16)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$sum" ] && [ -d frontend/node_modules ]; then
    return
  fi
  echo "[layerlab] bundling the editor from the locked npm packages (npm ci, esbuild)"
  (cd frontend && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build)
  echo "$sum" > "$stamp"
}
