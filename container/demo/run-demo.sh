#!/bin/sh
# The compose demo: runs the order saga twice through the `saga` CLI and
# prints both timelines. The user has 50 points: the first order (30)
# completes, the second (30 again) fails at deduct-points and is compensated
# in reverse. DEMO_NAME prefixes the saga ids (participants are idempotent per
# saga id) and DEMO_USER picks the user, so two demos can share participants.
set -eu
name=${DEMO_NAME:-demo}
user=${DEMO_USER:-user-1}
file=/app/container/demo/place-order.yaml
if [ "$user" != user-1 ]; then
  sed "s/user-1/$user/g" "$file" >/tmp/place-order.yaml
  file=/tmp/place-order.yaml
fi
# A start with the same saga id and definition is the same saga, and a get only
# reads, so a call that fails (the network's name service can lag a container
# that has just started) is tried again, a bounded number of times.
again() {
  tries=1
  until "$@"; do
    [ "$tries" -lt 5 ] || return 1
    tries=$((tries + 1))
    echo "(retrying: $*)" >&2
    sleep 2
  done
}
saga health --wait 120000 >/dev/null
run=$(date +%s)
echo "1) an order that succeeds (30 points, 50 available):"
again saga start --file "$file" --saga-id "$name-$run-1" --wait 60000
again saga get "$name-$run-1"
echo
echo "2) an order whose points step fails (30 points again, 20 left): compensated in reverse"
again saga start --file "$file" --saga-id "$name-$run-2" --wait 60000
again saga get "$name-$run-2"
