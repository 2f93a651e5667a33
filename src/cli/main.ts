// The `midflight` command's entry point; everything else lives in program.ts so tests can run commands in-process.
import { ignoreClosedOutput } from './closed-output.ts';
import { main } from './program.ts';

ignoreClosedOutput(process.stdout);
ignoreClosedOutput(process.stderr);
process.exitCode = await main(process.argv);
