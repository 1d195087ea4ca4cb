/**
 * Lua scripts of the Redis counter store. LIMIT mirrors src/counters/limits.ts line for line:
 * change one, change the other (test/redis-counters.test.ts runs both stores on the same
 * sequence). `now` comes from the gateway's clock in ARGV, never from Redis TIME, so the clock
 * stays injectable and every node decides on the same arithmetic.
 *
 * ARGV: now, n, then per check 5 values: kind (g | s | f), cost, a, b, c
 *   g: a = emissionMs, b = burst          keys: tat
 *   s: a = limit,      b = windowMs        keys: previous window, current window
 *   f: a = limit,      b = windowEnd       keys: window
 * Returns: allowed (1 | 0), then per check: allowed, remaining, resetMs, retryAfterMs (strings,
 * since Redis truncates Lua numbers to integers).
 */
export const LIMIT_LUA = `
local now = tonumber(ARGV[1])
local n = tonumber(ARGV[2])
local EPS = 1e-9
local function fmt(x) return string.format('%.17g', x) end
local out = {}
local writes = {}
local all = true
local ki = 1
local ai = 3
for i = 1, n do
  local kind = ARGV[ai]
  local cost = tonumber(ARGV[ai + 1])
  local a = tonumber(ARGV[ai + 2])
  local b = tonumber(ARGV[ai + 3])
  ai = ai + 5
  local ok, remaining, resetMs, retry, nextv, exp, key, idleRem, idleReset
  if kind == 'g' then
    key = KEYS[ki]
    ki = ki + 1
    local tat = tonumber(redis.call('GET', key))
    local e = a
    local base = now
    if tat ~= nil and tat >= now then base = tat end
    local tolerance = e * b
    local nxt = base + e * cost
    local allowAt = nxt - tolerance
    idleRem = math.max(0, math.floor((tolerance - (base - now)) / e + EPS))
    idleReset = base - now
    if allowAt > now then
      ok = false
      remaining = math.max(0, math.floor((tolerance - (base - now)) / e + EPS))
      resetMs = base - now
      retry = allowAt - now
      nextv = base
      exp = base
    else
      ok = true
      remaining = math.max(0, math.floor((tolerance - (nxt - now)) / e + EPS))
      resetMs = nxt - now
      retry = 0
      nextv = nxt
      exp = nxt
    end
  elseif kind == 's' then
    local prev = tonumber(redis.call('GET', KEYS[ki])) or 0
    key = KEYS[ki + 1]
    ki = ki + 2
    local curr = tonumber(redis.call('GET', key)) or 0
    local limit = a
    local w = b
    local start = math.floor(now / w) * w
    local elapsed = now - start
    local estimate = (prev * (w - elapsed)) / w + curr
    ok = estimate + cost <= limit + EPS
    local spent = 0
    if ok then spent = cost end
    local after = curr + spent
    if after > 0 then resetMs = start + 2 * w - now elseif prev > 0 then resetMs = start + w - now else resetMs = 0 end
    retry = 0
    if not ok then
      if cost > limit then
        retry = start + 2 * w - now
      elseif curr + cost <= limit then
        local t = w - (w * (limit - curr - cost)) / prev
        retry = math.max(1, t - elapsed)
      else
        local t = math.max(0, w - (w * (limit - cost)) / curr)
        retry = math.max(1, start + w - now + t)
      end
    end
    remaining = math.max(0, math.floor(limit - estimate - spent + EPS))
    idleRem = math.max(0, math.floor(limit - estimate + EPS))
    if curr > 0 then idleReset = start + 2 * w - now elseif prev > 0 then idleReset = start + w - now else idleReset = 0 end
    nextv = after
    exp = start + 2 * w
  else
    key = KEYS[ki]
    ki = ki + 1
    local count = tonumber(redis.call('GET', key)) or 0
    local limit = a
    local windowEnd = b
    ok = count + cost <= limit
    local spent = 0
    if ok then spent = cost end
    remaining = math.max(0, limit - count - spent)
    resetMs = windowEnd - now
    idleRem = math.max(0, limit - count)
    idleReset = windowEnd - now
    if ok then retry = 0 else retry = windowEnd - now end
    nextv = count + spent
    exp = windowEnd
  end
  if not ok then all = false end
  out[#out + 1] = ok and '1' or '0'
  out[#out + 1] = fmt(remaining)
  out[#out + 1] = fmt(resetMs)
  out[#out + 1] = fmt(retry)
  writes[i] = { key, nextv, exp, idleRem, idleReset }
end
if not all then
  -- Nothing is spent: admitting checks report their state as it is.
  for i = 1, n do
    local o = (i - 1) * 4
    if out[o + 1] == '1' then
      out[o + 2] = fmt(writes[i][4])
      out[o + 3] = fmt(writes[i][5])
    end
  end
end
if all then
  for i = 1, n do
    local wr = writes[i]
    local ttl = math.ceil(wr[3] - now)
    if ttl > 0 then redis.call('SET', wr[1], fmt(wr[2]), 'PX', ttl) end
  end
end
table.insert(out, 1, all and '1' or '0')
return out
`;

/** INCRBYFLOAT with an expiry set on the first increment. KEYS: key; ARGV: amount, ttlMs. */
export const INCR_LUA = `
redis.call('SET', KEYS[1], '0', 'PX', ARGV[2], 'NX')
return redis.call('INCRBYFLOAT', KEYS[1], ARGV[1])
`;

/**
 * RESERVE mirrors MemoryCounterStore.reserve and `fits` (src/counters/counter-store.ts): all
 * items are checked, then all are added, in one script, so two gateways cannot both take the
 * last of a budget. ARGV per key: amount, limit (-1: none), ttlMs. Returns {1} or {0, index
 * (1-based), current}.
 */
export const RESERVE_LUA = `
for i = 1, #KEYS do
  local cur = tonumber(redis.call('GET', KEYS[i]) or '0')
  local amt = tonumber(ARGV[3 * i - 2])
  local lim = tonumber(ARGV[3 * i - 1])
  if lim >= 0 then
    if (amt == 0 and cur >= lim) or (amt > 0 and cur + amt > lim) then
      return {0, i, string.format('%.17g', cur)}
    end
  end
end
for i = 1, #KEYS do
  local amt = ARGV[3 * i - 2]
  if tonumber(amt) ~= 0 then
    redis.call('SET', KEYS[i], '0', 'PX', ARGV[3 * i], 'NX')
    redis.call('INCRBYFLOAT', KEYS[i], amt)
  end
end
return {1}
`;
