-- nginx + Lua peer of shimgate's Explo rule (rules/explo-update-user-group.json), for bench/run.
--
-- POST /api/update_user_group/ with "Explo-Authorization: Token <t>" and the seed body becomes
-- POST /api/update_customer/ with "Authorization: Token <t>" and user_group_id renamed to
-- customer_id (every other byte of the body kept); the Customer API's answer becomes the Explo
-- envelope {"success":..,"user_group":{team_id, token, name, provided_id, is_demo_group, properties,
-- api_environment_tag}} with the Deprecation, Sunset and Link headers. Header hygiene as shimgate
-- does it (Via, X-Forwarded-*, Accept-Encoding: identity upstream, X-Request-Id kept or made).
-- bench/run checks that the upstream request and the client's answer are byte-for-byte shimgate's.
--
-- JSON: cjson validates the whole body (malformed JSON is a 400); values are then located in the
-- raw text by a small scanner and copied byte-for-byte, as shimgate does (re-encoding with cjson
-- would reorder object keys and re-spell numbers and escapes). Field types are checked on the raw
-- values. The deprecation dates are those of the rule file, spelled as shimgate sends them.
local cjson = require "cjson.safe"

local ngx = ngx
local byte, find, sub, lower = string.byte, string.find, string.sub, string.lower
local concat = table.concat
local req_set_header, req_clear_header = ngx.req.set_header, ngx.req.clear_header

local DEPRECATION = "@1704067200"                     -- 2024-01-01
local SUNSET = "Wed, 30 Jun 2027 00:00:00 GMT"        -- 2027-06-30
local LINK = '</api/update_customer/>; rel="successor-version"'
local UPSTREAM = "/__explo_upstream"                   -- internal location: proxy_pass to the Customer API
local CRED = 'expected \\"Explo-Authorization: Token <token>\\"'

local _M = {}

-- ---- a scanner over JSON text that cjson has already accepted --------------------------------
-- Byte loops rather than string.find patterns: LuaJIT compiles these, patterns are not compiled.
local function skip_ws(s, i)
    local c = byte(s, i)
    while c == 32 or c == 10 or c == 13 or c == 9 do
        i = i + 1
        c = byte(s, i)
    end
    return i
end

local function skip_string(s, i) -- s[i] is '"'; returns the index after the closing quote
    i = i + 1
    while true do
        local c = byte(s, i)
        if c == 34 then return i + 1 end
        i = i + (c == 92 and 2 or 1)
    end
end

local function skip_value(s, i) -- s[i] starts a value; returns the index after it
    local c = byte(s, i)
    if c == 34 then return skip_string(s, i) end
    if c == 123 or c == 91 then
        local depth = 0
        repeat
            c = byte(s, i)
            if c == 34 then
                i = skip_string(s, i)
            else
                if c == 123 or c == 91 then
                    depth = depth + 1
                elseif c == 125 or c == 93 then
                    depth = depth - 1
                end
                i = i + 1
            end
        until depth == 0
        return i
    end
    repeat -- a number, true, false or null
        i = i + 1
        c = byte(s, i)
    until c == 44 or c == 125 or c == 93 or c == 32 or c == 10 or c == 13 or c == 9 or c == nil
    return i
end

-- members of the object at s[i] ('{'): key -> {key_start, key_end, value_start, value_end}
-- (inclusive byte offsets; the key span includes its quotes), also listed in document order at
-- [1..n]. Second result: a repeated key.
local function members(s, i)
    local m, n = {}, 0
    local j = skip_ws(s, i + 1)
    if byte(s, j) == 125 then return m end
    while true do
        local ke = skip_string(s, j)
        local key = sub(s, j + 1, ke - 2)
        local vs = skip_ws(s, skip_ws(s, ke) + 1) -- past the ':'
        local ve = skip_value(s, vs)
        if m[key] then return m, key end
        local e = { j, ke - 1, vs, ve - 1 }
        n = n + 1
        m[key], m[n] = e, e
        j = skip_ws(s, ve)
        if byte(s, j) == 125 then return m end
        j = skip_ws(s, j + 1) -- past the ','
    end
end

-- ---- answers ------------------------------------------------------------------------------
local function send(status, body, rid, www_auth)
    ngx.status = status
    local h = ngx.header
    h["Server"] = ""   -- an empty built-in header slot: nginx then sends neither Server nor Date
    h["Date"] = ""
    h["Content-Type"] = "application/json"
    h["X-Request-Id"] = rid
    if www_auth then h["WWW-Authenticate"] = 'Token realm="shimgate"' end
    h["Deprecation"] = DEPRECATION
    h["Sunset"] = SUNSET
    h["Link"] = LINK
    h["Content-Length"] = #body
    ngx.print(body)
    return ngx.exit(ngx.HTTP_OK) -- the answer is sent; this only ends the handler
end

local function fail(status, msg, rid, www_auth)
    return send(status, '{"success":0,"error":"' .. msg .. '"}', rid, www_auth)
end

local function is_object(s, m, name, rid) -- an optional field that must be an object
    local v = m[name]
    if v == nil then return true end
    local c = byte(s, v[3])
    if c == 123 or c == 110 then return true end -- '{' or null
    fail(400, 'field \\"' .. name .. '\\" must be an object', rid)
    return false
