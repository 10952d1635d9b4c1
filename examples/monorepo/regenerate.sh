#!/usr/bin/env bash
# Reinstalls dependencies and rebuilds dist/ of every package of this example.
# Runnable from any working directory. Needs Node >= 20 and npm.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

for pkg in subscriptions checkout main; do
  dir="$ROOT/packages/$pkg"
  echo "==> $pkg"
  cd "$dir"
  if [ -f package-lock.json ]; then
    npm ci --no-audit --no-fund
  else
    npm install --no-audit --no-fund
  fi
  rm -rf dist
  npm run build
done

echo "done: dist/ rebuilt for subscriptions, checkout, main"
