#!/usr/bin/env bash
# The cluster's MLflow tracking server, run on the head by cluster.yaml. Runs and users
# live in PostgreSQL on the head's own disk (never SQLite, never on the NFS mount:
# SQLite's locking does not hold over NFS); artifacts go to the shared mount; MLflow's
# authentication app is on, so only holders of a password read or write. It listens on
# the head's private address only. Idempotent: run again, it keeps databases and
# passwords. The sweeps' credentials end in ~/.sweeper/tracking.env (user `sweeper`).
set -euo pipefail
ARTIFACTS=${SWEEPER_ARTIFACTS:-/mnt/shared/mlartifacts}
HOST=$(hostname -I | awk '{print $1}')
PORT=5000
DIR=$HOME/.sweeper
mkdir -p "$DIR" && chmod 700 "$DIR"

if ! command -v pg_ctlcluster >/dev/null; then
  sudo apt-get update -q
  sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql
fi
sudo systemctl enable --now postgresql

if [ ! -f "$DIR/secrets" ]; then  # made once, readable by this user alone
  (umask 077; for name in DB ADMIN SWEEPER FLASK; do
     echo "${name}_SECRET=$(openssl rand -hex 24)"; done > "$DIR/secrets")
fi
. "$DIR/secrets"

psql_admin() { sudo -u postgres psql -v ON_ERROR_STOP=1 -tAc "$1"; }
[ "$(psql_admin "SELECT 1 FROM pg_roles WHERE rolname = 'mlflow'")" = 1 ] ||
  psql_admin "CREATE ROLE mlflow LOGIN PASSWORD '$DB_SECRET'"
for db in mlflow mlflow_auth; do
  [ "$(psql_admin "SELECT 1 FROM pg_database WHERE datname = '$db'")" = 1 ] ||
    sudo -u postgres createdb -O mlflow "$db"
done
DB="postgresql://mlflow:$DB_SECRET@127.0.0.1:5432"

(umask 077; cat > "$DIR/basic_auth.ini" <<INI
[mlflow]
default_permission = READ
database_uri = $DB/mlflow_auth
admin_username = admin
admin_password = $ADMIN_SECRET
authorization_function = mlflow.server.auth:authenticate_request_basic_auth
# verified passwords cached for 5 minutes: without it every request pays a PBKDF2 hash,
# which trials logging metrics feel; a changed password takes effect within the TTL
auth_cache_ttl_seconds = 300
INI
)

# (MLflow's server-side job runner off: the sweeper submits no server jobs, and its
# eight Huey processes would take the head's CPU and memory)
if ! pgrep -f "mlflow server" >/dev/null; then
  MLFLOW_AUTH_CONFIG_PATH="$DIR/basic_auth.ini" MLFLOW_FLASK_SERVER_SECRET_KEY="$FLASK_SECRET" \
    MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false nohup mlflow server --app-name basic-auth --host "$HOST" --port "$PORT" \
      --backend-store-uri "$DB/mlflow" --artifacts-destination "$ARTIFACTS" \
      > /tmp/mlflow.log 2>&1 &
fi
URL="http://$HOST:$PORT"
for _ in $(seq 90); do curl -sf "$URL/health" >/dev/null && break; sleep 2; done

# the sweeps' own user (it manages what it creates; the admin password stays here)
curl -sf -u "admin:$ADMIN_SECRET" "$URL/api/2.0/mlflow/users/get?username=sweeper" >/dev/null ||
  curl -sf -u "admin:$ADMIN_SECRET" -H "Content-Type: application/json" \
    -d "{\"username\": \"sweeper\", \"password\": \"$SWEEPER_SECRET\"}" \
    "$URL/api/2.0/mlflow/users/create" >/dev/null
(umask 077; printf 'MLFLOW_TRACKING_URI=%s\nMLFLOW_TRACKING_USERNAME=sweeper\nMLFLOW_TRACKING_PASSWORD=%s\n' \
  "$URL" "$SWEEPER_SECRET" > "$DIR/tracking.env")
echo "MLflow at $URL (authentication on); credentials in $DIR/tracking.env"