end

local function request_id()
    local rid = ngx.var.http_x_request_id
    if rid and #rid <= 128 and find(rid, "^[A-Za-z0-9._:-]+$") then return rid end
    return sub(ngx.var.request_id, 1, 16)
end

-- ---- the route ----------------------------------------------------------------------------
function _M.handle()
    if ngx.req.get_method() ~= "POST" then return ngx.exec("@pass") end
    local var = ngx.var
    local rid = request_id()

    local ct = var.content_type
    if ct then
        local t = lower(ct)
        t = sub(t, 1, (find(t, ";", 1, true) or #t + 1) - 1):gsub("%s+$", "")
        if t ~= "application/json" and sub(t, -5) ~= "+json" then
            local shown = ct:gsub('["\\]', "\\%0")
            return fail(415, 'unsupported Content-Type \\"' .. shown .. '\\": expected application/json', rid)
        end
    end

    local cred = var.http_explo_authorization
    if not cred then return fail(401, "missing credential: " .. CRED, rid, true) end
    local scheme, token = cred:match("^(%S+)%s*(.-)%s*$")
    if not scheme or lower(scheme) ~= "token" then
        return fail(401, "malformed Explo-Authorization credential (wrong scheme): " .. CRED, rid, true)
    end
    if token == "" then
        return fail(401, "malformed Explo-Authorization credential (empty token): " .. CRED, rid, true)
    end

    ngx.req.read_body()
    local body = ngx.req.get_body_data() or ""
    if cjson.decode(body) == nil then return fail(400, "malformed JSON", rid) end
    local start = skip_ws(body, 1)
    if byte(body, start) ~= 123 then return fail(400, "body must be a JSON object", rid) end
    local m, dup = members(body, start)
    if dup then return fail(400, 'duplicate key \\"' .. dup .. '\\"', rid) end

    local id = m.user_group_id
    if id == nil or byte(body, id[3]) == 110 then return fail(400, 'field \\"user_group_id\\" is required', rid) end
    if byte(body, id[3]) ~= 34 then return fail(400, 'field \\"user_group_id\\" must be a string', rid) end
    if id[4] - id[3] == 1 then return fail(400, 'field \\"user_group_id\\" must not be empty', rid) end
    local name = m.name
    if name and byte(body, name[3]) ~= 34 and byte(body, name[3]) ~= 110 then
        return fail(400, 'field \\"name\\" must be a string', rid)
    end
    local demo = m.is_demo_group
    if demo then
        local c = byte(body, demo[3])
        if c ~= 116 and c ~= 102 and c ~= 110 then return fail(400, 'field \\"is_demo_group\\" must be a boolean', rid) end
    end
    if not is_object(body, m, "mapping", rid) or not is_object(body, m, "properties", rid) then return end

    -- the canonical call, as shimgate writes it: the members in their order without white space
    -- between them, user_group_id renamed, every key and value otherwise byte-for-byte
    local parts = {}
    for k = 1, #m do
        local e = m[k]
        parts[k] = (e == id and '"customer_id"' or sub(body, e[1], e[2])) .. ":" .. sub(body, e[3], e[4])
    end
    local upstream_body = "{" .. concat(parts, ",") .. "}"

    req_clear_header("Explo-Authorization")
    req_set_header("Authorization", "Token " .. token)
    req_set_header("Accept-Encoding", "identity")
    req_set_header("X-Request-Id", rid)
    local via = var.http_via
    req_set_header("Via", via and (via .. ", 1.1 shimgate") or "1.1 shimgate")
    req_set_header("X-Forwarded-For", var.remote_addr)
    req_set_header("X-Forwarded-Proto", var.scheme)
    req_set_header("X-Forwarded-Host", var.http_host)

    local res = ngx.location.capture(UPSTREAM, { method = ngx.HTTP_POST, body = upstream_body, args = var.args })
    local status, answer = res.status, res.body
    if res.truncated or status >= 500 or not answer or cjson.decode(answer) == nil then
        return fail(502, "upstream error", rid)
    end
    local top = members(answer, skip_ws(answer, 1))
    if status >= 400 then
        local e = top.error
        local msg = e and sub(answer, e[3], e[4]) or '"upstream refused the call"'
        return send(status, '{"success":0,"error":' .. msg .. "}", rid)
    end

    -- the Explo envelope, keys in the documented order, values copied byte-for-byte
    local out, n = { '{"success":' }, 1
    local success = top.success
    out[2] = success and sub(answer, success[3], success[4]) or "null"
    out[3] = ',"user_group":{'
    n = 3
    local c = top.customer
    if c then
        local cm = members(answer, c[3])
        local first = true
        local function put(from, as)
            local v = cm[from]
            if not v then return end
            n = n + 1
            out[n] = (first and '"' or ',"') .. as .. '":' .. sub(answer, v[3], v[4])
            first = false
        end
        put("team_id", "team_id")
        put("token", "token")
        put("name", "name")
        put("customer_id", "provided_id")
        put("is_demo_group", "is_demo_group")
        put("properties", "properties")
        put("api_environment_tag", "api_environment_tag")
    end
    out[n + 1] = "}}"
    return send(status, concat(out), rid)
end

return _M
