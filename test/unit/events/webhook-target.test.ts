import {
  classifyAddress,
  checkWebhookUrl,
  assertAddressAllowed,
  DEPLOYED_TARGET_RULES,
  LOCAL_TARGET_RULES,
  WebhookTargetError,
  type AddressKind,
} from '../../../functions/domain/webhook-target.js';

/**
 * The SSRF guard's table: each address and what it is, from the IANA special-purpose registries
 * (RFC 6890, RFC 6598, RFC 4193, RFC 4291, RFC 6052/8215, RFC 3056) and the clouds' metadata
 * addresses. Nothing here is connected to: the guard decides on the address alone.
 */
const ADDRESSES: Array<[string, AddressKind]> = [
  ['8.8.8.8', 'public'],
  ['1.1.1.1', 'public'],
  ['52.94.76.1', 'public'],
  ['2606:4700:4700::1111', 'public'],
  ['2a00:1450:4001:80b::200e', 'public'],
  ['127.0.0.1', 'loopback'],
  ['127.255.255.254', 'loopback'],
  ['::1', 'loopback'],
  ['0:0:0:0:0:0:0:1', 'loopback'],
  ['10.0.0.1', 'private'],
  ['172.16.0.1', 'private'],
  ['172.31.255.255', 'private'],
  ['192.168.1.1', 'private'],
  ['100.64.0.1', 'private'],
  ['fc00::1', 'private'],
  ['fd00:ec2::254', 'private'], // AWS's instance metadata service over IPv6
  ['169.254.169.254', 'link-local'], // the instance metadata service
  ['169.254.170.2', 'link-local'], // the ECS task metadata endpoint
  ['fe80::1', 'link-local'],
  ['fe80::1%eth0', 'link-local'],
  ['0.0.0.0', 'reserved'],
  ['::', 'reserved'],
  ['192.0.0.192', 'reserved'],
  ['224.0.0.1', 'reserved'],
  ['255.255.255.255', 'reserved'],
  ['2001:db8::1', 'reserved'],
  ['ff02::1', 'reserved'],
  // IPv4 inside IPv6 is judged as the IPv4 host it reaches.
  ['::ffff:127.0.0.1', 'loopback'],
  ['::ffff:7f00:1', 'loopback'],
  ['::ffff:169.254.169.254', 'link-local'],
  ['::ffff:10.1.2.3', 'private'],
  ['::ffff:8.8.8.8', 'public'],
  ['::10.1.2.3', 'private'], // IPv4-compatible
  ['64:ff9b::a9fe:a9fe', 'link-local'], // NAT64 of 169.254.169.254
  ['64:ff9b::808:808', 'public'], // NAT64 of 8.8.8.8
  ['64:ff9b:1::a00:1', 'private'], // local-use NAT64 of 10.0.0.1
  ['2002:a9fe:a9fe::1', 'link-local'], // 6to4 of 169.254.169.254
  ['2002:c0a8:0101::', 'private'], // 6to4 of 192.168.1.1
  ['2001:0:4136:e378:8000:63bf:3fff:fdd2', 'reserved'], // Teredo
];

describe('the SSRF guard', () => {
  test.each(ADDRESSES)('%s is %s', (address, kind) => {
    // Act / Assert
    expect(classifyAddress(address)).toBe(kind);
  });

  test('on AWS only public addresses pass; locally loopback too, and nothing else inward', () => {
    // Arrange
    const allowed = (rules: typeof DEPLOYED_TARGET_RULES) =>
      ADDRESSES.filter(([address]) => {
        try {
          assertAddressAllowed(address, rules);
          return true;
        } catch (error) {
          expect(error).toBeInstanceOf(WebhookTargetError);
          return false;
        }
      }).map(([, kind]) => kind);

    // Assert
    expect(new Set(allowed(DEPLOYED_TARGET_RULES))).toEqual(new Set(['public']));
    expect(new Set(allowed(LOCAL_TARGET_RULES))).toEqual(new Set(['public', 'loopback']));
  });

  test.each([
    ['http://example.com/hook', 'https only'],
    ['ftp://example.com/hook', 'https only'],
    ['https://user:pass@example.com/hook', 'credentials'],
    ['https://169.254.169.254/latest/meta-data/', 'link-local'],
    ['https://[::ffff:a9fe:a9fe]/', 'link-local'],
    ['https://[fd00:ec2::254]/', 'private'],
    ['https://10.0.0.5:8443/hook', 'private'],
    ['https://127.0.0.1/hook', 'loopback'],
    ['https://localhost/hook', 'loopback'],
    ['https://api.localhost./hook', 'loopback'],
    ['not a url', 'not a URL'],
  ])('on AWS, %s is refused (%s)', (url, why) => {
    // Act / Assert
    expect(() => checkWebhookUrl(url, DEPLOYED_TARGET_RULES)).toThrow(
      why === 'https only' ? /https only/ : why,
    );
  });

  test('a public https URL passes on AWS; locally http and loopback pass, private still does not', () => {
    // Act / Assert
    expect(checkWebhookUrl('https://hooks.example.com/airlock?x=1', DEPLOYED_TARGET_RULES).hostname).toBe(
      'hooks.example.com',
    );
    expect(checkWebhookUrl('https://[2606:4700::1111]:8443/', DEPLOYED_TARGET_RULES).port).toBe('8443');
    expect(checkWebhookUrl('http://127.0.0.1:9999/hook', LOCAL_TARGET_RULES).port).toBe('9999');
    expect(checkWebhookUrl('http://localhost:9999/hook', LOCAL_TARGET_RULES).hostname).toBe('localhost');
    expect(() => checkWebhookUrl('http://192.168.0.10/hook', LOCAL_TARGET_RULES)).toThrow('private');
  });
});
