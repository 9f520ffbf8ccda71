// The named interop cases and the directions each runs in, written from the case table of
// /work/shared/interop-cases.md (keep the two in step: names are stable, `dirs` is the md's column).
//   TG: TS client -> Go rpcx server peer     GT: Go rpcx client -> TS server     TT: TS client -> TS server
//   MIX: one client over a pool of Go and TS servers (wave 2)
// `npm test` (scripts/test.mjs) checks after a full run that every case passed, not skipped, in
// every direction listed here: some test whose title (with its describe blocks) names the case and
// the direction. A case name with `<reg>` stands for each of etcd, redis and zk.

export type Direction = 'TG' | 'GT' | 'TT' | 'MIX';

export interface InteropCase {
  /** The row number in interop-cases.md. */
  n: number;
  name: string;
  dirs: readonly Direction[];
}

const ALL: readonly Direction[] = ['TG', 'GT', 'TT'];
const TG: readonly Direction[] = ['TG'];
const TG_GT: readonly Direction[] = ['TG', 'GT'];
const TG_TT: readonly Direction[] = ['TG', 'TT'];
const GT_TT: readonly Direction[] = ['GT', 'TT'];
const GT: readonly Direction[] = ['GT'];
const TT: readonly Direction[] = ['TT'];

export const CASES: readonly InteropCase[] = [
  { n: 1, name: 'empty_payload', dirs: ALL },
  { n: 2, name: 'arith_msgpack', dirs: ALL },
  { n: 3, name: 'arith_json', dirs: ALL },
  { n: 4, name: 'arith_protobuf', dirs: ALL },
  { n: 5, name: 'arith_thrift', dirs: ALL },
  { n: 6, name: 'raw_all_bytes', dirs: ALL },
  { n: 7, name: 'large_payload', dirs: ALL },
  { n: 8, name: 'int64_extremes', dirs: ALL },
  { n: 9, name: 'unicode_strings', dirs: ALL },
  { n: 10, name: 'time_values', dirs: TG_GT },
  { n: 11, name: 'nested_and_nil', dirs: ALL },
  { n: 12, name: 'gzip_above_threshold', dirs: ALL },
  { n: 13, name: 'gzip_at_threshold', dirs: ALL },
  { n: 14, name: 'gzip_reply_needs_compressed_request', dirs: GT_TT },
  { n: 15, name: 'metadata_round_trip', dirs: ALL },
  { n: 16, name: 'metadata_many_entries', dirs: ALL },
  { n: 17, name: 'metadata_non_utf8', dirs: TG_GT },
  { n: 18, name: 'service_error_text', dirs: ALL },
  { n: 19, name: 'error_with_payload', dirs: TG },
  { n: 20, name: 'unknown_service', dirs: ALL },
  { n: 21, name: 'unknown_method', dirs: ALL },
  { n: 22, name: 'unknown_codec', dirs: TG_TT },
  { n: 23, name: 'bad_args', dirs: ALL },
  { n: 24, name: 'handler_throws', dirs: GT_TT },
  { n: 25, name: 'oneway', dirs: ALL },
  { n: 26, name: 'heartbeat_keeps_idle_alive', dirs: ALL },
  { n: 27, name: 'heartbeat_echo_exact', dirs: TG_GT },
  { n: 28, name: 'frozen_peer_detected', dirs: TG_TT },
  { n: 29, name: 'deadline_propagation', dirs: ALL },
  { n: 30, name: 'cancel_before_reply', dirs: TG_TT },
  { n: 31, name: 'timeout_on_sleeping_server', dirs: ALL },
  { n: 32, name: 'concurrent_out_of_order', dirs: ALL },
  { n: 33, name: 'seq_beyond_2_53', dirs: TG },
  { n: 34, name: 'push_basic', dirs: ALL },
  { n: 35, name: 'push_burst_in_order', dirs: ALL },
  { n: 36, name: 'push_before_reply', dirs: ALL },
  { n: 37, name: 'push_slow_consumer', dirs: TG_TT },
  { n: 38, name: 'push_to_closed_connection', dirs: GT_TT },
  { n: 39, name: 'push_broadcast', dirs: GT_TT },
  { n: 40, name: 'auth_ok', dirs: ALL },
  { n: 41, name: 'auth_rejected_closes', dirs: ALL },
  { n: 42, name: 'server_restart_reconnect', dirs: TG_TT },
  { n: 43, name: 'server_killed_mid_call', dirs: TG_TT },
  { n: 44, name: 'graceful_shutdown_in_flight', dirs: GT_TT },
  { n: 45, name: 'max_message_length', dirs: ALL },
  { n: 46, name: 'garbage_bytes', dirs: GT_TT },
  { n: 47, name: 'failover_two_servers', dirs: TG },
  { n: 48, name: 'failtry_same_server', dirs: TG },
  { n: 49, name: 'failbackup_latency', dirs: TG },
  { n: 50, name: 'broadcast_fork_inform', dirs: TG },
  { n: 51, name: 'consistent_hash_agrees_with_go', dirs: TG },
  { n: 52, name: 'weighted_round_robin_agrees_with_go', dirs: TG },
  { n: 53, name: 'unix_socket', dirs: ALL },
  { n: 54, name: 'tls', dirs: ALL },
  // Wave 2: registries, streams, transports, both directions on one connection.
  { n: 55, name: 'registry_<reg>_layout', dirs: GT },
  { n: 56, name: 'registry_<reg>_discover', dirs: ALL },
  { n: 57, name: 'registry_<reg>_leave', dirs: ALL },
  { n: 58, name: 'registry_<reg>_inactive_and_group', dirs: ALL },
  { n: 59, name: 'registry_<reg>_metadata_update', dirs: ALL },
  { n: 60, name: 'registry_<reg>_outage', dirs: TG_TT },
  { n: 61, name: 'registry_etcd_leader_loss', dirs: ['TT', 'MIX'] },
  { n: 62, name: 'registry_mixed_pool', dirs: ['MIX'] },
  { n: 63, name: 'stream_echo', dirs: ALL },
  { n: 64, name: 'stream_token_rejected', dirs: GT_TT },
  { n: 65, name: 'file_upload', dirs: ALL },
  { n: 66, name: 'file_download', dirs: ALL },
  { n: 67, name: 'message_stream_bidi', dirs: ALL },
  { n: 68, name: 'message_stream_server', dirs: ALL },
  { n: 69, name: 'message_stream_error_and_cancel', dirs: ALL },
  { n: 70, name: 'message_stream_backpressure', dirs: TG_TT },
  { n: 71, name: 'http_connect', dirs: ALL },
  { n: 72, name: 'websocket', dirs: ALL },
  // 73 and 74 are "GT-style" in the md: the TS server's answers compared with the Go server's.
  { n: 73, name: 'http_gateway', dirs: GT },
  { n: 74, name: 'jsonrpc2', dirs: GT },
  { n: 75, name: 'port_demux', dirs: GT_TT },
  { n: 76, name: 'browser_websocket', dirs: TG_TT },
  { n: 77, name: 'reverse_rpc', dirs: TT },
  { n: 78, name: 'server_calls_client', dirs: GT_TT },
  { n: 79, name: 'push_by_user', dirs: GT_TT },
  { n: 80, name: 'watch_long_poll', dirs: GT_TT },
  { n: 81, name: 'cli_call_listen', dirs: TG_TT },
];

