#!/bin/sh
# The one-shot deployment job: database migrations, then schema registration.
#   migrations.sh database | schemas | all (the default)
# Runs in the `migrations` image (Dockerfile target), as docker compose's `migrations` service and
# the chart's pre-install/pre-upgrade hook Jobs. Every step is a root package.json script, the same
# ones `npm start` runs on a developer machine. Configuration comes from the environment:
#   MIGRATIONS_WRITE_DATABASE_URL, MIGRATIONS_READ_DATABASE_URL (owner role), SCHEMA_REGISTRY_URL.
set -eu
cd "$(dirname "$0")/../../.."

run() {
  echo "==> npm run $1"
  npm run --silent "$1"
}
database() {
  run db:migrate
  run db:migrate:read
}
schemas() {
  run schemas:register
}

case "${1:-all}" in
  database) database ;;
  schemas) schemas ;;
  all) database && schemas ;;
  *) echo "usage: migrations.sh [database|schemas|all]" >&2; exit 2 ;;
esac
