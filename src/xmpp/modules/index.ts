// The feature modules every virtual host runs, in load order.
import type { XmppModule } from '../module.js';
import { adhocModule } from './adhoc.js';
import { blockingModule } from './blocking.js';
import { carbonsModule } from './carbons.js';
import { discoModule } from './disco.js';
import { lastModule } from './last.js';
import { legacyAuthModule } from './legacy-auth.js';
import { messageModule } from './message.js';
import { notificationSettingsModule } from './notification-settings.js';
import { offlineModule } from './offline.js';
import { pingModule } from './ping.js';
import { presenceModule } from './presence.js';
import { privateModule } from './private.js';
import { registerModule } from './register.js';
import { rosterModule } from './roster.js';
import { searchModule } from './search.js';
import { timeModule } from './time.js';
import { vcardModule } from './vcard.js';
import { versionModule } from './version.js';

export const defaultModules: XmppModule[] = [
  messageModule,
  rosterModule,
  presenceModule,
  discoModule,
  versionModule,
  pingModule,
  vcardModule,
  searchModule,
  privateModule,
  lastModule,
  timeModule,
  blockingModule,
  offlineModule,
  carbonsModule,
  registerModule,
  legacyAuthModule,
  // Ad-hoc commands: adhoc first, since the command modules register with it as they load.
  adhocModule,
  notificationSettingsModule,
];
