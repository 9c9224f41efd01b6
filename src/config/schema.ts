// Every configuration option, declared once. The ajv schema (`jsonSchema`),
// the docs table (doc-table.ts) and path handling in load.ts are derived from
// `options`; the hand-written `Config` type is checked against it at compile time.

import {
  hostMailSection, notificationsSection, queueOption, smtpSection,
  type HostMailConfig, type NotificationsConfig, type SmtpConfig,
} from './mail-options.js';

import { hostSmsSection, smsSection, type HostSmsConfig, type SmsConfig } from './sms-options.js';

export type { HostMailConfig, NotificationsConfig, SmtpConfig, SmtpRelayConfig } from './mail-options.js';
export type { HostSmsConfig, SmsConfig, SmscConfig } from './sms-options.js';

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error';
export type LogFormat = 'pretty' | 'json';
export type RequireEncryption = 'disabled' | 'optional' | 'required';

/** The configuration after loading: defaults applied, paths absolute, domains lower-cased. */
export interface Config {
  data_dir: string;
  log: { level: LogLevel; format: LogFormat };
  storage: { type: 'sqlite'; path: string };
  c2s: C2sConfig;
  http: HttpConfig;
  auth: AuthConfig;
  admin: { socket: string };
  ldap?: LdapConfig;
  queue: string;
  smtp?: SmtpConfig;
  sms?: SmsConfig;
  hosts: HostConfig[];
}

export interface C2sConfig {
  interfaces: string[];
  port: number;
  direct_tls_port: number | null;
  max_stanza_size: number;
  max_depth: number;
  ping_interval: number;
  ping_timeout: number;
  rate: { stanzas_per_second: number; burst: number };
  max_sessions_per_user: number;
}

export interface HttpConfig {
  interfaces: string[];
  port: number | null;
  tls_port: number | null;
  trusted_proxies: string[];
  cors_origins: string[];
  max_sessions_per_address: number;
  bosh: BoshConfig;
  websocket: { see_other_uri: string };
  web_client: { enabled: boolean; title: string };
  sso: { token_ttl: number };
}

export interface BoshConfig {
  max_wait: number;
  max_hold: number;
  max_inactivity: number;
  max_pause: number;
  polling: number;
  max_body_size: number;
}

export interface AuthConfig {
  scram_iterations: number;
  allow_plain_without_tls: boolean;
  throttle: { max_failures: number; window_seconds: number; lock_seconds: number };
}

/** The LDAP servers and service account shared by every host with `directory: ldap`. */
export interface LdapConfig {
  servers: string[];
  bind_dn?: string;
  bind_password: string;
  starttls: boolean;
  ca_file?: string;
  tls_verify: boolean;
  pool_size: number;
  connect_timeout: number;
  timeout: number;
  reconnect: { min_delay: number; max_delay: number };
  cache_ttl: number;
  negative_cache_ttl: number;
  refresh_interval: number;
}

/** Where a host's users live in the LDAP directory and how their entries read. */
export interface HostLdapConfig {
  base: string;
  scope: 'sub' | 'one';
  filter: string;
  uid_attribute: string;
  enabled_filter?: string;
  auth: 'bind' | 'hash';
  password_attributes: string[];
  scram: boolean;
  attributes: { mail: string[]; mobile: string[]; display_name: string[] };
  vcard: VcardMap;
  search: { fields: SearchFieldConfig[]; reported: SearchFieldConfig[] };
}

export interface VcardMap {
  fn: string[];
  nickname: string[];
  given: string[];
  family: string[];
  email: string[];
  tel: string[];
  org: string[];
  orgunit: string[];
  title: string[];
  photo: string[];
}

export interface SearchFieldConfig {
  var: string;
  label: string;
  attribute: string;
}

