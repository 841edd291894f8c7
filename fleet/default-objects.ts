// The objects a fleet's devices have when the user names none: the project's generated LwM2M Server (/1) and Device (/3).
import type { ObjectDefinition } from 'lwm2m-gen/runtime';
import { Device } from '../generated/device.js';
import { LwM2MServer } from '../generated/lw-m2m-server.js';

export const defaultObjects: readonly ObjectDefinition[] = [LwM2MServer, Device];
