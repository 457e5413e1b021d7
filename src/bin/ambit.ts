#!/usr/bin/env -S node --single-threaded-gc --max-semi-space-size=4
// The `ambit` command line: `ambit node` runs the node agent, `ambit control` the control plane,
// `ambit waypoint` a waypoint, `ambit ctl` inspects a running mesh;
// `ambit help` lists commands. Settings come through config/ (the only place that reads the environment).

import { CONTROL_SETTINGS, WAYPOINT_SETTINGS, formatSettingsHelp, formatTableHelp, loadConfig, loadControlConfig, loadWaypointConfig } from '../config/index.js';
import { runDaemon } from './daemon.js';

const USAGE = `Usage: ambit <command> [flags]

Commands:
  node      run the node agent (the ztunnel role): HBONE mesh, L4 policy, telemetry
  control   run the control plane (the istiod role): Kubernetes objects → delta xDS + CA
  waypoint  run a waypoint (Istio's L7 proxy in ambient mode) for one Gateway of class istio-waypoint
  ctl       inspect a running mesh: workloads, services, policies, certificates, connections, explain, routes
  help      show this text; "ambit <command> --help" lists every flag and environment variable

With no config file the node agent starts on a built-in example (see README, "Quick start").
`;

// Each command's composition root is imported when that command runs, so a process holds only its
// own role's modules (a waypoint does not load the control plane, the node agent or ctl).

async function runNode(argv: string[]): Promise<number> {
  const { NodeAgent } = await import('./node-agent.js');
  return runDaemon(
    {
      name: 'ambit node',
      helpText: `Usage: ambit node [flags]\n\nFlags override environment variables.\n\n${formatSettingsHelp()}\n`,
      load: loadConfig,
      drainDeadlineMs: (c) => c.drainDeadlineMs,
      create: (config, quit) => new NodeAgent({ config, onQuit: () => quit('quitquitquit') }),
    },
    argv,
  );
}

async function runControl(argv: string[]): Promise<number> {
  const { ControlPlane } = await import('./control-plane.js');
  return runDaemon(
    {
      name: 'ambit control',
      helpText:
        `Usage: ambit control [flags]\n\nThe control plane (Istio's istiod role): watches Kubernetes objects (a manifests folder or a cluster)\n` +
        `and serves node agents delta xDS (istio.workload.Address, istio.security.Authorization) and certificates.\n` +
        `Flags override environment variables.\n\n${formatTableHelp(CONTROL_SETTINGS).join('\n')}\n`,
      load: loadControlConfig,
      drainDeadlineMs: (c) => c.drainDeadlineMs,
      create: (config) => new ControlPlane({ config }),
    },
    argv,
  );
}

async function runWaypoint(argv: string[]): Promise<number> {
  const { WaypointProcess } = await import('./waypoint.js');
  return runDaemon(
    {
      name: 'ambit waypoint',
      helpText:
        `Usage: ambit waypoint [flags]\n\nA waypoint (Istio's L7 proxy in ambient mode) for one Gateway of class istio-waypoint: HBONE on 15008,\n` +
        `its WaypointConfig and the mesh state from ambit control (XDS_ADDRESS) or a manifests folder translated here (--manifests).\n` +
        `Flags override environment variables.\n\n${formatTableHelp(WAYPOINT_SETTINGS).join('\n')}\n`,
      load: loadWaypointConfig,
      drainDeadlineMs: (c) => c.drainDeadlineMs,
      create: (config, quit) => new WaypointProcess({ config, onQuit: () => quit('quitquitquit') }),
    },
    argv,
  );
}

async function main(): Promise<void> {
  const [command, ...rest] = process.argv.slice(2);
  let code: number;
  switch (command) {
    case 'node':
      code = await runNode(rest);
      break;
    case 'control':
      code = await runControl(rest);
      break;
    case 'waypoint':
      code = await runWaypoint(rest);
      break;
    case 'ctl':
      code = await (await import('./ctl.js')).runCtlCommand(rest);
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
