-- wrk script for the baseline service (../shared/bench: FastAPI around the original pipeline):
-- the same job profile as predict.lua in the baseline's fields (it has no employee_residence).
-- Run from the repository root (the summary lines come from tests/load/summary.lua).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"job_title": "Data Scientist", "experience_level": "SE", "employment_type": "FT",'
  .. ' "company_location": "US", "remote_ratio": 0, "company_size": "M", "work_year": 2024}'

dofile("tests/load/summary.lua")
