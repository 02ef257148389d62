-- wrk script: sends DEPTH pipelined GET requests per write (default 16); wrk counts every response.
--   wrk -s bench/http/pipeline.lua ... http://127.0.0.1:PORT/healthcheck -- 16
local req

init = function(args)
    local depth = tonumber(args[1]) or 16
    local path = wrk.path
    local r = {}
    for i = 1, depth do
        r[i] = wrk.format("GET", path)
    end
    req = table.concat(r)
end

request = function()
    return req
end
