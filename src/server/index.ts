/**
 * The rpcx server (Go: package `github.com/smallnest/rpcx/server`): services, raw handlers,
 * plugins, server pushes and graceful shutdown, speaking Go rpcx v1.9.4's wire protocol.
 */
export { RpcxServer, createServer } from './server.js';
export type { ServerOptions, ShutdownOptions, ServerEvents, BroadcastResult } from './server.js';
export { ServerConnection } from './connection.js';
export { RequestContext, deadlineExceeded, contextCanceled, parseServerTimeout } from './context.js';
export type { ServerHandle } from './types.js';
export type { AuthFunc } from './dispatch.js';
export { errorText } from './dispatch.js';
export { ServiceRegistry } from './registry.js';
export type { Handler, RawHandler, MethodTypes, RegisterOptions, RegisterFunctionOptions } from './registry.js';
export { PluginContainer, ErrReqReachLimit, isReqReachLimit, rateLimitPlugin, connectionRateLimitPlugin, accessLogPlugin } from './plugins.js';
export type { ServerPlugin } from './plugins.js';
export type { ServeNetwork } from './listen.js';
export { tokenAuth } from './auth.js';
export { allowAllCorsOptions, GatewayHeader, JsonRpcCode } from '../gateway/index.js';
export type { CorsOptions } from '../gateway/index.js';
