#!/usr/bin/env bash
# A class bigger than one server process: two replicas of the app and HAProxy in front, on this machine.
#
#   deploy/class.sh            students open http://<this machine's address>:8501
#
# Environment (all optional):
#   AELIB_PORT         the port students open (8501); the replicas take the next two ports, its stats page the one after
#   AELIB_CHECKPOINTS  the checkpoints folder every replica shares (default: ./checkpoints), so a
#                      model saved through one replica opens through the other
#   AELIB_RUN          where logs and process ids go (default: /tmp/aelib-class)
#   AELIB_RAY_ADDRESS  a Ray cluster both replicas send their runs to (deploy/lab.sh sets it); none: each
#                      replica trains its own students' runs on this machine
#
# A replica that stops is started again; until it is back, HAProxy sends its students to the other.
# Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v haproxy >/dev/null || { echo "haproxy is not installed: sudo apt-get install haproxy" >&2; exit 1; }

PORT=${AELIB_PORT:-8501}
RUN=${AELIB_RUN:-/tmp/aelib-class}
export AELIB_CHECKPOINTS=${AELIB_CHECKPOINTS:-$PWD/checkpoints}
mkdir -p "$RUN" "$AELIB_CHECKPOINTS/trained"
# Each replica trains with its share of the cores: two jobs at once (one per replica) with a thread per
# core each would spin against each other, and run many times slower than one alone.
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-$(( $(nproc) / 2 > 0 ? $(nproc) / 2 : 1 ))}
# With a training cluster (AELIB_RAY_ADDRESS, deploy/lab.sh), the two replicas split its places for runs.
export AELIB_REPLICAS=2
# One cookie secret for all replicas: a form token a student got from one is then good on the other.
export STREAMLIT_SERVER_COOKIE_SECRET=${STREAMLIT_SERVER_COOKIE_SECRET:-$(python -c 'import secrets; print(secrets.token_hex(16))')}

replica() {  # replica NUMBER PORT: run one copy of the app, and run it again whenever it stops
    echo $BASHPID >"$RUN/replica$1.loop"
    while true; do
        python -m streamlit run app.py --server.address 127.0.0.1 --server.port "$2" >>"$RUN/replica$1.log" 2>&1 &
        echo $! >"$RUN/replica$1.pid"
        wait $! || true
        echo "replica $1 stopped; starting it again" >>"$RUN/replica$1.log"
        sleep 1
    done
}

trap 'trap - EXIT INT TERM; kill 0' EXIT INT TERM  # stop the whole process group: replicas and balancer
replica 1 $((PORT + 1)) &
replica 2 $((PORT + 2)) &
for port in $((PORT + 1)) $((PORT + 2)); do  # both replicas answer before the balancer opens
    until python -c "import urllib.request as u; u.urlopen('http://127.0.0.1:$port/_stcore/health', timeout=1)" 2>/dev/null; do
        sleep 0.5
    done
done
export AELIB_BIND=":$PORT" AELIB_STATS="127.0.0.1:$((PORT + 3))"
export AELIB_REPLICA1="127.0.0.1:$((PORT + 1))" AELIB_REPLICA2="127.0.0.1:$((PORT + 2))"
haproxy -f deploy/haproxy.cfg -db &
echo $! >"$RUN/haproxy.pid"
echo "Two replicas on ports $((PORT + 1)) and $((PORT + 2)), the balancer on $PORT (stats: $AELIB_STATS)."
echo "Students open http://$(hostname -I 2>/dev/null | cut -d' ' -f1 || echo localhost):$PORT  - logs in $RUN"
wait
