// Reusable behaviours of standard and project objects: Device (/3) clock, time zone, errors, Reboot/Factory Reset; Config.
export * from './device.js';
export * from './config.js';