export interface HostConfig {
  domain: string;
  certificate?: { cert: string; key: string };
  require_encryption: RequireEncryption;
  registration: boolean;
  password_change: boolean;
  legacy_auth: boolean;
  sso_api_key?: string;
  offline_quota: number;
  vcard_max_size: number;
  admins: string[];
  directory: 'internal' | 'ldap';
  ldap?: HostLdapConfig;
  search: { enabled: boolean; limit: number };
  shared_groups: SharedGroupConfig[];
  ldap_shared_groups?: LdapSharedGroupsConfig;
  notifications: NotificationsConfig;
  mail: HostMailConfig;
  sms: HostSmsConfig;
}

/** Shared roster groups read from LDAP (`hosts[].ldap_shared_groups`). */
export interface LdapSharedGroupsConfig {
  base: string;
  scope: 'sub' | 'one';
  filter: string;
  name_attribute: string;
  description_attribute: string;
  member_dn_attributes: string[];
  member_uid_attributes: string[];
}

/** A shared roster group of a host (`hosts[].shared_groups[]`). */
export interface SharedGroupConfig {
  name: string;
  description?: string;
  members: string[];
  displayed_groups?: string[];
}

interface DeclBase {
  description: string;
}

export interface ScalarDecl extends DeclBase {
  type: 'string' | 'integer' | 'number' | 'boolean' | readonly ['integer', 'null'];
  default?: string | number | boolean | null;
  enum?: readonly string[];
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  minLength?: number;
  pattern?: string;
  /** Shown instead of the regular expression when `pattern` does not match. */
  patternHint?: string;
  /** A filesystem path, resolved against the config file's directory. */
  path?: true;
  /** When absent, defaults to this file name inside `data_dir`. */
  dataDirDefault?: string;
}

export interface ArrayDecl extends DeclBase {
  type: 'array';
  items: OptionDecl;
  default?: readonly unknown[];
  minItems?: number;
}

/** Objects without required keys default to `{}` (so their members get their defaults). */
export interface ObjectDecl extends DeclBase {
  type: 'object';
  properties: { readonly [key: string]: OptionDecl };
  required?: readonly string[];
}

export type OptionDecl = ScalarDecl | ArrayDecl | ObjectDecl;

const port = { type: 'integer', minimum: 0, maximum: 65535 } as const;
const listenAddresses = {
  type: 'array',
  items: { type: 'string', minLength: 1, description: 'Address.' },
  default: ['0.0.0.0', '::'],
  description: 'Addresses to listen on.',
} as const;

const attributeName = {
  type: 'string',
  pattern: '^[A-Za-z][A-Za-z0-9-]*(;[A-Za-z0-9-]+)*$',
  patternHint: 'an LDAP attribute name such as mail',
  description: 'LDAP attribute name.',
} as const;

/** A list of LDAP attributes: the first one an entry has gives the value. */
function attributeList<D extends readonly string[]>(defaults: D, description: string) {
  return { type: 'array', items: attributeName, default: defaults, description } as const;
}

const searchField = {
  type: 'object',
  description: 'A field of the search form (XEP-0004), mapped to an LDAP attribute.',
  required: ['var', 'label', 'attribute'],
  properties: {
    var: {
      type: 'string',
      pattern: '^[a-z][a-z0-9_-]*$',
      patternHint: 'a field name such as email',
      description: 'Field name in the form (`first`, `last`, `nick`, `email` are also offered as XEP-0055 basic fields).',
    },
    label: { type: 'string', minLength: 1, description: 'Label shown by clients.' },
    attribute: attributeName,
  },
} as const;

