import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request as httpRequest, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import { attemptResultOf, type AttemptResult, type SignedDelivery } from '../domain/webhooks.js';
import {
  assertAddressAllowed,
  checkWebhookUrl,
  WebhookTargetError,
  type TargetRules,
} from '../domain/webhook-target.js';

/** Sends one signed delivery and says how it went. Never throws for the endpoint's failures. */
export interface WebhookSender {
  send(url: string, delivery: SignedDelivery): Promise<AttemptResult>;
}

/** Resolves a host name to every address it has (dns.lookup with `all`). */
export type ResolveAll = (host: string) => Promise<LookupAddress[]>;

const resolveWithDns: ResolveAll = (host) =>
  new Promise((resolve, reject) =>
    dnsLookup(host, { all: true, verbatim: true }, (error, addresses) =>
      error ? reject(error) : resolve(addresses),
    ),
  );

export interface HttpWebhookSenderOptions {
  rules: TargetRules;
  /** The whole attempt, connect to last byte. @default 10 s */
  timeoutMs?: number;
  /** @default dns.lookup of every address */
  resolve?: ResolveAll;
}

/**
 * POSTs deliveries over http(s), behind the SSRF guard: the URL must pass the rules, and every
 * address its host resolves to must too; the connection then goes to one of those checked
 * addresses (a custom `lookup`), so DNS cannot answer differently between check and connect.
 * Redirects are not followed (a 3xx is a failed attempt). What an attempt reports names no URL
 * and no header: only a status code, an error code or the guard's refusal.
 */
export class HttpWebhookSender implements WebhookSender {
  private readonly timeoutMs: number;
  private readonly resolve: ResolveAll;

  constructor(private readonly options: HttpWebhookSenderOptions) {
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.resolve = options.resolve ?? resolveWithDns;
  }

  async send(url: string, delivery: SignedDelivery): Promise<AttemptResult> {
    let target: URL;
    try {
      target = checkWebhookUrl(url, this.options.rules);
    } catch (error) {
      return { delivered: false, error: (error as Error).message };
    }
    const body = Buffer.from(delivery.body, 'utf8');
    const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
    const requestOptions: RequestOptions = {
      method: 'POST',
      headers: { ...delivery.headers, 'content-length': String(body.length) },
      lookup: this.checkedLookup(),
      timeout: this.timeoutMs,
    };
    return new Promise<AttemptResult>((resolve) => {
      const deadline = setTimeout(() => request.destroy(new Error('timeout')), this.timeoutMs);
      const done = (result: AttemptResult) => {
        clearTimeout(deadline);
        resolve(result);
      };
      const request = send(target, requestOptions, (response) => {
        response.resume(); // the body is not read: only the status counts
        response.on('end', () => done(attemptResultOf(response.statusCode ?? 0)));
        response.on('error', (error) => done({ delivered: false, error: describe(error) }));
      });
      request.on('timeout', () => request.destroy(new Error('timeout')));
      request.on('error', (error) => done({ delivered: false, error: describe(error) }));
      request.end(body);
    });
  }

  /** A `lookup` for node's http: resolves every address, refuses if any is not allowed. */
  private checkedLookup(): LookupFunction {
    return (hostname, options, callback) => {
      this.resolve(hostname.replace(/^\[(.*)\]$/, '$1'))
        .then((addresses) => {
          if (addresses.length === 0) throw new WebhookTargetError(`refused: ${hostname} has no address`);
          for (const address of addresses) assertAddressAllowed(address.address, this.options.rules);
          if (options.all) return callback(null, addresses);
          const [first] = addresses as [LookupAddress];
          callback(null, first.address, first.family);
        })
        .catch((error: unknown) => callback(error as NodeJS.ErrnoException, '', 0));
    };
  }
}

/** An error as an attempt reports it: the guard's refusal, or the system's code, never a URL. */
function describe(error: unknown): string {
  if (error instanceof WebhookTargetError) return error.message;
  const { code, message } = error as NodeJS.ErrnoException;
  if (message === 'timeout') return 'timeout';
  return code ?? 'network error';
}
