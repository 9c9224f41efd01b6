// Admin commands go to the running hub over its admin socket, never to the database behind
// its back; with the hub stopped they open the store directly.
import type { Config } from '../config/schema.js';
import { createLogger } from '../core/log.js';
import { HostDirectories } from '../directory/hosts.js';
import { SqliteStore } from '../store/sqlite.js';
import type { AdminCall } from './admin-api.js';
import { connectAdmin } from './admin-client.js';
import { AdminOps } from './admin-ops.js';

export async function withAdmin<T>(config: Config, use: (call: AdminCall) => Promise<T>): Promise<T> {
  const client = await connectAdmin(config.admin.socket);
  if (client) {
    try {
      return await use((cmd, args) => client.call(cmd, args));
    } finally {
      client.close();
    }
  }
  const store = new SqliteStore(config.storage.path);
  const directory = HostDirectories.create(config, store.accounts, createLogger({ level: 'error', format: 'json' }, process.stderr));
  const ops = new AdminOps({ config, store, directory });
  try {
    return await use((cmd, args) => ops.call(cmd, args));
  } finally {
    await directory.close();
    await store.close();
  }
}