/** The shared connection to the LDAP servers (top-level `ldap`). */
const ldapSection = {
  type: 'object',
  description: 'The LDAP directory used by hosts with `directory: ldap`: servers, service account, TLS, pool, cache.',
  required: ['servers'],
  properties: {
    servers: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'string',
        pattern: '^ldaps?://[^/?#\\s]+/?$',
        patternHint: 'an LDAP URL such as ldaps://ldap.example.org or ldap://ldap.example.org:389',
        description: 'LDAP URL.',
      },
      description: 'LDAP servers (`ldap://host[:port]`, `ldaps://host[:port]`), tried in order: the next one when a server does not answer.',
    },
    bind_dn: {
      type: 'string',
      minLength: 1,
      description: 'DN of the service account that searches the directory (read access to the user entries); absent: anonymous searches.',
    },
    bind_password: {
      type: 'string',
      default: '',
      description: 'Password of the service account; better set with the environment variable `SWITCHBOARD_LDAP__BIND_PASSWORD`.',
    },
    starttls: {
      type: 'boolean',
      default: true,
      description: 'Upgrade `ldap://` connections with StartTLS before binding (user passwords travel in binds); `false` only for a directory on the loopback.',
    },
    ca_file: {
      type: 'string',
      path: true,
      description: 'PEM file of the CA certificates that sign the servers\' certificates; absent: the system CAs.',
    },
    tls_verify: {
      type: 'boolean',
      default: true,
      description: 'Verify the servers\' certificates and names (ldaps and StartTLS). Turn off only for tests.',
    },
    pool_size: {
      type: 'integer',
      minimum: 1,
      maximum: 64,
      default: 4,
      description: 'Connections kept for searches (as the service account), and as many for password checks (user binds).',
    },
    connect_timeout: {
      type: 'number',
      exclusiveMinimum: 0,
      default: 5,
      description: 'Seconds to establish a connection (TCP, TLS, service bind) before trying the next server.',
    },
    timeout: {
      type: 'number',
      exclusiveMinimum: 0,
      default: 5,
      description: 'Seconds to wait for the answer to one operation (search, bind); slower means the directory is unavailable.',
    },
    reconnect: {
      type: 'object',
      description: 'Backoff after the servers could not be reached: no attempts in between, logins fail at once with `temporary-auth-failure`.',
      properties: {
        min_delay: { type: 'number', exclusiveMinimum: 0, default: 1, description: 'Seconds to wait after the first failure.' },
        max_delay: { type: 'number', exclusiveMinimum: 0, default: 30, description: 'Longest wait; the delay doubles per failure up to it.' },
      },
    },
    cache_ttl: {
      type: 'number',
      minimum: 0,
      default: 60,
      description: 'Seconds a found user (existence, mail, mobile) is remembered for routing; 0 disables the cache. Logins always ask the directory.',
    },
    negative_cache_ttl: {
      type: 'number',
      minimum: 0,
      default: 10,
      description: 'Seconds an unknown user is remembered (a user added to LDAP is found at the latest after this).',
    },
    refresh_interval: {
      type: 'number',
      minimum: 0,
      default: 300,
      description: 'Seconds between checks that users with open sessions still exist and are enabled (others are disconnected); 0 disables.',
    },
  },
} as const;

const ldapScope = {
  type: 'string',
  enum: ['sub', 'one'],
  default: 'sub',
  description: '`sub`: the whole subtree under `base`; `one`: its direct children only.',
} as const;

