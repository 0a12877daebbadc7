import { callerFrom } from '../../../functions/commons/http.js';
import { isAuditor } from '../../../functions/domain/status-view.js';
import { apiEvent, bearerHeader } from './api-events.js';

/**
 * Groups from exactly the shapes API Gateway hands a Lambda (issue 13 item 4). The HTTP API JWT
 * authorizer renders an array claim as `[a b]` (elements joined by one space, no quotes); a
 * REST API or a direct invocation passes an array; a string claim is passed as it is. A group
 * whose name holds a comma or a space is one group and never makes its holder an auditor.
 */

const SUB = 'user-carol';

/** The caller as the handler sees it: the authorizer's claim and, optionally, the verified token. */
function callerWith(groupsClaim: unknown, tokenClaims?: Record<string, unknown>) {
  const event = apiEvent({
    routeKey: 'GET /uploads',
    sub: SUB,
    ...(tokenClaims ? { headers: { authorization: bearerHeader(tokenClaims) } } : {}),
  });
  (event.requestContext.authorizer.jwt.claims as Record<string, unknown>)['cognito:groups'] = groupsClaim;
  return callerFrom(event);
}

describe('cognito:groups as API Gateway passes it', () => {
  it('reads an array claim element by element', () => {
    const caller = callerWith(['staff', 'auditors']);
    expect(caller.groups).toEqual(['staff', 'auditors']);
    expect(isAuditor(caller)).toBe(true);
  });

  it('reads the HTTP API form "[staff auditors]" through the verified token it was rendered from', () => {
    const caller = callerWith('[staff auditors]', { sub: SUB, 'cognito:groups': ['staff', 'auditors'] });
    expect(caller.groups).toEqual(['staff', 'auditors']);
    expect(isAuditor(caller)).toBe(true);
  });

  it('reads "[]" as no groups', () => {
    expect(callerWith('[]', { sub: SUB, 'cognito:groups': [] }).groups).toEqual([]);
  });

  it('reads a plain string claim as one group of exactly that name', () => {
    expect(callerWith('auditors').groups).toEqual(['auditors']);
    expect(isAuditor(callerWith('auditors'))).toBe(true);
  });
});

describe('group names with commas and spaces never yield "auditors"', () => {
  it.each([
    ['a string claim "x,auditors"', 'x,auditors', undefined, ['x,auditors']],
    ['a string claim "x auditors"', 'x auditors', undefined, ['x auditors']],
    ['the group "x,auditors" rendered as "[x,auditors]"', '[x,auditors]', ['x,auditors'], ['x,auditors']],
    ['the group "x auditors" rendered as "[x auditors]"', '[x auditors]', ['x auditors'], ['x auditors']],
    [
      'the groups "staff" and "x, auditors" rendered as "[staff x, auditors]"',
      '[staff x, auditors]',
      ['staff', 'x, auditors'],
      ['staff', 'x, auditors'],
    ],
  ])('%s', (_label, claim, tokenGroups, expected) => {
    const caller = callerWith(
      claim,
      tokenGroups === undefined ? undefined : { sub: SUB, 'cognito:groups': tokenGroups },
    );
    expect(caller.groups).toEqual(expected);
    expect(isAuditor(caller)).toBe(false);
  });

  it('grants nothing for a bracketed claim without a token to read it back from', () => {
    expect(callerWith('[auditors]').groups).toEqual([]);
  });

  it("grants nothing when the token's sub is not the authorizer's", () => {
    expect(callerWith('[auditors]', { sub: 'someone-else', 'cognito:groups': ['auditors'] }).groups).toEqual(
      [],
    );
  });

  it("grants nothing when the token's groups do not render to the claim", () => {
    expect(callerWith('[auditors]', { sub: SUB, 'cognito:groups': ['staff'] }).groups).toEqual([]);
  });

  it('keeps a string claim that merely looks bracketed as one group', () => {
    const caller = callerWith('[auditors]', { sub: SUB, 'cognito:groups': '[auditors]' });
    expect(caller.groups).toEqual(['[auditors]']);
    expect(isAuditor(caller)).toBe(false);
  });

  it('does not parse a JSON-looking string claim as a list', () => {
    expect(isAuditor(callerWith('["auditors"]'))).toBe(false);
    expect(isAuditor(callerWith('["auditors"]', { sub: SUB, 'cognito:groups': '["auditors"]' }))).toBe(false);
  });

  it.each([42, true, null, { auditors: true }])('reads the non-string claim %j as no groups', (claim) => {
    expect(callerWith(claim).groups).toEqual([]);
  });
});
