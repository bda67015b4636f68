#!/bin/sh
# The compose demo: runs the order saga twice through the `saga` CLI and
# prints both timelines. user-1 has 50 points: the first order (30) completes,
# the second (30 again) fails at deduct-points and is compensated in reverse.
set -eu
saga health --wait 60000 >/dev/null
run=$(date +%s)
echo "1) an order that succeeds (30 points, 50 available):"
saga start --file /app/container/demo/place-order.yaml --saga-id "demo-$run-1" --wait 60000
saga get "demo-$run-1"
echo
echo "2) an order whose points step fails (30 points again, 20 left): compensated in reverse"
saga start --file /app/container/demo/place-order.yaml --saga-id "demo-$run-2" --wait 60000
saga get "demo-$run-2"
