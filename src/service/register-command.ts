import { parseArgs } from 'node:util';
import { ConfigError } from '../config/errors.js';
import { registerServer } from '../fleet/registration.js';

const HELP = `mcp-supervisor register — register a server in a cluster's etcd while this runs

Usage: mcp-supervisor register --etcd <url,url> --id <id> --url <url> [options]

Options:
      --etcd <url,url>     etcd client URLs                               [required]
      --id <id>            the server's id in the fleet                    [required]
      --url <url>          the server's MCP endpoint                       [required]
      --type <t>           streamable-http | sse              [streamable-http]
      --ttl <s>            lease: the key lapses this long after this process
                           dies without deregistering                      [10]
      --cluster-prefix <p> key prefix in etcd                [/mcp-supervisor/]
  -h, --help               show this help

SIGTERM or SIGINT deletes the key at once (the cluster stops supervising the server);
SIGKILL lets it lapse after the TTL.
`;

/** `mcp-supervisor register …`: registers one server under a lease until stopped; the exit code. */
export async function registerCommand(argv: string[]): Promise<number> {
  let values;
  try {
    values = parseArgs({
      args: argv,
      options: {
        etcd: { type: 'string' },
        id: { type: 'string' },
        url: { type: 'string' },
        type: { type: 'string' },
        ttl: { type: 'string' },
        'cluster-prefix': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }).values;
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const usage = (message: string): number => {
    process.stderr.write(`${message}\n\n${HELP}`);
    return 2;
  };
  if (!values.etcd || !values.id || !values.url) return usage('register needs --etcd, --id and --url');
  const type = values.type ?? 'streamable-http';
  if (type !== 'streamable-http' && type !== 'sse') return usage('--type must be streamable-http or sse');
  const ttl = values.ttl === undefined ? 10 : Number(values.ttl);
  if (!(Number.isInteger(ttl) && ttl >= 2 && ttl <= 3_600)) return usage('--ttl must be a whole number of seconds from 2 to 3600');
  const etcd = values.etcd.split(',').map((url) => url.trim()).filter((url) => url !== '');

  const stop = new Promise<NodeJS.Signals>((resolve) => {
    for (const name of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(name, resolve);
  });
  let registration;
  try {
    registration = await registerServer({ etcd, id: values.id, entry: { type, url: values.url }, ttlSeconds: ttl, prefix: values['cluster-prefix'] });
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`mcp-supervisor register: ${error.message}\n`);
      return 1;
    }
    process.stderr.write(`mcp-supervisor register: cannot register in etcd at ${etcd.join(', ')}: ${(error as Error).message}\n`);
    return 1;
  }
  process.stderr.write(`mcp-supervisor registered ${registration.key} (lease ${ttl} s); stop with Ctrl-C to deregister\n`);
  const ended = await Promise.race([stop.then((signal) => ({ signal })), registration.lost.then((error) => ({ error }))]);
  await registration.close();
  if ('error' in ended) {
    process.stderr.write(`mcp-supervisor register: the registration's lease was lost: ${ended.error.message}\n`);
    return 1;
  }
  process.stderr.write(`mcp-supervisor deregistered ${registration.key}\n`);
  return 0;
}
