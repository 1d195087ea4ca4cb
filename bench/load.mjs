// The load generator, in its own process so that its busy event loop neither shares a core's
// time slice with the proxies' loops nor delays the parent's swap timers and stopwatches.
// The parent sends { id, opts } over IPC; this answers { id, result } with a summary.
import autocannon from 'autocannon';

/** Request list: `paths` cycles through the given paths (pre-built once, cheap per request). */
function requestsFor(job) {
  if (!job.paths) return undefined;
  const body = job.body === undefined ? {} : { body: job.body };
  return job.paths.map((path) => ({ method: job.method ?? 'GET', path, ...body }));
}

let running;

function run(job) {
  return new Promise((resolve, reject) => {
    running = autocannon(
      {
        url: job.url,
        connections: job.connections,
        pipelining: 1,
        duration: job.duration,
        timeout: job.timeout ?? 10,
        headers: job.headers ?? {},
        requests: requestsFor(job),
      },
      (err, result) => {
        running = undefined;
        if (err) reject(err);
        else resolve(summary(result));
      },
    );
  });
}

function summary(result) {
  return {
    rps: result.requests.average,
    total: result.requests.total,
    latencyP50: result.latency.p50,
    latencyP99: result.latency.p99,
    latencyMax: result.latency.max,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    resets: result.resets,
    statusCodes: Object.fromEntries(Object.entries(result.statusCodeStats).map(([k, v]) => [k, v.count])),
  };
}

process.on('message', ({ id, opts, stop }) => {
  // { stop: true } ends the running measurement early; its result is still sent.
  if (stop) return running?.stop();
  run(opts).then(
    (result) => process.send({ id, result }),
    (err) => process.send({ id, error: String(err?.stack ?? err) }),
  );
});
process.send({ ready: true });
