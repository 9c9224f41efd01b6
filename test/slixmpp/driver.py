#!/usr/bin/python3
"""One slixmpp client for Switchboard's interoperability tests (test/slixmpp.test.ts).

Usage: /usr/bin/python3 driver.py '<JSON settings>'

Settings (JSON object):
  host, port       where to connect (loopback in tests)
  jid, password    the account; a resource in the JID is requested at bind
  tls              "starttls" (default), "direct" (XEP-0368 direct TLS) or "none"
  mechanism        a SASL mechanism to insist on (e.g. "SCRAM-SHA-256"); the library's choice otherwise
  tls_max          "TLSv1.2" to cap the TLS version (default: what both sides support)
  channel_binding  false: authenticate as a client without channel binding support (SCRAM gs2 flag "n");
                   default true: slixmpp's own behaviour (tls-unique, or the "y" flag for non-PLUS SCRAM)
  roster           fetch the roster before going online (default false)
  presence         send initial presence once online (default true); an object sets show/status/priority
  register         register the account in-band (XEP-0077) before authenticating (default false)
  lifetime         seconds before the driver gives up and exits (default 60)
  debug            slixmpp debug logging on stderr

Output: one JSON object per line on stdout, each with an "event":
  features          {starttls, mechanisms, channel_bindings, register, other}   each <stream:features> received
  online            {jid, tls, mechanism}           session started (after roster/presence if asked)
  session_setup_failed {error}                      the roster fetch asked for at login failed
  connection_failed {reason}                        no TCP/TLS connection; the driver exits with status 2
  auth_failed       {condition, text}               a SASL failure from the server
  auth_failed_all   {}                              no mechanism left; the driver disconnects
  registered        {} / register_failed {condition, text}
  stream_error      {condition, text}
  message           {from, to, type, id, body, delay: {stamp, from}|null, thread}
  message_error     {from, to, id, condition, errtype}
  carbon            {direction: "received"|"sent", from (the carbon's), message: {...as message}}
  presence          {from, to, type, show, status, priority, delay}
  roster_push       {ver, items: {jid: {name, subscription, ask, groups}}}
  blocklist_push    {action: "block"|"unblock", items: [jid]}
  result            {id, ok: true, ...} or {id, ok: false, error: {type, condition, text}}
  disconnected      {reason}                        the driver exits right after
  lifetime_exceeded {}                              the driver exits with status 3

Commands: one JSON object per line on stdin, {"id": any, "op": ..., ...}; each gets one "result".
  message        to, body, type ("chat"), msg_id, thread
  presence       to, type, show, status, priority
  roster_get     -> items, ver (the full roster, no version sent)
  roster_set     jid, name, groups
  roster_remove  jid
  disco_info     jid, node -> identities [[category, type, name]], features [..]
  disco_items    jid, node -> items [[jid, node, name]]
  vcard_set      fields {FN: .., NICKNAME: .., ...}
  vcard_get      jid -> fields {..}
  ping           jid
  version        jid -> name, version, os
  time           jid -> utc, tzo (the texts sent)
  last           jid -> seconds, status
  private_set    xml (one element)
  private_get    xml (the empty element to fetch) -> xml (what came back)
  carbons_enable / carbons_disable
  block          jids / unblock jids (none: all) / blocklist -> items
  change_password password
  iq             type, to, xml (payload) -> xml (the whole reply)
  disconnect     ends the stream; "disconnected" follows
"""
import asyncio
import datetime
import json
import logging
import ssl
import sys
import xml.etree.ElementTree as ET

import slixmpp
from slixmpp.exceptions import IqError, IqTimeout
from slixmpp.stanza import StreamFeatures
from slixmpp.xmlstream import tostring

PLUGINS = [
    'xep_0030',  # service discovery
    'xep_0012',  # last activity
    'xep_0049',  # private XML storage
    'xep_0054',  # vcard-temp
    'xep_0077',  # in-band registration
    'xep_0092',  # software version
    'xep_0191',  # blocking command
    'xep_0199',  # ping
    'xep_0202',  # entity time
    'xep_0203',  # delayed delivery
    'xep_0280',  # message carbons
    'xep_0297',  # forwarding (carbons)
]

IQ_TIMEOUT = 10


def emit(event, **fields):
    fields['event'] = event
    sys.stdout.write(json.dumps(fields, default=str) + '\n')
    sys.stdout.flush()


