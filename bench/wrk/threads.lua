-- Prepended to every wrk script the harnesses run: numbers each thread (thread_id, so that
-- request generators can partition their space) and keeps the threads for done().
threads = {}
local next_id = 0
setup = function(thread)
  thread:set("thread_id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end
