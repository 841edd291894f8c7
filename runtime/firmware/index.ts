// Firmware Update (/5) as a runtime component: state machine, push and pull delivery, storage helpers.
export * from './types.js';
export { FirmwareUpdater, attachFirmwareUpdate, type PackageSink } from './updater.js';
export { DownloadError, parsePackageUri, protocolOf, fetchHttp, fetchCoap, fetcherFor, type ChunkSink, type Fetcher } from './download.js';
export { MemoryStorage, FileStorage } from './storage.js';
export * from './mixin.js';