/** Per host: where its users are in the directory (`hosts[].ldap`). */
const hostLdap = {
  type: 'object',
  description: 'For `directory: ldap`: where this host\'s users are in the directory and how their entries read.',
  required: ['base'],
  properties: {
    base: { type: 'string', minLength: 1, description: 'Base DN of the host\'s users, e.g. `ou=people,dc=example,dc=org`.' },
    scope: ldapScope,
    filter: {
      type: 'string',
      default: '(uid=%u)',
      pattern: '^\\(.*%u.*\\)$',
      patternHint: 'an LDAP filter in parentheses with %u, such as (uid=%u)',
      description: 'Filter finding a user\'s entry; `%u` is replaced by the username, escaped (RFC 4515). AD: `(sAMAccountName=%u)`.',
    },
    uid_attribute: {
      ...attributeName,
      default: 'uid',
      description: 'Attribute holding the username (the local part of the JID), read in listings and search results.',
    },
    enabled_filter: {
      type: 'string',
      pattern: '^\\(.*\\)$',
      patternHint: 'an LDAP filter in parentheses',
      description:
        'Filter an entry must also match to be a user: others cannot log in, get no messages and are disconnected at the next refresh. E.g. `(!(employeeType=disabled))`.',
    },
    auth: {
      type: 'string',
      enum: ['bind', 'hash'],
      default: 'bind',
      description: '`bind`: check passwords by binding as the user\'s entry; `hash`: compare with the hashes in `password_attributes` (read by the service account).',
    },
    password_attributes: attributeList(
      ['userPassword'],
      'For `auth: hash`: attributes holding `{SSHA}`, `{SSHA256}`, `{SSHA512}`, `{SHA}`... values or RFC 5803 SCRAM secrets (`authPassword`).',
    ),
    scram: {
      type: 'boolean',
      default: false,
      description: 'For `auth: hash`: every user has RFC 5803 SCRAM-SHA-1 and SCRAM-SHA-256 secrets in `password_attributes`, so SCRAM is offered.',
    },
    attributes: {
      type: 'object',
      description: 'Attributes the gateways read through the directory (never LDAP themselves).',
      properties: {
        mail: attributeList(['mail'], 'Email address, for email notifications.'),
        mobile: attributeList(['mobile'], 'Mobile number, for SMS notifications.'),
        display_name: attributeList(['displayName', 'cn'], 'Name shown to others.'),
      },
    },
    vcard: {
      type: 'object',
      description: 'vCard (XEP-0054) fields and the attributes they come from; vCards of LDAP users are read-only. `[]` leaves a field out.',
      properties: {
        fn: attributeList(['displayName', 'cn'], 'FN, the full name.'),
        nickname: attributeList(['uid'], 'NICKNAME.'),
        given: attributeList(['givenName'], 'N/GIVEN.'),
        family: attributeList(['sn'], 'N/FAMILY.'),
        email: attributeList(['mail'], 'EMAIL/USERID (every value).'),
        tel: attributeList(['mobile', 'telephoneNumber'], 'TEL/NUMBER (every value; `mobile` ones typed CELL).'),
        org: attributeList(['o'], 'ORG/ORGNAME.'),
        orgunit: attributeList(['ou'], 'ORG/ORGUNIT.'),
        title: attributeList(['title'], 'TITLE.'),
        photo: attributeList(['jpegPhoto'], 'PHOTO (binary JPEG), also the avatar (XEP-0153).'),
      },
    },
    search: {
      type: 'object',
      description: 'User directory search (XEP-0055) over LDAP, when the host\'s `search.enabled`.',
      properties: {
        fields: {
          type: 'array',
          items: searchField,
          default: [
            { var: 'user', label: 'Username', attribute: 'uid' },
            { var: 'fn', label: 'Full name', attribute: 'cn' },
            { var: 'first', label: 'Given name', attribute: 'givenName' },
            { var: 'last', label: 'Family name', attribute: 'sn' },
            { var: 'email', label: 'Email', attribute: 'mail' },
            { var: 'orgunit', label: 'Department', attribute: 'ou' },
          ],
          description: 'Searchable fields; each filled one must match (substring, case as the attribute\'s matching rule says).',
        },
        reported: {
          type: 'array',
          items: searchField,
          default: [
            { var: 'fn', label: 'Full name', attribute: 'cn' },
            { var: 'email', label: 'Email', attribute: 'mail' },
            { var: 'orgunit', label: 'Department', attribute: 'ou' },
          ],
          description: 'Columns of the results, after the JID.',
        },
      },
    },
  },
} as const;

