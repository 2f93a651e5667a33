// The `midflight` command's entry point; everything else lives in program.ts so tests can run commands in-process.
import { main } from './program.ts';

process.exitCode = await main(process.argv);
