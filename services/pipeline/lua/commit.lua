-- Commit one processed micro-batch: acknowledge its stream entries and apply what it changed, atomically.
--
-- KEYS[1] stream, KEYS[2] dead-letter stream, KEYS[3] attempts hash, KEYS[4] tenants set,
-- then per tenant: kpi buckets hash, points list, health hash, latest sensor readings hash.
-- ARGV[1] JSON: {group, consumer, check, ack: [entry ids], dead: [[id, reason, payload, attempts]],
--               second, points_max, dead_maxlen, tenants: [{name, kpi, points, readings, health}]}
--
-- Entries another worker has already acknowledged must not be counted twice (a slow worker
-- whose events were reclaimed, or a reclaim racing the original). When the batch is old enough
-- for that to be possible (`check`, see StreamConsumer.fresh), XCLAIM ... JUSTID with
-- min-idle 0 returns exactly the ids still pending (and makes them ours); if any is missing,
-- nothing is applied or acknowledged and the caller gets a 0/1 flag per id, to retry with
-- the pending ones only. Otherwise: XACK, dead letters, per-second KPI buckets (merged with
-- Chan's parallel variance formula), newest points, health folded as h * decay + add.
local doc = cjson.decode(ARGV[1])
local ids = doc.ack

local function call_with(prefix, list, suffix)
  local args = {}
  for _, v in ipairs(prefix) do args[#args + 1] = v end
  for _, v in ipairs(list) do args[#args + 1] = v end
  if suffix then args[#args + 1] = suffix end
  return redis.call(unpack(args))
end

if #ids > 0 and doc.check then
  local claimed = call_with({'XCLAIM', KEYS[1], doc.group, doc.consumer, '0'}, ids, 'JUSTID')
  if #claimed < #ids then
    local still = {}
    for _, id in ipairs(claimed) do still[id] = true end
    local flags = {}
    for i, id in ipairs(ids) do flags[i] = still[id] and 1 or 0 end
    return {0, cjson.encode(flags)}
  end
end
if #ids > 0 then
  call_with({'XACK', KEYS[1], doc.group}, ids)
  if redis.call('EXISTS', KEYS[3]) == 1 then call_with({'HDEL', KEYS[3]}, ids) end
end

for _, d in ipairs(doc.dead) do
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', doc.dead_maxlen, '*', 'id', d[1], 'reason', d[2],
             'event', d[3], 'attempts', d[4], 'failed_at', doc.second)
end

local function split(s)
  local out = {}
  for part in string.gmatch(s, '[^,]+') do out[#out + 1] = tonumber(part) end
  return out
end

local function join(t)
  local parts = {}
  for i, v in ipairs(t) do parts[i] = string.format('%.17g', v) end
  return table.concat(parts, ',')
end

local health_out = {}
for ti, t in ipairs(doc.tenants) do
  local base = 4 + (ti - 1) * 4
  redis.call('SADD', KEYS[4], t.name)
  if type(t.kpi) == 'table' then
    local k = t.kpi
    local cur = redis.call('HGET', KEYS[base + 1], doc.second)
    local a = cur and split(cur)
    if a and #a == 8 then                -- a corrupt bucket is replaced, never folded in
      local n = a[1] + k[1]
      local delta = k[2] - a[2]
      k = {n, a[2] + delta * k[1] / n, a[3] + k[3] + delta * delta * a[1] * k[1] / n,
           math.max(a[4], k[4]), math.min(a[5], k[5]), a[6] + k[6], a[7] + k[7], a[8] + k[8]}
    end
    redis.call('HSET', KEYS[base + 1], doc.second, join(k))
  end
  if #t.points > 0 then
    call_with({'LPUSH', KEYS[base + 2]}, t.points)
    redis.call('LTRIM', KEYS[base + 2], 0, doc.points_max - 1)
  end
  if #t.readings > 0 then
    call_with({'HSET', KEYS[base + 4]}, t.readings)
  end
  local changed = {}
  for _, h in ipairs(t.health) do
    local cur = redis.call('HGET', KEYS[base + 3], h[1])
    local ok, rec = false, nil
    if cur then ok, rec = pcall(cjson.decode, cur) end
    if not (ok and type(rec) == 'table' and type(rec.h) == 'number' and type(rec.events) == 'number'
            and type(rec.anomalies) == 'number') then     -- none yet, or corrupt: start the record afresh
      rec = h[7]
      rec.h, rec.events, rec.anomalies = 100, 0, 0
    end
    rec.h = rec.h * h[3] + h[4]
    rec.events = rec.events + h[2]
    rec.anomalies = rec.anomalies + h[5]
    rec.last_seen = h[6]
    local encoded = cjson.encode(rec)
    redis.call('HSET', KEYS[base + 3], h[1], encoded)
    changed[#changed + 1] = encoded
  end
  health_out[ti] = changed
end
return {1, cjson.encode(health_out)}
