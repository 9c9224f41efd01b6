// switchboard start: runs the hub in the foreground until SIGTERM or SIGINT.
import { constants } from 'node:os';
import { ensureCertificates } from '../config/certs.js';
import { ConfigError, type LoadedConfig } from '../config/load.js';
import { Hub } from '../core/hub.js';
import { createLogger, type Logger } from '../core/log.js';
import { hubRunning } from './admin-client.js';
import { AdminOps } from './admin-ops.js';
import { AdminServer } from './admin-server.js';
import { loadCliConfig } from './config-file.js';
import { CliError } from './errors.js';

export async function start(file: string): Promise<number> {
  const loaded = loadCliConfig(file);
  const log = createLogger(loaded.config.log);
  try {
    return await run(loaded, log);
  } finally {
    await new Promise<void>((resolve) => log.flush(() => resolve()));
  }
}

async function run(loaded: LoadedConfig, log: Logger): Promise<number> {
  const { config } = loaded;
  const socket = config.admin.socket;
  if (await hubRunning(socket)) throw new CliError(`a Switchboard hub is already running here: ${socket} answers`);
  // Failing to generate a certificate (no openssl, unwritable directory) is the operator's to fix.
  const certificates = await ensureCertificates(loaded, log).catch((err: unknown) => {
    throw err instanceof ConfigError ? err : new CliError((err as Error).message);
  });
  const hub = new Hub({ config, log, certificates });
  const ops = new AdminOps({ config, store: hub.store, directory: hub.directory, hub });
  const admin = new AdminServer(ops, socket, log.child({ component: 'admin' }));
  const stop = async (): Promise<void> => {
    await admin.close();
    await hub.stop();
  };

  // Listening for signals from the start: one received while starting stops the hub once started.
  const signalled = firstSignal(log);
  try {
    await hub.start();
    await admin.listen();
  } catch (err) {
    await stop();
    throw err;
  }
  await signalled;
  await stop();
  return 0;
}

/** Resolves on the first SIGTERM or SIGINT; a second one exits at once (128 + signal number). */
function firstSignal(log: Logger): Promise<void> {
  return new Promise((resolve) => {
    let received = false;
    const onSignal = (signal: NodeJS.Signals): void => {
      if (received) {
        log.warn({ signal }, 'second signal: exiting at once');
        log.flush();
        process.exit(128 + constants.signals[signal]);
      }
      received = true;
      log.info({ signal }, 'stopping; a second signal exits at once');
      resolve();
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}
