// One hub per describe block, for suites that talk to it through xmpp.js clients: accounts
// made once or fresh per test, and clients stopped for the test (or block) that logged in.
import { connect, type ConnectOptions, type TestClient } from './client.js';
import { startHub, type TestHub, type TestHubOptions } from './hub.js';
import type { RawClient } from './raw.js';

/** The password of accounts made without one. */
export const PASSWORD = 'secret';

export interface FixtureOptions extends Omit<TestHubOptions, 'yaml'> {
  /** YAML merged over the test defaults; a function is called when the hub starts (ports known by then). */
  yaml?: string | (() => string);
  /** Accounts made once the hub runs: names (with PASSWORD) or names with their passwords. */
  users?: string[] | Record<string, string>;
}

export interface LoginOptions extends Partial<Omit<ConnectOptions, 'username'>> {
  /** Another virtual host of the hub than the first. */
  domain?: string;
}

export interface HubFixture {
  /** The running hub, from the block's first `before` hook on. */
  readonly hub: TestHub;
  /**
   * Logs in with the password the account was made with (unless `options.password`). The
   * client stops after the test; logged in from a `before` hook, after the block.
   */
  login(username: string, options?: LoginOptions): Promise<TestClient>;
  /** A new account, `base` with a number, so that no test sees another's data. */
  account(base: string, password?: string): Promise<string>;
}

/** Registers the mocha hooks of the enclosing describe block; call it there. */
export function useHub(options: FixtureOptions = {}): HubFixture {
  const { users = [], yaml, ...hubOptions } = options;
  let running: TestHub | undefined;
  const passwords = new Map<string, string>();
  const testClients: TestClient[] = [];
  const blockClients: TestClient[] = [];
  let inTest = false;
  let counter = 0;

  const hub = (): TestHub => {
    if (!running) throw new Error('the hub runs only from the before hook of useHub() on');
    return running;
  };
  const addUser = async (name: string, password: string): Promise<void> => {
    await hub().addUser(name, password);
    passwords.set(name, password);
  };

  before(async () => {
    running = await startHub({ ...hubOptions, ...(yaml === undefined ? {} : { yaml: typeof yaml === 'function' ? yaml() : yaml }) });
    const entries = Array.isArray(users) ? users.map((name) => [name, PASSWORD] as const) : Object.entries(users);
    for (const [name, password] of entries) await addUser(name, password);
  });
  beforeEach(() => {
    inTest = true;
  });
  afterEach(async () => {
    inTest = false;
    await Promise.all(testClients.splice(0).map((c) => c.stop()));
  });
  after(async () => {
    await Promise.all(blockClients.splice(0).map((c) => c.stop()));
    await running?.stop();
    running = undefined;
  });

  return {
    get hub() {
      return hub();
    },
    async login(username, { domain, password, ...rest } = {}) {
      const target = domain === undefined ? hub() : { ...hub(), domain };
      const client = await connect(target, { username, password: password ?? passwords.get(username) ?? PASSWORD, ...rest });
      (inTest ? testClients : blockClients).push(client);
      return client;
    },
    async account(base, password = PASSWORD) {
      const name = `${base}${++counter}`;
      await addUser(name, password);
      return name;
    },
  };
}

/** A hub for one test: started, handed to `test`, stopped however the test ends. */
export async function withHub<T>(options: TestHubOptions, test: (hub: TestHub) => Promise<T>): Promise<T> {
  const hub = await startHub(options);
  try {
    return await test(hub);
  } finally {
    await hub.stop();
  }
}

/** Raw connections destroyed after each test of the enclosing block: pass each through the returned function. */
export function useRawClients(): (raw: RawClient) => RawClient {
  const raws: RawClient[] = [];
  afterEach(() => {
    for (const raw of raws.splice(0)) raw.destroy();
  });
  return (raw) => {
    raws.push(raw);
    return raw;
  };
}
