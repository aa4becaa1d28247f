// The response shapes of /v1, generated from the OpenAPI document: handlers return these, so drift fails tsc.
import type { components } from '@tariff/openapi';

export type ApiSchemas = components['schemas'];
