// A user's vCard from the attributes of the LDAP entry, after the host's `ldap.vcard` map
// (like ejabberd's mod_vcard_ldap): single fields take the first attribute present, EMAIL
// and TEL every value.
import type { Entry } from 'ldapts';
import type { VcardMap } from '../../config/schema.js';
import type { DirectoryVcard } from '../port.js';
import { binaries, firstText, texts } from './entry.js';

/** Every attribute the map reads. */
export function vcardAttributes(map: VcardMap): string[] {
  return [...new Set(Object.values(map).flat())];
}

export function vcardOf(entry: Entry, map: VcardMap): DirectoryVcard {
  const single = (key: Exclude<keyof VcardMap, 'email' | 'tel' | 'photo'>) => firstText(entry, map[key]);
  const photo = map.photo.map((attribute) => binaries(entry, attribute)[0]).find((data) => data !== undefined);
  return {
    fn: single('fn'),
    nickname: single('nickname'),
    given: single('given'),
    family: single('family'),
    org: single('org'),
    orgunit: single('orgunit'),
    title: single('title'),
    email: [...new Set(map.email.flatMap((attribute) => texts(entry, attribute)))],
    tel: telephones(entry, map.tel),
    ...(photo ? { photo: { type: imageType(photo), data: photo } } : {}),
  };
}

/** Every number once; those from a `mobile` attribute are cell phones. */
function telephones(entry: Entry, attributes: string[]): DirectoryVcard['tel'] {
  const seen = new Set<string>();
  const result: DirectoryVcard['tel'] = [];
  for (const attribute of attributes) {
    for (const number of texts(entry, attribute)) {
      if (seen.has(number)) continue;
      seen.add(number);
      result.push({ number, cell: attribute.toLowerCase() === 'mobile' });
    }
  }
  return result;
}

/** jpegPhoto holds JPEG; AD's thumbnailPhoto may hold PNG. */
function imageType(data: Buffer): string {
  return data.subarray(0, 4).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47])) ? 'image/png' : 'image/jpeg';
}
