// What every resource handler gets, and the shared shapes of Stripe's responses: lists, search results, expansion.
import { invalidParam, noSuchObject } from './errors.ts';
import type { FormParams } from './form.ts';
import { readInteger, readString } from './params.ts';
import { findObject, type AccountState, type ApiObject, type DoubleState, type StripeObject } from './store.ts';
import type { EventCause, WebhookSender } from './webhooks.ts';

export interface DoubleCore {
  state: DoubleState;
  webhooks: WebhookSender;
  /** Unix seconds, for `created` and signatures. */
  now(): number;
  /** The double's own base URL (Checkout pages live there). */
  baseUrl(): string;
  /** US state code -> sales tax percentage ("7.25"), for tax/calculations. */
  taxRates: Map<string, string>;
  /** The API version events carry when no request gave one (the SDK's own). */
  apiVersion: string;
}

export interface HandlerContext {
  core: DoubleCore;
  account: AccountState;
  params: FormParams;
  /** `:name` segments of the route's path. */
  path: Record<string, string>;
  /** Who caused the events this request emits (copied into each event's `request`). */
  cause: EventCause | null;
}

export type Handler = (context: HandlerContext) => ApiObject;

export interface Route {
  method: 'GET' | 'POST' | 'DELETE';
  path: string;
  /**
   * For POST: the top-level params Stripe accepts here (`expand` always). Others get Stripe's 400
   * `parameter_unknown`, so a typo fails here as it would on Stripe. Accepted is not modelled: see README.
   */
  accepts?: readonly string[];
  handle: Handler;
}

export function emitEvent(
  context: Pick<HandlerContext, 'core' | 'account' | 'cause'>,
  type: string,
  object: StripeObject,
  previousAttributes?: Record<string, unknown>,
): void {
  context.core.webhooks.emit(context.account, type, object, context.cause, previousAttributes);
}

/** The object or Stripe's 404 (`resource_missing`), e.g. "No such customer: 'cus_x'". */
export function requireObject(account: AccountState, id: string, type: string, param = 'id'): StripeObject {
  const found = findObject(account, id, type);
  if (!found || found.deleted) throw noSuchObject(type, id, param);
  return found;
}

/** Objects of a type, newest first, as Stripe lists them. */
export function objectsOfType(
  account: AccountState,
  type: string,
  keep: (object: StripeObject) => boolean = () => true,
): StripeObject[] {
  return [...account.objects.values()]
    .filter((object) => object.object === type && !object.deleted && keep(object))
    .reverse();
}

/** A Stripe list page: `limit` (1..100, default 10), `starting_after`/`ending_before` cursors. */
export function listPage(objects: StripeObject[], params: FormParams, url: string): ApiObject {
  const limit = readInteger(params, 'limit') ?? 10;
  if (limit < 1 || limit > 100)
    throw invalidParam('limit', 'This value must be between 1 and 100 (it currently is ' + limit + ').');
  const startingAfter = readString(params, 'starting_after');
  const endingBefore = readString(params, 'ending_before');
  let page = objects;
  if (startingAfter) {
    const index = objects.findIndex((object) => object.id === startingAfter);
    if (index === -1) throw noSuchObject('object', startingAfter, 'starting_after');
    page = objects.slice(index + 1);
  } else if (endingBefore) {
    const index = objects.findIndex((object) => object.id === endingBefore);
    if (index === -1) throw noSuchObject('object', endingBefore, 'ending_before');
    page = objects.slice(Math.max(0, index - limit), index);
  }
  return { object: 'list', data: page.slice(0, limit), has_more: page.length > limit, url };
}

/**
 * Stripe's search query language, the part a billing integration uses: clauses `field:'value'` joined by AND,
 * on `email`, `name`, `status`, `currency`, `customer` or `metadata['key']`.
 */
export function searchPage(objects: StripeObject[], params: FormParams, url: string): ApiObject {
  const query = readString(params, 'query', 'required');
  const clauses = query.split(/\s+AND\s+/i).map((clause) => {
    const match = /^\s*(metadata\[['"]([^'"]+)['"]\]|[a-z_]+)\s*:\s*['"]([^'"]*)['"]\s*$/.exec(clause);
    if (!match)
      throw invalidParam(
        'query',
        `Invalid search query: ${clause}. The double understands field:'value' clauses joined by AND.`,
      );
    return { field: match[1]!, metadataKey: match[2], value: match[3]! };
  });
  const matching = objects.filter((object) =>
    clauses.every((clause) =>
      clause.metadataKey !== undefined
        ? object.metadata?.[clause.metadataKey] === clause.value
        : String(object[clause.field] ?? '') === clause.value,
    ),
  );
  const limit = readInteger(params, 'limit') ?? 10;
  return {
    object: 'search_result',
    data: matching.slice(0, limit),
    has_more: matching.length > limit,
    next_page: null,
    url,
  };
}

/** `expand[]=latest_charge`, `expand[]=data.customer`: replaces ids by their objects in a copy of the response. */
export function expandResponse(account: AccountState, response: ApiObject, params: FormParams): ApiObject {
  const expand = params.expand;
  if (expand === undefined) return response;
  const paths = Array.isArray(expand) ? expand : [expand];
  const copy = structuredClone(response);
  for (const path of paths) {
    if (typeof path !== 'string') throw invalidParam('expand', 'Invalid array: expand must be an array of strings.');
    expandPath(account, copy, path.split('.'), path);
  }
  return copy;
}

function expandPath(account: AccountState, target: any, segments: string[], whole: string): void {
  if (target === null || typeof target !== 'object') return;
  const [head, ...rest] = segments;
  if (head === undefined) return;
  if (head === 'data' && Array.isArray(target.data)) {
    for (const item of target.data) expandPath(account, item, rest, whole);
    return;
  }
  if (!(head in target)) throw invalidParam('expand', `This property cannot be expanded (${whole}).`);
  if (typeof target[head] === 'string') {
    const found = account.objects.get(target[head]);
    if (found) target[head] = structuredClone(found);
  }
  expandPath(account, target[head], rest, whole);
}
