/**
 * The console's security policy, from the real origins it talks to. One function serves both
 * runtimes: CloudFront's response headers policy and the deployed index.html
 * (infra/console-hosting.ts), and the local API server that serves the console
 * (local/console-assets.ts, local/runtime.ts). Pure and free of CDK, so both can import it; on
 * AWS the origins are CloudFormation tokens, which pass through as strings.
 *
 * The policy comes in two parts that the browser enforces together (a request must satisfy both):
 * - the response header carries every directive that names no other party, `frame-ancestors`
 *   included (only a header can carry it);
 * - a `<meta http-equiv="Content-Security-Policy">`, the first element of index.html, carries the
 *   whole policy, `connect-src` with the exact origins.
 * Why not all in the header: on AWS the header policy is part of the CloudFront distribution, and
 * the API's and the bucket's CORS rules name the distribution's domain, so a header naming the API
 * and the bucket would make CloudFormation resources depend on each other in a cycle. index.html
 * is written by the deployment after all of them exist.
 */

/** Every party the console's scripts may connect to, each one exact origin. */
export interface ConsoleOrigins {
  /** The HTTP API, e.g. `https://abc123.execute-api.eu-west-1.amazonaws.com`; 'self' when the API serves the console. */
  readonly api: string;
  /** Where presigned uploads go: the bucket's regional endpoint, e.g. `https://<bucket>.s3.<region>.amazonaws.com`. */
  readonly uploads: string;
  /** The hosted UI's origin (its token endpoint), e.g. `https://<prefix>.auth.<region>.amazoncognito.com`. */
  readonly auth?: string;
}

/** HSTS lifetime: a year, subdomains included. */
export const HSTS_MAX_AGE_SECONDS = 365 * 24 * 60 * 60;

/** Directives that name no other party: in the header and in the document's policy. */
const OWN_DIRECTIVES = [
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
];

/**
 * The console's response headers. Its CSP carries every directive that names no other party,
 * `frame-ancestors` included; the document's policy (below) adds `default-src` and `connect-src`.
 */
export const CONSOLE_RESPONSE_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': [...OWN_DIRECTIVES, "frame-ancestors 'none'"].join('; '),
  'strict-transport-security': `max-age=${HSTS_MAX_AGE_SECONDS}; includeSubDomains`,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
};

/**
 * The whole CSP of the console's document, for the meta element of index.html. Only
 * `connect-src` names other parties (the API, the upload endpoint and the token endpoint);
 * navigations (the hosted UI's authorize page, downloads) are not fetches. A wildcard or a path
 * in an origin is refused: a stolen token must not be sendable anywhere else, and a
 * `*.amazonaws.com` source would allow every bucket and API in AWS.
 */
export function consoleDocumentCsp(origins: ConsoleOrigins): string {
  const connect = [origins.api, origins.uploads, ...(origins.auth === undefined ? [] : [origins.auth])];
  for (const origin of connect) assertExactOrigin(origin);
  const sources = [...new Set(["'self'", ...connect.filter((origin) => origin !== 'self')])];
  return ["default-src 'self'", ...OWN_DIRECTIVES, `connect-src ${sources.join(' ')}`].join('; ');
}

/** index.html with the document's policy as its first element, before anything it governs. */
export function withDocumentCsp(html: string, csp: string): string {
  if (/["<>&]/.test(csp)) throw new Error('Console CSP: the policy may not contain ", <, > or &.');
  const head = /<head>/i.exec(html);
  if (head === null) throw new Error('Console CSP: index.html has no <head>.');
  const at = head.index + head[0].length;
  return `${html.slice(0, at)}\n    <meta http-equiv="Content-Security-Policy" content="${csp}" />${html.slice(at)}`;
}

function assertExactOrigin(origin: string): void {
  if (origin === 'self') return;
  // Tokens (`${Token[…]}`) stand for host labels CloudFormation fills in; the rest must be an origin.
  const shape = origin.replace(/\$\{Token\[[^\]]+\]\}/g, 'token');
  if (!/^https?:\/\/[A-Za-z0-9.-]+(:\d+)?$/.test(shape)) {
    throw new Error(
      `Console CSP: "${origin}" is not one exact origin (scheme and host, no path or wildcard).`,
    );
  }
}
