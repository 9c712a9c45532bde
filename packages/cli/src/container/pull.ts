/** `POST /images/create?fromImage=…`: the pull `run` does when the image is missing locally. */
import type { Writable } from 'node:stream';
import type { EngineClient } from '../client/http-client.js';
import { normalizedName, parseReference } from '../reference.js';
import { displayJsonMessages } from '../streams/json-messages.js';
import { isTerminal, terminalSize } from '../streams/tty.js';

/** base64url of `{}`: no credentials. */
const ANONYMOUS_AUTH = 'e30=';

export async function pullImage(client: EngineClient, image: string, progressOut: Writable): Promise<void> {
  const ref = parseReference(image);
  const tag = ref.digest ?? ref.tag ?? 'latest';
  const res = await client.send('POST', '/images/create', {
    query: { fromImage: normalizedName(ref), tag },
    headers: { 'X-Registry-Auth': ANONYMOUS_AUTH },
  });
  await displayJsonMessages(res, progressOut, {
    isTerminal: isTerminal(progressOut),
    terminalWidth: terminalSize(progressOut)?.[1],
  });
}
