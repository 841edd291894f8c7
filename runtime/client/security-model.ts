// The LwM2M Security object's model (/0), copied from generated/ by scripts/runtime-models.mjs: the runtime's Security object is built on it.
// Do not edit: change registry/0-lwm2m-security.xml, run lwm2m-gen, then `node scripts/runtime-models.mjs`.
import { defineObject } from '../model.js';

export const SECURITY_MODEL = defineObject({
  id: 0,
  name: "LwM2M Security",
  urn: "urn:oma:lwm2m:oma:0:1.2",
  objectVersion: "1.2",
  lwm2mVersion: "1.2",
  multiple: true,
  mandatory: true,
  resources: [
    { id: 0, name: "LWM2M Server URI", operations: "", type: "String", multiple: false, mandatory: true, range: { kind: 'length', min: 0, max: 255, text: "0..255 bytes" } },
    { id: 1, name: "Bootstrap-Server", operations: "", type: "Boolean", multiple: false, mandatory: true },
    { id: 2, name: "Security Mode", operations: "", type: "Integer", multiple: false, mandatory: true, range: { kind: 'interval', min: 0, max: 4, text: "0..4" } },
    { id: 3, name: "Public Key or Identity", operations: "", type: "Opaque", multiple: false, mandatory: true },
    { id: 4, name: "Server Public Key", operations: "", type: "Opaque", multiple: false, mandatory: true },
    { id: 5, name: "Secret Key", operations: "", type: "Opaque", multiple: false, mandatory: true },
    { id: 6, name: "SMS Security Mode", operations: "", type: "Integer", multiple: false, mandatory: false, range: { kind: 'interval', min: 0, max: 255, text: "0..255" } },
    { id: 7, name: "SMS Binding Key Parameters", operations: "", type: "Opaque", multiple: false, mandatory: false, range: { kind: 'length', min: 0, max: 6, text: "6 bytes" } },
    { id: 8, name: "SMS Binding Secret Key(s)", operations: "", type: "Opaque", multiple: false, mandatory: false, range: { kind: 'length', min: 16, max: 48, values: [16, 32, 48], text: "16,32,48 bytes" } },
    { id: 9, name: "LwM2M Server SMS Number", operations: "", type: "String", multiple: false, mandatory: false },
    { id: 10, name: "Short Server ID", operations: "", type: "Integer", multiple: false, mandatory: false, range: { kind: 'interval', min: 1, max: 65534, text: "1..65534" } },
    { id: 11, name: "Client Hold Off Time", operations: "", type: "Integer", multiple: false, mandatory: false, units: "s" },
    { id: 12, name: "Bootstrap-Server Account Timeout", operations: "", type: "Integer", multiple: false, mandatory: false, units: "s" },
    { id: 13, name: "Matching Type", operations: "", type: "Unsigned Integer", multiple: false, mandatory: false, range: { kind: 'interval', min: 0, max: 3, text: "0..3" } },
    { id: 14, name: "SNI", operations: "", type: "String", multiple: false, mandatory: false },
    { id: 15, name: "Certificate Usage", operations: "", type: "Unsigned Integer", multiple: false, mandatory: false, range: { kind: 'interval', min: 0, max: 3, text: "0..3" } },
    { id: 16, name: "DTLS/TLS Ciphersuite", operations: "", type: "Unsigned Integer", multiple: true, mandatory: false },
  ],
});
