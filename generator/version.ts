// The generator's name and version, as written into every generated file's header.
export const GENERATOR_NAME = 'lwm2m-gen';
export const GENERATOR_VERSION = '0.1.0';
