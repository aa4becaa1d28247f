// Where the repository's dated copy of the genai-prices catalogue lives (data/genai-prices, with its licence): the
// tests, the SDK's extractor generator and the README's examples read it, never a folder beside the repository.
import { fileURLToPath } from 'node:url';

/** The day the copy was taken; the tests' default instant for cases that are not about time. */
export const GENAI_PRICES_SNAPSHOT_DATE = '2026-08-21';

/** The v2 catalogue, byte for byte as published. */
export const GENAI_PRICES_SNAPSHOT_PATH = fileURLToPath(new URL('./data/genai-prices/data.v2.json', import.meta.url));

/** The unit registry published with it (GENAI_PRICES_UNITS is checked against it). */
export const GENAI_PRICES_UNITS_PATH = fileURLToPath(new URL('./data/genai-prices/units.yml', import.meta.url));
