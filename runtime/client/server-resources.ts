// The LwM2M Server object's ids as the client knows them, and which of its executes the client performs itself.

/** The LwM2M Server object and the resources of it whose behaviour the client owns. */
export const SERVER_OBJECT = 1;
export const ServerResource = {
  SHORT_SERVER_ID: 0,
  LIFETIME: 1,
  DEFAULT_PMIN: 2,
  DEFAULT_PMAX: 3,
  DISABLE: 4,
  DISABLE_TIMEOUT: 5,
  NOTIFICATION_STORING: 6,
  BINDING: 7,
  REGISTRATION_UPDATE_TRIGGER: 8,
  BOOTSTRAP_REQUEST_TRIGGER: 9,
  BOOTSTRAP_ON_REGISTRATION_FAILURE: 16,
  COMMUNICATION_RETRY_COUNT: 17,
  COMMUNICATION_RETRY_TIMER: 18,
  COMMUNICATION_SEQUENCE_DELAY_TIMER: 19,
  COMMUNICATION_SEQUENCE_RETRY_COUNT: 20,
  MUTE_SEND: 23,
} as const;

/**
 * Executes the client performs itself, by object id: Disable and Registration Update Trigger of the Server object.
 * Generated classes leave their handlers optional (apps never reimplement them); the generator reads this list.
 */
export const CLIENT_HANDLED_EXECUTES: Readonly<Record<number, readonly number[]>> = Object.freeze({
  [SERVER_OBJECT]: Object.freeze([ServerResource.DISABLE, ServerResource.REGISTRATION_UPDATE_TRIGGER]),
});
