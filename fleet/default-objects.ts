// The objects a fleet's devices have when the user names none: the project's generated Device (/3); the client adds its Server (/1).
import type { ObjectDefinition } from 'lwm2m-gen/runtime';
import { Device } from '../generated/device.js';

export const defaultObjects: readonly ObjectDefinition[] = [Device];
