/**
 * The answer to a request Node's HTTP parser refused before any handler ran (invalid chunked
 * encoding, an unknown method, headers over the size limit, a header timeout), or that Node
 * does not route to handlers at all (CONNECT, which moby answers "page not found"). Node's
 * default is a bare `400 Bad Request`; Docker clients expect `{"message": …}` as JSON, so they
 * get that, with the status Node would have used, and the connection closes.
 */
import { formatRawResponse, JSON_CONTENT_TYPE, jsonText } from './respond.js';

function statusFor(code: string | undefined): number {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return 431;
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return 413;
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return 408;
    case 'NOT_FOUND':
      return 404;
    default:
      return 400;
  }
}

export function clientErrorResponse(err: NodeJS.ErrnoException, baseHeaders: Record<string, string>): Buffer {
  const status = statusFor(err.code);
  const message =
    status === 408
      ? 'timed out waiting for the request'
      : status === 431
        ? 'request header fields too large'
        : status === 404
          ? 'page not found'
          : `malformed HTTP request: ${err.message}`;
  const body = Buffer.from(jsonText({ message }));
  return formatRawResponse(
    status,
    undefined,
    {
      ...baseHeaders,
      'Content-Type': JSON_CONTENT_TYPE,
      'Content-Length': body.length,
      Connection: 'close',
    },
    body,
  );
}
