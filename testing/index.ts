// lwm2m-gen/testing: in-process LwM2M DM and Bootstrap servers for device apps' tests, the DM server's requests typed by the generated classes.
export {
  TestLwm2mServer,
  type TestServerOptions, type WaitOptions, type Registration, type RegistrationLogEntry, type RejectedRegistration, type RegistrationEvent,
  type Observation, type Notification, type SendReport, type SentValue,
} from './server.js';
export { RegisteredDevice } from './device.js';
export { DtlsPskServer, type DtlsServerOptions, type DtlsHandshakeFailure } from './dtls-server.js';
export { TypedObservation, type ObservedPayload } from './observation.js';
export { RequestError, ResponseFormatError, MalformedRegistrationError, RegistrationTimeoutError } from './errors.js';
export type {
  ObjectClass, ResourceMember, ExecuteMember, ResourceValueOf, WritableValue, InstanceValues, InstanceInput,
  FormatOptions, WriteOptions, CreateOptions, ExecuteArgumentsInput, AttributesInput,
} from './types.js';
export {
  readComposite, writeComposite, observeComposite, lookupOf,
  type CompositeServer, type CompositeObservingServer, type CompositeObservationTap, type CompositeFormat, type CompositeOptions,
  type CompositeContent, type CompositeObservation,
} from './composite.js';
export {
  TestBootstrapServer, BootstrapClientSession, securityRecords, serverRecords,
  type TestBootstrapServerOptions, type BootstrapConfig, type ProvisionedServer, type BootstrapLogEntry,
} from './bootstrap-server.js';
