import { z } from 'zod';
import { externalId } from '../customers/schema.ts';

export const customerPath = z.strictObject({ id: externalId });
