// The named interop cases and the directions each runs in, written from the case table of
// /work/shared/interop-cases.md (keep the two in step: names are stable, `dirs` is the md's column).
//   TG: TS client -> Go rpcx server peer     GT: Go rpcx client -> TS server     TT: TS client -> TS server

export type Direction = 'TG' | 'GT' | 'TT';

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
  { n: 81, name: 'cli_call_listen', dirs: TG_TT },
];

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