export const options = {
  type: 'object',
  description: 'Switchboard configuration',
  properties: {
    data_dir: {
      type: 'string',
      path: true,
      default: './data',
      description: 'Directory for the SQLite database, generated certificates and the admin socket.',
    },
    log: {
      type: 'object',
      description: 'Logging.',
      properties: {
        level: {
          type: 'string',
          enum: ['trace', 'debug', 'info', 'warn', 'error'],
          default: 'info',
          description: 'Minimum level logged. `trace` includes full protocol traces (very verbose).',
        },
        format: {
          type: 'string',
          enum: ['pretty', 'json'],
          default: 'pretty',
          description: '`pretty` for humans (needs the pino-pretty package, else JSON), `json` for log collectors.',
        },
      },
    },
    storage: {
      type: 'object',
      description: 'Persistent storage.',
      properties: {
        type: { type: 'string', enum: ['sqlite'], default: 'sqlite', description: 'Storage backend.' },
        path: {
          type: 'string',
          path: true,
          dataDirDefault: 'switchboard.sqlite',
          description: 'SQLite database file.',
        },
      },
    },
    c2s: {
      type: 'object',
      description: 'Client connections.',
      properties: {
        interfaces: listenAddresses,
        port: { ...port, default: 5222, description: 'Port for STARTTLS connections (0: any free port).' },
        direct_tls_port: {
          ...port,
          type: ['integer', 'null'],
          default: 5223,
          description: 'Port for direct TLS connections (XEP-0368); `null` disables them.',
        },
        max_stanza_size: {
          type: 'integer',
          minimum: 1024,
          default: 262144,
          description: 'Largest stanza accepted, in bytes; bigger ones close the stream.',
        },
        max_depth: { type: 'integer', minimum: 2, default: 64, description: 'Maximum element nesting depth.' },
        ping_interval: {
          type: 'integer',
          minimum: 0,
          default: 300,
          description: 'Seconds of client silence before the server sends a ping (XEP-0199); 0 disables.',
        },
        ping_timeout: {
          type: 'integer',
          minimum: 1,
          default: 60,
          description: 'Seconds to wait for the ping reply before closing the connection.',
        },
        rate: {
          type: 'object',
          description: 'Flood control, per stream.',
          properties: {
            stanzas_per_second: {
              type: 'number',
              exclusiveMinimum: 0,
              default: 100,
              description: 'Sustained stanza rate allowed per stream.',
            },
            burst: {
              type: 'integer',
              minimum: 1,
              default: 300,
              description: 'Stanzas allowed in a burst above the rate.',
            },
          },
        },
        max_sessions_per_user: {
          type: 'integer',
          minimum: 1,
          default: 10,
          description: 'Concurrent sessions (resources) per account.',
        },
      },
    },
    http: {
      type: 'object',
      description: 'The web server: BOSH, WebSocket, connection discovery, the web client and the token API.',
      properties: {
        interfaces: listenAddresses,
        port: {
          ...port,
          type: ['integer', 'null'],
          default: 5280,
          description: 'Plain HTTP port, for use behind a reverse proxy that terminates TLS; `null` disables it.',
        },
        tls_port: {
          ...port,
          type: ['integer', 'null'],
          default: 5443,
          description: 'HTTPS port, with each host\'s certificate (SNI); `null` disables it.',
        },
        trusted_proxies: {
          type: 'array',
          items: { type: 'string', minLength: 1, description: 'Address or CIDR block.' },
          default: [],
          description:
            'Reverse proxies (addresses or CIDR blocks such as `10.0.0.0/8`) whose `Forwarded`/`X-Forwarded-For` and `X-Forwarded-Proto` headers are believed.',
        },
        cors_origins: {
          type: 'array',
          items: { type: 'string', minLength: 1, description: 'Origin such as `https://mail.example.org`, or `*`.' },
          default: ['*'],
          description:
            'Web origins allowed to use BOSH, WebSocket and host-meta from their pages; `*` allows any (login happens inside the XMPP stream, never with cookies).',
        },
        max_sessions_per_address: {
          type: 'integer',
          minimum: 1,
          default: 100,
          description: 'Concurrent BOSH and WebSocket sessions per client address.',
        },
        bosh: {
          type: 'object',
          description: 'BOSH (XEP-0124, XEP-0206) at `/http-bind/` and `/bosh`.',
          properties: {
            max_wait: {
              type: 'integer',
              minimum: 1,
              default: 60,
              description: 'Longest time, in seconds, a request is held waiting for data.',
            },
            max_hold: { type: 'integer', minimum: 0, default: 1, description: 'Most requests held at once per session.' },
            max_inactivity: {
              type: 'integer',
              minimum: 5,
              default: 60,
              description: 'Seconds without any request before a session counts as a dropped connection.',
            },
            max_pause: {
              type: 'integer',
              minimum: 0,
              default: 120,
              description: 'Longest pause, in seconds, a client may ask for (e.g. while loading a new page).',
            },
            polling: {
              type: 'integer',
              minimum: 0,
              default: 2,
              description: 'Shortest interval, in seconds, between two empty requests of a polling session (`hold` 0).',
            },
            max_body_size: {
              type: 'integer',
              minimum: 1024,
              default: 524288,
              description: 'Largest request body, in bytes; bigger ones get HTTP 413.',
            },
          },
        },
        websocket: {
          type: 'object',
          description: 'XMPP over WebSocket (RFC 7395) at `/xmpp-websocket`.',
          properties: {
            see_other_uri: {
              type: 'string',
              default: '',
              description: 'When set, every WebSocket stream is redirected there (`<close see-other-uri/>`), e.g. while moving the service.',
            },
          },
        },
        web_client: {
          type: 'object',
          description: 'The web chat client (Converse.js) at `/chat/` and `/chat/embed`.',
          properties: {
            enabled: { type: 'boolean', default: true, description: 'Serve the web client.' },
            title: { type: 'string', default: 'Switchboard chat', description: 'Page title of the web client.' },
          },
        },
        sso: {
          type: 'object',
          description: 'Login tokens for webmail single sign-on (`POST /api/v1/token`).',
          properties: {
            token_ttl: {
              type: 'integer',
              minimum: 5,
              maximum: 3600,
              default: 120,
              description: 'Seconds a login token stays valid; each token logs in once.',
            },
          },
        },
      },
    },
    auth: {
      type: 'object',
      description: 'Authentication.',
      properties: {
        scram_iterations: {
          type: 'integer',
          minimum: 4096,
          default: 4096,
          description: 'PBKDF2 iterations for newly stored SCRAM credentials.',
        },
        allow_plain_without_tls: {
          type: 'boolean',
          default: false,
          description: 'Offer SASL PLAIN on unencrypted connections (sends passwords in clear text).',
        },
        throttle: {
          type: 'object',
          description: 'Failed-login throttling, per account and per client address.',
          properties: {
            max_failures: {
              type: 'integer',
              minimum: 1,
              default: 5,
              description: 'Failed attempts allowed within `window_seconds`.',
            },
            window_seconds: { type: 'integer', minimum: 1, default: 300, description: 'Window for counting failures.' },
            lock_seconds: {
              type: 'integer',
              minimum: 0,
              default: 60,
              description: 'How long further attempts are refused once the limit is hit.',
            },
          },
        },
      },
    },
    admin: {
      type: 'object',
      description: 'Local administration.',
      properties: {
        socket: {
          type: 'string',
          path: true,
          dataDirDefault: 'switchboard.sock',
          description: 'Unix socket used by the `switchboard` admin commands.',
        },
      },
    },
    ldap: ldapSection,
    queue: queueOption,
    smtp: smtpSection,
    sms: smsSection,
    hosts: {
      type: 'array',
      minItems: 1,
      default: [{ domain: 'localhost' }],
      description: 'Virtual hosts (XMPP domains) served.',
      items: {
        type: 'object',
        description: 'A virtual host.',
        required: ['domain'],
        properties: {
          domain: {
            type: 'string',
            pattern: '^[\\p{L}\\p{N}-]+(\\.[\\p{L}\\p{N}-]+)*$',
            patternHint: 'a domain name such as example.org',
            description: 'The XMPP domain, e.g. `example.org` for addresses like `alice@example.org`.',
          },
          certificate: {
            type: 'object',
            description: 'TLS certificate; when absent a self-signed one is generated in `<data_dir>/certs`.',
            required: ['cert', 'key'],
            properties: {
              cert: {
                type: 'string',
                path: true,
                description: 'PEM certificate file (full chain) covering `domain`.',
              },
              key: { type: 'string', path: true, description: 'PEM private key file.' },
            },
          },
          require_encryption: {
            type: 'string',
            enum: ['disabled', 'optional', 'required'],
            default: 'required',
            description:
              '`required`: TLS is mandatory; `optional`: STARTTLS offered, plain connections allowed; `disabled`: STARTTLS not offered.',
          },
          registration: {
            type: 'boolean',
            default: false,
            description: 'Allow anyone to create accounts from their client (XEP-0077).',
          },
          password_change: { type: 'boolean', default: true, description: 'Allow users to change their password.' },
          legacy_auth: { type: 'boolean', default: false, description: 'Accept obsolete non-SASL logins (XEP-0078).' },
          sso_api_key: {
            type: 'string',
            minLength: 32,
            description:
              'Secret with which a webmail backend asks `POST /api/v1/token` for login tokens of this host\'s users; no key, no tokens.',
          },
          offline_quota: {
            type: 'integer',
            minimum: 0,
            default: 1000,
            description: 'Offline messages stored per user; 0 stores none.',
          },
          vcard_max_size: { type: 'integer', minimum: 1024, default: 262144, description: 'Largest vCard, in bytes.' },
          admins: {
            type: 'array',
            items: {
              type: 'string',
              pattern: '^[^@/\\s]+@[^@/\\s]+$',
              patternHint: 'a bare JID such as admin@example.org',
              description: 'Bare JID.',
            },
            default: [],
            description: 'Bare JIDs of this host\'s administrators.',
          },
          directory: {
            type: 'string',
            enum: ['internal', 'ldap'],
            default: 'internal',
            description:
              'Where the host\'s users live: `internal` (accounts in the hub\'s store) or `ldap` (the top-level `ldap` directory, under `ldap.base`; see docs/directory.md).',
          },
          ldap: hostLdap,
          search: {
            type: 'object',
            description: 'User directory search (XEP-0055), answered by the domain itself for its own users.',
            properties: {
              enabled: {
                type: 'boolean',
                default: false,
                description: 'Let the host\'s users search its directory (usernames; with LDAP, the `ldap.search.fields`).',
              },
              limit: { type: 'integer', minimum: 1, maximum: 1000, default: 30, description: 'Most results returned per search.' },
            },
          },
          shared_groups: {
            type: 'array',
            default: [],
            description:
              'Shared roster groups: members see each other in their rosters, with presence, without subscribing (see docs/directory.md).',
            items: {
              type: 'object',
              description: 'A shared roster group.',
              required: ['name', 'members'],
              properties: {
                name: { type: 'string', minLength: 1, description: 'Group name, unique in the host; the roster group its members are shown in.' },
                description: { type: 'string', description: 'What the group is, for administrators.' },
                members: {
                  type: 'array',
                  items: { type: 'string', minLength: 1, description: 'Username, bare JID or `@all@`.' },
                  description: 'Usernames of the host, bare JIDs, or `@all@` for every user of the host.',
                },
                displayed_groups: {
                  type: 'array',
                  items: { type: 'string', minLength: 1, description: 'Group name.' },
                  description:
                    'Groups (configured or from LDAP) whose members this group\'s members see; when absent, the group itself.',
                },
              },
            },
          },
          ldap_shared_groups: {
            type: 'object',
            description:
              'Shared roster groups read from the LDAP directory, for a host with `directory: ldap`: the members of each group see each other.',
            required: ['base'],
            properties: {
              base: { type: 'string', minLength: 1, description: 'Base DN of the group entries, e.g. `ou=groups,dc=example,dc=org`.' },
              scope: ldapScope,
              filter: {
                type: 'string',
                default: '(|(objectClass=groupOfUniqueNames)(objectClass=groupOfNames)(objectClass=posixGroup))',
                pattern: '^\\(.*\\)$',
                patternHint: 'an LDAP filter in parentheses',
                description: 'Filter selecting the group entries.',
              },
              name_attribute: { ...attributeName, default: 'cn', description: 'Attribute holding the group name (the roster group).' },
              description_attribute: { ...attributeName, default: 'description', description: 'Attribute holding the group description.' },
              member_dn_attributes: attributeList(['uniqueMember', 'member'], 'Attributes listing members by the DN of their entry.'),
              member_uid_attributes: attributeList(['memberUid'], 'Attributes listing members by username.'),
            },
          },
          notifications: notificationsSection,
          mail: hostMailSection,
          sms: hostSmsSection,
        },
      },
    },
  },
} as const satisfies ObjectDecl;

