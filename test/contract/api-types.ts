/**
 * The server's views against the types generated from the OpenAPI document, checked by `tsc`
 * (`npm run typecheck`): a field added, dropped, renamed, made optional or retyped on either side
 * fails the build. Nothing here runs. The server keeps its own domain types (functions/ never
 * imports client/); this file is where the two meet.
 */
import type { AuditUploadView, Page, UploadView } from '../../client/index.js';
import type { components } from '../../client/generated/airlock-api.js';
import type {
  Actor,
  AuditAction,
  Reason,
  ReasonCode,
  UploadMethod,
  UploadStatus,
} from '../../functions/domain/model.js';
import type { toAuditEventView, toUploadView } from '../../functions/domain/status-view.js';
import type { CreateUploadRequest } from '../../functions/domain/upload-request.js';

type Schemas = components['schemas'];

/** Structural form: intersections flattened, so `A & B` and `{ ...A, ...B }` compare equal. */
type Normalize<T> = T extends readonly (infer Item)[]
  ? Normalize<Item>[]
  : T extends object
    ? { [Key in keyof T]: Normalize<T[Key]> }
    : T;

/** True only when A and B are the same type, optional and readonly modifiers included. */
type Equal<A, B> =
  (<T>() => T extends Normalize<A> ? 1 : 2) extends <T>() => T extends Normalize<B> ? 1 : 2 ? true : false;

type Expect<T extends true> = T;

/** The server's views (functions/domain/status-view.ts) are the document's schemas. */
export type ServerViews = [
  Expect<Equal<ReturnType<typeof toUploadView>, Schemas['Upload']>>,
  Expect<Equal<ReturnType<typeof toUploadView>, Schemas['UploadStatusView']>>,
  Expect<Equal<ReturnType<typeof toAuditEventView>, Schemas['AuditEvent']>>,
  // functions/audit-uploads.ts answers `{ ...toUploadView(record), owner }` items.
  Expect<Equal<ReturnType<typeof toUploadView> & { owner: string }, Schemas['AuditUpload']>>,
  // functions/list-uploads.ts answers `{ items: page.items.map(toUploadView), cursor? }`.
  Expect<Equal<{ items: ReturnType<typeof toUploadView>[]; cursor?: string }, Schemas['UploadList']>>,
];

/** The domain's enums and small records (functions/domain/model.ts) are the document's. */
export type DomainEnums = [
  Expect<Equal<UploadStatus, Schemas['UploadStatus']>>,
  Expect<Equal<ReasonCode, Schemas['ReasonCode']>>,
  Expect<Equal<Reason, Schemas['Reason']>>,
  Expect<Equal<AuditAction, Schemas['AuditAction']>>,
  Expect<Equal<Actor, Schemas['AuditActor']>>,
  Expect<Equal<UploadMethod, NonNullable<Schemas['CreateUploadRequest']['method']>>>,
  Expect<Equal<UploadMethod, Schemas['UploadGrant']['method']>>,
];

/** The parsed `POST /uploads` body is the document's request with its `method` default applied. */
export type Requests = [
  Expect<
    Equal<
      CreateUploadRequest,
      Omit<Schemas['CreateUploadRequest'], 'method'> & {
        method: NonNullable<Schemas['CreateUploadRequest']['method']>;
      }
    >
  >,
];

/** The client's generic page is the document's list schemas. */
export type ClientPages = [
  Expect<Equal<Page<UploadView>, Schemas['UploadList']>>,
  Expect<Equal<Page<AuditUploadView>, Schemas['AuditUploadList']>>,
];
