/**
 * `npm start`: the lesson runner's entry point. It parses nothing itself: it hands the arguments,
 * the lesson list and the target providers to `runner.ts`.
 *
 * Target providers, first = default. To run lessons against another etcd, add its provider here
 * (see scenarios/targets.ts for the shape).
 */
import { inProcessProvider } from "./adapters/inProcess.js";
import { LESSONS } from "./lessons.js";
import { main } from "./runner.js";
import type { TargetProvider } from "./targets.js";

const providers: TargetProvider[] = [inProcessProvider];

process.exitCode = await main(process.argv.slice(2), LESSONS, providers);
