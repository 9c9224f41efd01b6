// JIDs given on the command line or to the admin socket.
import type { Config } from '../config/schema.js';
import { Jid, JidError } from '../core/jid.js';
import { CliError } from './errors.js';

export function parseJid(text: string): Jid {
  try {
    return Jid.parse(text);
  } catch (err) {
    if (err instanceof JidError) throw new CliError(`invalid JID "${text}": ${err.message}`);
    throw err;
  }
}

/** The bare JID of an account on one of the configured hosts. */
export function accountJid(config: Config, text: string): Jid {
  const jid = parseJid(text);
  if (!jid.local || jid.resource) {
    throw new CliError(`"${text}" is not a user JID: expected user@domain, e.g. alice@${config.hosts[0]!.domain}`);
  }
  hostDomain(config, jid.domain);
  return jid;
}

/** A configured host, given by its domain. */
export function hostDomain(config: Config, text: string): string {
  const jid = parseJid(text);
  if (jid.local || jid.resource) throw new CliError(`"${text}" is not a domain`);
  const domain = jid.domain;
  if (!config.hosts.some((host) => host.domain === domain)) {
    const served = config.hosts.map((host) => host.domain).join(', ');
    throw new CliError(`${domain} is not a host of this server (hosts: ${served})`);
  }
  return domain;
}
