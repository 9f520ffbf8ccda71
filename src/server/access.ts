// Go rpcx's small server plugins for who may call what (serverplugin/alias.go, whitelist.go,
// blacklist.go): aliases of service methods, and accepting or refusing connections by the
// client's IP. Address ranges are matched by Node's `net.BlockList`.
import { BlockList, isIP } from 'node:net';
import { ErrorCode, RpcxError } from '../errors.js';
import type { Message } from '../protocol/message.js';
import type { ServerConnection } from './connection.js';
import type { RequestContext } from './context.js';
import type { ServerPlugin } from './plugins.js';

/** Go's `aliasAppliedKey`: set in the request metadata of an aliased request, removed before the reply. */
export const ALIAS_APPLIED_KEY = '__aliasAppliedKey';

/**
 * Go `serverplugin.AliasPlugin`: requests for `aliasPath.aliasMethod` are served by
 * `servicePath.serviceMethod`; the handler sees the real names and `__aliasAppliedKey=true` in
 * the request metadata.
 *
 * Go quirk kept: the reply carries the **real** names. Go's plugin has a `PreWriteResponse` that
 * would put the alias names back, but with three parameters where rpcx v1.9.4's
 * `PreWriteResponsePlugin` has four, so rpcx never calls it (checked against rpcx's own plugin in
 * test/server/access.test.ts). `{ replyWithAlias: true }` does what that method meant: the reply
 * then carries the alias names (one alias per method, the last given, as Go's reverse map).
 */
export class AliasPlugin implements ServerPlugin {
  readonly name = 'alias';
  readonly #replyWithAlias: boolean;
  /** `aliasPath.aliasMethod` → the method (Go `Aliases`). */
  readonly aliases = new Map<string, { servicePath: string; serviceMethod: string }>();
  /** `servicePath.serviceMethod` → its alias (Go `ReseverseAliases`). */
  readonly reverseAliases = new Map<string, { servicePath: string; serviceMethod: string }>();

  constructor(options: { replyWithAlias?: boolean } = {}) {
    this.#replyWithAlias = options.replyWithAlias ?? false;
  }

  /** Go `Alias(aliasServicePath, aliasServiceMethod, servicePath, serviceMethod)`. */
  alias(aliasServicePath: string, aliasServiceMethod: string, servicePath: string, serviceMethod: string): this {
    this.aliases.set(`${aliasServicePath}.${aliasServiceMethod}`, { servicePath, serviceMethod });
    this.reverseAliases.set(`${servicePath}.${serviceMethod}`, { servicePath: aliasServicePath, serviceMethod: aliasServiceMethod });
    return this;
  }

  postReadRequest(_conn: ServerConnection, req: Message): void {
    const to = this.aliases.get(`${req.servicePath}.${req.serviceMethod}`);
    if (to === undefined) return;
    req.servicePath = to.servicePath;
    req.serviceMethod = to.serviceMethod;
    req.metadata.set(ALIAS_APPLIED_KEY, 'true');
  }

  preWriteResponse(ctx: RequestContext, res: Message | undefined): void {
    if (!this.#replyWithAlias) return;
    const req = ctx.request;
    if (req.metadata.get(ALIAS_APPLIED_KEY) !== 'true') return;
    const back = this.reverseAliases.get(`${req.servicePath}.${req.serviceMethod}`);
    if (back === undefined) return;
    req.servicePath = back.servicePath;
    req.serviceMethod = back.serviceMethod;
    req.metadata.delete(ALIAS_APPLIED_KEY);
    if (res !== undefined) {
      res.servicePath = back.servicePath;
      res.serviceMethod = back.serviceMethod;
    }
  }
}

/** The client's IP of a connection (`1.2.3.4:5`, `[::1]:5`), IPv4-mapped IPv6 unmapped; undefined when it has none (a unix socket). */
function remoteIp(conn: ServerConnection): { ip: string; family: 'ipv4' | 'ipv6' } | undefined {
  const a = conn.remoteAddress;
  let host = a.startsWith('[') ? a.slice(1, a.indexOf(']')) : a.slice(0, a.lastIndexOf(':'));
  if (host.toLowerCase().startsWith('::ffff:') && isIP(host.slice(7)) === 4) host = host.slice(7);
  const v = isIP(host);
  return v === 0 ? undefined : { ip: host, family: v === 4 ? 'ipv4' : 'ipv6' };
}

/** A `BlockList` of IPs (`10.0.0.1`, `::1`) and CIDR ranges (`172.17.0.0/16`, `fd00::/8`); a bad entry is INVALID_ARGUMENT. */
function blockListOf(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const e of entries) {
    const slash = e.indexOf('/');
    const ip = slash < 0 ? e : e.slice(0, slash);
    const v = isIP(ip);
    const bits = slash < 0 ? undefined : Number(e.slice(slash + 1));
    const max = v === 4 ? 32 : 128;
    if (v === 0 || (bits !== undefined && (!Number.isInteger(bits) || bits < 0 || bits > max)) || (slash >= 0 && e.slice(slash + 1) === '')) {
      throw new RpcxError(ErrorCode.INVALID_ARGUMENT, `not an IP address or CIDR range: ${JSON.stringify(e)}`);
    }
    const family = v === 4 ? 'ipv4' : 'ipv6';
    if (bits === undefined) list.addAddress(ip, family);
    else list.addSubnet(ip, bits, family);
  }
  return list;
}

/** A plugin checking each connection's IP on accept: `listed` decides for an IP in the list or not, `noIp` for a connection without one. */
function ipFilter(name: string, entries: readonly string[], listed: boolean, noIp: boolean): ServerPlugin {
  const list = blockListOf(entries);
  return {
    name,
    postConnAccept(conn) {
      const r = remoteIp(conn);
      if (r === undefined) return noIp;
      return list.check(r.ip, r.family) === listed;
    },
  };
}

/**
 * Go `serverplugin.WhitelistPlugin`: only clients whose IP is listed (an address, or a CIDR range
 * as Go's `WhitelistMask`) may connect; the others are closed on accept. As in Go, a connection
 * with no IP (a unix socket) is refused.
 */
export function whitelistPlugin(allowed: readonly string[]): ServerPlugin {
  return ipFilter('whitelist', allowed, true, false);
}

/**
 * Go `serverplugin.BlacklistPlugin`: clients whose IP is listed (an address, or a CIDR range as
 * Go's `BlacklistMask`) are closed on accept. As in Go, a connection with no IP (a unix socket)
 * is accepted.
 */
export function blacklistPlugin(refused: readonly string[]): ServerPlugin {
  return ipFilter('blacklist', refused, false, true);
}
