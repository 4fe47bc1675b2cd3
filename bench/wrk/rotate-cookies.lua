-- wrk script: GET /me, each request with the next session cookie from a file (one Cookie header
-- per line), so no single cookie is hot. Usage: wrk -s rotate-cookies.lua URL -- cookies.txt
local cookies = {}
local count = 0
local index = 0

function init(args)
  local file = assert(io.open(args[1], "r"))
  for line in file:lines() do
    if #line > 0 then
      count = count + 1
      cookies[count] = line
    end
  end
  file:close()
  -- Each thread starts at a different place.
  index = math.random(count) - 1
end

function request()
  index = (index % count) + 1
  return wrk.format("GET", nil, { ["Cookie"] = cookies[index] })
end
