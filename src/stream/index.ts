export {
  STREAM_SERVICE_NAME,
  FILE_TRANSFER_SERVICE_NAME,
  TOKEN_LENGTH,
  ERR_NOT_ACCEPT,
  type StreamServiceArgs,
  type FileTransferArgs,
  type DownloadFileArgs,
  type TokenReply,
} from './wire.js';
export type { SideListenerOptions } from './side-listener.js';
export {
  enableStreamService,
  enableFileTransfer,
  type StreamHandler,
  type StreamCallContext,
  type StreamConnectionInfo,
  type StreamServiceOptions,
  type SideService,
  type UploadHandler,
  type DownloadHandler,
  type FileTransferOptions,
} from './service.js';
export { dialTarget, type StreamOptions, type ByteStreamOptions, type StreamOnRead, type SendFileOptions, type DownloadFileOptions, type TransferProgress } from './client.js';
export { socketTransport, type Transport } from './transport.js';
export { memoryTransportPair } from './memory-transport.js';
export { StreamMetaKey } from './message-stream.js';
export {
  streamRouter,
  serveTransport,
  messageStreamOver,
  type OpenStreamOptions,
  type MessageStream,
  type MessageStreamHandler,
  type MessageStreamRoute,
  type MessageStreamRoutes,
  type StreamHandlerContext,
  type StreamRouterOptions,
} from './messages.js';
