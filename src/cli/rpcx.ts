#!/usr/bin/env node
/**
 * The `rpcx` command, grpcurl for rpcx: `call`, `listen`, `bench`, `decode`, `discover`,
 * `serve` (the demo server `npm start` runs) and `gateway` (the standalone HTTP gateway), one
 * module each in src/cli. JSON goes to stdout, diagnostics to stderr, colour only on a terminal
 * without NO_COLOR. Exit status: 0 ok, 1 the call or the work failed, 2 usage.
 */
import createDebug from 'debug';
import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { RpcxError } from '../errors.js';
import { Exit, UsageError, colours, errorText, isParseArgsError } from './common.js';
import { SERVE_USAGE, serve } from './serve.js';
import { call } from './call.js';
import { listen } from './listen.js';
import { bench } from './bench.js';
import { decode } from './decode.js';
import { discover } from './discover.js';
import { GATEWAY_USAGE, gateway } from './gateway.js';

const USAGE = `usage: rpcx serve [options]
       rpcx --version
       rpcx call ADDRESS Service.Method [JSON | -] [options]
       rpcx listen ADDRESS [Service.Method [JSON | -]] [options]
       rpcx bench ADDRESS Service.Method [JSON | -] [options]
       rpcx decode [HEX...] [options]
       rpcx discover REGISTRY Service [options]
       rpcx gateway (--registry URL | --server ADDRESS...) [options]
       rpcx COMMAND --help

commands:
  call       call a method once and print the reply as JSON
  listen     print server pushes as JSON lines (optionally after a subscribing call)
  bench      closed-loop load: calls/s, latency percentiles, errors by code
  decode     annotate rpcx frames given as hex or bytes
  discover   list the servers of a service in etcd, Redis or ZooKeeper
  serve      run the demo server (Arith, Echo, Push, ...) that Go rpcx clients call
  gateway    HTTP gateway (rpcx-gateway) to the servers of a registry or a list: curl calls rpcx

ADDRESS: tcp@host:port, unix@/path, http@host:port, ws@host:port, wss@host:port, or etcd:// | redis:// | zk://host:port/basePath.
Exit status: 0 ok, 1 the call failed (the error on stderr), 2 usage. JSON on stdout, diagnostics
on stderr, colour only on a terminal (NO_COLOR turns it off).

rpcx serve ${SERVE_USAGE.slice(SERVE_USAGE.indexOf('options:'))}`;

/** The `version` of the package.json next to build/ (or, installed, of the rpcx package). */
function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** DEBUG=rpcx:cli shows the stack of a failure (stderr otherwise gets one line). */
const log = createDebug('rpcx:cli');

const COMMANDS: Record<string, (argv: string[]) => Promise<number>> = { call, listen, bench, decode, discover };

/** Runs the command line; resolves with the exit status, or `undefined` for `serve` and `gateway` (they keep running). */
async function main(argv: string[]): Promise<number | undefined> {
  const [cmd, ...rest] = argv;
  if (cmd !== undefined && !cmd.startsWith('-')) {
    if (cmd === 'serve') {
      await serve(rest);
      return undefined;
    }
    if (cmd === 'gateway') {
      await gateway(rest);
      return undefined;
    }
    if (cmd === 'help') {
      process.stdout.write(USAGE);
      return Exit.OK;
    }
    const run = COMMANDS[cmd];
    if (run === undefined) throw new UsageError(`unknown command ${JSON.stringify(cmd)}`);
    return run(rest);
  }
  const { values } = parseArgs({
    args: argv,
    options: {
      help: { type: 'boolean', short: 'h', default: false },
      version: { type: 'boolean', short: 'v', default: false },
    },
    strict: true,
  });
  if (values.version) process.stdout.write(`${version()}\n`);
  else if (values.help) process.stdout.write(USAGE);
  else throw new UsageError('no command');
  return Exit.OK;
}

/** The usage text for an error of `argv`'s subcommand. */
function usageFor(argv: string[]): string {
  switch (argv[0]) {
    case 'serve':
      return SERVE_USAGE;
    case 'gateway':
      return GATEWAY_USAGE;
    default:
      return USAGE;
  }
}

/** Exits once stdout has taken everything written (a pipe may still hold it). */
function exit(code: number): void {
  process.stdout.write('', () => process.exit(code));
}

// `rpcx listen ... | head -1`: the reader went away; that ends the command, quietly, as in other Unix tools.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(Exit.OK);
  process.stderr.write(`rpcx: stdout: ${err.message}\n`);
  process.exit(Exit.FAILED);
});
// Last resort: a bug must still end with one line and exit 1, not a stack trace (DEBUG=rpcx:cli shows it).
const lastResort = (err: unknown): void => {
  process.stderr.write(`rpcx: internal error: ${errorText(err)}\n`);
  log('uncaught: %O', err);
  process.exit(Exit.FAILED);
};
process.on('uncaughtException', lastResort);
process.on('unhandledRejection', lastResort);

const argv = process.argv.slice(2);
main(argv).then(
  (code) => {
    if (code !== undefined) exit(code);
  },
  (err: unknown) => {
    const red = colours(process.stderr).red;
    if (err instanceof UsageError || isParseArgsError(err)) {
      const usage = err instanceof UsageError && err.usage !== undefined ? err.usage : usageFor(argv);
      process.stderr.write(`rpcx: ${(err as Error).message}\n\n${usage}`);
      exit(Exit.USAGE);
      return;
    }
    // An RpcxError shows its code (CONNECTION, TIMEOUT, ...); a Node error (a file that cannot be read) its message, which names it.
    process.stderr.write(`${red('rpcx:')} ${err instanceof RpcxError ? `${err.code}: ` : ''}${errorText(err)}\n`);
    log('%O', err);
    exit(Exit.FAILED);
  },
);
