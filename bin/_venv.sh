# Sourced by bin/up and bin/test: makes .venv with the pinned dependencies.
# $1: "runtime" or "dev".
ensure_venv() {
  local want=$1 stamp=".venv/.layerlab-$1"
  local sum
  sum=$(cat pyproject.toml requirements.lock | sha256sum | cut -c1-16)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$sum" ]; then
    return
  fi
  echo "[layerlab] installing Python dependencies into .venv (about a minute the first time)"
  [ -x .venv/bin/python ] || python3 -m venv .venv
  .venv/bin/pip install -q --upgrade pip
  if [ "$want" = dev ]; then
    .venv/bin/pip install -q -c requirements.lock -e '.[dev]'
  else
    .venv/bin/pip install -q -c requirements.lock -e .
  fi
  echo "$sum" > "$stamp"
}
