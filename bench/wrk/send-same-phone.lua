-- POST /v1/otp/send, always the same phone (denied by the per-phone window after the first).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"phone":"+919876543210"}'
wrk.path = "/v1/otp/send"
