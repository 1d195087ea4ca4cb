// Starts Portcullis from dist/ with the options the CLI uses, but with an access log sink that
// discards every line: the "logging off" measurement. (The "logging on" measurement runs the
// real CLI, whose pino destination is stdout, pointed by the parent at /dev/null or a file.)
// Usage: node bench/portcullis.mjs CONFIG_FILE DATA_DIR   (admin token: PORTCULLIS_ADMIN_TOKEN)
import { Gateway } from '../dist/gateway.js';

const discard = { write() {} };
const gw = new Gateway({
  configFile: process.argv[2],
  dataDir: process.argv[3],
  host: '127.0.0.1',
  port: 0,
  adminPort: 0,
  adminToken: process.env.PORTCULLIS_ADMIN_TOKEN,
  accessLogSink: discard,
  redisUrl: process.env.PORTCULLIS_REDIS_URL,
});
const { port, adminPort } = await gw.start();
process.stderr.write(`portcullis: proxy on 127.0.0.1:${port}, admin API on 127.0.0.1:${adminPort}\n`);
const stop = () => gw.stop().then(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
