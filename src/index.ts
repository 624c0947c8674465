/** sessiond: crash-safe session storage for Node.js. Subpath exports: sessiond/express, sessiond/fastify, sessiond/koa. */
export { SessionEngine, type SaveInput, type PatchInput, type TouchInput } from './engine/session-engine.js';
export type { EngineStats } from './engine/engine-stats.js';
export type { RecoveryReport } from './engine/recovery.js';
export { resolveOptions, OPTION_SPECS, type EngineOptions, type EngineOptionsInput, type Durability, type Logger, type PrincipalOption } from './options.js';
export type { EncryptionInput, Encryption } from './session/attr-seal.js';
export { SessiondError, isSessiondError, ERRORS, type ErrorCode } from './errors.js';
export type { SessionState } from './session/session-state.js';
export { effectiveExpiryMs, isExpired } from './session/session-state.js';
export { generateSessionId, isValidSessionId } from './session/session-id.js';
export { serializeObject, serializeValue, attributesFromBlob, blobToJsonObject } from './session/attributes.js';
export { systemClock, ManualClock, type Clock } from './clock.js';
export type { FileSystem, FileHandle } from './fs/file-system.js';
export { NodeFileSystem, nodeFileSystem } from './fs/node-file-system.js';
export { startAdminServer, type AdminServer } from './admin/admin-server.js';
export type { AdminServerOptionsInput, MetricsSource } from './admin/admin-options.js';
export * from './global/index.js';
export { serve, type SessiondServer } from './server/server.js';
export type { ServerOptions, ServerOptionsInput } from './server/server-options.js';
