/**
 * `npm start`: the lesson runner's entry point. It parses nothing itself: it hands the arguments,
 * the lesson list and the target providers to `runner.ts`.
 *
 * Target providers, first = default. To run lessons against another etcd, add its provider here
 * (see scenarios/targets.ts for the shape).
 *
 * `--target http://…` (a real etcd) is taken by `target.ts` first: it runs each lesson in process and
 * against the real etcd and prints their headline claims side by side.
 */
import { inProcessProvider } from "./adapters/inProcess.js";
import { LESSONS } from "./lessons.js";
import { main } from "./runner.js";
import { realEtcdProvider, runTargetMode } from "./target.js";
import type { TargetProvider } from "./targets.js";

const providers: TargetProvider[] = [inProcessProvider, realEtcdProvider];
const argv = process.argv.slice(2);

process.exitCode = (await runTargetMode(argv, LESSONS, providers)) ?? (await main(argv, LESSONS, providers));
