// The web chat client: Converse.js (the npm package's prebuilt dist folder) served at
// /chat/ as a full page and at /chat/embed as a roster docked in a webmail's iframe, set up
// per request for the host the browser used, with single sign-on for the embedded client.
//
// Page URL parameters:
//   /chat/?transport=bosh|websocket        force one transport (default: WebSocket, BOSH as fallback)
//   /chat/embed?transport=...              the same
//   /chat/embed#jid=<bare JID>&token=<t>   log in at once with a login token (SASL OAUTHBEARER);
//                                          the fragment is wiped from the address bar
//   /chat/embed?credentials_url=<url>[&sso=token]
//                                          Converse fetches {jid, password} from <url> (same origin
//                                          or https, with the webmail's cookies) whenever it logs
//                                          in; with sso=token the password is a login token
// The XMPP domain is the configured host named by the request's Host (then users type just
// their name), else the first configured host (users of other hosts type full addresses).
import { createHash } from 'node:crypto';
import { STATUS_CODES, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import send from 'send';
import type { HostConfig, HttpConfig } from '../config/schema.js';
import { escapeXML } from '../xmpp/xml.js';
import { sendText, type HttpApp, type RequestContext } from './app.js';
import { endpoints } from './host-meta.js';

const CHAT_PATH = '/chat/';
const EMBED_PATH = '/chat/embed';
const DIST_PATH = '/chat/dist/';

export interface WebClientOptions {
  http: HttpConfig;
  hosts: readonly HostConfig[];
}

export function registerWebClient(app: HttpApp, { http, hosts }: WebClientOptions): void {
  if (!http.web_client.enabled) return;
  const dist = converseDist();
  const pages = new PageBuilder(http, hosts);
  app.route({
    path: '/chat',
    methods: ['GET', 'HEAD'],
    handler: (_req, res, ctx) => {
      res.writeHead(301, { Location: CHAT_PATH + ctx.url.search, 'Content-Length': 0 }).end();
    },
  });
  app.route({ path: CHAT_PATH, methods: ['GET', 'HEAD'], handler: (_req, res, ctx) => pages.serve(res, ctx, false) });
  app.route({ path: EMBED_PATH, methods: ['GET', 'HEAD'], handler: (_req, res, ctx) => pages.serve(res, ctx, true) });
  app.route({
    path: DIST_PATH,
    prefix: true,
    methods: ['GET', 'HEAD'],
    handler: (req, res, ctx) => {
      // `send` decodes the path, refuses ".." and dotfiles, and answers conditional and range requests.
      send(req, ctx.url.pathname.slice(DIST_PATH.length - 1), { root: dist, index: false, dotfiles: 'ignore', maxAge: '1h' })
        .on('directory', () => sendText(res, 404, 'Not found'))
        .on('error', (err: { status?: number }) => {
          const status = err.status ?? 500;
          sendText(res, status, STATUS_CODES[status] ?? 'Error');
        })
        .pipe(res);
    },
  });
}

/** The converse.js package's dist folder (its package.json is not among its exports). */
function converseDist(): string {
  return dirname(createRequire(import.meta.url).resolve('converse.js/dist/converse.min.js'));
}

/** What a page needs beyond the JSON settings; read by BOOT_SCRIPT. */
interface PageConfig {
  settings: Record<string, unknown>;
  embed: boolean;
  /** The credentials_url hands out login tokens: log in with OAUTHBEARER only. */
  tokenCredentials: boolean;
}

// Starts Converse with the page's settings. In the embed it takes a login token from the URL
// fragment (which never reaches a server or a Referer) and wipes it from the address bar before
// Converse reads or rewrites the location. Tokens are not passwords: only OAUTHBEARER may use them.
// Inline (allowed by its hash in the CSP) so that the settings and the start are one document.
const BOOT_SCRIPT = `
import converse from '${DIST_PATH}converse.min.js';
{
  const config = JSON.parse(document.getElementById('switchboard-chat').textContent);
  const settings = config.settings;
  const tokenLogin = () => ({ mechanisms: [converse.env.Strophe.SASLOAuthBearer] });
  if (config.embed) {
    const fragment = new URLSearchParams(location.hash.slice(1));
    const jid = fragment.get('jid');
    const token = fragment.get('token');
    if (jid && token) {
      history.replaceState(null, '', location.pathname + location.search);
      Object.assign(settings, { jid, password: token, auto_login: true, credentials_url: null, connection_options: tokenLogin() });
    } else if (config.tokenCredentials) {
      settings.connection_options = tokenLogin();
    }
  }
  converse.plugins.add('switchboard', {
    dependencies: ['converse-roster', 'converse-chatboxes'],
    initialize() {
      const { _converse } = this;
      const { api } = _converse;
      // The full-page footer and navbar advertise the Converse project and load its sponsors' logos.
      for (const name of ['converse-footer', 'converse-controlbox-navbar']) api.elements.define(name, class extends HTMLElement {});
      // Converse 14.0.0 accepts a contact request with contact.authorize().subscribe(), which reaches
      // the model's event helper of that name instead of asking for the contact's presence in return.
      const { RosterContact } = _converse.exports;
      const modelSubscribe = RosterContact.prototype.subscribe;
      RosterContact.prototype.subscribe = function (...args) {
        return args.length ? modelSubscribe.apply(this, args) : this.subscribeToPresence();
      };
      // A chat's heading shows the chat's "status", which Converse never fills in: show the contact's status message.
      api.listen.on('chatBoxInitialized', (chat) => {
        const contact = chat.contact;
        if (chat.get('type') !== 'chatbox' || !(contact instanceof RosterContact)) return;
        const showStatus = () => chat.set('status', contact.get('status'));
        showStatus();
        chat.listenTo(contact, 'change:status', showStatus);
      });
      // The webmail's credentials_url knows its user by the webmail's session cookie.
      api.listen.on('beforeFetchLoginCredentials', (_context, xhr) => {
        xhr.withCredentials = true;
        return xhr;
      });
    },
  });
  settings.whitelisted_plugins = ['switchboard'];
  converse.initialize(settings);
}
`;
const BOOT_HASH = `'sha256-${createHash('sha256').update(BOOT_SCRIPT).digest('base64')}'`;

class PageBuilder {
  private readonly frameAncestors: string;

  constructor(
    private readonly http: HttpConfig,
    private readonly hosts: readonly HostConfig[],
  ) {
    const origins = http.cors_origins;
    this.frameAncestors = origins.includes('*') ? '*' : ["'self'", ...origins].join(' ');
  }

  serve(res: ServerResponse, ctx: RequestContext, embed: boolean): void {
    const transport = ctx.url.searchParams.get('transport');
    if (transport !== null && transport !== 'bosh' && transport !== 'websocket') {
      return sendText(res, 400, 'transport must be "bosh" or "websocket"');
    }
    const { bosh, websocket } = endpoints(ctx);
    const settings: Record<string, unknown> = {
      ...this.domainSettings(ctx),
      view_mode: embed ? 'overlayed' : 'fullscreen',
      bosh_service_url: transport === 'websocket' ? undefined : bosh,
      // Converse prefers WebSocket when it has a URL for it, and falls back to BOSH when that fails.
      websocket_url: transport === 'bosh' ? undefined : websocket,
      discover_connection_methods: false,
      assets_path: DIST_PATH,
      sounds_path: `${DIST_PATH}sounds/`,
      notification_icon: `${DIST_PATH}images/logo/conversejs-filled.svg`,
      play_sounds: true,
      hide_offline_users: false,
      roster_groups: true,
      show_self_in_roster: false,
      allow_contact_requests: true,
      allow_contact_removal: true,
      allow_non_roster_messaging: true,
      lazy_load_vcards: true,
      auto_reconnect: true,
      keepalive: true,
      allow_logout: !embed,
      show_controlbox_by_default: true,
      sticky_controlbox: embed,
      // No third-party lookups (and the CSP would refuse them anyway).
      autocomplete_providers_url: '',
      xmpp_providers_url: '',
      show_client_info: false,
      // OMEMO needs PEP, which the hub does not offer.
      blacklisted_plugins: ['converse-omemo', 'converse-omemo-views'],
    };
    let connectSources = [bosh, websocket];
    let tokenCredentials = false;
    if (embed) {
      const credentials = ctx.url.searchParams.get('credentials_url');
      if (credentials !== null) {
        const url = credentialsUrl(credentials, ctx);
        if (!url) return sendText(res, 400, 'credentials_url must be a path on this site or an https URL');
        settings.credentials_url = url.href;
        settings.auto_login = true;
        connectSources = [...connectSources, url.origin];
        tokenCredentials = ctx.url.searchParams.get('sso') === 'token';
      }
    }
    const config: PageConfig = { settings, embed, tokenCredentials };
    const html = page(this.http.web_client.title, config);
    res.setHeader('Content-Security-Policy', contentSecurityPolicy(connectSources, embed ? this.frameAncestors : "'none'"));
    if (!embed) res.setHeader('X-Frame-Options', 'DENY');
    res.setHeader('Referrer-Policy', 'same-origin');
    res.setHeader('Cache-Control', 'no-store');
    sendText(res, 200, html, 'text/html; charset=utf-8');
  }

  /** The configured host the browser named locks the login to that domain; else the first host is the default. */
  private domainSettings(ctx: RequestContext): Record<string, unknown> {
    const requested = ctx.client.host.replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1').toLowerCase();
    const named = this.hosts.find((h) => h.domain === requested);
    const host = named ?? this.hosts[0]!;
    return {
      ...(named ? { locked_domain: host.domain } : { default_domain: host.domain }),
      allow_registration: host.registration,
      registration_domain: host.domain,
    };
  }
}

/** A credentials URL the embed may call: a path on this site, or an absolute https URL. */
function credentialsUrl(value: string, ctx: RequestContext): URL | undefined {
  const origin = `${ctx.client.secure ? 'https' : 'http'}://${ctx.client.host}`;
  let url: URL;
  try {
    url = new URL(value, origin);
  } catch {
    return undefined;
  }
  if (url.username || url.password) return undefined;
  return url.origin === origin || url.protocol === 'https:' ? url : undefined;
}

function contentSecurityPolicy(connectSources: string[], frameAncestors: string): string {
  return [
    "default-src 'self'",
    `script-src 'self' ${BOOT_HASH}`,
    // Converse's templates set style attributes.
    "style-src 'self' 'unsafe-inline'",
    // Avatars arrive as data: URLs; links to images and media in messages are shown inline.
    "img-src 'self' data: blob: https:",
    "media-src 'self' data: blob: https:",
    "font-src 'self' data:",
    `connect-src 'self' ${connectSources.join(' ')}`,
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    `frame-ancestors ${frameAncestors}`,
  ].join('; ');
}

function page(title: string, config: PageConfig): string {
  const bodyClass = config.embed ? '' : ' class="converse-fullscreen"';
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeXML(title)}</title>
<link rel="icon" href="${DIST_PATH}images/favicon.ico">
<link rel="stylesheet" href="${DIST_PATH}converse.min.css">
<style>
html, body { margin: 0; height: 100%; }${config.embed ? '\nbody { background: transparent; }' : ''}
/* Converse colours a contact's status message like the heading's background. */
.conversejs .chatbox .chat-head .chat-head__desc { color: var(--chat-header-fg-color); }
</style>
<script type="application/json" id="switchboard-chat">${scriptJson(config)}</script>
<script type="module">${BOOT_SCRIPT}</script>
</head>
<body${bodyClass}></body>
</html>
`;
}

/** JSON that cannot end its <script> element or open a comment in it. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
