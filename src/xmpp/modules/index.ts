// The feature modules every virtual host runs, in load order.
import type { XmppModule } from '../module.js';
import { messageModule } from './message.js';

export const defaultModules: XmppModule[] = [
  messageModule,
];