/** The JSON schema given to ajv. */
export const jsonSchema = toJsonSchema(options);

function toJsonSchema(decl: OptionDecl): Record<string, unknown> {
  switch (decl.type) {
    case 'object': {
      const properties = Object.fromEntries(
        Object.entries(decl.properties).map(([key, sub]) => [
          key,
          // `default: {}` makes ajv create the object so that its members get their defaults.
          sub.type === 'object' && hasDefault(sub) ? { ...toJsonSchema(sub), default: {} } : toJsonSchema(sub),
        ]),
      );
      return {
        type: 'object',
        properties,
        additionalProperties: false,
        ...(decl.required ? { required: [...decl.required] } : {}),
      };
    }
    case 'array': {
      const { description: _d, items, ...rest } = decl;
      return { ...rest, items: toJsonSchema(items) };
    }
    default: {
      const { description: _d, patternHint: _h, path: _p, dataDirDefault: _dd, type, ...rest } = decl;
      return { ...rest, type: typeof type === 'string' ? type : [...type] };
    }
  }
}

/** True for options that are always present after loading. */
export function hasDefault(decl: OptionDecl): boolean {
  if (decl.type === 'object') return !decl.required;
  return 'default' in decl || 'dataDirDefault' in decl;
}

// Compile-time proof that `Config` matches the declaration.
type Infer<D> = D extends { enum: readonly (infer E)[] }
  ? E
  : D extends { type: readonly ['integer', 'null'] }
    ? number | null
    : D extends { type: 'string' }
      ? string
      : D extends { type: 'integer' | 'number' }
        ? number
        : D extends { type: 'boolean' }
          ? boolean
          : D extends { type: 'array'; items: infer I }
            ? Infer<I>[]
            : D extends { type: 'object'; properties: infer P }
              ? InferObject<P, D extends { required: readonly (infer R)[] } ? R : never>
              : never;
type Present<D, K, Required> = K extends Required
  ? true
  : D extends { default: unknown } | { dataDirDefault: string }
    ? true
    : D extends { type: 'object'; required: unknown }
      ? false
      : D extends { type: 'object' }
        ? true
        : false;
type InferObject<P, Required> = Flatten<
  { -readonly [K in keyof P as Present<P[K], K, Required> extends true ? K : never]: Infer<P[K]> } & {
    -readonly [K in keyof P as Present<P[K], K, Required> extends true ? never : K]?: Infer<P[K]>;
  }
>;
type Flatten<T> = { [K in keyof T]: T[K] };
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
true satisfies Same<Config, Infer<typeof options>>;
