/**
 * The rpcx server (Go: package `github.com/smallnest/rpcx/server`): services, raw handlers,
 * plugins, server pushes and graceful shutdown, speaking Go rpcx v1.9.4's wire protocol.
 */
export { RpcxServer, createServer } from './server.js';
export type { ServerOptions, ShutdownOptions, ServerEvents, BroadcastResult } from './server.js';
export { ServerConnection, connectionKey } from './connection.js';
export type { ConnectionKey } from './connection.js';
export { PEER_CALL_SEQ_BASE } from './peer-calls.js';
export type { PeerCallOptions } from './peer-calls.js';
export { RequestContext, deadlineExceeded, contextCanceled, parseServerTimeout } from './context.js';
export type { ServerHandle } from './types.js';
export type { AuthFunc } from './dispatch.js';
export { errorText, ServiceInternalError, isRuntimeError } from './dispatch.js';
export { ServiceRegistry } from './registry.js';
export type { Handler, RawHandler, MethodTypes, RegisterOptions, RegisterFunctionOptions } from './registry.js';
export { PluginContainer, ErrReqReachLimit, isReqReachLimit, rateLimitPlugin, connectionRateLimitPlugin, accessLogPlugin } from './plugins.js';
export type { ServerPlugin } from './plugins.js';
export { AliasPlugin, ALIAS_APPLIED_KEY, whitelistPlugin, blacklistPlugin } from './access.js';
export type { ServeNetwork } from './listen.js';
export { tokenAuth } from './auth.js';
export { dialAndServe, OutboundServing } from './reverse.js';
export type { DialAndServeOptions, DialBackoffOptions, OutboundStatus } from './reverse.js';
export { allowAllCorsOptions, GatewayHeader, JsonRpcCode, createGatewayProxy } from '../gateway/index.js';
export type { CorsOptions, GatewayProxy, GatewayProxyOptions } from '../gateway/index.js';
