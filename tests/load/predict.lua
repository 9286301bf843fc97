-- wrk script: POST one salary profile to the predictions API with a token (from env API_TOKEN).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Token " .. os.getenv("API_TOKEN")
wrk.body = '{"job_title": "Data Scientist", "experience_level": "SE", "employment_type": "FT",'
  .. ' "company_location": "US", "employee_residence": "US", "remote_ratio": 0,'
  .. ' "company_size": "M", "work_year": 2024}'

local statuses = {}

response = function(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

done = function(summary, latency, requests)
  io.write(string.format("requests=%d duration_s=%.2f rps=%.1f\n",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6)))
  io.write(string.format("latency_ms p50=%.2f p90=%.2f p99=%.2f max=%.2f\n",
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000))
  io.write(string.format("errors connect=%d read=%d write=%d timeout=%d non2xx=%d\n",
    summary.errors.connect, summary.errors.read, summary.errors.write,
    summary.errors.timeout, summary.errors.status))
end
