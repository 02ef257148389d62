-- wrk script: sends 8 pipelined GET requests per write on each connection.
init = function(args)
  local r = {}
  for i = 1, 8 do
    r[i] = wrk.format("GET", "/p/" .. i)
  end
  req = table.concat(r)
end

request = function()
  return req
end
