-- wrk script: print one JSON line with the numbers bench/run needs.
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '\nBENCH_JSON {"requests": %d, "seconds": %.6f, "errors": %d, "non2xx": %d, ' ..
    '"p50_ms": %.4f, "p99_ms": %.4f, "mean_ms": %.4f}\n',
    summary.requests, summary.duration / 1e6,
    e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.mean / 1000))
end
