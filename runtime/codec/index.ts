// Content formats: encode and decode LwM2M records (text, opaque, TLV, SenML JSON/CBOR, LwM2M CBOR, LwM2M JSON) and CoRE link-format.
export { ContentFormat, type ContentFormatNumber, type Lwm2mRecord, type ResourceLookup } from './types.js';
export { decodeRecords, encodeRecords, isSupportedFormat } from './records.js';
export { formatLinks, parseLinks, type Link } from './link-format.js';
export { contentRecords, encodeInstances, instanceRecords } from './records.js';
export type { InstanceContent } from './types.js';
export {
  COMPOSITE_FORMATS, decodeCompositePaths, decodeCompositeRecords, encodeCompositePaths, encodeCompositeRecords, isCompositeFormat,
  SEND_FORMATS, decodeSendRecords, encodeSendRecords,
} from './composite.js';