const REGISTRIES = ['etcd', 'redis', 'zk'] as const;

/** Every (case, direction) pair a full run must pass, `<reg>` expanded: the name as tests title it. */
export function requiredRuns(): Array<{ n: number; name: string; dir: Direction }> {
  const out: Array<{ n: number; name: string; dir: Direction }> = [];
  for (const c of CASES) {
    const names = c.name.includes('<reg>') ? REGISTRIES.map((r) => c.name.replace('<reg>', r)) : [c.name];
    for (const name of names) for (const dir of c.dirs) out.push({ n: c.n, name, dir });
  }
  return out;
}

/**
 * Whether a passed test's full title (its describe blocks and its own name, joined) covers
 * `name` in direction `dir`: both appear as whole words (`GT-style` counts as GT; a title may list
 * several directions, as in "TT, TG and GT http_connect over TLS").
 */
export function covers(title: string, name: string, dir: Direction): boolean {
  const word = (w: string): RegExp => new RegExp(`(^|[^A-Za-z0-9_])${w}($|[^A-Za-z0-9_])`);
  return word(name).test(title) && word(dir).test(title);
}

const byName = new Map(CASES.map((c) => [c.name, c]));

/** The directions case `name` runs in; throws for a name that is not in the table (a typo). */
export function directions(name: string): readonly Direction[] {
  const c = byName.get(name);
  if (c === undefined) throw new Error(`unknown interop case ${JSON.stringify(name)} (see interop-cases.md)`);
  return c.dirs;
}

/** Whether case `name` runs in direction `dir`. */
export function runsIn(name: string, dir: Direction): boolean {
  return directions(name).includes(dir);
}
