/**
 * `npm start`: the lesson runner's entry point. It parses nothing itself: it hands the arguments,
 * the lesson list and the target providers to `runner.ts`, whose one parser reads every flag
 * (`--target URL` included: a report mode of the same run).
 *
 * Target providers, first = default (etcdsim in process). `--target http://…` is handled by the
 * runner itself (both sides run and are compared); another kind of target plugs in here as a
 * provider (see scenarios/targets.ts for the shape).
 */
import { inProcessProvider } from "./adapters/inProcess.js";
import { guardStdout } from "./cliOutput.js";
import { LESSONS } from "./lessons.js";
import { main } from "./runner.js";
import type { TargetProvider } from "./targets.js";

const providers: TargetProvider[] = [inProcessProvider];

guardStdout();
process.exitCode = await main(process.argv.slice(2), LESSONS, providers);
