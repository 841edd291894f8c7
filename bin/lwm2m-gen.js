#!/usr/bin/env node
// Entry point of the lwm2m-gen CLI: runs the built generator (npm install builds it).
import { main } from '../dist/generator/cli.js';
process.exitCode = await main(process.argv.slice(2));