def jid_str(jid):
    text = str(jid)
    return text if text else None


def error_fields(stanza):
    err = stanza['error']
    return {'type': err['type'] or None, 'condition': err['condition'] or None, 'text': err['text'] or None}


def delay_fields(stanza):
    if stanza.xml.find('{urn:xmpp:delay}delay') is None:
        return None
    stamp = stanza['delay']['stamp']
    return {'stamp': stamp.isoformat() if stamp else None, 'from': jid_str(stanza['delay']['from'])}


def message_fields(msg):
    return {
        'from': jid_str(msg['from']),
        'to': jid_str(msg['to']),
        'type': msg['type'],
        'id': msg['id'] or None,
        'body': msg['body'],
        'thread': msg['thread'] or None,
        'delay': delay_fields(msg),
    }


def roster_items(roster):
    items = {}
    for jid, item in roster['items'].items():
        items[str(jid)] = {
            'name': item['name'] or None,
            'subscription': item['subscription'],
            'ask': item['ask'] or None,
            'groups': sorted(item['groups']),
        }
    return items


class Driver:
    def __init__(self, settings):
        self.settings = settings
        self.loop = asyncio.get_event_loop()
        self.done = self.loop.create_future()
        xmpp = slixmpp.ClientXMPP(settings['jid'], settings['password'])
        self.xmpp = xmpp
        for plugin in PLUGINS:
            xmpp.register_plugin(plugin)
        # Loopback tests against a self-signed certificate: no verification (never do this elsewhere).
        xmpp.ssl_context.check_hostname = False
        xmpp.ssl_context.verify_mode = ssl.CERT_NONE
        if settings.get('tls_max') == 'TLSv1.2':
            xmpp.ssl_context.maximum_version = ssl.TLSVersion.TLSv1_2
        if settings.get('mechanism'):
            xmpp['feature_mechanisms'].use_mech = settings['mechanism']
        if settings.get('channel_binding') is False:
            xmpp['feature_mechanisms'].sasl_callback = self.credentials_without_channel_binding
        xmpp.add_filter('in', self.on_incoming)
        # Subscription requests are answered by the test, not automatically.
        xmpp.auto_authorize = None
        xmpp.auto_subscribe = False
        xmpp.whitespace_keepalive = False

        xmpp.add_event_handler('session_start', self.on_session_start)
        xmpp.add_event_handler('failed_auth', self.on_failed_auth)
        xmpp.add_event_handler('failed_all_auth', self.on_failed_all_auth)
        xmpp.add_event_handler('stream_error', self.on_stream_error)
        xmpp.add_event_handler('disconnected', self.on_disconnected)
        xmpp.add_event_handler('connection_failed', self.on_connection_failed)
        xmpp.add_event_handler('message', lambda m: emit('message', **message_fields(m)))
        xmpp.add_event_handler('message_error', self.on_message_error)
        xmpp.add_event_handler('carbon_received', lambda m: self.on_carbon('received', m))
        xmpp.add_event_handler('carbon_sent', lambda m: self.on_carbon('sent', m))
        xmpp.add_event_handler('presence', self.on_presence)
        xmpp.add_event_handler('roster_update', self.on_roster_update)
        xmpp.add_event_handler('blocked', lambda iq: self.on_blocking('block', iq['block']['items']))
        xmpp.add_event_handler('unblocked', lambda iq: self.on_blocking('unblock', iq['unblock']['items']))
        if settings.get('register'):
            xmpp['xep_0077'].force_registration = True
            # slixmpp 1.8.3 holds back every iq until the session starts, its own registration
            # iqs included (they are logged as "NOT SENT"); this private switch lets them out.
            xmpp._always_send_everything = True
            xmpp.add_event_handler('register', self.on_register)

    # --- connection ---------------------------------------------------------------------

    def connect(self):
        mode = self.settings.get('tls', 'starttls')
        address = (self.settings.get('host', '127.0.0.1'), int(self.settings['port']))
        if mode == 'direct':
            self.xmpp.connect(address=address, use_ssl=True, disable_starttls=True)
        elif mode == 'none':
            self.xmpp.connect(address=address, force_starttls=False, disable_starttls=True)
        else:
            self.xmpp.connect(address=address, force_starttls=True, disable_starttls=False)

    def credentials_without_channel_binding(self, required, optional):
        # A sasl_callback (feature_mechanisms plugin option) that offers no channel binding data.
        result = {}
        for value in required | optional:
            if value == 'username':
                result[value] = self.xmpp.requested_jid.user
            elif value == 'password':
                result[value] = self.xmpp.password
        return result

    def on_incoming(self, stanza):
        if isinstance(stanza, StreamFeatures):
            xml = stanza.xml
            sasl = '{urn:ietf:params:xml:ns:xmpp-sasl}'
            emit('features',
                 starttls=xml.find('{urn:ietf:params:xml:ns:xmpp-tls}starttls') is not None,
                 mechanisms=[m.text for m in xml.findall(sasl + 'mechanisms/' + sasl + 'mechanism')],
                 channel_bindings=[c.get('type') for c in
                                   xml.findall('{urn:xmpp:sasl-cb:0}sasl-channel-binding/{urn:xmpp:sasl-cb:0}channel-binding')],
                 register=xml.find('{http://jabber.org/features/iq-register}register') is not None,
                 other=[child.tag for child in xml])
        return stanza

    def finish(self, code=0):
        if not self.done.done():
            self.done.set_result(code)

    async def on_session_start(self, _event):
        xmpp = self.xmpp
        try:
            if self.settings.get('roster'):
                await xmpp.get_roster(timeout=IQ_TIMEOUT)
            presence = self.settings.get('presence', True)
            if presence:
                opts = presence if isinstance(presence, dict) else {}
                xmpp.send_presence(pshow=opts.get('show'), pstatus=opts.get('status'), ppriority=opts.get('priority'))
        except (IqError, IqTimeout) as e:
            emit('session_setup_failed', error=self.describe(e))
        tls = None
        ssl_object = xmpp.transport.get_extra_info('ssl_object') if xmpp.transport else None
        if ssl_object is not None:
            tls = ssl_object.version()
        mech = xmpp['feature_mechanisms'].mech
        emit('online', jid=str(xmpp.boundjid), tls=tls, mechanism=mech.name if mech else None)

    def on_failed_auth(self, stanza):
        emit('auth_failed', condition=stanza['condition'] or None, text=stanza['text'] or None)

    def on_failed_all_auth(self, _event):
        emit('auth_failed_all')

    def on_stream_error(self, error):
        emit('stream_error', condition=error['condition'] or None, text=error['text'] or None)

    def on_connection_failed(self, error):
        emit('connection_failed', reason=str(error))
        self.xmpp.cancel_connection_attempt()
        self.finish(2)

    def on_disconnected(self, reason):
        emit('disconnected', reason=str(reason) if reason else None)
        self.finish(0)

    async def on_register(self, _form):
        iq = self.xmpp.Iq()
        iq['type'] = 'set'
        iq['register']['username'] = self.xmpp.boundjid.user
        iq['register']['password'] = self.xmpp.password
        try:
            await iq.send(timeout=IQ_TIMEOUT)
            emit('registered')
        except (IqError, IqTimeout) as e:
            emit('register_failed', **self.describe(e))

    # --- incoming -------------------------------------------------------------------------

    def on_message_error(self, msg):
        err = error_fields(msg)
        emit('message_error', **{'from': jid_str(msg['from']), 'to': jid_str(msg['to']), 'id': msg['id'] or None,
                                 'condition': err['condition'], 'errtype': err['type']})

    def on_carbon(self, direction, wrapper):
        inner = wrapper['carbon_received'] if direction == 'received' else wrapper['carbon_sent']
        emit('carbon', direction=direction, **{'from': jid_str(wrapper['from'])}, message=message_fields(inner))

    def on_presence(self, pres):
        priority = pres.xml.find('{jabber:client}priority')
        emit('presence', **{
            'from': jid_str(pres['from']),
            'to': jid_str(pres['to']),
            'type': pres.xml.get('type', 'available'),  # pres['type'] gives the show value for available presence
            'show': pres['show'] or None,
            'status': pres['status'] or None,
            'priority': int(priority.text) if priority is not None and priority.text else None,
            'delay': delay_fields(pres),
            'error': error_fields(pres) if pres['type'] == 'error' else None,
        })

    def on_roster_update(self, iq):
        if iq['type'] == 'set':
            emit('roster_push', **{'from': jid_str(iq['from']), 'ver': iq['roster']['ver'] or None,
                                   'items': roster_items(iq['roster'])})

    def on_blocking(self, action, items):
        emit('blocklist_push', action=action, items=sorted(str(j) for j in items))

    # --- commands -------------------------------------------------------------------------

    def describe(self, e):
        if isinstance(e, IqTimeout):
            return {'type': None, 'condition': 'timeout', 'text': None}
        return error_fields(e.iq)

    async def run_command(self, cmd):
        op = cmd.get('op')
        handler = getattr(self, 'op_' + str(op), None)
        if handler is None:
            emit('result', id=cmd.get('id'), ok=False, error={'type': None, 'condition': 'unknown-op', 'text': str(op)})
            return
        try:
            result = await handler(cmd) or {}
            emit('result', id=cmd.get('id'), ok=True, **result)
        except (IqError, IqTimeout) as e:
            emit('result', id=cmd.get('id'), ok=False, error=self.describe(e))
        except Exception as e:  # a driver bug or bad command: report it, keep going
            emit('result', id=cmd.get('id'), ok=False, error={'type': None, 'condition': 'driver-exception',
                                                               'text': repr(e)})

    async def op_message(self, cmd):
        msg = self.xmpp.make_message(mto=cmd['to'], mbody=cmd.get('body'), mtype=cmd.get('type', 'chat'))
        if cmd.get('msg_id'):
            msg['id'] = cmd['msg_id']
        if cmd.get('thread'):
            msg['thread'] = cmd['thread']
        msg.send()
        return {'msg_id': msg['id']}

    async def op_presence(self, cmd):
        self.xmpp.send_presence(pto=cmd.get('to'), ptype=cmd.get('type'), pshow=cmd.get('show'),
                                pstatus=cmd.get('status'), ppriority=cmd.get('priority'))

    async def op_roster_get(self, _cmd):
        # The whole roster: no version sent, unlike slixmpp's get_roster() after a roster push
        # (RFC 6121 §2.6), which an up-to-date client gets an empty result for.
        iq = self.xmpp.make_iq_get()
        iq.enable('roster')
        reply = await iq.send(timeout=IQ_TIMEOUT)
        return {'ver': reply['roster']['ver'] or None, 'items': roster_items(reply['roster'])}

    async def op_roster_set(self, cmd):
        await self.xmpp.update_roster(cmd['jid'], name=cmd.get('name', ''), groups=cmd.get('groups', []),
                                      timeout=IQ_TIMEOUT)

    async def op_roster_remove(self, cmd):
        await self.xmpp.del_roster_item(cmd['jid'])

    async def op_disco_info(self, cmd):
        iq = await self.xmpp['xep_0030'].get_info(jid=cmd.get('jid'), node=cmd.get('node'), local=False,
                                                  cached=False, timeout=IQ_TIMEOUT)
        info = iq['disco_info']
        return {'identities': sorted([i[0], i[1], i[3]] for i in info['identities']), 'features': sorted(info['features'])}

    async def op_disco_items(self, cmd):
        iq = await self.xmpp['xep_0030'].get_items(jid=cmd.get('jid'), node=cmd.get('node'), local=False,
                                                   timeout=IQ_TIMEOUT)
        return {'items': [[str(i[0]), i[1], i[2]] for i in iq['disco_items']['items']]}

    async def op_vcard_set(self, cmd):
        plugin = self.xmpp['xep_0054']
        vcard = plugin.make_vcard()
        for key, value in cmd.get('fields', {}).items():
            vcard[key] = value
        await plugin.publish_vcard(vcard, timeout=IQ_TIMEOUT)

    async def op_vcard_get(self, cmd):
        iq = await self.xmpp['xep_0054'].get_vcard(jid=cmd['jid'], local=False, cached=False, timeout=IQ_TIMEOUT)
        vcard = iq['vcard_temp']
        fields = {}
        for child in vcard.xml:
            tag = child.tag.split('}')[-1]
            if len(child) == 0 and child.text:
                fields[tag] = child.text
        return {'fields': fields}

    async def op_ping(self, cmd):
        started = self.loop.time()
        await self.xmpp['xep_0199'].send_ping(cmd['jid'], timeout=IQ_TIMEOUT)
        return {'rtt': self.loop.time() - started}

    async def op_version(self, cmd):
        iq = await self.xmpp['xep_0092'].get_version(cmd['jid'], timeout=IQ_TIMEOUT)
        v = iq['software_version']
        return {'name': v['name'] or None, 'version': v['version'] or None, 'os': v['os'] or None}

    async def op_time(self, cmd):
        iq = await self.xmpp['xep_0202'].get_entity_time(cmd['jid'], timeout=IQ_TIMEOUT)
        # The raw texts: slixmpp 1.8.3's 'utc' getter appends a second "Z" to a XEP-0082 UTC
        # timestamp and fails on every conforming answer (its own included).
        t = iq['entity_time'].xml
        utc = t.find('{urn:xmpp:time}utc')
        tzo = t.find('{urn:xmpp:time}tzo')
        return {'utc': utc.text if utc is not None else None, 'tzo': tzo.text if tzo is not None else None}

    async def op_last(self, cmd):
        iq = await self.xmpp['xep_0012'].get_last_activity(cmd['jid'], timeout=IQ_TIMEOUT)
        la = iq['last_activity']
        seconds = la.xml.get('seconds')
        return {'seconds': int(seconds) if seconds is not None else None, 'status': la['status'] or None}

    async def op_private_set(self, cmd):
        iq = self.xmpp.make_iq_set()
        iq['private'].xml.append(ET.fromstring(cmd['xml']))
        await iq.send(timeout=IQ_TIMEOUT)

    async def op_private_get(self, cmd):
        iq = self.xmpp.make_iq_get()
        iq['private'].xml.append(ET.fromstring(cmd['xml']))
        reply = await iq.send(timeout=IQ_TIMEOUT)
        children = list(reply['private'].xml)
        return {'xml': tostring(children[0]) if children else None}

    async def op_carbons_enable(self, _cmd):
        await self.xmpp['xep_0280'].enable(timeout=IQ_TIMEOUT)

    async def op_carbons_disable(self, _cmd):
        await self.xmpp['xep_0280'].disable(timeout=IQ_TIMEOUT)

    async def op_block(self, cmd):
        await self.xmpp['xep_0191'].block(cmd['jids'], timeout=IQ_TIMEOUT)

    async def op_unblock(self, cmd):
        await self.xmpp['xep_0191'].unblock(cmd.get('jids') or [], timeout=IQ_TIMEOUT)

    async def op_blocklist(self, _cmd):
        iq = await self.xmpp['xep_0191'].get_blocked(timeout=IQ_TIMEOUT)
        return {'items': sorted(str(j) for j in iq['blocklist']['items'])}

    async def op_change_password(self, cmd):
        await self.xmpp['xep_0077'].change_password(cmd['password'], jid=self.xmpp.boundjid.domain,
                                                    timeout=IQ_TIMEOUT)

    async def op_iq(self, cmd):
        iq = self.xmpp.Iq()
        iq['type'] = cmd.get('type', 'get')
        if cmd.get('to'):
            iq['to'] = cmd['to']
        iq.xml.append(ET.fromstring(cmd['xml']))
        reply = await iq.send(timeout=IQ_TIMEOUT)
        return {'xml': tostring(reply.xml)}

    async def op_disconnect(self, _cmd):
        self.xmpp.disconnect(wait=2.0)


async def read_commands(driver):
    loop = asyncio.get_event_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while True:
        line = await reader.readline()
        if not line:
            # The test went away: leave politely, and in any case soon.
            driver.xmpp.disconnect(wait=1.0)
            loop.call_later(3.0, driver.finish, 0)
            return
        line = line.strip()
        if not line:
            continue
        try:
            cmd = json.loads(line)
        except ValueError:
            emit('result', id=None, ok=False, error={'type': None, 'condition': 'bad-command', 'text': line.decode()})
            continue
        asyncio.ensure_future(driver.run_command(cmd))


def main():
    settings = json.loads(sys.argv[1])
    logging.basicConfig(level=logging.DEBUG if settings.get('debug') else logging.WARNING, stream=sys.stderr,
                        format='%(levelname)s %(name)s: %(message)s')
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    driver = Driver(settings)
    driver.connect()
    commands = loop.create_task(read_commands(driver))

    def lifetime_exceeded():
        emit('lifetime_exceeded')
        driver.finish(3)

    loop.call_later(float(settings.get('lifetime', 60)), lifetime_exceeded)
    code = loop.run_until_complete(driver.done)
    commands.cancel()
    sys.exit(code)


if __name__ == '__main__':
    main()
