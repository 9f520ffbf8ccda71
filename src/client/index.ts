/**
 * Clients: {@link Client} (one connection, Go `client.Client`) and {@link XClient} (one
 * service over many servers with fail modes, selectors, fan-out and discovery, Go
 * `client.XClient`).
 */
export {
  Client,
  type ClientOptions,
  type CallOptions,
  type CallResult,
  type RawResult,
  type ClientStatus,
  type PushPolicy,
  type ReconnectOptions,
} from './client.js';
export {
  XClient,
  BidirectionalXClient,
  createXClient,
  createBidirectionalXClient,
  XCLIENT_SHUTDOWN,
  XCLIENT_NO_SERVER,
  SERVER_UNAVAILABLE,
  SERVER_ADDRESS_KEY,
  type XClientOptions,
  type XCallOptions,
  type XClientStatus,
} from './xclient.js';
export {
  OneClient,
  BidirectionalOneClient,
  createOneClient,
  createBidirectionalOneClient,
  type OneClientOptions,
} from './oneclient.js';
export {
  XClientPool,
  BidirectionalXClientPool,
  OneClientPool,
  BidirectionalOneClientPool,
  createXClientPool,
  createBidirectionalXClientPool,
  createOneClientPool,
  createBidirectionalOneClientPool,
} from './pool.js';
export { acceptClients, ClientAcceptor, type AcceptClientsOptions } from './reverse.js';
export { FailMode, SelectMode, MultiError, failModeName, selectModeName, type Receipt } from './fail-mode.js';
export type { ClientPlugin, ClientCallContext } from './plugins.js';
export {
  RandomSelector,
  RoundRobinSelector,
  WeightedRoundRobinSelector,
  ConsistentHashSelector,
  GeoSelector,
  DoubleJump,
  calculateWeight,
  consistentHashKey,
  hashString,
  jumpHash,
  geoDistance,
  parseQuery,
  filterByStateAndGroup,
  type Selector,
  type SelectContext,
  type ServerMap,
  type ParsedQuery,
} from './selectors.js';
export { WeightedRttSelector, tcpConnectRtt, type RttProbe } from './rtt.js';
export { goSprintV, goFloat, type GoFormatOptions } from './gofmt.js';
export { ConsecCircuitBreaker, BREAKER_OPEN, BREAKER_TIMEOUT, type Breaker } from './breaker.js';
export {
  Peer2PeerDiscovery,
  MultipleServersDiscovery,
  type KVPair,
  type ServiceDiscovery,
  type ServiceDiscoveryFilter,
} from './discovery.js';
export { DNSDiscovery, type DnsLookup } from './dns-discovery.js';
export { createProxy, type ServiceProxy, type ProxyTarget } from './proxy.js';
