#!/usr/bin/env bash
# Starts (or stops) the Redis topologies the test suites run against, with redis-server
# on fixed local ports, no persistence, in a temporary directory:
#
#   Cluster:  3 masters 127.0.0.1:7101-7103, one replica each 7104-7106 (bus ports +10000)
#   Sentinel: master 127.0.0.1:7201, replica 7202, sentinels 7211-7213, master name "paylink"
#
#   scripts/redis-topologies.sh start DIR   # start both, wait until ready, print the URLs
#   scripts/redis-topologies.sh stop DIR    # stop every server started in DIR
#
# After start, DIR/cluster.url and DIR/sentinel.url hold the REDIS_URLs.
set -euo pipefail

cmd=${1:-}
dir=${2:-}
if [ -z "$cmd" ] || [ -z "$dir" ]; then
  echo "usage: $0 start|stop DIR" >&2
  exit 2
fi

cluster_ports=(7101 7102 7103 7104 7105 7106)
data_ports=(7201 7202)
sentinel_ports=(7211 7212 7213)
master_name=paylink

stop() {
  for pidfile in "$dir"/*.pid; do
    [ -e "$pidfile" ] || continue
    pid=$(cat "$pidfile")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$pidfile"
  done
}

# wait_for DESCRIPTION SECONDS COMMAND...: polls COMMAND every 0.2 s.
wait_for() {
  local what=$1 secs=$2
  shift 2
  for _ in $(seq $((secs * 5))); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.2
  done
  echo "timed out after ${secs}s waiting for $what" >&2
  tail -n 20 "$dir"/*.log >&2 || true
  return 1
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pong() { redis-cli -p "$1" ping | grep -q PONG; }
cluster_ok() {
  local p
  for p in "${cluster_ports[@]}"; do
    redis-cli -p "$p" cluster info | grep -q '^cluster_state:ok' || return 1
    if redis-cli -p "$p" info replication | grep -q '^role:slave'; then
      redis-cli -p "$p" info replication | grep -q '^master_link_status:up' || return 1
    fi
  done
}
sentinels_ready() {
  local p
  for p in "${sentinel_ports[@]}"; do
    redis-cli -p "$p" sentinel get-master-addr-by-name "$master_name" | grep -q '^7201$' || return 1
    redis-cli -p "$p" sentinel master "$master_name" | grep -A1 '^num-other-sentinels$' | grep -q '^2$' || return 1
    redis-cli -p "$p" sentinel master "$master_name" | grep -A1 '^num-slaves$' | grep -q '^1$' || return 1
  done
  redis-cli -p 7202 info replication | grep -q '^master_link_status:up'
}

start() {
  mkdir -p "$dir"
  for p in "${cluster_ports[@]}" "${data_ports[@]}" "${sentinel_ports[@]}"; do
    if ! port_free "$p"; then
      echo "port $p is taken: is another test run's Redis still up? ($0 stop DIR)" >&2
      exit 1
    fi
  done
  local common=(--bind 127.0.0.1 --protected-mode no --save "" --appendonly no --daemonize yes --dir "$dir")

  for p in "${cluster_ports[@]}"; do
    redis-server "${common[@]}" --port "$p" --pidfile "$dir/redis-$p.pid" --logfile "$dir/redis-$p.log" \
      --cluster-enabled yes --cluster-config-file "nodes-$p.conf" --cluster-node-timeout 2000
  done
  for p in "${cluster_ports[@]}"; do wait_for "redis-server on $p" 10 pong "$p"; done
  redis-cli --cluster create $(printf '127.0.0.1:%s ' "${cluster_ports[@]}") --cluster-replicas 1 --cluster-yes >"$dir/cluster-create.log" 2>&1 ||
    { cat "$dir/cluster-create.log" >&2; exit 1; }
  wait_for "cluster_state:ok on every node" 60 cluster_ok

  redis-server "${common[@]}" --port 7201 --pidfile "$dir/redis-7201.pid" --logfile "$dir/redis-7201.log"
  redis-server "${common[@]}" --port 7202 --pidfile "$dir/redis-7202.pid" --logfile "$dir/redis-7202.log" --replicaof 127.0.0.1 7201
  for p in "${sentinel_ports[@]}"; do
    cat >"$dir/sentinel-$p.conf" <<EOF
port $p
bind 127.0.0.1
protected-mode no
daemonize yes
dir $dir
pidfile $dir/sentinel-$p.pid
logfile $dir/sentinel-$p.log
sentinel monitor $master_name 127.0.0.1 7201 2
sentinel down-after-milliseconds $master_name 2000
sentinel failover-timeout $master_name 10000
EOF
    redis-server "$dir/sentinel-$p.conf" --sentinel
  done
  wait_for "the sentinels to know the master, its replica and each other" 60 sentinels_ready

  echo "redis://127.0.0.1:7101?cluster=true&addr=127.0.0.1:7102&addr=127.0.0.1:7103&addr=127.0.0.1:7104&addr=127.0.0.1:7105&addr=127.0.0.1:7106" >"$dir/cluster.url"
  echo "redis://127.0.0.1:7211/0?master_name=$master_name&addr=127.0.0.1:7212&addr=127.0.0.1:7213" >"$dir/sentinel.url"
  echo "Cluster:  $(cat "$dir/cluster.url")"
  echo "Sentinel: $(cat "$dir/sentinel.url")"
}

case $cmd in
start) start ;;
stop) stop ;;
*)
  echo "usage: $0 start|stop DIR" >&2
  exit 2
  ;;
esac
