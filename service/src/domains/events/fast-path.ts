// POST /v1/events on the fast path (platform/fast-path.ts): the hot path of ingestion, answered as the app's route.
import type { Deps } from '../../platform/deps.ts';
import { fastPath, type FastRoute } from '../../platform/fast-path.ts';
import { parseInput } from '../../platform/http.ts';
import * as keys from '../keys/service.ts';
import { ingestBody } from '@tariff/openapi/schemas/events';
import { ingestEvents } from './service.ts';

const route = '/v1/events';

export const ingestionRoute: FastRoute = {
  route,
  match: (url) => (url === route ? {} : undefined),
  async answer(deps, actor, _params, body) {
    const { events, on_block } = parseInput(ingestBody, body);
    return { status: 200, body: await ingestEvents(deps, actor, events, { onBlock: on_block }) };
  },
};

/** Ingestion's fast path alone (its test); the service's server takes every fast route (app.ts). */
export function ingestionFastPath(deps: Deps, bodyLimitBytes: number) {
  return fastPath(deps, bodyLimitBytes, keys.authenticateApiKey, [ingestionRoute]);
}
