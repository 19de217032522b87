# Shared by the scripts behind `npm start`, `npm test` and .ci/run. Source it from the repo root.

# Installs dependencies (from the lock file) when missing or stale, then makes sure the `node` on PATH is Node 24
# (the `node` devDependency puts a real Node 24 binary in node_modules/.bin).
ensure_node24() {
  if [ ! -x node_modules/.bin/node ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    echo "==> installing dependencies (npm ci: exactly the lock file)"
    npm ci --no-audit --no-fund --loglevel=error
  fi
  export PATH="$PWD/node_modules/.bin:$PATH"
  local major
  major=$(node -p 'process.versions.node.split(".")[0]')
  if [ "$major" -lt 24 ]; then
    echo "error: Node 24 is required but 'node' is $(node -v); node_modules/.bin/node is missing — run 'npm install'." >&2
    exit 1
  fi
  # No Nx daemon or cloud from scripts: nothing may outlive the command that started it.
  export NX_DAEMON=false NX_NO_CLOUD=true NX_SKIP_NX_CACHE_CHECK=true
}

