// Which configuration file the CLI uses, and loading it.
import { loadConfig, type LoadedConfig } from '../config/load.js';

export const DEFAULT_CONFIG_FILE = 'config/switchboard.yaml';

/** --config, else $SWITCHBOARD_CONFIG, else config/switchboard.yaml in the working directory. */
export function configFile(flag: string | undefined): string {
  return flag ?? (process.env.SWITCHBOARD_CONFIG || DEFAULT_CONFIG_FILE);
}

/** Throws a ConfigError. SWITCHBOARD_CONFIG names the file: it is not an option override. */
export function loadCliConfig(file: string): LoadedConfig {
  const { SWITCHBOARD_CONFIG: _file, ...env } = process.env;
  return loadConfig({ file, env });
}
