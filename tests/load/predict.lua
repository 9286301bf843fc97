-- wrk script: POST one salary profile to the predictions API with a token (from env API_TOKEN).
-- Run from the repository root (the summary lines come from tests/load/summary.lua).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Token " .. os.getenv("API_TOKEN")
wrk.body = '{"job_title": "Data Scientist", "experience_level": "SE", "employment_type": "FT",'
  .. ' "company_location": "US", "employee_residence": "US", "remote_ratio": 0,'
  .. ' "company_size": "M", "work_year": 2024}'

dofile("tests/load/summary.lua")
