-- wrk script for the W1/W2 benchmarks: POST the workload body to the
-- execute endpoint with the automation's execution token.
-- Usage: EXEC_TOKEN=... wrk -s post.lua http://127.0.0.1:8080/api/v1/automations/bench-w1/actions/execute
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-Execution-Token"] = os.getenv("EXEC_TOKEN")
wrk.body = '{"n":7,"items":[{"id":1,"value":3},{"id":2,"value":8},{"id":3,"value":0},{"id":4,"value":6},{"id":5,"value":1},{"id":6,"value":9},{"id":7,"value":4},{"id":8,"value":7},{"id":9,"value":2},{"id":10,"value":5}]}'

done = function(summary, latency, requests)
  io.write(string.format("p50 %.3f ms, p99 %.3f ms, errors %d (non-2xx %d, socket %d)\n",
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
