#!/usr/bin/env -S node --single-threaded-gc
// The `ambit` command line: `ambit node` runs the node agent; `ambit help` lists commands. Reads
// settings through config/ (the only place that touches the environment) and handles signals.

import { isMeshError } from '../common/errors.js';
import { formatSettingsHelp, loadConfig } from '../config/index.js';
import { NodeAgent } from './node-agent.js';

const USAGE = `Usage: ambit <command> [flags]

Commands:
  node      run the node agent (the ztunnel role): HBONE mesh, L4 policy, telemetry
  help      show this text; "ambit node --help" lists every flag and environment variable

With no config file the node agent starts on a built-in example (see README, "Quick start").
`;

async function runNode(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`Usage: ambit node [flags]\n\nFlags override environment variables.\n\n${formatSettingsHelp()}\n`);
    return 0;
  }
  let config;
  try {
    config = loadConfig(argv, process.env);
  } catch (err) {
    process.stderr.write(`ambit node: ${isMeshError(err) ? err.message : String(err)}\n`);
    return 2;
  }
  let quitting = false;
  const agent: NodeAgent = new NodeAgent({ config, onQuit: () => void quit('quitquitquit') });
  const quit = async (why: string): Promise<void> => {
    if (quitting) return;
    quitting = true;
    agent.logger.info({ why }, 'shutting down');
    // Last resort if teardown itself hangs: the drain promise is bounded, this only guards bugs.
    setTimeout(() => {
      agent.logger.error({ why }, 'shutdown did not complete 2 s past the drain deadline; exiting');
      agent.logger.flush();
      process.exit(1);
    }, config.drainDeadlineMs + 2000).unref();
    await agent.close();
    process.exit(0);
  };
  // The first signal drains; a second one (an impatient operator, or kubelet after the grace
  // period) exits at once, as ztunnel does.
  const onSignal = (signal: NodeJS.Signals): void => {
    if (quitting) {
      agent.logger.warn({ signal }, 'second signal: exiting without waiting for the drain');
      agent.logger.flush();
      process.exit(signal === 'SIGINT' ? 130 : 143);
    }
    void quit(signal);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  // Bad input must never take the daemon down; an unexpected throw is logged and survived.
  process.on('uncaughtException', (err) => agent.logger.error({ err }, 'uncaught exception (survived)'));
  process.on('unhandledRejection', (err) => agent.logger.error({ err }, 'unhandled rejection (survived)'));
  try {
    await agent.start();
  } catch (err) {
    process.stderr.write(`ambit node: failed to start: ${isMeshError(err) ? err.message : String(err)}\n`);
    agent.destroy();
    return 1;
  }
  return -1; // keep running
}

async function main(): Promise<void> {
  const [command, ...rest] = process.argv.slice(2);
  let code: number;
  switch (command) {
    case 'node':
      code = await runNode(rest);
      break;
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      code = 0;
      break;
    default:
      process.stderr.write(`ambit: unknown command "${command}"\n\n${USAGE}`);
      code = 2;
  }
  if (code >= 0) process.exit(code);
}

void main();
