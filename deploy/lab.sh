#!/usr/bin/env bash
# A lab's machines training for one class: a Ray cluster (pip install .[cluster] on every machine), its head on
# the teacher's machine with the app's replicas (deploy/class.sh), which send every run to the cluster.
#
#   deploy/lab.sh head            on the teacher's machine: Ray's head, then the class's app on port 8501
#   deploy/lab.sh join HEAD_IP    on every other machine, the GPU box too: lend its cores (and GPUs) to the cluster
#   deploy/lab.sh stop            on any machine: take it out of the cluster (on the head: the whole cluster)
#
# Environment (all optional):
#   AELIB_RAY_PORT     the head's port (6379); open it, and Ray's other ports, between the lab's machines
#   AELIB_RAY_CLIENT   the head's port for Ray Client (10001): an app elsewhere uses AELIB_RAY_ADDRESS=ray://HEAD:10001
#   AELIB_RAY_CPUS     the cores this machine lends to training (default: all; on the head, all but one, which
#                      serves the app)
#   AELIB_DATA         where MNIST is on this machine (default: ./data, downloaded there on first use)
#   and deploy/class.sh's own (AELIB_PORT, AELIB_CHECKPOINTS, AELIB_RUN).
#
# Every machine needs this project at the same version and the data; the app sends its own aelib to the
# cluster with each connection, and the Train page names any machine without the data. A machine may join or
# leave while the class trains: a run on a machine that leaves ends with a message, and the next goes elsewhere.
# If the head goes, the app says so and trains on the teacher's machine itself.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v ray >/dev/null || { echo "Ray is not installed: pip install '.[cluster]'" >&2; exit 1; }

PORT=${AELIB_RAY_PORT:-6379}
CLIENT=${AELIB_RAY_CLIENT:-10001}
export AELIB_DATA=${AELIB_DATA:-$PWD/data}
export RAY_USAGE_STATS_ENABLED=0
cores=$(nproc)
# Each server of the class (a replica) keeps its own warm training processes on every machine (torch imported, the
# data read). Ray keeps as many idle ones as the machine has cores and ends the others within a second, so a run
# of the second replica would start cold, 3-7 s later: keep up to four servers' processes a core.
soft_limit() { export RAY_num_workers_soft_limit=${RAY_num_workers_soft_limit:-$(( $1 * 4 ))}; }

case "${1:-}" in
head)
    cpus=${AELIB_RAY_CPUS:-$(( cores > 1 ? cores - 1 : 1 ))}
    soft_limit "$cpus"
    ray start --head --port "$PORT" --ray-client-server-port "$CLIENT" --num-cpus "$cpus" \
        --include-dashboard=false --disable-usage-stats
    echo "The cluster's head is up. Other machines join it with: deploy/lab.sh join $(hostname -I 2>/dev/null | cut -d' ' -f1 || echo THIS_MACHINE)"
    export AELIB_RAY_ADDRESS=${AELIB_RAY_ADDRESS:-127.0.0.1:$PORT}
    exec deploy/class.sh
    ;;
join)
    [ -n "${2:-}" ] || { echo "usage: deploy/lab.sh join HEAD_IP[:PORT]" >&2; exit 2; }
    head=$2
    [[ $head == *:* ]] || head=$head:$PORT
    cpus=${AELIB_RAY_CPUS:-$cores}
    soft_limit "$cpus"
    ray start --address "$head" --num-cpus "$cpus" --disable-usage-stats
    ;;
stop)
    ray stop
    ;;
*)
    sed -n '2,22p' "$0" >&2
    exit 2
    ;;
esac
