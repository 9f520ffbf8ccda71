/**
 * Go rpcx's HTTP entry points on the rpcx `tcp` port (server/gateway.go, server/jsonrpc2.go):
 * the HTTP gateway (`X-RPCX-*` headers), JSON-RPC 2.0, and the demultiplexer that routes each
 * connection to them or to rpcx. Used by `RpcxServer.serve('tcp', …)`. Also the standalone
 * gateway (rpcxio/rpcx-gateway) in front of servers found through a discovery.
 */
export { PortDemux, type PortDemuxOptions } from './demux.js';
export { GatewayHeader } from './gateway.js';
export { JsonRpcCode } from './jsonrpc.js';
export { allowAllCorsOptions, type CorsOptions } from './cors.js';
export type { GatewayHost } from './handle.js';
export { createGatewayProxy, type GatewayProxy, type GatewayProxyOptions } from './proxy.js';
