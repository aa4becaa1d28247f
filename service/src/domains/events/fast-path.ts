// POST /v1/events on the fast path (platform/fast-path.ts): the hot path of ingestion, answered as the app's route.
import type { FastRoute } from '../../platform/fast-path.ts';
import { parseInput } from '../../platform/http.ts';
import { ingestBody } from '@tariff/openapi/schemas/events';
import { ingestEvents } from './service.ts';

export const ingestionRoute: FastRoute = {
  route: '/v1/events',
  async answer(deps, actor, _params, body) {
    const { events, on_block } = parseInput(ingestBody, body);
    return { status: 200, body: await ingestEvents(deps, actor, events, { onBlock: on_block }) };
  },
};
