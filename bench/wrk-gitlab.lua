-- wrk script for bench/receiver.sh: POST a GitLab push payload with the
-- secret token and a unique Idempotency-Key per request, so that the
-- receiver stores every request as a new event (no duplicate shortcut).
--   BODY=file TOKEN=secret wrk -s bench/wrk-gitlab.lua URL
-- wrk runs one Lua state per thread: each thread gets its own prefix
-- (from setup) and counts its requests. No response() callback (it would
-- cost the client CPU the servers need): wrk reports non-2xx replies.

local counter = 1

function setup(thread)
	thread:set("id", counter)
	counter = counter + 1
end

function init(args)
	local f = assert(io.open(os.getenv("BODY"), "rb"))
	wrk.method = "POST"
	wrk.body = f:read("*a")
	f:close()
	wrk.headers["Content-Type"] = "application/json"
	wrk.headers["X-Gitlab-Token"] = os.getenv("TOKEN")
	wrk.headers["X-Gitlab-Event"] = "Push Hook"
	-- unique across runs too: a store kept between rounds stays valid
	prefix = string.format("wrk-%d-%d-%d-", os.time(), math.random(1e9), id)
	n = 0
end

function request()
	n = n + 1
	wrk.headers["Idempotency-Key"] = prefix .. n
	return wrk.format()
end
