// Entry point of `npm run device`: runs the simulated device from the command line and exits with its code.
import { runCli } from './cli.js';

process.exit(await runCli(process.argv.slice(2)));
